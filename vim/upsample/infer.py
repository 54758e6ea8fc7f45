"""Using a trained upsampler: load it, upsample uint8 images, export it into a bundle, measure it.

    up = Upsampler("checkpoints/shapes-tiny/upsampler")   # an exported part (vim export-upsampler)
    big = up(images_uint8)                                 # [B, 64, 64, 3] → [B, 128, 128, 3] uint8

Inference reads exported folders (config.json + params.npz); a training workdir is turned into one by
`vim.upsample.train.export_upsampler` (`vim export-upsampler`), so this module never imports the trainer.
"""

from __future__ import annotations

import json
import os
import weakref
from collections.abc import Callable
from functools import partial
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from vim.config import CONFIG_FILE, Config, UpsamplerConfig, to_dict
from vim.tokenizer.model import pixels
from vim.training.checkpoint import dump_json
from vim.training.weights import load_params, read_config, save_params
from vim.upsample.model import WDSR, bicubic

PARAMS_FILE = "params.npz"


def load_upsampler(path: str | os.PathLike) -> WDSR:
    """The upsampler in an exported folder."""
    path = Path(path)
    if not (path / PARAMS_FILE).is_file():
        raise FileNotFoundError(
            f"{path} holds no exported upsampler ({PARAMS_FILE}); if it is a training run, export it first: "
            f"vim export-upsampler --workdir {path} -o <folder>"
        )
    ucfg = read_config(path).upsampler
    return load_params(nnx.eval_shape(lambda: WDSR(ucfg, rngs=nnx.Rngs(0))), path / PARAMS_FILE)


def save_exported(model: WDSR, cfg: Config, folder: str | os.PathLike, source: Path) -> Path:
    """Write config.json (the run's `cfg`, whose `upsampler` section is the architecture) + params.npz +
    card.json (provenance: the run's summary and eval) into folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    dump_json(folder / CONFIG_FILE, to_dict(cfg))
    save_params(nnx.to_pure_dict(nnx.state(model)), folder / PARAMS_FILE)
    card = {"source": str(source)}
    for name in ("summary.json", "eval.json"):
        if (source / name).is_file():
            card[name.removesuffix(".json")] = json.loads((source / name).read_text())
    dump_json(folder / "card.json", card)
    return folder


_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _compiled(model: WDSR) -> Callable[[np.ndarray], jax.Array]:
    """A jitted uint8 → uint8 forward pass over this model's weights, built once per model (the weights are
    an argument, not baked-in constants; the graph definition, holding the config, stays out of the key)."""
    if model not in _COMPILED:
        graphdef, state = nnx.split(model)

        @jax.jit
        def run(state: nnx.State, images_uint8: jax.Array) -> jax.Array:
            out = nnx.merge(graphdef, state)(images_uint8.astype(jnp.float32) / 255.0)  # [B, H·s, W·s, 6]
            return jnp.round(pixels(out) * 255).astype(jnp.uint8)

        _COMPILED[model] = partial(run, state)
    return _COMPILED[model]


def upsample(model: WDSR, images_uint8: np.ndarray, batch_size: int = 16) -> np.ndarray:
    """uint8 [B, H, W, 3] → uint8 [B, H·s, W·s, 3], in fixed-size chunks (one compilation per chunk size)."""
    images = np.asarray(images_uint8, np.uint8)
    side, s = model.cfg.input_size, model.cfg.scale
    if images.ndim != 4 or images.shape[1:] != (side, side, 3):
        raise ValueError(f"the upsampler takes uint8 images [B, {side}, {side}, 3], got {images.shape}")
    run = _compiled(model)
    out = []
    for start in range(0, len(images), batch_size):
        chunk = images[start : start + batch_size]
        pad = batch_size - len(chunk)
        chunk = np.concatenate([chunk, np.repeat(chunk[-1:], pad, 0)]) if pad else chunk
        out.append(np.asarray(run(chunk))[: batch_size - pad])
    return np.concatenate(out) if out else np.zeros((0, side * s, side * s, 3), np.uint8)


class Upsampler:
    """A loaded upsampler as a function on uint8 batches (for vim generate --upsample)."""

    def __init__(self, path: str | os.PathLike, batch_size: int = 16):
        self.path = Path(path)
        self.model = load_upsampler(self.path)
        self.cfg: UpsamplerConfig = self.model.cfg
        self.batch_size = batch_size

    @property
    def output_size(self) -> int:
        return self.cfg.input_size * self.cfg.scale

    def __call__(self, images_uint8: np.ndarray) -> np.ndarray:
        """uint8 [B, 64, 64, 3] → uint8 [B, 128, 128, 3] (for the x2 preset)."""
        return upsample(self.model, images_uint8, self.batch_size)

    def export_to(self, folder: str | os.PathLike) -> Path:
        """Write this upsampler into folder, e.g. <bundle>/upsampler."""
        return save_exported(self.model, folder, self.path)


def evaluate_pairs(
    model: WDSR, low_uint8: np.ndarray, high_uint8: np.ndarray, bicubic_uint8: np.ndarray | None = None
) -> dict:
    """Mean PSNR (dB) against the high-res targets of the upsampler and of PIL bicubic, on the same inputs."""
    if bicubic_uint8 is None:
        bicubic_uint8 = bicubic(low_uint8, model.cfg.scale)

    def db(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        mse = np.mean((a.astype(np.float64) / 255 - b.astype(np.float64) / 255) ** 2, axis=(1, 2, 3))
        return 10 * np.log10(1.0 / np.maximum(mse, 1e-10))

    ours = db(upsample(model, low_uint8), high_uint8)
    base = db(bicubic_uint8, high_uint8)
    return {
        "psnr": float(ours.mean()),
        "psnr_bicubic": float(base.mean()),
        "psnr_gain": float((ours - base).mean()),
        "beats_bicubic_share": float((ours > base).mean()),
        "images": len(ours),
    }
