"""Regenerate vim/emoji/cldr_names.py, the names table of the emoji in the image package, from emojibase-data.

    npm pack emojibase-data@17.0.0 @lobehub/fluent-emoji-3d@1.1.0
    python -m vim.emoji.make_names emojibase-data-17.0.0.tgz lobehub-fluent-emoji-3d-1.1.0.tgz \
        > vim/emoji/cldr_names.py

One row per emoji of the image package without a skin tone: code key, CLDR short name (emojibase's English
label), group and subgroup keys. Skin-toned emoji get no row when `vim.emoji.names.toned_name` of their base's
name gives emojibase's label and their group is the base's (checked here for every one); otherwise a row.
"""

from __future__ import annotations

import argparse
import json
import sys
import tarfile
from pathlib import Path

from vim.emoji.names import code_key, code_points, split_tones, toned_name
from vim.emoji.source import integrity_of, read_package

EMOJIBASE_FILES = ("package.json", "LICENSE", "en/data.json", "en/messages.json")


def read_emojibase(path: Path) -> dict[str, bytes]:
    """emojibase-data's files (EMOJIBASE_FILES) from its tarball or folder (holding package.json)."""
    if path.is_dir():
        root = path / "package" if (path / "package" / "package.json").is_file() else path
        return {n: (root / n).read_bytes() for n in EMOJIBASE_FILES}
    with tarfile.open(path) as tar:
        return {n: tar.extractfile(f"package/{n}").read() for n in EMOJIBASE_FILES}


def emojibase_names(files: dict[str, bytes]) -> tuple[dict[str, tuple[str, str, str]], dict, dict]:
    """(code key → (label, group key, subgroup key), group key → words, subgroup key → words)."""
    messages = json.loads(files["en/messages.json"])
    groups = {g["order"]: (g["key"], g["message"]) for g in messages["groups"]}
    subgroups = {s["order"]: (s["key"], s["message"]) for s in messages["subgroups"]}
    names = {}
    for entry in json.loads(files["en/data.json"]):
        for e in [entry, *(entry.get("skins") or [])]:
            if "group" in e:
                key = code_key([int(h, 16) for h in e["hexcode"].split("-")])
                names[key] = (e["label"], groups[e["group"]][0], subgroups[e["subgroup"]][0])
    return names, dict(groups.values()), dict(subgroups.values())


def table_module(emojibase: Path, images: Path) -> str:
    files = read_emojibase(emojibase)
    names, group_words, subgroup_words = emojibase_names(files)
    package = read_package(images)
    keys = {code_key(code_points(stem)): code_points(stem) for stem in package.images}
    rows, missing, derived = [], [], 0
    for key, points in sorted(keys.items()):
        base_points, tones = split_tones(points)
        base = names.get(code_key(base_points))
        if tones and base is not None and names.get(key) == (toned_name(base[0], tones), base[1], base[2]):
            derived += 1
            continue
        if key in names:
            rows.append((key, *names[key]))
        else:
            missing.append(key)
    for row in rows:
        if any(c in '\t\n\\"' for c in row[1]):
            raise SystemExit(f"name {row[1]!r} of {row[0]} needs escaping; the table cannot hold it")
    manifest = json.loads(files["package.json"])
    copyright_line = next(line for line in files["LICENSE"].decode().splitlines() if "Copyright" in line)
    used_groups = sorted({r[2] for r in rows})
    used_subgroups = sorted({r[3] for r in rows})
    integrity = integrity_of(emojibase) if emojibase.is_file() else "(read from a folder)"
    header = f'''"""CLDR short names, groups and subgroups of the emoji in {package.name_version} (generated).

Made by `python -m vim.emoji.make_names` (vim/emoji/make_names.py) from {manifest["name"]} {manifest["version"]}
(npm, integrity {integrity}),
MIT License, {copyright_line.strip()}. Its English labels, groups and subgroups are
Unicode CLDR annotations and Unicode's emoji data: Copyright © 1991-2025 Unicode, Inc., Unicode License v3
(https://www.unicode.org/license.txt), which allows copying and redistributing them with this notice.
Do not edit: run the command in vim/emoji/make_names.py's docstring.

{len(rows)} rows: code key (lower-case hex, at least 4 digits, no U+FE0F) <TAB> name <TAB> group <TAB> subgroup.
{derived} skin-toned emoji of the package have no row: their names are derived (vim.emoji.names.toned_name),
checked against emojibase for each one. {len(missing)} emoji of the package are not in emojibase.
"""
'''
    lines = [header]
    lines.append("GROUPS = {")
    lines += [f"    {json.dumps(k)}: {json.dumps(group_words[k])}," for k in used_groups]
    lines.append("}")
    lines.append("SUBGROUPS = {")
    lines += [f"    {json.dumps(k)}: {json.dumps(subgroup_words[k])}," for k in used_subgroups]
    lines.append("}")
    lines.append('TABLE = """\\')
    lines += ["\t".join(r) for r in rows]
    lines.append('"""')
    if missing:
        print(f"not in emojibase: {', '.join(missing)}", file=sys.stderr)
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("emojibase", type=Path, help="emojibase-data tarball or folder")
    parser.add_argument("images", type=Path, help="the image package's tarball or folder")
    args = parser.parse_args()
    sys.stdout.write(table_module(args.emojibase, args.images))


if __name__ == "__main__":
    main()
