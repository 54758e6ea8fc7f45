"""Caption grammar of the shapes world: scene spec → varied English, and English → scene spec.

Both directions share one vocabulary table, so every caption the grammar writes parses back to the
spec it came from (tested), and any caption a user types within the grammar can be scored.
"""

from __future__ import annotations

import re

import numpy as np

from vim.world.scene import COLORS, SHAPES, CaptionSpec, Group

COUNT_WORDS = {1: ("a", "one"), 2: ("two", "a pair of"), 3: ("three",)}
SIZE_WORDS = {"small": ("small", "little", "tiny"), "large": ("large", "big")}
SHAPE_WORDS = {  # (singular, plural) synonyms
    "circle": (("circle", "circles"), ("disk", "disks")),
    "square": (("square", "squares"), ("box", "boxes")),
    "triangle": (("triangle", "triangles"),),
    "star": (("star", "stars"),),
    "heart": (("heart", "hearts"),),
    "cross": (("cross", "crosses"), ("plus sign", "plus signs")),
}
RELATION_WORDS = {
    "left_of": ("to the left of", "left of"),
    "right_of": ("to the right of", "right of"),
    "above": ("above", "over"),
    "below": ("below", "under", "beneath"),
}
POSITION_WORDS = {
    "top_left": ("in the top left corner", "at the top left"),
    "top": ("at the top", "in the top middle"),
    "top_right": ("in the top right corner", "at the top right"),
    "left": ("on the left", "at the left side"),
    "center": ("in the center", "in the middle"),
    "right": ("on the right", "at the right side"),
    "bottom_left": ("in the bottom left corner", "at the bottom left"),
    "bottom": ("at the bottom", "in the bottom middle"),
    "bottom_right": ("in the bottom right corner", "at the bottom right"),
}
PREFIXES = ("", "a picture of ", "an image of ", "a drawing of ")


def _choice(rng: np.random.Generator, options: tuple[str, ...]) -> str:
    return options[int(rng.integers(len(options)))]


def group_phrase(group: Group, rng: np.random.Generator) -> str:
    count = _choice(rng, COUNT_WORDS[group.count])
    size = _choice(rng, SIZE_WORDS[group.size])
    singular, plural = SHAPE_WORDS[group.shape][int(rng.integers(len(SHAPE_WORDS[group.shape])))]
    return f"{count} {size} {group.color} {singular if group.count == 1 else plural}"


def make_caption(spec: CaptionSpec, rng: np.random.Generator) -> str:
    """One of several templates, with synonyms, for the spec."""
    a = spec.groups[0]
    verb = "is" if a.count == 1 else "are"
    phrase_a = group_phrase(a, rng)
    if spec.relation is not None:
        rel = _choice(rng, RELATION_WORDS[spec.relation])
        phrase_b = group_phrase(spec.groups[1], rng)
        templates = (
            f"{{p}}{phrase_a} {rel} {phrase_b}",
            f"there {verb} {phrase_a} {rel} {phrase_b}",
            f"{phrase_a} {verb} {rel} {phrase_b}",
        )
    elif spec.position is not None:
        pos = _choice(rng, POSITION_WORDS[spec.position])
        templates = (f"{{p}}{phrase_a} {pos}", f"there {verb} {phrase_a} {pos}", f"{pos} there {verb} {phrase_a}")
    else:
        templates = (f"{{p}}{phrase_a}", f"there {verb} {phrase_a}", f"{phrase_a} on a dark background")
    template = _choice(rng, templates)
    return template.replace("{p}", _choice(rng, PREFIXES))


def _alternation(words: dict[str, tuple[str, ...]]) -> tuple[str, dict[str, str]]:
    lookup = {w: key for key, ws in words.items() for w in ws}
    ordered = sorted(lookup, key=len, reverse=True)  # longest first: "to the left of" before "left of"
    return "|".join(re.escape(w) for w in ordered), lookup


_COUNT_RE, _COUNT_OF = _alternation({str(k): v for k, v in COUNT_WORDS.items()})
_SIZE_RE, _SIZE_OF = _alternation(SIZE_WORDS)
_COLOR_RE, _COLOR_OF = _alternation({c: (c,) for c in COLORS})
_SHAPE_RE, _SHAPE_OF = _alternation({s: tuple(w for pair in SHAPE_WORDS[s] for w in pair) for s in SHAPES})
_REL_RE, _REL_OF = _alternation(RELATION_WORDS)
_POS_RE, _POS_OF = _alternation(POSITION_WORDS)
_GROUP = re.compile(
    rf"\b(?P<count>{_COUNT_RE})\s+(?P<size>{_SIZE_RE})\s+(?P<color>{_COLOR_RE})\s+(?P<shape>{_SHAPE_RE})\b"
)
_PLURALS = {plural for pairs in SHAPE_WORDS.values() for _, plural in pairs}
_SHAPE_WORD = re.compile(rf"\b({_SHAPE_RE})\b")
_COLOR_WORD = re.compile(rf"\b({_COLOR_RE})\b")
_RELATION = re.compile(rf"\b({_REL_RE})\b")
_POSITION = re.compile(rf"\b({_POS_RE})\b")


def attribute_views(caption: str) -> tuple[str, str]:
    """(the caption without its shape words, the caption without its color words).

    Each view names only one of a group's two identity attributes, so a model that scores both views
    (and binds them through the count, size, place and relation words they share) never needs to have
    seen a color on a shape to score that pair. Text outside the grammar passes through with whatever
    color and shape words it has removed.
    """
    return tuple(" ".join(pattern.sub("", caption).split()) for pattern in (_SHAPE_WORD, _COLOR_WORD))


class CaptionParseError(ValueError):
    """A caption outside the shapes-world grammar."""


def parse_caption(caption: str) -> CaptionSpec:
    """Recover the spec a caption asserts; raises CaptionParseError naming what is missing."""
    text = " ".join(caption.lower().replace(",", " ").split())
    matches = list(_GROUP.finditer(text))
    if not 1 <= len(matches) <= 2:
        raise CaptionParseError(
            f"caption {caption!r}: expected one or two '<count> <size> <color> <shape>' phrases, found {len(matches)}"
        )
    groups = []
    for m in matches:
        count = int(_COUNT_OF[m["count"]])
        shape_word = m["shape"]
        if (shape_word in _PLURALS) != (count > 1):
            raise CaptionParseError(f"caption {caption!r}: count and noun disagree in {m[0]!r}")
        groups.append(Group(count, _SIZE_OF[m["size"]], _COLOR_OF[m["color"]], _SHAPE_OF[shape_word]))
    if len(groups) == 2:
        between = text[matches[0].end() : matches[1].start()]
        rel = _RELATION.search(between)
        if rel is None:
            raise CaptionParseError(f"caption {caption!r}: no relation between the two groups")
        return CaptionSpec(tuple(groups), relation=_REL_OF[rel[1]])
    rest = text[: matches[0].start()] + " " + text[matches[0].end() :]
    pos = _POSITION.search(rest)
    position = _POS_OF[pos[1]] if pos else None
    if position is not None and groups[0].count != 1:
        raise CaptionParseError(f"caption {caption!r}: a position is only defined for a lone object")
    return CaptionSpec(tuple(groups), position=position)
