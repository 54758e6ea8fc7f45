"""Edit an image with text: redraw the masked tokens of its codes for a caption, keep the others.

    vim edit photo.png "a big red circle left of a small blue square" --mask mask.png -n 4 --candidates 16
    vim edit photo.png "two green stars" --box 8,8,40,40
    vim edit photo.png "a red circle above a blue heart" --keep-top-rows 4      # completion

The image is center-cropped to a square and resized to the tokenizer's size, as `vim reconstruct` does;
the mask (a file of the image's own size, white where the image is redrawn; a box in the image's pixels;
or every row below the top N) is cropped the same way and becomes a mask over the token grid: a token is
drawn again when any pixel marked in the mask falls in it. The tokens are drawn by the ordinary sampler
(`vim.parti.sample.sample_codes` with `infill`): the kept ones are fed in as they are and only the
masked ones are drawn, in raster order, so a drawn token sees the kept tokens above and to its left but
not those after it.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from vim.config import SampleConfig
from vim.data.image_files import BadImageError, read_image
from vim.files import save_image, write_text
from vim.generate import Drawn, Generator, check_prompt, draw, image_name, image_record


class MaskError(ValueError):
    """A mask that cannot be used; the message says what is wrong with it."""


def token_mask(marked_hw: np.ndarray, grid: int, what: str = "mask") -> np.ndarray:
    """bool [grid, grid]: the tokens of an image's center square that hold any marked pixel.

    `marked_hw` is bool [H, W] at the image's own size; its center square (the part `vim reconstruct`
    keeps) is split into grid × grid cells, as the tokenizer's patches split the resized square."""
    h, w = marked_hw.shape
    side = min(h, w)
    if side < grid:
        raise MaskError(f"{what}: the image is {w}×{h} pixels; editing needs at least {grid} pixels a side")
    top, left = (h - side) // 2, (w - side) // 2
    square = marked_hw[top : top + side, left : left + side].astype(np.int32)
    edges = (np.arange(grid) * side) // grid
    counts_gg = np.add.reduceat(np.add.reduceat(square, edges, axis=0), edges, axis=1)
    mask_gg = counts_gg > 0
    if not mask_gg.any():
        where = " inside the center square the image is cropped to" if marked_hw.any() else ""
        raise MaskError(f"{what} is empty: it marks no pixel{where}, so nothing would be redrawn")
    return mask_gg


def mask_from_file(path: str | os.PathLike, image_wh: tuple[int, int], grid: int) -> np.ndarray:
    """The token mask [grid, grid] of a mask image: bright pixels (gray level ≥ 128) are redrawn. It must
    have the edited image's size (width × height, as the image is shown upright); BadImageError names a
    file that is not an image."""
    try:
        image, _ = read_image(path)
    except BadImageError as e:
        raise MaskError(f"mask: {e}") from None
    if image.size != tuple(image_wh):
        raise MaskError(
            f"mask {path} is {image.width}×{image.height} pixels but the image is {image_wh[0]}×{image_wh[1]}: "
            "draw the mask at the image's own size"
        )
    gray_hw = np.asarray(image.convert("L"))
    return token_mask(gray_hw >= 128, grid, f"mask {path}")


def parse_box(text: str) -> tuple[int, int, int, int]:
    """'x0,y0,x1,y1' (pixels; x1, y1 excluded) → the four ints, or MaskError saying what is wrong."""
    parts = [p.strip() for p in str(text).split(",")]
    try:
        x0, y0, x1, y1 = (int(p) for p in parts)
    except ValueError:
        raise MaskError(f"--box must be four whole numbers x0,y0,x1,y1 (pixels), got {text!r}") from None
    if not (x0 < x1 and y0 < y1):
        raise MaskError(f"--box {text!r} is empty: it needs x0 < x1 and y0 < y1")
    return x0, y0, x1, y1


def box_mask(box: str | Sequence[int], image_wh: tuple[int, int], grid: int) -> np.ndarray:
    """The token mask [grid, grid] of a box x0,y0,x1,y1 in the image's pixels (x1, y1 excluded)."""
    x0, y0, x1, y1 = parse_box(box if isinstance(box, str) else ",".join(map(str, box)))
    w, h = image_wh
    if x0 < 0 or y0 < 0 or x1 > w or y1 > h:
        raise MaskError(f"--box {x0},{y0},{x1},{y1} reaches outside the {w}×{h} image")
    marked_hw = np.zeros((h, w), bool)
    marked_hw[y0:y1, x0:x1] = True
    return token_mask(marked_hw, grid, f"--box {x0},{y0},{x1},{y1}")


def rows_mask(keep_top_rows: int, grid: int) -> np.ndarray:
    """Completion: keep the top `keep_top_rows` rows of tokens, draw every row below."""
    if not 0 <= keep_top_rows < grid:
        raise MaskError(
            f"--keep-top-rows must be 0..{grid - 1} (the image has {grid} rows of tokens), got {keep_top_rows}"
        )
    mask_gg = np.zeros((grid, grid), bool)
    mask_gg[keep_top_rows:] = True
    return mask_gg


def grow(mask_gg: np.ndarray, tokens: int = 1) -> np.ndarray:
    """The mask grown by `tokens` in every direction (diagonals too), clipped to the grid."""
    grown = mask_gg.copy()
    for _ in range(tokens):
        padded = np.pad(grown, 1)
        grown = np.zeros_like(grown)
        for dy in range(3):
            for dx in range(3):
                grown |= padded[dy : dy + mask_gg.shape[0], dx : dx + mask_gg.shape[1]]
    return grown


def pixel_mask(mask_gg: np.ndarray, size: int) -> np.ndarray:
    """bool [size, size]: each token's pixels (the tokenizer's patches) take its value."""
    patch = size // mask_gg.shape[0]
    return np.repeat(np.repeat(mask_gg, patch, axis=0), patch, axis=1)


def mask_picture(mask_gg: np.ndarray, size: int) -> np.ndarray:
    """uint8 [size, size, 3]: the token mask drawn white (redrawn) on black (kept), at the image's size."""
    return np.repeat(pixel_mask(mask_gg, size)[..., None] * np.uint8(255), 3, axis=-1)


def edit(
    generator: Generator,
    image: np.ndarray,
    mask_gg: np.ndarray,
    prompt: str,
    n: int,
    first_seed: int,
    sample: SampleConfig,
    candidates: int | None = None,
    reranker: Any | None = None,
    upsampler: Any | None = None,
) -> tuple[Drawn, np.ndarray]:
    """n edits of `image` (uint8 [S, S, 3] at the tokenizer's size) for `prompt`, drawing only the tokens
    where `mask_gg` [grid, grid] is True (reranked and upsampled as `vim.generate.draw`), and the image's
    codes [N] they started from."""
    grid = generator.grid
    if mask_gg.shape != (grid, grid):
        raise MaskError(f"the token mask is {mask_gg.shape}; this model's images are {grid}×{grid} tokens")
    if not mask_gg.any():
        raise MaskError("the mask is empty: nothing would be redrawn")
    codes_n = generator.encode_images(image[None])[0]
    infill = (codes_n, mask_gg.reshape(-1))
    drawn = draw(generator, prompt, n, first_seed, sample, candidates, reranker, upsampler, infill=infill)
    return drawn, codes_n


def edit_record(source: str, source_bytes: bytes | None, mask_gg: np.ndarray, codes_n: np.ndarray) -> dict:
    """What an edit's sidecar adds to `vim.generate.image_record`: the source, the token mask (one string of
    0/1 per row, 1 = drawn) and the source's codes, which with the prompt, seed and settings draw it again."""
    record = {"source": source, "mask": ["".join("1" if m else "0" for m in row) for row in mask_gg]}
    if source_bytes is not None:
        record["source_sha256"] = hashlib.sha256(source_bytes).hexdigest()
    record["source_codes"] = np.asarray(codes_n).tolist()
    return record


def mask_from_record(rows: Sequence[str]) -> np.ndarray:
    """The token mask of a sidecar's `edit.mask`."""
    return np.array([[c == "1" for c in row] for row in rows], bool)


def write_edits(
    out_dir: str | os.PathLike,
    source_path: str | os.PathLike,
    image: np.ndarray,
    mask_gg: np.ndarray,
    prompt: str,
    n: int,
    seed: int,
    sample: SampleConfig,
    generator: Generator,
    candidates: int | None = None,
    reranker: Any | None = None,
    upsampler: Any | None = None,
) -> list[dict]:
    """`edit`, written as `vim generate` writes images (PNG + JSON sidecar each, the sidecar with an `edit`
    section), beside source.png (the cropped, resized input) and mask.png (the token mask). Returns the
    sidecars."""
    prompt = check_prompt(prompt)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    drawn, codes_n = edit(generator, image, mask_gg, prompt, n, seed, sample, candidates, reranker, upsampler)
    seconds = (time.perf_counter() - start) / n
    save_image(Image.fromarray(image), out / "source.png")
    save_image(Image.fromarray(mask_picture(mask_gg, image.shape[0])), out / "mask.png")
    extra = edit_record(str(source_path), Path(source_path).read_bytes(), mask_gg, codes_n)
    records = []
    for j, image_seed in enumerate(drawn.seeds):
        name = image_name(0, j, image_seed)
        save_image(Image.fromarray(drawn.images[j]), out / f"{name}.png")
        record = image_record(drawn, j, prompt, name, sample, generator.bundle.path, upsampler is not None, seconds)
        record["edit"] = extra
        write_text(out / f"{name}.json", json.dumps(record, indent=2) + "\n")
        records.append(record)
    return records
