"""Files the user keeps, written whole or not at all; JSON the user hands vim, read with a clear error.

A full disk, a kill or a power cut in the middle of a write must not leave a truncated image under its final
name (it would look like a result), so every such file is written to a temporary name in the same folder and
renamed over the final one, which the OS does in one step.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from PIL import Image


def _temporary_beside(path: Path) -> Path:
    """A fresh, unused name in `path`'s folder (same filesystem, so the rename is atomic)."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    return Path(name)


def save_image(image: Image.Image, path: str | os.PathLike, **save_kwargs: Any) -> Path:
    """Save `image` at `path` (format from its suffix, `save_kwargs` as PIL takes them, e.g. pnginfo) by way
    of a temporary file renamed into place: readers see the old file, or none, or the whole new one."""
    path = Path(path)
    image_format = Image.registered_extensions().get(path.suffix.lower())
    if image_format is None:
        raise ValueError(f"{path}: unknown image file extension {path.suffix!r} (use .png, .jpg, ...)")
    tmp = _temporary_beside(path)
    try:
        image.save(tmp, format=image_format, **save_kwargs)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp's 0600 would hide results from the user's group
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write `text` (UTF-8) at `path` by way of a temporary file renamed into place."""
    path = Path(path)
    tmp = _temporary_beside(path)
    try:
        tmp.write_text(text, encoding="utf-8")
        os.chmod(tmp, 0o666 & ~_UMASK)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _read_umask() -> int:
    """The process's umask, read once at import: os.umask can only be read by setting it, which would race
    with other threads creating files."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


MAX_JSON_BYTES = 64 * 1024**2  # configs, cards and records are kilobytes; anything this big is not one


def read_json(path: str | os.PathLike, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """The JSON value in `path`, or ValueError naming the file: too big, not UTF-8, not JSON, or nested so
    deeply that Python's parser would overflow its stack (RecursionError)."""
    path = Path(path)
    with path.open("rb") as f:
        raw = f.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise ValueError(f"{path}: over {max_bytes:,} bytes, too big to be a vim JSON file")
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON: {e.msg} (line {e.lineno}, column {e.colno})") from None
    except RecursionError:
        raise ValueError(f"{path}: JSON nested too deeply to be a vim file") from None
