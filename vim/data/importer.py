"""`vim data import DIR`: a folder of images plus captions → a tfds dataset in the world's schema.

    vim data import ~/photos --name photos        # then --set data.dataset=imported/photos
    vim data import ~/pets --name pets --class-folders   # DIR/<class>/<image>: a labeled dataset

Captions come from `captions.jsonl` (one {"file": ..., "caption": ..., "split": ...} object a line)
or `captions.tsv` (file<TAB>caption[<TAB>split], optional `file<TAB>caption` header) in DIR; `split`
is train (default), validation or test. With `class_folders` the folder is in the ImageFolder layout
instead: every subfolder is a class and holds its images (at any depth), or DIR holds split folders
(train, validation or val, test) each with class subfolders; the dataset then has a `label` feature
(a tfds ClassLabel named by the folders, sorted) and each caption is its class's name. Every image is
EXIF-rotated, converted to RGB (alpha is
composited on white, 16-bit scaled to 8-bit), center-cropped to a square and resized (bicubic) to
the resolution. A bad caption line or image never stops the import: it is skipped and listed, with
its reason, in the report.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from vim.config import MAX_PIXELS
from vim.data.image_files import BadImageError, not_a_file, open_checked, printable, read_image

SPLITS = ("train", "validation", "test")
SPLIT_FOLDERS = {"train": "train", "validation": "validation", "val": "validation", "test": "test"}  # ImageNet's "val"
CAPTION_FILES = ("captions.jsonl", "captions.tsv")
NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]+")
DRAFT_OVERSAMPLE = 2  # JPEG DCT-domain downscaling keeps at least this many pixels per output pixel
# Bounds on what the user asks for: an output image is held whole per example (and a 100,000-pixel side
# asks for 30 GB each); a larger --max-pixels would let decompression bombs through.
MAX_RESOLUTION = 2048
MAX_MAX_PIXELS = 16 * MAX_PIXELS


class ImportFolderError(ValueError):
    """The folder as a whole cannot be imported (no captions file, bad name, nothing usable...)."""


@dataclasses.dataclass
class ImportReport:
    """What `import_folder` wrote and what it skipped."""

    imported: int
    splits: dict[str, int]
    converted: dict[str, int]
    skipped: list[tuple[str, str]]  # (file or "captions line N", reason)
    output: Path

    def summary(self) -> str:
        """Human-readable counts, conversions and every skipped entry with its reason."""
        per_split = ", ".join(f"{s} {n}" for s, n in self.splits.items())
        lines = [f"imported {self.imported} images ({per_split}) into {self.output}"]
        if self.converted:
            notes = sorted(self.converted.items())
            lines.append("converted: " + ", ".join(f"{note} ×{n}" for note, n in notes))
        if self.skipped:
            lines.append(f"skipped {len(self.skipped)}:")
            lines.extend(f"  {printable(what)}: {printable(reason)}" for what, reason in self.skipped)
        else:
            lines.append("skipped nothing")
        return "\n".join(lines)


@dataclasses.dataclass(frozen=True)
class _Entry:
    file: str  # as written in the captions file (or found under a class folder); the tfds key (+ "#k" repeats)
    caption: str
    split: str
    line: int  # captions line, or the file's place in the class-folder listing
    label: int | None = None  # class id, for class-folder imports

    @property
    def where(self) -> str:
        """Where the entry came from, for the report."""
        return f"captions line {self.line}" if self.label is None else f"class folder {printable(self.caption)!r}"


# ---------------------------------------------------------------------------------------------- images


def _square_resize(im: Image.Image, resolution: int) -> Image.Image:
    w, h = im.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    return im.resize(
        (resolution, resolution),
        Image.Resampling.BICUBIC,
        box=(left, top, left + side, top + side),
        reducing_gap=3.0,
    )


def load_image(path: str | os.PathLike, resolution: int, max_pixels: int) -> tuple[np.ndarray, str | None]:
    """One image file (`vim.data.image_files.read_image`: upright, RGB) center-cropped to a square and
    resized (bicubic) to uint8 [resolution, resolution, 3], with its conversion note (or None).
    BadImageError when the file cannot be used; its `reason` is what the report lists."""
    rgb, note = read_image(path, max_pixels, draft_size=resolution * DRAFT_OVERSAMPLE)
    out = np.asarray(_square_resize(rgb, resolution), dtype=np.uint8)
    if out.shape != (resolution, resolution, 3):  # defensive: never write a malformed example
        raise BadImageError(f"unexpected decoded shape {out.shape}", path)
    return np.ascontiguousarray(out), note


# -------------------------------------------------------------------------------------------- captions


def _check_fields(file: object, caption: object, split: object) -> tuple[str, str, str] | str:
    """Validated (file, caption, split), or the reason the entry is rejected."""
    if not isinstance(file, str) or not file.strip():
        return "missing or empty 'file'"
    if caption is None:
        return f"missing 'caption' for {printable(file)}"
    if not isinstance(caption, str):
        return f"'caption' is not a string for {printable(file)}"
    try:  # JSON can spell lone surrogates ("\\udce9"): not text a caption can be stored as
        caption.encode("utf-8")
    except UnicodeEncodeError as e:
        return f"caption for {printable(file)} is not valid Unicode text: {e.reason} at position {e.start}"
    if split is None or split == "":
        split = "train"
    if split not in SPLITS:
        return f"unknown split {split!r} for {file} (expected one of {', '.join(SPLITS)})"
    return file.strip(), caption.strip(), split


def _read_captions(path: Path) -> tuple[list[_Entry], list[tuple[str, str]]]:
    """Parse captions.jsonl or captions.tsv; malformed lines are returned as skipped, not raised."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        fmt = "jsonl"
    elif suffix in (".tsv", ".txt", ".tab"):
        fmt = "tsv"
    else:
        raise ImportFolderError(f"captions file {path} must end in .jsonl or .tsv")
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ImportFolderError(f"cannot read captions file {path}: {e}") from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    entries: list[_Entry] = []
    skipped: list[tuple[str, str]] = []
    seen_content = False
    for n, bline in enumerate(raw.splitlines(), 1):
        where = f"captions line {n}"
        try:
            line = bline.decode("utf-8")
        except UnicodeDecodeError as e:  # show the line, so the user can find which file it names
            shown = bline.decode("utf-8", "backslashreplace")
            skipped.append((where, f"not UTF-8 text ({e.reason} at byte {e.start}): {shown[:120]}"))
            continue
        if not line.strip():
            continue
        first = not seen_content
        seen_content = True
        if fmt == "jsonl":
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                skipped.append((where, f"not valid JSON: {e.msg} (column {e.colno})"))
                continue
            if not isinstance(obj, dict):
                skipped.append((where, f"expected a JSON object, got {type(obj).__name__}"))
                continue
            checked = _check_fields(obj.get("file"), obj.get("caption"), obj.get("split"))
        else:
            fields = line.rstrip("\r\n").split("\t")
            if first and [f.strip().lower() for f in fields[:2]] == ["file", "caption"]:
                continue  # header
            if len(fields) not in (2, 3):
                skipped.append((where, f"expected file<TAB>caption[<TAB>split], got {len(fields)} field(s)"))
                continue
            checked = _check_fields(fields[0], fields[1], fields[2].strip() if len(fields) == 3 else None)
        if isinstance(checked, str):
            skipped.append((where, checked))
            continue
        file, caption, split = checked
        if not caption:
            skipped.append((file, f"empty caption ({where})"))
            continue
        entries.append(_Entry(file=file, caption=caption, split=split, line=n))
    return entries, skipped


def _find_captions(directory: Path, captions: str | os.PathLike | None) -> Path:
    if captions is not None:
        path = Path(captions).expanduser()
        if not path.is_file():
            raise ImportFolderError(f"captions file {path} does not exist")
        return path
    found = [directory / n for n in CAPTION_FILES if (directory / n).is_file()]
    if not found:
        raise ImportFolderError(
            f"no captions file in {directory}: expected {' or '.join(CAPTION_FILES)} "
            '(JSON lines {"file": "a.jpg", "caption": "...", "split": "train"}, '
            "or file<TAB>caption[<TAB>split]), or pass --captions PATH"
        )
    if len(found) > 1:
        both = " and ".join(CAPTION_FILES)
        raise ImportFolderError(f"both {both} are in {directory}; pass --captions to choose one")
    return found[0]


def _visible_folders(directory: Path) -> list[Path]:
    """Subfolders of `directory` by name, hidden ones (.git, .ipynb_checkpoints) left out."""
    return sorted(p for p in directory.iterdir() if p.is_dir() and not p.name.startswith("."))


def _read_class_folders(directory: Path) -> tuple[list[_Entry], list[tuple[str, str]], list[str]]:
    """The entries of an ImageFolder layout (DIR/<class>/..., or DIR/<split>/<class>/...), what was skipped,
    and the class names (folder names, sorted; a class is a class in every split). ImportFolderError when
    DIR has no class subfolders or mixes split folders with others."""
    folders = _visible_folders(directory)
    splits = [f for f in folders if f.name in SPLIT_FOLDERS]
    if splits and len(splits) != len(folders):
        others = ", ".join(printable(f.name) for f in folders if f.name not in SPLIT_FOLDERS)
        raise ImportFolderError(
            f"{directory} holds split folders ({', '.join(f.name for f in splits)}) and other folders ({others}): "
            "give either class folders (DIR/<class>/<image>) or split folders of class folders "
            f"(DIR/<split>/<class>/<image>, splits {', '.join(SPLIT_FOLDERS)})"
        )
    if len({SPLIT_FOLDERS[f.name] for f in splits}) != len(splits):
        raise ImportFolderError(f"{directory} holds both val/ and validation/: keep one")
    roots = [(SPLIT_FOLDERS[f.name], f) for f in splits] or [("train", directory)]
    skipped: list[tuple[str, str]] = []
    class_folders: list[tuple[str, Path]] = []
    for split, root in roots:
        for entry in sorted(root.iterdir()):
            shown = printable(str(entry.relative_to(directory)))
            if entry.name.startswith("."):
                continue
            if not entry.is_dir():
                skipped.append((shown, "not in a class folder (the class-folder layout is DIR/<class>/<image>)"))
            elif "\n" in entry.name or "\r" in entry.name:
                skipped.append((shown, "a class folder whose name holds a line break"))
            else:
                class_folders.append((split, entry))
    names = sorted({printable(folder.name) for _, folder in class_folders})
    if not names:
        layout = "DIR/<class>/<image>, or DIR/train/<class>/<image> and DIR/validation/<class>/<image>"
        raise ImportFolderError(f"no class folders in {directory}: --class-folders reads {layout}")
    entries = []
    for split, folder in class_folders:
        name = printable(folder.name)
        for root, dirs, files in os.walk(folder):  # linked folders inside are not walked: no loops
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for file in sorted(f for f in files if not f.startswith(".")):
                relative = str((Path(root) / file).relative_to(directory))
                entries.append(_Entry(relative, name, split, len(entries) + 1, names.index(name)))
    return entries, skipped, names


# ---------------------------------------------------------------------------------------------- import


def outside(file: str) -> bool:
    """Whether a captions entry names a file outside the folder: an absolute path, or one whose '..'
    parts climb out of it (symbolic links inside the folder are the folder's own choice and are followed)."""
    return os.path.isabs(file) or os.path.normpath(file).split(os.sep)[0] == ".."


def _probe(path: Path, max_pixels: int) -> None:
    """Header-only check (no pixel decoding); raises BadImageError."""
    with open_checked(path, max_pixels):
        pass


def import_folder(
    directory: str | os.PathLike,
    name: str,
    data_dir: str | os.PathLike,
    *,
    resolution: int = 64,
    max_pixels: int = MAX_PIXELS,
    captions: str | os.PathLike | None = None,
    allow_outside: bool = False,
    class_folders: bool = False,
) -> ImportReport:
    """Write the folder's captioned images as the tfds dataset `imported/<name>` under data_dir; with
    `class_folders`, its ImageFolder layout's images, labeled by their class folders (module docstring).

    Bad caption lines and bad images are skipped and listed in the report; the rest is written. So are
    entries naming files outside `directory` (unless `allow_outside`: a captions file from elsewhere must
    not make vim read any file the user can), lines repeated word for word, and an image already listed in
    another split (it would put test images into training).
    Raises ImportFolderError when the folder cannot be imported at all (no captions file, no class folders,
    invalid or already used name, no usable image), in which case nothing is written.
    """
    from vim.data.builders import ImportedCaptions
    from vim.data.locations import imported_dir

    if not NAME_PATTERN.fullmatch(name or ""):
        raise ImportFolderError(f"invalid dataset name {name!r}: use letters, digits, '_' and '-' only")
    if not 1 <= resolution <= MAX_RESOLUTION:
        raise ImportFolderError(f"--resolution must be 1..{MAX_RESOLUTION}, got {resolution}")
    if not 1 <= max_pixels <= MAX_MAX_PIXELS:
        raise ImportFolderError(f"--max-pixels must be 1..{MAX_MAX_PIXELS}, got {max_pixels}")
    directory = Path(directory).expanduser()
    if not directory.is_dir():
        raise ImportFolderError(f"{directory} is not a folder")
    output = imported_dir(name, data_dir)
    if output.exists():
        raise ImportFolderError(
            f"a dataset named {name!r} already exists at {output}; "
            "pick another --name or delete that folder to re-import"
        )
    if class_folders and captions is not None:
        raise ImportFolderError("--captions and --class-folders: with class folders the captions are the class names")
    if class_folders:
        entries, skipped, class_names = _read_class_folders(directory)
    else:
        entries, skipped = _read_captions(_find_captions(directory, captions))
        class_names = None

    # Pass 1: header-only checks, plus one fully decoded image per split, so that every declared
    # split is certain to yield an example (tfds refuses empty splits).
    todo: dict[str, list[tuple[str, _Entry]]] = {s: [] for s in SPLITS}
    first: dict[str, tuple[str, _Entry, np.ndarray, str | None]] = {}
    repeats: collections.Counter[tuple[str, str]] = collections.Counter()
    seen_lines: dict[tuple[str, str, str], int] = {}  # (file, caption, split) → its first captions line
    split_of: dict[str, tuple[str, int]] = {}  # file → the split it went to first, and that line
    for entry in entries:
        where = entry.where
        if outside(entry.file) and not allow_outside:
            skipped.append((entry.file, f"outside {directory} ({where}); pass --allow-outside to read it"))
            continue
        if (first_line := seen_lines.setdefault((entry.file, entry.caption, entry.split), entry.line)) != entry.line:
            skipped.append((entry.file, f"duplicate of captions line {first_line} ({where})"))
            continue
        other, other_line = split_of.setdefault(os.path.normpath(entry.file), (entry.split, entry.line))
        if other != entry.split:
            skipped.append(
                (
                    entry.file,
                    f"already in the {other} split (captions line {other_line}); one image in two splits "
                    f"would leak between them ({where})",
                )
            )
            continue
        path = directory / entry.file
        if (reason := not_a_file(path)) is not None:
            skipped.append((entry.file, f"{reason} ({where})"))
            continue
        try:
            if entry.split in first:
                _probe(path, max_pixels)
            else:
                image, note = load_image(path, resolution, max_pixels)
        except BadImageError as e:
            skipped.append((entry.file, e.reason))
            continue
        k = repeats[entry.split, entry.file]
        repeats[entry.split, entry.file] += 1
        shown = printable(entry.file)  # tfds keys must be valid text
        key = shown if k == 0 else f"{shown}#{k}"  # several captions for one image
        if entry.split in first:
            todo[entry.split].append((key, entry))
        else:
            first[entry.split] = (key, entry, image, note)
    if not first:
        reasons = "\n".join(f"  {printable(w)}: {printable(r)}" for w, r in skipped) or "  (no caption entries)"
        raise ImportFolderError(f"no usable images in {directory}; nothing written. Skipped:\n{reasons}")

    counts: dict[str, int] = {s: 0 for s in SPLITS if s in first}
    converted: collections.Counter[str] = collections.Counter()

    def example(image: np.ndarray, entry: _Entry, note: str | None) -> dict:
        counts[entry.split] += 1
        if note:
            converted[note] += 1
        fields = {"image": image, "caption": entry.caption, "scene": "", "heldout": False}
        return fields if class_names is None else {**fields, "label": entry.label}

    def generator(split: str) -> Callable[[], Iterator[tuple[str, dict]]]:
        def generate() -> Iterator[tuple[str, dict]]:
            key, entry, image, note = first[split]
            yield key, example(image, entry, note)
            for key, entry in todo[split]:  # Pass 2: full decode, one image at a time
                try:
                    image, note = load_image(directory / entry.file, resolution, max_pixels)
                except BadImageError as e:
                    skipped.append((entry.file, e.reason))
                    continue
                yield key, example(image, entry, note)

        return generate

    builder = ImportedCaptions(
        name=name,
        resolution=resolution,
        splits={s: generator(s) for s in SPLITS if s in first},
        class_names=class_names,
        data_dir=str(data_dir),
    )
    builder.download_and_prepare()
    return ImportReport(
        imported=sum(counts.values()),
        splits=counts,
        converted=dict(converted),
        skipped=skipped,
        output=Path(os.fspath(builder.data_path)),
    )
