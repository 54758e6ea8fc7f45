import dataclasses
import json

import numpy as np
import pytest

from vim.config import WorldConfig
from vim.world.captions import CaptionParseError, parse_caption
from vim.world.check import parser_accuracy
from vim.world.dataset import make_example
from vim.world.parser import match_caption, parse_image
from vim.world.render import render
from vim.world.scene import COLORS, POSITIONS, SHAPES, Scene, spec_pairs

WORLD = WorldConfig()


def test_renderer_is_deterministic_and_seed_sensitive():
    a = make_example(WORLD, "train", 7)
    b = make_example(WORLD, "train", 7)
    assert np.array_equal(a["image"], b["image"]) and a["caption"] == b["caption"] and a["scene"] == b["scene"]
    other = make_example(dataclasses.replace(WORLD, seed=1), "train", 7)
    assert not np.array_equal(a["image"], other["image"])
    # Rendering the stored scene JSON reproduces the stored pixels exactly.
    assert np.array_equal(render(Scene.from_json(a["scene"]), 64), a["image"])


def test_render_is_antialiased_and_scales():
    scene = Scene.from_json(make_example(WORLD, "train", 3)["scene"])
    img64, img128 = render(scene, 64), render(scene, 128)
    assert img64.shape == (64, 64, 3) and img128.shape == (128, 128, 3)
    # Edge pixels blend object and background: colors that are neither appear.
    palette = np.asarray(list(COLORS.values()))
    dist = np.linalg.norm(img64[:, :, None, :].astype(float) - palette, axis=-1).min(-1)
    assert ((dist > 20) & (img64.max(-1) > 110)).sum() > 0
    # The same scene parses to the same objects at both resolutions.
    p64, p128 = parse_image(img64), parse_image(img128)
    assert [(o.shape, o.color, o.size) for o in p64] == [(o.shape, o.color, o.size) for o in p128]


def test_world_covers_the_vocabulary():
    seen_shapes, seen_colors, seen_sizes, seen_rel, seen_pos, counts = set(), set(), set(), set(), set(), set()
    for i in range(600):
        scene = Scene.from_json(make_example(WORLD, "train", i)["scene"])
        counts.add(len(scene.objects))
        seen_rel.add(scene.spec.relation)
        seen_pos.add(scene.spec.position)
        for o in scene.objects:
            seen_shapes.add(o.shape), seen_colors.add(o.color), seen_sizes.add(o.size)
    assert seen_shapes == set(SHAPES) and len(SHAPES) >= 5
    assert seen_colors == set(COLORS) and len(COLORS) >= 6
    assert seen_sizes == {"small", "large"}
    assert {"left_of", "right_of", "above", "below"} <= seen_rel
    assert set(POSITIONS) <= seen_pos
    assert counts == {1, 2, 3}


def test_captions_parse_back_to_their_scene():
    templates = set()
    for split in ("train", "test"):
        for i in range(500):
            ex = make_example(WORLD, split, i)
            scene = Scene.from_json(ex["scene"])
            assert parse_caption(ex["caption"]) == scene.spec, ex["caption"]
            # Object counts in the caption equal the objects in the picture.
            assert len(scene.spec.expanded()) == len(scene.objects)
            templates.add(ex["caption"].split(" ")[0])
    assert len(templates) >= 5  # several templates and synonyms in use


def test_caption_parser_rejects_text_outside_the_grammar():
    with pytest.raises(CaptionParseError, match="expected one or two"):
        parse_caption("a photo of a cat")
    with pytest.raises(CaptionParseError, match="count and noun disagree"):
        parse_caption("two small red circle")
    with pytest.raises(CaptionParseError, match="no relation"):
        parse_caption("a small red circle and a large blue square")


def test_heldout_pairs_absent_from_train_and_present_in_test():
    heldout = set(WORLD.heldout_pairs)
    for i in range(3000):
        scene = Scene.from_json(make_example(WORLD, "train", i)["scene"])
        assert not spec_pairs(scene.spec) & heldout
        assert not {f"{o.color} {o.shape}" for o in scene.objects} & heldout
    flags = [make_example(WORLD, "test", i) for i in range(400)]
    with_heldout = [f for f in flags if f["heldout"]]
    assert 0.4 < len(with_heldout) / len(flags) < 0.6
    for f in with_heldout:
        assert spec_pairs(Scene.from_json(f["scene"]).spec) & heldout


def test_parser_recovers_2000_validation_scenes():
    result = parser_accuracy(WORLD, "validation", 2000)
    print(json.dumps(result))
    assert result["exact_scene_accuracy"] >= 0.995, result["failures"]
    assert result["caption_match_accuracy"] >= 0.995


def test_match_caption_breaks_down_by_attribute():
    ex = make_example(WORLD, "test", 0)  # the full register: every attribute named
    spec = parse_caption(ex["caption"])
    assert match_caption(ex["image"], ex["caption"])["exact"]
    g = spec.groups[0]
    other_color = next(c for c in COLORS if c != g.color)
    wrong = ex["caption"].replace(f" {g.color} ", f" {other_color} ", 1)
    result = match_caption(ex["image"], wrong)
    assert not result["color"] and not result["exact"]
    blank = np.full((64, 64, 3), 40, np.uint8)
    result = match_caption(blank, "a small red circle")
    assert not result["count"] and not result["exact"]


def test_parser_rejects_bad_shapes():
    with pytest.raises(ValueError, match="square RGB"):
        parse_image(np.zeros((64, 32, 3), np.uint8))


def _same_picture(a, b) -> bool:
    """Independent of vim.world.negatives: two specs assert one picture ("A left of B" = "B right of A")."""
    inverse = {"left_of": "right_of", "right_of": "left_of", "above": "below", "below": "above"}
    if a == b:
        return True
    if len(a.groups) == 2 and len(b.groups) == 2 and a.relation and b.relation:
        return a.groups == b.groups[::-1] and a.relation == inverse[b.relation]
    return False


def test_perturb_changes_a_scene_in_one_visible_way_and_its_caption_parses_back():
    from vim.world.captions import make_caption
    from vim.world.negatives import BINDING_KINDS, KINDS, applicable_kinds, perturb, perturb_with_kind
    from vim.world.scene import CaptionSpec, Group, sample_scene

    heldout = set(WORLD.heldout_pairs)
    rng = np.random.default_rng(0)
    kinds, binding_draws, binding_chosen = {}, 0, 0
    for _ in range(600):
        spec = sample_scene(rng, max_objects=WORLD.max_objects, heldout_pairs=WORLD.heldout_pairs).spec
        applicable = applicable_kinds(spec, WORLD.heldout_pairs, max_objects=WORLD.max_objects)
        kind, neg = perturb_with_kind(spec, rng, WORLD.heldout_pairs, max_objects=WORLD.max_objects)
        kinds[kind] = kinds.get(kind, 0) + 1
        if set(applicable) & set(BINDING_KINDS):
            binding_draws += 1
            binding_chosen += kind in BINDING_KINDS
        assert neg != spec and not _same_picture(neg, spec), (kind, spec, neg)
        if not kind.startswith("swap_") and kind != "reverse_relation":
            # Everything but the swaps and the reversal changes the objects or the lone one's place.
            assert (neg.expanded(), neg.position) != (spec.expanded(), spec.position), (kind, spec, neg)
        else:  # same objects, bound or placed differently
            assert neg.expanded() != spec.expanded() or neg.relation != spec.relation or neg.groups != spec.groups
        assert not spec_pairs(neg) & heldout, (kind, neg)
        assert all(1 <= g.count <= 3 for g in neg.groups) and len(neg.expanded()) <= WORLD.max_objects
        if len(neg.groups) == 2:
            assert neg.groups[0].description != neg.groups[1].description and neg.relation is not None
        else:
            assert (neg.position is not None) == (neg.groups[0].count == 1)  # as sampled scenes have it
        assert parse_caption(make_caption(neg, rng)) == neg
    every = {"swap_color", "swap_shape", "swap_size", "reverse_relation", "change_color", "change_shape"}
    every |= {"change_size", "change_count", "change_position"}
    assert set(kinds) == every == set(KINDS), kinds  # every kind occurs
    # The binding swaps take about half the mass where they apply (binomial sd ≈ 0.03 here).
    assert 0.4 < binding_chosen / binding_draws < 0.6, (binding_chosen, binding_draws)
    # Same generator state, same negative; max_objects bounds count changes.
    spec = sample_scene(np.random.default_rng(5)).spec
    a = perturb(spec, np.random.default_rng(1), WORLD.heldout_pairs)
    assert a == perturb(spec, np.random.default_rng(1), WORLD.heldout_pairs)
    lone = CaptionSpec((Group(1, "small", "red", "circle"),), position="top")
    for seed in range(50):
        assert len(perturb(lone, np.random.default_rng(seed), (), max_objects=1).expanded()) == 1


def test_perturb_avoids_heldout_pairs_even_from_a_heldout_scene():
    from vim.world.negatives import NoPerturbationError, perturb
    from vim.world.scene import CaptionSpec, Group

    star = CaptionSpec((Group(1, "small", "red", "star"),), position="center")  # "red star" is held out
    for seed in range(100):
        neg = perturb(star, np.random.default_rng(seed), WORLD.heldout_pairs)
        assert not spec_pairs(neg) & set(WORLD.heldout_pairs) and neg.groups[0].description != ("small", "red", "star")
    # Both groups held out, and their swaps too: one change can fix only one group.
    both = CaptionSpec((Group(1, "small", "red", "star"), Group(1, "large", "blue", "heart")), relation="above")
    with pytest.raises(NoPerturbationError):
        perturb(both, np.random.default_rng(0), ("red star", "blue heart", "blue star", "red heart"))
    # With only the world's list the swaps (blue star, red heart) are allowed, and are all that is.
    for seed in range(20):
        neg = perturb(both, np.random.default_rng(seed), WORLD.heldout_pairs)
        assert spec_pairs(neg) == {"blue star", "red heart"}
    with pytest.raises(ValueError, match="unknown held-out"):
        perturb(star, np.random.default_rng(0), ("pink star",))


def test_perturb_scene_recolors_or_reshapes_one_group_in_place():
    from collections import Counter

    from vim.world.negatives import IMAGE_KINDS, negative_image, perturb_scene, perturb_with_kind
    from vim.world.scene import sample_scene

    heldout = set(WORLD.heldout_pairs)
    rng = np.random.default_rng(0)
    for _ in range(200):
        scene = sample_scene(rng, max_objects=WORLD.max_objects, heldout_pairs=WORLD.heldout_pairs)
        changed = perturb_scene(scene, np.random.default_rng(int(rng.integers(1 << 30))), WORLD.heldout_pairs)
        assert changed.spec != scene.spec and changed.background == scene.background
        assert not spec_pairs(changed.spec) & heldout
        # Same places and sizes; what the objects show is exactly what the new spec says.
        assert [(o.x, o.y, o.size) for o in changed.objects] == [(o.x, o.y, o.size) for o in scene.objects]
        assert Counter((o.size, o.color, o.shape) for o in changed.objects) == Counter(changed.spec.expanded())
        # Only colors and shapes change: counts, sizes, relation and position stay.
        assert [(g.count, g.size) for g in changed.spec.groups] == [(g.count, g.size) for g in scene.spec.groups]
        assert (changed.spec.relation, changed.spec.position) == (scene.spec.relation, scene.spec.position)
        assert not np.array_equal(render(changed), render(scene))
    # An example's negative image has its image's size; no scene (imported data), no negative.
    ex = make_example(WORLD, "validation", 0)
    image = negative_image(ex, np.random.default_rng(0), WORLD.heldout_pairs, WORLD.max_objects)
    assert image.shape == ex["image"].shape and image.dtype == np.uint8 and not np.array_equal(image, ex["image"])
    assert negative_image({**ex, "scene": ""}, np.random.default_rng(0), WORLD.heldout_pairs, 3) is None
    spec = sample_scene(np.random.default_rng(3)).spec
    kinds = {perturb_with_kind(spec, np.random.default_rng(s), (), kinds=IMAGE_KINDS)[0] for s in range(50)}
    assert kinds and kinds <= set(IMAGE_KINDS)
    with pytest.raises(ValueError, match="unknown perturbation kind"):
        perturb_with_kind(spec, rng, (), kinds=("recolor",))


def test_swap_colors_exchanges_the_groups_colors_and_keeps_the_wording():
    from vim.world.negatives import swap_caption_colors, swap_colors
    from vim.world.scene import CaptionSpec, Group

    a, b = Group(1, "small", "red", "circle"), Group(2, "large", "blue", "square")
    spec = CaptionSpec((a, b), relation="left_of")
    swapped = swap_colors(spec)
    assert swapped == CaptionSpec((Group(1, "small", "blue", "circle"), Group(2, "large", "red", "square")), "left_of")
    caption = "a picture of a tiny red disk to the left of two big blue boxes"
    assert swap_caption_colors(caption, spec) == "a picture of a tiny blue disk to the left of two big red boxes"
    # Same color, one group, or a swap that would mention a held-out pair: none.
    assert swap_colors(CaptionSpec((a, Group(1, "large", "red", "square")), relation="above")) is None
    assert swap_colors(CaptionSpec((a,), position="top")) is None
    assert swap_colors(CaptionSpec((a, Group(1, "small", "blue", "star")), relation="above"), ("red star",)) is None
    # Over rendered scenes: the swapped caption parses back to the swapped spec.
    n = 0
    for i in range(300):
        ex = make_example(WORLD, "validation", i)
        spec = Scene.from_json(ex["scene"]).spec
        text = swap_caption_colors(ex["caption"], spec, WORLD.heldout_pairs)
        if swap_colors(spec, WORLD.heldout_pairs) is None:
            assert text is None
            continue
        n += 1
        assert parse_caption(text) == swap_colors(spec) and len(text.split()) == len(ex["caption"].split())
    assert n > 50


def test_attribute_views_drop_exactly_the_shape_or_the_color_words():
    from vim.world.captions import SHAPE_WORDS, attribute_views

    shape_words = {w for pairs in SHAPE_WORDS.values() for pair in pairs for phrase in pair for w in phrase.split()}
    assert attribute_views("a picture of two big yellow plus signs to the left of a small red circle") == (
        "a picture of two big yellow to the left of a small red",
        "a picture of two big plus signs to the left of a small circle",
    )
    for i in range(300):
        caption = make_example(WORLD, "validation", i)["caption"].replace(",", " ,")  # "boxes, all blue"
        no_shape, no_color = attribute_views(caption)
        spec = parse_caption(caption)
        colors = [g.color for g in spec.groups if g.color is not None]
        assert [w for w in no_shape.split() if w in COLORS] == colors  # every color kept, in order
        assert not set(no_shape.split()) & shape_words, caption
        assert not set(no_color.split()) & set(COLORS), caption
        # Only attribute words go: the rest of the caption is the same word sequence in both views.
        rest = [w for w in caption.split() if w not in COLORS and w not in shape_words]
        assert [w for w in no_shape.split() if w not in COLORS] == rest
        assert [w for w in no_color.split() if w not in shape_words] == rest
