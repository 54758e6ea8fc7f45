"""The structured scenes of the embedded "shapes" world and how they are sampled.

A scene is a caption structure (one or two *groups* of identical objects, an optional pairwise
relation between the groups, an optional absolute position for a lone object) plus the concrete
objects placed on the canvas. Positions are stored in normalized [0, 1] coordinates on a 1/16 grid so
the same scene renders at 64×64 and, exactly scaled, at 128×128. A caption may leave a group's size or
color unsaid (None in its spec): the objects still have one, drawn from the world's prior, and any
value satisfies the caption.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Sequence

import numpy as np

SHAPES = ("circle", "square", "triangle", "star", "heart", "cross")
COLORS: dict[str, tuple[int, int, int]] = {
    "red": (222, 40, 40),
    "orange": (246, 142, 24),
    "yellow": (240, 222, 44),
    "green": (40, 172, 64),
    "cyan": (44, 206, 222),
    "blue": (44, 84, 232),
    "purple": (152, 64, 214),
    "white": (242, 242, 242),
}
# Side of an object's box as a fraction of the image side (12 px and 20 px at 64×64).
SIZES: dict[str, float] = {"small": 12 / 64, "large": 20 / 64}
RELATIONS = ("left_of", "right_of", "above", "below")
# Absolute positions of a lone object: a 3×3 grid of regions.
POSITIONS = (
    "top_left", "top", "top_right",
    "left", "center", "right",
    "bottom_left", "bottom", "bottom_right",
)  # fmt: skip
# Object centers snap to a 4-pixel grid (at 64×64): boxes align with pixels, and an object meets the
# tokenizer's 8×8 patches in only 2×2 ways, so a 64-token tokenizer learns the world in CPU minutes.
GRID = 16


@dataclasses.dataclass(frozen=True, slots=True)
class Group:
    """`count` objects described as "<count> <size> <color> <shape>"; size or color None: not said."""

    count: int
    size: str | None
    color: str | None
    shape: str

    @property
    def description(self) -> tuple[str | None, str | None, str]:
        return (self.size, self.color, self.shape)

    def admits(self, size: str, color: str, shape: str) -> bool:
        """Does an object of this size, color and shape fit the group's description?"""
        return shape == self.shape and self.size in (None, size) and self.color in (None, color)


@dataclasses.dataclass(frozen=True, slots=True)
class SceneObject:
    shape: str
    color: str
    size: str
    x: float  # box center, fraction of width
    y: float  # box center, fraction of height


@dataclasses.dataclass(frozen=True, slots=True)
class Background:
    top_left: tuple[int, int, int]  # gradient start color
    bottom_right: tuple[int, int, int]  # gradient end color
    direction: str  # "vertical" | "horizontal" | "diagonal"
    noise_seed: int  # seeds the faint per-pixel texture


@dataclasses.dataclass(frozen=True, slots=True)
class CaptionSpec:
    """What a caption asserts; everything the faithfulness score checks."""

    groups: tuple[Group, ...]
    relation: str | None = None  # relation of groups[0] to groups[1]
    position: str | None = None  # region of a lone object

    def expanded(self) -> list[tuple[str | None, str | None, str]]:
        """The (size, color, shape) of every object the caption asks for, sorted (None: not said)."""
        return sorted((g.description for g in self.slots()), key=lambda d: tuple(v or "" for v in d))

    def slots(self) -> list[Group]:
        """The group of every object the caption asks for, one entry per object."""
        return [g for g in self.groups for _ in range(g.count)]


@dataclasses.dataclass(frozen=True, slots=True)
class Scene:
    spec: CaptionSpec
    objects: tuple[SceneObject, ...]
    background: Background

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> Scene:
        d = json.loads(text)
        spec = d["spec"]
        bg = d["background"]
        return cls(
            spec=CaptionSpec(
                groups=tuple(Group(**g) for g in spec["groups"]),
                relation=spec["relation"],
                position=spec["position"],
            ),
            objects=tuple(SceneObject(**o) for o in d["objects"]),
            background=Background(
                top_left=tuple(bg["top_left"]),
                bottom_right=tuple(bg["bottom_right"]),
                direction=bg["direction"],
                noise_seed=bg["noise_seed"],
            ),
        )


def pair_name(color: str, shape: str) -> str:
    return f"{color} {shape}"


def spec_pairs(spec: CaptionSpec) -> set[str]:
    """The color–shape combinations a caption mentions (what held-out lists are made of)."""
    return {pair_name(g.color, g.shape) for g in spec.groups if g.color is not None}


@functools.cache  # called once per rendered example with the same tuple
def validate_heldout(heldout_pairs: tuple[str, ...]) -> None:
    known = {pair_name(c, s) for c in COLORS for s in SHAPES}
    bad = [p for p in heldout_pairs if p not in known]
    if bad:
        raise ValueError(
            f"unknown held-out color-shape pair(s) {bad}; use '<color> <shape>' from "
            f"colors {list(COLORS)} and shapes {list(SHAPES)}"
        )


def _sample_spec(rng: np.random.Generator, max_objects: int) -> CaptionSpec:
    def group(count: int) -> Group:
        return Group(count, str(rng.choice(list(SIZES))), str(rng.choice(list(COLORS))), str(rng.choice(SHAPES)))

    if max_objects >= 2 and rng.random() < 0.5:
        counts = [(1, 1)] + ([(1, 2), (2, 1)] if max_objects >= 3 else [])
        n_a, n_b = counts[rng.integers(len(counts))]
        a, b = group(n_a), group(n_b)
        while b.description == a.description:
            b = group(n_b)
        return CaptionSpec((a, b), relation=str(rng.choice(RELATIONS)))
    count = int(rng.integers(1, max_objects + 1))
    position = str(rng.choice(POSITIONS)) if count == 1 else None
    return CaptionSpec((group(count),), position=position)


# How often a natural caption leaves out each attribute it may leave out.
OMIT_SIZE = 0.5  # per group
OMIT_COLOR = 0.2  # per group
OMIT_POSITION = 0.5  # a lone object's place


def distinguishable(spec: CaptionSpec) -> bool:
    """Can every object be told to belong to one group? Two groups must differ in an attribute both name."""
    if len(spec.groups) < 2:
        return True
    a, b = spec.groups
    return any(x is not None and y is not None and x != y for x, y in zip(a.description, b.description, strict=True))


def leave_out(spec: CaptionSpec, rng: np.random.Generator, keep_color: Sequence[int] = ()) -> CaptionSpec:
    """`spec` as a person might say it: sizes, colors and a lone object's place left out at random.

    Colors of the groups in `keep_color` stay named (a held-out pair must be asked for to be tested); the
    two groups of a relation stay distinguishable (the omissions are dropped again if they would not be).
    """
    groups = tuple(
        Group(
            g.count,
            None if rng.random() < OMIT_SIZE else g.size,
            None if i not in keep_color and rng.random() < OMIT_COLOR else g.color,
            g.shape,
        )
        for i, g in enumerate(spec.groups)
    )
    position = None if spec.position is not None and rng.random() < OMIT_POSITION else spec.position
    said = CaptionSpec(groups, spec.relation, position)
    return said if distinguishable(said) else dataclasses.replace(spec, position=position)


def _snap(v: float) -> float:
    return round(v * GRID) / GRID


def _place(spec: CaptionSpec, rng: np.random.Generator, gap: float) -> tuple[SceneObject, ...] | None:
    """Place the spec's objects without overlap, honouring relation/position; None if it failed."""
    boxes: list[SceneObject] = []
    split = rng.uniform(0.4, 0.6)
    margin = 0.06  # keeps relations unambiguous: groups are at least this far apart (centers)
    for gi, g in enumerate(spec.groups):
        half = SIZES[g.size] / 2
        for _ in range(g.count):
            for _attempt in range(60):
                lo, hi = half + 1 / 64, 1 - half - 1 / 64
                x, y = rng.uniform(lo, hi), rng.uniform(lo, hi)
                if spec.position is not None:
                    row, col = divmod(POSITIONS.index(spec.position), 3)
                    x = float(np.clip((col + 0.5) / 3 + rng.uniform(-0.04, 0.04), lo, hi))
                    y = float(np.clip((row + 0.5) / 3 + rng.uniform(-0.04, 0.04), lo, hi))
                if spec.relation is not None:
                    first = gi == 0
                    before = {"left_of": first, "right_of": not first, "above": first, "below": not first}
                    axis_lo = before[spec.relation]
                    span = (lo, split - margin) if axis_lo else (split + margin, hi)
                    if span[0] >= span[1]:
                        return None
                    v = rng.uniform(*span)
                    if spec.relation in ("left_of", "right_of"):
                        x = v
                    else:
                        y = v
                x, y = _snap(x), _snap(y)
                ok = all(max(abs(x - o.x), abs(y - o.y)) >= half + SIZES[o.size] / 2 + gap for o in boxes)
                if ok:
                    boxes.append(SceneObject(g.shape, g.color, g.size, x, y))
                    break
            else:
                return None
    return tuple(boxes)


# Dark, low-saturation tones: far from every object color in RGB. A background is a gradient between
# two of them (possibly the same), so backgrounds vary widely while staying a small discrete family a
# 64-token tokenizer can name exactly; only the faint per-pixel texture is continuous.
BACKGROUND_TONES = (
    (28, 28, 32), (44, 38, 34), (34, 46, 38), (38, 36, 52),
    (58, 56, 54), (26, 36, 50), (52, 38, 44), (70, 66, 58),
)  # fmt: skip
BACKGROUND_DIRECTIONS = ("vertical", "horizontal", "diagonal")


def _sample_background(rng: np.random.Generator) -> Background:
    start, end = rng.integers(len(BACKGROUND_TONES), size=2)
    direction = BACKGROUND_DIRECTIONS[int(rng.integers(len(BACKGROUND_DIRECTIONS)))]
    return Background(BACKGROUND_TONES[start], BACKGROUND_TONES[end], direction, int(rng.integers(2**31)))


def sample_scene(
    rng: np.random.Generator,
    *,
    max_objects: int = 3,
    heldout_pairs: Sequence[str] = (),
    require_heldout: bool = False,
    gap: float = 4 / 64,
    natural: bool = False,
) -> Scene:
    """Sample one scene.

    Training scenes never mention a held-out color–shape pair; with `require_heldout` the scene
    mentions at least one (the compositional part of the test split). With `natural` the spec leaves
    out what a person might (`leave_out`): the objects keep the sizes and colors drawn for the full
    spec, and a lone object whose place is not said goes anywhere.
    """
    heldout = set(heldout_pairs)
    for _ in range(1000):
        spec = _sample_spec(rng, max_objects)
        if require_heldout:
            color, shape = str(rng.choice(sorted(heldout))).split(" ")
            g = spec.groups[0]
            groups = (Group(g.count, g.size, color, shape), *spec.groups[1:])
            if len(groups) == 2 and groups[0].description == groups[1].description:
                continue
            spec = dataclasses.replace(spec, groups=groups)
        elif spec_pairs(spec) & heldout:
            continue
        said = leave_out(spec, rng, keep_color=(0,) if require_heldout else ()) if natural else spec
        objects = _place(dataclasses.replace(spec, position=said.position), rng, gap)
        if objects is not None:
            return Scene(said, objects, _sample_background(rng))
    raise RuntimeError("could not place a scene; the world config leaves too little room")
