"""Names, labels and captions of emoji images named by their code points (`1f9d1-1f3fd-200d-1f680.webp`).

    vim data build emoji        # uses these for every image of the package (vim/emoji/build.py)

A file name's code points give the emoji; its CLDR short name, group and subgroup come from the committed
table vim/emoji/cldr_names.py (Unicode CLDR annotations, by way of emojibase-data; its header says how it was
made), a skin-toned emoji's name from its untoned base's ("woman astronaut" + U+1F3FD → "woman astronaut:
medium skin tone", as CLDR words it), a single code point missing from the table from `unicodedata`. The
labels kept per image (`EmojiLabels`, stored as JSON in the dataset's `scene` field) are the name, group,
subgroup, base person (the emoji without its skin-tone modifiers) and skin tone; captions are the name
spoken through templates with synonyms for skin tones and gender words, and the group and subgroup words.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import unicodedata
from collections.abc import Iterable, Sequence

from vim.emoji.cldr_names import GROUPS, SUBGROUPS, TABLE

VS16 = 0xFE0F  # emoji presentation selector: files and data spell it inconsistently, keys drop it
TAG_BLACK_FLAG, TAG_FIRST, TAG_LAST, TAG_CANCEL = 0x1F3F4, 0xE0020, 0xE007E, 0xE007F
TONES = {0x1F3FB: "light", 0x1F3FC: "medium-light", 0x1F3FD: "medium", 0x1F3FE: "medium-dark", 0x1F3FF: "dark"}
TONE_ORDER = tuple(TONES.values())

# Words of CLDR person names that say whom they show (checked only in the "people & body" group).
WOMAN_WORDS = frozenset({"woman", "women", "girl", "princess", "mrs", "mermaid"})
MAN_WORDS = frozenset({"man", "men", "boy", "prince", "santa", "merman"})
PERSON_WORDS = frozenset({"person", "people", "child", "mx", "merperson", "baby"})
GENDER_SYNONYM_SUBGROUPS = frozenset({"person-role", "person-fantasy"})  # "woman astronaut" ~ "female astronaut"
NO_ARTICLE_WORDS = frozenset({"people", "men", "women", "eyes"})

# Captions. {s}: the emoji's spoken name, {a}: with an article, {group}/{subgroup}: the group words.
# Training captions use TRAIN_*; validation captions only VALIDATION_* (wordings training never saw); the
# canonical caption of the held-out test split and the evaluation captions is TRAIN_TEMPLATES[0] with
# TRAIN_TONE_PHRASES[0], so a held-out image's caption differs from training only in its (person, tone) pair.
TRAIN_TEMPLATES = (
    "a 3D emoji of {a}",
    "{s}",
    "{a} emoji",
    "3D render of {a}",
    "{s}, a {group} emoji",
    "{a} from the {subgroup} emoji",
)
VALIDATION_TEMPLATES = ("an emoji showing {a}", "a glossy 3D icon of {a}", "{s} in Fluent 3D style")
TRAIN_TONE_PHRASES = ("{s} with {t} skin tone", "{s}, {t} skin tone", "{s} with {t} skin")
VALIDATION_TONE_PHRASES = ("{s} in a {t} skin tone",)


class EmojiNameError(ValueError):
    """A file name that is not a sequence of hexadecimal code points."""


@dataclasses.dataclass(frozen=True)
class EmojiLabels:
    """What one image shows. `person` is the code key of the emoji without skin-tone modifiers for emoji that
    come in skin tones (the untoned image included), else None; `skin_tone` one of TONE_ORDER (tones joined
    by "," for a mixed-tone sequence) or None."""

    file: str
    code: str
    emoji: str
    name: str
    base_name: str
    group: str | None
    subgroup: str | None
    person: str | None
    skin_tone: str | None
    gender: str | None

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), ensure_ascii=False, sort_keys=True)


# ------------------------------------------------------------------------------------------ code points


def code_points(stem: str) -> tuple[int, ...]:
    """The code points a file stem names ("1f9d1-1f3fd-200d-1f680"; '_' is also a separator), with the
    cancel tag a subdivision flag's file name leaves off restored."""
    parts = [p for p in re.split(r"[-_]", stem) if p]
    try:
        points = tuple(int(p, 16) for p in parts)
    except ValueError:
        raise EmojiNameError(f"{stem!r} is not a sequence of hexadecimal code points") from None
    if not points or any(not 0 < p <= 0x10FFFF for p in points):
        raise EmojiNameError(f"{stem!r} names no valid code points")
    if len(points) > 1 and points[0] == TAG_BLACK_FLAG and all(TAG_FIRST <= p <= TAG_LAST for p in points[1:]):
        points = (*points, TAG_CANCEL)
    return points


def code_key(points: Sequence[int]) -> str:
    """The key of an emoji in the name table: lower-case hex, at least 4 digits, without U+FE0F."""
    return "-".join(f"{p:04x}" for p in points if p != VS16)


def split_tones(points: Sequence[int]) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """(the code points without skin-tone modifiers, the tones in order of appearance)."""
    return tuple(p for p in points if p not in TONES), tuple(TONES[p] for p in points if p in TONES)


def toned_name(base_name: str, tones: Sequence[str]) -> str:
    """CLDR's name of a skin-toned emoji from its base's: "waving hand: light skin tone", "couple with heart:
    man, man, light skin tone" (one tone when every person has it, else each in order)."""
    distinct = list(dict.fromkeys(tones))
    words = ", ".join(f"{t} skin tone" for t in (distinct if len(distinct) == 1 else tones))
    return f"{base_name}{', ' if ':' in base_name else ': '}{words}"


@functools.cache
def name_table() -> dict[str, tuple[str, str, str]]:
    """code key → (CLDR name, group key, subgroup key), parsed from vim/emoji/cldr_names.py."""
    table = {}
    for line in TABLE.splitlines():
        if line.strip():
            key, name, group, subgroup = line.split("\t")
            table[key] = (name, group, subgroup)
    return table


def gender_of(name: str, group: str | None) -> str | None:
    """For people: woman, man, person (no gender said) or mixed; None for everything else."""
    if group != "people-body":
        return None
    words = set(re.findall(r"[a-z]+", name.lower()))
    said = {g for g, ws in (("woman", WOMAN_WORDS), ("man", MAN_WORDS)) if words & ws}
    if len(said) == 2:
        return "mixed"
    if said:
        return said.pop()
    return "person" if words & PERSON_WORDS else None


def _lookup(key: str, points: Sequence[int]) -> tuple[str, str | None, str | None] | None:
    if key in name_table():
        return name_table()[key]
    singles = [p for p in points if p != VS16]
    if len(singles) == 1 and (name := unicodedata.name(chr(singles[0]), "")):
        return name.lower(), None, None
    return None


def _preference(stem: str) -> tuple[bool, int, str]:
    """Sort key among files of one emoji: the fully qualified spelling (4-digit hex, with U+FE0F) first."""
    return (any(len(p) < 4 for p in re.split(r"[-_]", stem)), -stem.count("fe0f"), stem)


# Microsoft's Fluent Emoji repository leaves these out for trademark reasons; the npm package has images of
# them from an unstated source (flags in another art style), so they are not trained on.
NOT_RELEASED_SUBGROUPS = frozenset({"country-flag", "subdivision-flag"})
NOT_RELEASED_NAMES = frozenset({"video game", "joystick", "paperclip", "linked paperclips"})


def not_released_by_microsoft(base_name: str, subgroup: str | None) -> bool:
    """Is this emoji one Microsoft did not release (national flags, technologists, video-game and paperclip)?"""
    return subgroup in NOT_RELEASED_SUBGROUPS or base_name in NOT_RELEASED_NAMES or "technologist" in base_name


def label_images(stems: Iterable[str]) -> tuple[dict[str, EmojiLabels], list[tuple[str, str]]]:
    """Labels of every file stem that names an emoji, and (stem, reason) for each one skipped: not code
    points, no name (neither in the table nor a named single code point), or another file of the same emoji
    (the fully qualified spelling is kept)."""
    skipped: list[tuple[str, str]] = []
    by_key: dict[str, list[tuple[str, tuple[int, ...]]]] = {}
    for stem in stems:
        try:
            points = code_points(stem)
        except EmojiNameError as e:
            skipped.append((stem, str(e)))
            continue
        by_key.setdefault(code_key(points), []).append((stem, points))
    kept: dict[str, tuple[str, tuple[int, ...]]] = {}
    for key, files in by_key.items():
        files.sort(key=lambda f: _preference(f[0]))
        kept[key] = files[0]
        skipped.extend((stem, f"another file of the same emoji ({files[0][0]} is kept)") for stem, _ in files[1:])
    persons = {code_key(split_tones(points)[0]) for _, points in kept.values() if split_tones(points)[1]}
    labels: dict[str, EmojiLabels] = {}
    for key, (stem, points) in sorted(kept.items()):
        base_points, tones = split_tones(points)
        base_key = code_key(base_points)
        found = _lookup(key, points)
        base = _lookup(base_key, base_points) if tones else found
        if found is None and tones and base is not None:
            found = (toned_name(base[0], tones), base[1], base[2])
        if found is None or base is None:
            skipped.append((stem, "no name: not in the CLDR table (vim/emoji/cldr_names.py) nor a named code point"))
            continue
        name, group, subgroup = found
        if not_released_by_microsoft(base[0], subgroup):
            skipped.append((stem, "not in Microsoft's Fluent Emoji release (trademarks); provenance unknown"))
            continue
        labels[stem] = EmojiLabels(
            file=stem,
            code=key,
            emoji="".join(map(chr, points)),
            name=name,
            base_name=base[0],
            group=group,
            subgroup=subgroup,
            person=base_key if base_key in persons else None,
            skin_tone=",".join(dict.fromkeys(tones)) if tones else None,
            gender=gender_of(base[0], group),
        )
    return labels, skipped


# ---------------------------------------------------------------------------------------------- captions


def _and(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def spoken(name: str) -> str:
    """A CLDR name as caption words: "flag: Japan" → "flag of Japan", "keycap: 1" → "keycap 1", "family: man,
    woman, boy" → "family of man, woman and boy", "woman: red hair" → "woman with red hair", "man: bald" → "bald
    man", any other "A: B, C" → "A, B and C"."""
    if ": " not in name:
        return name
    head, rest = name.split(": ", 1)
    if head == "flag":
        return f"flag of {rest}"
    if head == "keycap":
        return f"keycap {rest}"
    if head in ("man", "woman", "person"):
        return f"bald {head}" if rest == "bald" else f"{head} with {'a beard' if rest == 'beard' else rest}"
    parts = rest.split(", ")
    return f"family of {_and(parts)}" if head == "family" else f"{head}, {_and(parts)}"


def with_article(phrase: str) -> str:
    """The phrase with its article: a banana, an astronaut, the flag of Japan, people holding hands (none)."""
    if phrase.startswith("flag of "):
        return f"the {phrase}"
    first = phrase.split(" ", 1)[0].lower()
    if first in NO_ARTICLE_WORDS:
        return phrase
    vowel = first[:1] in ("a", "e", "i", "o", "u") and not first.startswith(("uni", "one", "eu", "us"))
    return f"{'an' if vowel else 'a'} {phrase}"


def _gender_variants(labels: EmojiLabels, synonyms: bool) -> list[str]:
    words = spoken(labels.base_name)
    out = [words]
    if synonyms and labels.subgroup in GENDER_SYNONYM_SUBGROUPS:
        for word, synonym in (("woman ", "female "), ("man ", "male ")):
            if words.startswith(word):
                out.append(synonym + words.removeprefix(word))
    return out


def subjects(labels: EmojiLabels, tone_phrases: Sequence[str], synonyms: bool) -> list[str]:
    """The ways of saying what the image shows: the spoken name (and its gender synonyms) joined with each
    tone phrase for a skin-toned emoji."""
    bases = _gender_variants(labels, synonyms)
    if labels.skin_tone is None:
        return bases
    tone = " and ".join(labels.skin_tone.split(","))
    return [phrase.format(s=base, t=tone) for phrase in tone_phrases for base in bases]


def captions(labels: EmojiLabels, templates: Sequence[str], tone_phrases: Sequence[str], synonyms: bool) -> list[str]:
    """Every caption the templates make for the image, the canonical one (first template, first subject)
    first; templates that need group words are left out for emoji without a group."""
    out = []
    for template in templates:
        if labels.group is None and ("{group}" in template or "{subgroup}" in template):
            continue
        for subject in subjects(labels, tone_phrases, synonyms):
            out.append(
                template.format(
                    s=subject,
                    a=with_article(subject),
                    group=GROUPS.get(labels.group or "", ""),
                    subgroup=SUBGROUPS.get(labels.subgroup or "", ""),
                )
            )
    return list(dict.fromkeys(out))


def train_captions(labels: EmojiLabels) -> list[str]:
    return captions(labels, TRAIN_TEMPLATES, TRAIN_TONE_PHRASES, synonyms=True)


def validation_captions(labels: EmojiLabels) -> list[str]:
    return captions(labels, VALIDATION_TEMPLATES, VALIDATION_TONE_PHRASES, synonyms=False)


def canonical_caption(labels: EmojiLabels) -> str:
    """The test split's and evaluation's caption: "a 3D emoji of a woman astronaut with medium skin tone"."""
    return train_captions(labels)[0]
