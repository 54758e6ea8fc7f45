"""Hard negative captions: a scene's spec changed in exactly one way a caption can say and an image shows.

A contrastive scorer trained only on in-batch captions almost never meets a near miss such as the same
caption with the two groups' colors swapped, so it never has to learn which attribute belongs to which
object. `perturb` makes such near misses (one per training example); `swap_colors` is the binding test
the scorer's evaluation reports.

    neg = perturb(scene.spec, rng, world.heldout_pairs, max_objects=world.max_objects)
    caption = make_caption(neg, rng)

`perturb_scene` makes the other side's near miss, an image: the scene with one group's color or shape
changed (or the two groups' exchanged), every object left where it was. A reranker picks one image for one
caption among candidates that differ in just such ways, which caption negatives alone never train.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Sequence

import numpy as np

from vim.world.captions import CaptionParseError, full_register, make_caption, make_natural_caption, parse_caption
from vim.world.render import render
from vim.world.scene import (
    COLORS,
    POSITIONS,
    SHAPES,
    SIZES,
    CaptionSpec,
    Group,
    Scene,
    SceneObject,
    distinguishable,
    spec_pairs,
    validate_heldout,
)

INVERSE_RELATION = {"left_of": "right_of", "right_of": "left_of", "above": "below", "below": "above"}
MAX_COUNT = 3  # the caption grammar's largest count word ("three")
# Kinds that only change which attribute is bound to which group (the objects in the picture stay the
# same multiset of colors and shapes); they get half the probability mass whenever one applies.
BINDING_KINDS = ("swap_color", "swap_shape")
BINDING_SHARE = 0.5
# Kinds an image negative can have: they recolor or reshape objects in place, so no object has to move
# (a count, size, position or relation change would need a new layout).
IMAGE_KINDS = ("swap_color", "swap_shape", "change_color", "change_shape")


class NoPerturbationError(ValueError):
    """No change of a spec qualifies (only a spec made of held-out pairs has none)."""


def semantic_key(spec: CaptionSpec) -> tuple:
    """Equal for two specs exactly when they assert the same picture.

    "A left of B" and "B right of A" are one picture, so a two-group spec is keyed by the smaller of
    its two readings; a one-group spec by its group and position.
    """
    groups = [(g.count, g.size or "", g.color or "", g.shape) for g in spec.groups]  # "": not said, orderable
    if len(groups) == 2 and spec.relation is not None:
        a, b = groups
        return min((a, b, spec.relation), (b, a, INVERSE_RELATION[spec.relation]))
    return (*groups, spec.position)


def _with_groups(spec: CaptionSpec, *groups: Group) -> CaptionSpec:
    return dataclasses.replace(spec, groups=tuple(groups))


def _replace_group(spec: CaptionSpec, i: int, **changes) -> CaptionSpec:
    groups = list(spec.groups)
    groups[i] = dataclasses.replace(groups[i], **changes)
    return _with_groups(spec, *groups)


def _swap(spec: CaptionSpec, field: str) -> list[CaptionSpec]:
    if len(spec.groups) != 2:
        return []
    a, b = spec.groups
    if getattr(a, field) == getattr(b, field) or None in (getattr(a, field), getattr(b, field)):
        return []  # swapping equal attributes changes nothing; one a caption leaves unsaid swaps nothing it says
    return [
        _with_groups(
            spec,
            dataclasses.replace(a, **{field: getattr(b, field)}),
            dataclasses.replace(b, **{field: getattr(a, field)}),
        )
    ]


def _reverse_relation(spec: CaptionSpec) -> list[CaptionSpec]:
    if spec.relation is None:
        return []
    return [dataclasses.replace(spec, relation=INVERSE_RELATION[spec.relation])]


def _change(field: str, values: Sequence[str]) -> Callable[[CaptionSpec], list[CaptionSpec]]:
    def candidates(spec: CaptionSpec) -> list[CaptionSpec]:
        return [
            _replace_group(spec, i, **{field: v})
            for i, g in enumerate(spec.groups)
            for v in values
            if getattr(g, field) is not None and v != getattr(g, field)  # naming an unsaid one could still fit
        ]

    return candidates


def _change_count(spec: CaptionSpec, max_objects: int) -> list[CaptionSpec]:
    out = []
    total = sum(g.count for g in spec.groups)
    for i, g in enumerate(spec.groups):
        for count in range(1, MAX_COUNT + 1):
            if count == g.count or total - g.count + count > max_objects:
                continue
            changed = _replace_group(spec, i, count=count)
            if len(spec.groups) == 1:
                # The grammar gives a position only to a lone object: a lone object that becomes a group
                # loses it, and a group that becomes one object gets one (as every sampled lone object
                # has), so the negative does not stand out by its missing position.
                positions = POSITIONS if count == 1 else (None,)
                out.extend(dataclasses.replace(changed, position=p) for p in positions)
            else:
                out.append(changed)
    return out


def _change_position(spec: CaptionSpec) -> list[CaptionSpec]:
    if spec.position is None:
        return []
    return [dataclasses.replace(spec, position=p) for p in POSITIONS if p != spec.position]


def _kinds(max_objects: int) -> dict[str, Callable[[CaptionSpec], list[CaptionSpec]]]:
    return {
        "swap_color": lambda s: _swap(s, "color"),
        "swap_shape": lambda s: _swap(s, "shape"),
        "swap_size": lambda s: _swap(s, "size"),
        "reverse_relation": _reverse_relation,
        "change_color": _change("color", tuple(COLORS)),
        "change_shape": _change("shape", SHAPES),
        "change_size": _change("size", tuple(SIZES)),
        "change_count": lambda s: _change_count(s, max_objects),
        "change_position": _change_position,
    }


KINDS = tuple(_kinds(3))


def _allowed(candidate: CaptionSpec, spec: CaptionSpec, heldout: set[str]) -> bool:
    if spec_pairs(candidate) & heldout:
        return False
    # Groups that cannot be told apart ("a red circle left of a red circle") never occur in the world.
    if not distinguishable(candidate):
        return False
    return semantic_key(candidate) != semantic_key(spec)


def applicable_kinds(
    spec: CaptionSpec, heldout_pairs: Sequence[str] = (), *, max_objects: int = 3
) -> dict[str, list[CaptionSpec]]:
    """Every kind of change that applies to `spec`, with all its allowed results (none is empty)."""
    validate_heldout(tuple(heldout_pairs))
    heldout = set(heldout_pairs)
    out = {}
    for kind, candidates in _kinds(max_objects).items():
        allowed = [c for c in candidates(spec) if _allowed(c, spec, heldout)]
        if allowed:
            out[kind] = allowed
    return out


def perturb_with_kind(
    spec: CaptionSpec,
    rng: np.random.Generator,
    heldout_pairs: Sequence[str],
    *,
    max_objects: int = 3,
    kinds: Sequence[str] = KINDS,
) -> tuple[str, CaptionSpec]:
    """(kind, perturbed spec); see `perturb`. `kinds` limits the changes drawn from."""
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown perturbation kind(s) {sorted(unknown)}; expected some of {KINDS}")
    options = applicable_kinds(spec, heldout_pairs, max_objects=max_objects)
    options = {k: v for k, v in options.items() if k in kinds}
    if not options:
        # Only a spec made of held-out pairs can get here (changing a size always applies otherwise).
        raise NoPerturbationError(f"no perturbation of {spec} avoids the held-out pairs {list(heldout_pairs)}")
    binding = [k for k in options if k in BINDING_KINDS]
    other = [k for k in options if k not in BINDING_KINDS]
    pool = binding if binding and (not other or rng.random() < BINDING_SHARE) else other
    kind = pool[int(rng.integers(len(pool)))]
    candidates = options[kind]
    return kind, candidates[int(rng.integers(len(candidates)))]


def perturb(
    spec: CaptionSpec, rng: np.random.Generator, heldout_pairs: Sequence[str], *, max_objects: int = 3
) -> CaptionSpec:
    """A spec that differs from `spec` in one way a caption can express and the image would show.

    The kind of change is uniform over those that apply, except that the binding swaps (colors or
    shapes of the two groups exchanged) together take half the probability mass when one applies. The
    result never mentions a held-out color–shape pair, never has more than `max_objects` objects, and
    never asserts the same picture as `spec` (`semantic_key`). Raises NoPerturbationError when no
    change qualifies, which only a spec mentioning held-out pairs can cause.
    """
    return perturb_with_kind(spec, rng, heldout_pairs, max_objects=max_objects)[1]


def perturb_scene(
    scene: Scene, rng: np.random.Generator, heldout_pairs: Sequence[str], *, max_objects: int = 3
) -> Scene:
    """The scene with one `IMAGE_KINDS` change (same rules as `perturb`): each group's objects take the new
    color and shape of their group, and keep their size, place and the background.

    Raises NoPerturbationError when no such change qualifies (a scene made of held-out pairs).
    """
    _, spec = perturb_with_kind(scene.spec, rng, heldout_pairs, max_objects=max_objects, kinds=IMAGE_KINDS)

    # Groups are distinguishable, so each object fits exactly one; a color the caption leaves unsaid stays.
    def changed(o: SceneObject) -> SceneObject:
        pairs = zip(scene.spec.groups, spec.groups, strict=True)
        new = next(b for a, b in pairs if a.admits(o.size, o.color, o.shape))
        return dataclasses.replace(o, color=new.color or o.color, shape=new.shape)

    objects = tuple(changed(o) for o in scene.objects)
    return Scene(spec=spec, objects=objects, background=scene.background)


def swap_colors(spec: CaptionSpec, heldout_pairs: Sequence[str] = ()) -> CaptionSpec | None:
    """The spec with its two groups' colors exchanged; None without two groups of different colors, or
    when the swap would mention a held-out pair (an evaluation should not hinge on an unseen pair)."""
    swapped = _swap(spec, "color")
    if not swapped or spec_pairs(swapped[0]) & set(heldout_pairs):
        return None
    return swapped[0]


def swap_caption_colors(caption: str, spec: CaptionSpec, heldout_pairs: Sequence[str] = ()) -> str | None:
    """`caption` (which asserts `spec`) with the two groups' color words exchanged, wording otherwise
    kept, so the two captions differ only in which color goes with which object; None where
    `swap_colors` is None or the caption does not parse back to `spec`.
    """
    swapped = swap_colors(spec, heldout_pairs)
    if swapped is None:
        return None
    a, b = spec.groups[0].color, spec.groups[1].color
    # Color names have no synonyms and appear nowhere else in the grammar, so a word swap is exact.
    text = re.sub(rf"\b({a}|{b})\b", lambda m: b if m[1] == a else a, caption)
    try:
        return text if parse_caption(text) == swapped else None
    except CaptionParseError:
        return None


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def world_scene(example: dict) -> Scene | None:
    """The example's world scene; None when it has none (tfds: b"") or its `scene` field holds another
    dataset's labels (an imported dataset's JSON, such as the emoji's), which no world change applies to."""
    scene = example.get("scene", b"")
    if not len(scene):
        return None
    labels = json.loads(scene)
    return Scene.from_json(scene) if isinstance(labels, dict) and "spec" in labels else None


def negative_image(
    example: dict, rng: np.random.Generator, heldout_pairs: tuple[str, ...], max_objects: int
) -> np.ndarray | None:
    """The example's scene changed by `perturb_scene` and rendered at its image's size; None without a scene
    or without an allowed change."""
    scene = world_scene(example)
    if scene is None:
        return None
    try:
        changed = perturb_scene(scene, rng, heldout_pairs, max_objects=max_objects)
    except NoPerturbationError:
        return None
    return render(changed, np.asarray(example["image"]).shape[0])


def negative_captions(
    example: dict, rng: np.random.Generator, heldout_pairs: tuple[str, ...], max_objects: int, color_swap: bool
) -> tuple[str | None, str | None]:
    """(hard negative caption, color-swapped caption if `color_swap`) of an example; None where there is none.

    The scene is JSON (bytes from a built dataset, str from shapes-stream); examples without one
    (imported, tfds: b"" or "") get neither. The color swap keeps the own caption's wording.
    """
    scene = world_scene(example)
    if scene is None:
        return None, None
    spec = scene.spec
    # The negative speaks the own caption's register, so the register itself tells the scorer nothing.
    write = make_caption if full_register(_text(example["caption"])) else make_natural_caption
    try:
        negative = write(perturb(spec, rng, heldout_pairs, max_objects=max_objects), rng)
    except NoPerturbationError:  # a scene made of held-out pairs (test split) has no allowed change
        negative = None
    swapped = swap_caption_colors(_text(example["caption"]), spec, heldout_pairs) if color_swap else None
    return negative, swapped
