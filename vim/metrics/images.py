"""Images for the metrics: listing and safely loading files, the two clean-fid resizes, and image sources.

- Resizing is where FID implementations disagree most (Parmar et al., "On Aliased Resizing and
  Surprising Subtleties in GAN Evaluation"), so both of clean-fid's modes are reproduced exactly:
  `clean` resizes each channel as a float32 PIL image with bicubic filtering and no requantization;
  `legacy_tensorflow` is TF1's `resize_bilinear` (align_corners=False, no half-pixel centers), which the
  original TF FID code and StyleGAN's network use.
- A corrupt file in a folder of 50,000 should not cost the run: `load_image` (the shared safe loader,
  `vim.data.image_files`) says why it cannot be used, and the callers report it (name and reason) and skip it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from vim.config import MAX_PIXELS
from vim.data.image_files import printable, read_image
from vim.metrics.inception import INPUT_SIZE

MODES = ("clean", "legacy_tensorflow")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")

# A folder, an (N, H, W, 3) uint8 array, an iterable of such batches, or `fn(count) -> count images`.
Source = str | Path | np.ndarray | Iterable[np.ndarray] | Callable[[int], np.ndarray]


# ---------------------------------------------------------------- resizing


def resize_clean(image: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    """clean-fid's `clean` resize: bicubic on each channel as a float32 ('F') PIL image, clipped, not rounded."""
    channels = []
    for c in range(image.shape[2]):
        plane = Image.fromarray(np.ascontiguousarray(image[:, :, c], dtype=np.float32))
        resized = plane.resize((size, size), resample=Image.Resampling.BICUBIC)
        channels.append(np.asarray(resized, np.float32).clip(0, 255))
    return np.stack(channels, axis=-1)


def _tf_axis(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source indices and weights of TF1 bilinear along one axis: source = i · n_in / n_out, edge clamped."""
    src = np.arange(n_out, dtype=np.float64) * (n_in / n_out)
    lo = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    hi = np.minimum(lo + 1, n_in - 1)
    return lo, hi, (src - lo).astype(np.float32)


def resize_legacy_tensorflow(image: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    """TF1 `resize_bilinear(align_corners=False)` without half-pixel centers, as the original FID code.

    Downscaling by k samples every k-th pixel (the aliasing clean-fid is named against); kept for numbers
    comparable with papers that used the TF code.
    """
    x = image.astype(np.float32)
    y0, y1, wy = _tf_axis(x.shape[0], size)
    x0, x1, wx = _tf_axis(x.shape[1], size)
    top, bottom = x[y0], x[y1]
    top = top[:, x0] + (top[:, x1] - top[:, x0]) * wx[None, :, None]
    bottom = bottom[:, x0] + (bottom[:, x1] - bottom[:, x0]) * wx[None, :, None]
    return top + (bottom - top) * wy[:, None, None]


def prepare(image: np.ndarray, mode: str = "clean") -> np.ndarray:
    """A uint8 (H, W, 3) image → float32 (299, 299, 3) in [0, 255], resized as `mode` says."""
    if mode == "clean":
        return resize_clean(image)
    if mode == "legacy_tensorflow":
        return resize_legacy_tensorflow(image)
    raise ValueError(f"unknown resize mode {mode!r}; choose one of {', '.join(MODES)}")


# ---------------------------------------------------------------- inputs


@dataclasses.dataclass(frozen=True)
class Skipped:
    """A file that could not be used, and why."""

    name: str
    reason: str

    def to_dict(self) -> dict:
        return {"file": self.name, "reason": self.reason}


def list_images(folder: str | Path) -> list[Path]:
    """Paths with an image extension under `folder`, recursively, sorted (so runs and subsets are
    reproducible). Entries that are not regular files (a folder named x.png, a broken link, a FIFO) are
    listed too, so that they are reported as skipped, with why, instead of silently left out."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder not found: {folder}")
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)


def load_image(path: str | Path, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """RGB uint8 pixels of a file at its own size (`vim.data.image_files.read_image`: decoded fully now, so a
    truncated file fails here, not later; upright; the size judged from the header). BadImageError says why."""
    return np.asarray(read_image(path, max_pixels)[0])


def check_image(image: np.ndarray, where: str) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"{where}: images must be uint8 in [0, 255], got dtype {image.dtype}")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"{where}: expected (H, W, 3) images, got shape {image.shape}")
    return image


def image_items(source: Source, num_images: int | None, batch_size: int) -> tuple[Iterator, int | None]:
    """(name, load) pairs, where load() returns a uint8 image; plus the total count when known."""
    if isinstance(source, str | Path):
        files = list_images(source)
        if not files:
            raise FileNotFoundError(f"no images ({' '.join(IMAGE_EXTENSIONS)}) found under {source}")
        files = files[:num_images] if num_images is not None else files
        root = Path(source)
        # Names as valid text: a non-UTF-8 file name must not break the JSON report or the terminal.
        return ((printable(str(p.relative_to(root))), lambda p=p: load_image(p)) for p in files), len(files)
    if isinstance(source, np.ndarray):
        if source.ndim not in (3, 4):
            raise ValueError(f"expected an (N, H, W, 3) uint8 array, got shape {source.shape}")
        images = source[:num_images] if num_images is not None else source
        return ((f"[{i}]", lambda im=im: im) for i, im in enumerate(images)), len(images)
    if callable(source):
        if num_images is None:
            raise ValueError("a callback source needs num_images: how many images to draw from it")
        return _from_callback(source, num_images, batch_size), num_images
    if isinstance(source, Iterable):
        return _from_batches(source, num_images), num_images
    raise ValueError(f"cannot read images from {type(source).__name__}")


def _from_callback(fn: Callable[[int], np.ndarray], num_images: int, batch_size: int) -> Iterator:
    done = 0
    while done < num_images:
        count = min(batch_size, num_images - done)
        batch = np.asarray(fn(count))
        if batch.ndim != 4 or len(batch) != count:
            raise ValueError(f"the image callback was asked for {count} images and returned shape {batch.shape}")
        for im in batch:
            yield f"[{done}]", lambda im=im: im
            done += 1


def _from_batches(batches: Iterable[np.ndarray], num_images: int | None) -> Iterator:
    done = 0
    for batch in batches:
        for im in np.asarray(batch):
            if num_images is not None and done >= num_images:
                return
            yield f"[{done}]", lambda im=im: im
            done += 1
