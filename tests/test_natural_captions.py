"""The natural register: captions that leave attributes out or say them another way, and how they are judged."""

import dataclasses
import hashlib
import re
from collections import Counter

import numpy as np
import pytest

from vim.config import WorldConfig
from vim.world.captions import CaptionParseError, full_register, parse_caption
from vim.world.dataset import make_example
from vim.world.negatives import perturb, perturb_scene
from vim.world.parser import match_caption, match_spec, parse_image, verdict_text
from vim.world.render import render
from vim.world.scene import POSITIONS, SIZES, Background, CaptionSpec, Group, Scene, SceneObject, spec_pairs

WORLD = WorldConfig()
BACKGROUND = Background((28, 28, 32), (44, 38, 34), "vertical", 0)


def picture(*objects: tuple[str, str, str, float, float]) -> np.ndarray:
    """A rendered scene of (shape, color, size, x, y) objects; the spec is not used by the renderer."""
    spec = CaptionSpec((Group(1, "small", "red", "circle"),))
    return render(Scene(spec, tuple(SceneObject(*o) for o in objects), BACKGROUND), 64)


def test_test_split_keeps_its_full_register_captions():
    """The first 100 test examples (caption, scene, held-out flag) are what they were before the natural
    register existed, so numbers measured on the test split stay comparable."""
    h = hashlib.sha256()
    for i in range(100):
        ex = make_example(WORLD, "test", i)
        h.update(f"{ex['caption']}|{ex['scene']}|{ex['heldout']}\n".encode())
        assert full_register(ex["caption"]), ex["caption"]
    assert h.hexdigest() == "abe690faeba42b9f1390d70c051e1c126bc15dcf19bc97789fdcb4661c0a3865"


def test_natural_split_parses_back_is_new_and_its_images_match():
    forms = Counter()
    heldout = 0
    for i in range(300):
        ex = make_example(WORLD, "natural", i)
        scene = Scene.from_json(ex["scene"])
        text = ex["caption"]
        assert parse_caption(text) == scene.spec, text
        assert not full_register(text), text  # every caption of this set is in a new form
        assert match_caption(ex["image"], text)["exact"], text  # the rendered scene satisfies its caption
        if ex["heldout"]:
            heldout += 1
            assert spec_pairs(scene.spec) & set(WORLD.heldout_pairs), text  # the held-out pair is asked for
        groups = scene.spec.groups
        forms["no size"] += any(g.size is None for g in groups)
        forms["no color"] += any(g.color is None for g in groups)
        forms["lone object, no place"] += groups[0].count == 1 and len(groups) == 1 and scene.spec.position is None
        forms["color after the noun"] += bool(re.search(r"\b(that is|that are|all|both) ", text))
        forms["no count word"] += not re.match(r"(a|an|one|a single|two|a pair of|2|three|3) |there ", text)
        forms["a single / digits"] += bool(re.search(r"\b(a single|2|3) ", text))
    assert 100 < heldout < 200
    assert all(n >= 10 for n in forms.values()), forms


def test_training_mixes_the_two_registers_and_zero_keeps_the_full_one():
    natural = [not full_register(make_example(WORLD, "train", i)["caption"]) for i in range(300)]
    assert 0.4 < np.mean(natural) < 0.7  # natural_captions=0.6, a few natural draws name everything
    full_only = dataclasses.replace(WORLD, natural_captions=0.0)
    assert all(full_register(make_example(full_only, "train", i)["caption"]) for i in range(100))


def test_a_lone_object_without_size_or_place_is_judged_on_what_is_asked():
    for size in SIZES:
        for x, y in ((0.25, 0.25), (0.5, 0.75), (0.75, 0.5)):
            verdict = match_caption(picture(("circle", "red", size, x, y)), "a red circle")
            assert verdict == {
                "count": True, "shape": True, "color": True, "size": None, "relation": None, "exact": True
            }  # fmt: skip
            assert "size: not asked" in verdict_text(verdict) and "relation: not asked" in verdict_text(verdict)
    two = match_caption(
        picture(("circle", "red", "small", 0.25, 0.25), ("circle", "red", "large", 0.75, 0.75)), "red circle"
    )
    assert two["count"] is False and two["exact"] is False
    blue = match_caption(picture(("circle", "blue", "large", 0.5, 0.5)), "a circle that is red")
    assert blue["color"] is False and blue["shape"] is True and not blue["exact"]
    square = match_caption(picture(("square", "blue", "large", 0.5, 0.5)), "a big blue square")
    assert square["exact"] and square["size"] is True and square["relation"] is None
    small = match_caption(picture(("square", "blue", "small", 0.5, 0.5)), "a big blue square")
    assert small["size"] is False and not small["exact"]


def test_groups_without_colors_bind_by_shape_and_relation():
    left = picture(("star", "green", "small", 0.25, 0.5), ("heart", "purple", "large", 0.75, 0.5))
    assert match_caption(left, "a star to the left of a heart")["exact"]
    verdict = match_caption(left, "a star to the right of a heart")
    assert verdict["relation"] is False and not verdict["exact"] and verdict["color"] is None
    # A group without a color takes circles of any colors; with one, every object must have it.
    circles = picture(("circle", "blue", "small", 0.25, 0.5), ("circle", "red", "small", 0.75, 0.5))
    assert match_caption(circles, "two circles")["exact"]
    assert not match_caption(circles, "two circles, both red")["exact"]
    assert match_caption(circles, "a blue circle left of a red circle")["exact"]
    triple = picture(("square", "blue", "small", 0.2, 0.5), ("square", "blue", "large", 0.5, 0.5),
                     ("star", "red", "small", 0.8, 0.5))  # fmt: skip
    assert match_caption(triple, "two blue squares to the left of a red star")["exact"]  # any sizes
    assert not match_caption(triple, "two small blue squares to the left of a red star")["exact"]


def test_parser_refuses_what_it_cannot_judge():
    for caption, message in [
        ("red circles", "say how many"),
        ("a circle, big and red", "not next to a shape word"),
        ("a red circle left of a circle", "must differ"),
        ("a red circle that is blue", "more than one size or color"),
        ("three blue squares in the center", "only defined for a lone object"),
        ("a giraffe wearing a bow tie", "expected one or two"),
    ]:
        with pytest.raises(CaptionParseError, match=message):
            parse_caption(caption)


def test_negatives_never_name_an_unsaid_attribute():
    """A hard negative must be false of the image: changing or swapping an attribute the caption leaves
    unsaid could still describe the picture, so only said attributes change."""
    rng = np.random.default_rng(0)
    checked = 0
    for i in range(200):
        scene = Scene.from_json(make_example(WORLD, "natural", i)["scene"])
        if scene.spec.groups[0].size is not None or scene.spec.groups[0].color is not None:
            continue
        checked += 1
        negative = perturb(scene.spec, rng, (), max_objects=3)
        assert negative.groups[0].size is None and negative.groups[0].color is None, negative
        changed = perturb_scene(scene, rng, (), max_objects=3)
        assert not match_spec(parse_image(render(changed, 64)), scene.spec)["exact"]
    assert checked >= 5


def test_a_lone_objects_place_is_optional():
    assert parse_caption("a red circle in the top left corner").position == POSITIONS[0]
    assert parse_caption("red circle").position is None
