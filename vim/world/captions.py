"""Caption grammar of the shapes world: scene spec → varied English, and English → scene spec.

Both directions share one vocabulary table, so every caption the grammar writes parses back to the
spec it came from (tested), and any caption a user types within the grammar can be scored.

Two registers: `make_caption` names every attribute ("a small red circle in the center"; the test
split's captions), `make_natural_caption` writes what people type ("red circle", "a circle that is
red", "three small squares, all blue", "a star to the left of a heart"): sizes, colors, a lone
object's place and a singular's count word may be left out, and color may follow the noun.
"""

from __future__ import annotations

import itertools
import re

import numpy as np

from vim.world.scene import COLORS, SHAPES, CaptionSpec, Group, distinguishable

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
# Count words only natural captions use ("an" is chosen before a vowel, never at random).
NATURAL_COUNT_WORDS = {1: ("a", "one", "a single"), 2: ("two", "a pair of", "2"), 3: ("three", "3")}
PARSED_COUNT_WORDS = {1: ("a", "an", "one", "a single", "1"), 2: ("two", "a pair of", "2"), 3: ("three", "3")}
# Share of natural phrases that put the color after the noun: "a circle that is red", "two boxes, both blue".
COLOR_AFTER_NOUN = 0.35
BARE_SINGULAR = 0.3  # share of first-placed lone phrases without a count word: "red circle"


def _choice(rng: np.random.Generator, options: tuple[str, ...]) -> str:
    return options[int(rng.integers(len(options)))]


def group_phrase(group: Group, rng: np.random.Generator) -> str:
    count = _choice(rng, COUNT_WORDS[group.count])
    size = _choice(rng, SIZE_WORDS[group.size])
    singular, plural = SHAPE_WORDS[group.shape][int(rng.integers(len(SHAPE_WORDS[group.shape])))]
    return f"{count} {size} {group.color} {singular if group.count == 1 else plural}"


def natural_group_phrase(group: Group, rng: np.random.Generator, *, bare_ok: bool = False) -> str:
    """The group in one of the natural register's phrasings; unsaid attributes get no word."""
    singular, plural = SHAPE_WORDS[group.shape][int(rng.integers(len(SHAPE_WORDS[group.shape])))]
    noun = singular if group.count == 1 else plural
    size = _choice(rng, SIZE_WORDS[group.size]) if group.size is not None else ""
    after = group.color is not None and rng.random() < COLOR_AFTER_NOUN
    if after:
        verb = "is" if group.count == 1 else "are"
        # "all"/"both" only after a plural, and only with the color alone ("all blue", not "all big and blue").
        tails = [f"that {verb}"] + (["all"] if group.count > 1 else []) + (["both"] if group.count == 2 else [])
        tail = _choice(rng, tuple(tails))
        if size and tail.startswith("that") and rng.random() < 0.5:  # "a circle that is big and red"
            words = [noun, f"{tail} {size} and {group.color}"]
        else:
            words = [size, noun if tail.startswith("that") else noun + ",", f"{tail} {group.color}"]
    else:
        words = [size, group.color or "", noun]
    head = " ".join(w for w in words if w)
    if group.count == 1 and bare_ok and rng.random() < BARE_SINGULAR:
        return head
    count = _choice(rng, NATURAL_COUNT_WORDS[group.count])
    if count == "a" and head[0] in "aeiou":
        count = "an"
    return f"{count} {head}"


def make_natural_caption(spec: CaptionSpec, rng: np.random.Generator) -> str:
    """A caption of the natural register for `spec` (which may leave sizes, colors and a place unsaid)."""
    a = spec.groups[0]
    verb = "is" if a.count == 1 else "are"
    prefix = _choice(rng, PREFIXES)
    phrase_a = natural_group_phrase(a, rng, bare_ok=not prefix)
    if spec.relation is not None:
        rel = _choice(rng, RELATION_WORDS[spec.relation])
        phrase_b = natural_group_phrase(spec.groups[1], rng)
        templates = (f"{prefix}{phrase_a} {rel} {phrase_b}", f"{phrase_a} {verb} {rel} {phrase_b}")
    elif spec.position is not None:
        pos = _choice(rng, POSITION_WORDS[spec.position])
        placed = f"{prefix}{phrase_a} {pos}"
        templates = (placed, placed if prefix else f"{pos}, {phrase_a}")  # "in the center, red circle"
    else:
        templates = (f"{prefix}{phrase_a}", f"{prefix}{phrase_a} on a dark background")
    return _choice(rng, templates)


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


_COUNT_RE, _COUNT_OF = _alternation({str(k): v for k, v in PARSED_COUNT_WORDS.items()})
_SIZE_RE, _SIZE_OF = _alternation(SIZE_WORDS)
_COLOR_RE, _COLOR_OF = _alternation({c: (c,) for c in COLORS})
_SHAPE_RE, _SHAPE_OF = _alternation({s: tuple(w for pair in SHAPE_WORDS[s] for w in pair) for s in SHAPES})
_REL_RE, _REL_OF = _alternation(RELATION_WORDS)
_POS_RE, _POS_OF = _alternation(POSITION_WORDS)
_ADJECTIVE = rf"{_SIZE_RE}|{_COLOR_RE}"
# [count] [size] [color] shape [that is|are / all / both  adjective [and adjective]]
_GROUP = re.compile(
    rf"\b(?:(?P<count>{_COUNT_RE})\s+)?(?:(?P<size>{_SIZE_RE})\s+)?(?:(?P<color>{_COLOR_RE})\s+)?"
    rf"(?P<shape>{_SHAPE_RE})\b"
    rf"(?:\s+(?:that\s+(?:is|are)|all|both)\s+(?P<tail>(?:{_ADJECTIVE})(?:\s+and\s+(?:{_ADJECTIVE}))?)\b)?"
)
# The full register: every group says "<count> <size> <color> <shape>" with the full register's words.
_FULL_COUNT_RE, _ = _alternation({str(k): v for k, v in COUNT_WORDS.items()})
_FULL_GROUP = re.compile(rf"\b(?:{_FULL_COUNT_RE})\s+(?:{_SIZE_RE})\s+(?:{_COLOR_RE})\s+(?:{_SHAPE_RE})\b")
_PLURALS = {plural for pairs in SHAPE_WORDS.values() for _, plural in pairs}
_SHAPE_WORD = re.compile(rf"\b({_SHAPE_RE})\b")
_COLOR_WORD = re.compile(rf"\b({_COLOR_RE})\b")
_ADJECTIVE_WORD = re.compile(rf"\b({_ADJECTIVE})\b")
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


def full_register(caption: str) -> bool:
    """Is the caption also a caption of the full register (every attribute named, a lone object placed)?"""
    spec = parse_caption(caption)
    named = all(g.size is not None and g.color is not None for g in spec.groups)
    placed = len(spec.groups) == 2 or spec.groups[0].count > 1 or spec.position is not None
    text = " ".join(caption.lower().replace(",", " ").split())
    return named and placed and len(_FULL_GROUP.findall(text)) == len(spec.groups)


class CaptionParseError(ValueError):
    """A caption outside the shapes-world grammar."""


def _group(caption: str, m: re.Match) -> Group:
    shape_word = m["shape"]
    if m["count"] is None:
        if shape_word in _PLURALS:
            raise CaptionParseError(f"caption {caption!r}: say how many in {m[0]!r} (two, three, a pair of)")
        count = 1
    else:
        count = int(_COUNT_OF[m["count"]])
        if (shape_word in _PLURALS) != (count > 1):
            raise CaptionParseError(f"caption {caption!r}: count and noun disagree in {m[0]!r}")
    sizes = [_SIZE_OF[m["size"]]] if m["size"] else []
    colors = [_COLOR_OF[m["color"]]] if m["color"] else []
    for word in _ADJECTIVE_WORD.findall(m["tail"] or ""):
        (sizes if word in _SIZE_OF else colors).append(_SIZE_OF.get(word) or _COLOR_OF[word])
    if len(sizes) > 1 or len(colors) > 1:
        raise CaptionParseError(f"caption {caption!r}: {m[0]!r} names more than one size or color")
    return Group(count, sizes[0] if sizes else None, colors[0] if colors else None, _SHAPE_OF[shape_word])


def parse_caption(caption: str) -> CaptionSpec:
    """Recover the spec a caption asserts; raises CaptionParseError naming what is missing.

    A size or color the caption does not say is None in the spec, as is a lone object's place.
    """
    text = " ".join(caption.lower().replace(",", " ").replace(".", " ").split())
    matches = list(_GROUP.finditer(text))
    if not 1 <= len(matches) <= 2:
        raise CaptionParseError(
            f"caption {caption!r}: expected one or two '[count] [size] [color] <shape>' phrases "
            f"(shapes: {', '.join(SHAPES)}), found {len(matches)}"
        )
    groups = [_group(caption, m) for m in matches]
    between = [text[a.end() : b.start()] for a, b in itertools.pairwise(matches)]
    outside = [text[: matches[0].start()], *between, text[matches[-1].end() :]]
    stray = [w for part in outside for w in _ADJECTIVE_WORD.findall(part)]
    if stray:
        raise CaptionParseError(f"caption {caption!r}: {', '.join(map(repr, stray))}: not next to a shape word")
    if len(groups) == 2:
        rel = _RELATION.search(outside[1])
        if rel is None:
            raise CaptionParseError(f"caption {caption!r}: no relation between the two groups")
        spec = CaptionSpec(tuple(groups), relation=_REL_OF[rel[1]])
        if not distinguishable(spec):
            raise CaptionParseError(
                f"caption {caption!r}: the two groups must differ in a size, color or shape that both name"
            )
        return spec
    pos = _POSITION.search(outside[0] + " " + outside[-1])
    position = _POS_OF[pos[1]] if pos else None
    if position is not None and groups[0].count != 1:
        raise CaptionParseError(f"caption {caption!r}: a position is only defined for a lone object")
    return CaptionSpec(tuple(groups), position=position)
