"""Reading one image file safely: the loader behind `vim data import`, the metrics' folders, `vim reconstruct`
and the demo's tokenizer tab. Each caller puts its own crop/resize policy on top of `read_image`.

Safe means: what is not a regular non-empty file is refused before it is opened (a FIFO would block the
reader); the pixel count is checked from the header, before any pixel is decoded; a truncated or corrupt
file fails here, not later; EXIF orientation is applied; every Pillow mode becomes 8-bit RGB (alpha
composited on white, 16-bit and float scaled rather than clipped); and the error names the file.
"""

from __future__ import annotations

import os
import stat
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from vim.config import MAX_PIXELS


class BadImageError(ValueError):
    """One image file cannot be used. `reason` says why (reports list it beside the file's name); the
    message names the file too."""

    def __init__(self, reason: str, path: str | os.PathLike | None = None):
        self.reason = reason
        name = printable(Path(path).name) if path is not None else "the file"
        super().__init__(f"could not read {name} as an image: {reason}")


def printable(name: str) -> str:
    """`name` as valid text: a file name that is not UTF-8 on disk reaches Python with lone surrogates
    (os.fsdecode), which neither print() nor tfds keys can encode; its odd bytes are shown as \\xNN."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def not_a_file(path: Path) -> str | None:
    """Why `path` cannot be read as an image file, or None when it is a regular file.

    Checked before opening, so that e.g. a FIFO named x.png is reported rather than blocking the reader.
    """
    try:
        st = path.stat()
    except FileNotFoundError:
        return f"broken symbolic link to {os.readlink(path)}" if path.is_symlink() else f"file not found: {path}"
    except OSError as e:  # ELOOP (a symbolic link loop), EACCES on a parent folder, ...
        return f"cannot reach file: {e.strerror or e}"
    if stat.S_ISDIR(st.st_mode):
        return "is a folder, not an image file"
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file (a FIFO, socket or device)"
    return None


def open_checked(path: str | os.PathLike, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """The file opened lazily (header only), or BadImageError for what is not a regular non-empty image
    file, has zero size, or has more than `max_pixels` pixels."""
    path = Path(path)
    if (reason := not_a_file(path)) is not None:
        raise BadImageError(reason, path)
    if path.stat().st_size == 0:
        raise BadImageError("not an image: empty file (0 bytes)", path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # max_pixels is the limit here
            im = Image.open(path)
    except UnidentifiedImageError:
        raise BadImageError("not an image: cannot identify image file (or a format Pillow cannot read)", path) from None
    except Image.DecompressionBombError as e:
        raise BadImageError(f"too large for Pillow's decompression-bomb limit: {e}", path) from None
    except OSError as e:
        raise BadImageError(f"cannot read file: {e}", path) from None
    except Exception as e:  # a plugin choking on a damaged header
        raise BadImageError(f"corrupt image header: {type(e).__name__}: {e}", path) from None
    w, h = im.size
    if w <= 0 or h <= 0:
        im.close()
        raise BadImageError(f"zero-size image ({w}x{h})", path)
    if w * h > max_pixels:
        im.close()
        raise BadImageError(f"too large: {w}x{h} = {w * h:,} pixels > max_pixels {max_pixels:,}", path)
    return im


def read_image(
    path: str | os.PathLike, max_pixels: int = MAX_PIXELS, draft_size: int | None = None
) -> tuple[Image.Image, str | None]:
    """The file's pixels, decoded fully now, upright (EXIF) and in 8-bit RGB, with a note of the conversion
    made (e.g. "16-bit->8-bit"; None for an 8-bit RGB file). BadImageError names the file and the reason.

    `draft_size`: a JPEG may be decoded at a reduced scale (DCT domain) that keeps at least this many pixels
    a side, for callers that shrink the image anyway.
    """
    path = Path(path)
    with open_checked(path, max_pixels) as im:
        rawmode = _rawmode(im)
        if draft_size is not None and im.format == "JPEG":
            im.draft(im.mode, (draft_size, draft_size))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                im.load()
        except Image.DecompressionBombError as e:
            raise BadImageError(f"too large for Pillow's decompression-bomb limit: {e}", path) from None
        except Exception as e:  # OSError "image file is truncated", zlib errors, SyntaxError...
            raise BadImageError(f"corrupt or truncated image: {type(e).__name__}: {e}", path) from None
        try:
            oriented = ImageOps.exif_transpose(im)  # a new image: independent of the file closed below
        except Exception:  # unreadable EXIF: keep the stored orientation
            oriented = im.copy()
    if oriented.width <= 0 or oriented.height <= 0:
        raise BadImageError(f"zero-size image ({oriented.width}x{oriented.height})", path)
    try:
        return to_rgb(oriented, rawmode)
    except (ValueError, OSError) as e:
        raise BadImageError(f"unsupported image mode {oriented.mode!r}: {e}", path) from None


def _rawmode(im: Image.Image) -> str:
    """The decoder's raw mode (e.g. "RGB;16B" for a 48-bit PNG), before the pixels are loaded."""
    for tile in getattr(im, "tile", None) or ():
        args = tile[3] if len(tile) > 3 else None
        if isinstance(args, str):
            return args
        if isinstance(args, tuple) and args and isinstance(args[0], str):
            return args[0]
    return ""


def _to_8bit(a: np.ndarray, nominal_max: float | None) -> np.ndarray:
    """Scale to 0..255: by the nominal range when it is known and respected, else by min..max."""
    a = a.astype(np.float64)
    if nominal_max is not None and a.size and a.min() >= 0 and a.max() <= nominal_max:
        scaled = a * (255.0 / nominal_max)
    else:
        lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
        scaled = (a - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(a)
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def _composite_on_white(im: Image.Image) -> Image.Image:
    rgba = im.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("RGB")


def to_rgb(im: Image.Image, rawmode: str) -> tuple[Image.Image, str | None]:
    """Convert any Pillow mode to 8-bit RGB; returns the image and a conversion note (None if RGB)."""
    mode = im.mode
    if mode == "RGB":
        return im, ("16-bit->8-bit" if ";16" in rawmode else None)
    if mode.startswith("I;16"):
        return Image.fromarray(_to_8bit(np.asarray(im), 65535.0), "L").convert("RGB"), "16-bit->8-bit"
    if mode == "I":
        a = np.asarray(im)  # 32-bit integers: 16-bit data (0..65535) ÷ 257, anything else by min..max
        note = "16-bit->8-bit" if a.size and a.min() >= 0 and a.max() <= 65535 else "32-bit->8-bit"
        return Image.fromarray(_to_8bit(a, 65535.0), "L").convert("RGB"), note
    if mode == "F":
        return Image.fromarray(_to_8bit(np.asarray(im), 1.0), "L").convert("RGB"), "float->8-bit"
    if mode == "L":
        return im.convert("RGB"), "grayscale->rgb"
    if mode == "1":
        return im.convert("RGB"), "bilevel->rgb"
    if mode == "LA":
        return _composite_on_white(im), "grayscale+alpha->rgb (composited on white)"
    if mode in ("RGBA", "RGBa"):
        return _composite_on_white(im), "rgba->rgb (composited on white)"
    if mode in ("P", "PA"):
        if mode == "PA" or "transparency" in im.info:
            return _composite_on_white(im), "palette->rgb"
        return im.convert("RGB"), "palette->rgb"
    if mode == "CMYK":
        return im.convert("RGB"), "cmyk->rgb"
    return im.convert("RGB"), f"{mode.lower()}->rgb"
