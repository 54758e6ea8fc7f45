"""Using a trained tokenizer: reconstruct image files, write the codes of a dataset split."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from PIL import Image

from vim.tokenizer.model import pixels
from vim.tokenizer.train import load_tokenizer, psnr


def _load_square(path: str | os.PathLike, size: int) -> np.ndarray:
    try:
        image = Image.open(path)
        image.load()
    except Exception as e:
        raise ValueError(f"{path}: not a readable image ({e})") from None
    image = image.convert("RGB")
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    image = image.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(image)


def reconstruct_files(
    images: Sequence[str], checkpoint: str | os.PathLike, output: str | os.PathLike
) -> Iterator[tuple[str, float]]:
    """Write `<name>.recon.png` for each image; yields (file, PSNR in dB)."""
    model, cfg = load_tokenizer(checkpoint)
    run = nnx.jit(lambda m, x: pixels(m(x)[0]))
    out_dir = Path(output)
    out_dir.mkdir(parents=True, exist_ok=True)
    for path in images:
        x = jnp.asarray(_load_square(path, cfg.tokenizer.image_size)[None], jnp.float32) / 255.0
        recon = run(model, x)
        value = float(psnr(recon, x)[0])
        Image.fromarray(np.asarray(recon[0] * 255).round().astype(np.uint8)).save(
            out_dir / f"{Path(path).stem}.recon.png"
        )
        yield str(path), value


def tokenize_split(
    checkpoint: str | os.PathLike, split: str, output: str | os.PathLike, limit: int | None = None, batch_size: int = 64
) -> tuple[Path, int]:
    """Codes int16 [N, grid, grid] of a split's images (dataset order) with their captions → .npz."""
    from vim.data.pipeline import open_split

    model, cfg = load_tokenizer(checkpoint)
    source = open_split(cfg.data, split)
    n = len(source) if limit is None else min(limit, len(source))
    encode = nnx.jit(lambda m, x: m.encode(x))
    codes, captions = [], []
    for start in range(0, n, batch_size):
        examples = [source[i] for i in range(start, min(start + batch_size, n))]
        x = jnp.asarray(np.stack([e["image"] for e in examples]), jnp.float32) / 255.0
        codes.append(np.asarray(jax.device_get(encode(model, x)), np.int16))
        captions += [e["caption"].decode() for e in examples]
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, codes=np.concatenate(codes), captions=np.asarray(captions))
    return path, n
