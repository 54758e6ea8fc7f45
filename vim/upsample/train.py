"""Training the ×2 upsampler with the shared core: `train_and_evaluate(cfg, workdir, tokenizer_workdir)`.

vim train-upsampler --preset tiny --data-dir data --tokenizer runs/tok --workdir runs/upsampler

A training pair is what the upsampler meets at generation time — a *tokenizer reconstruction* at 64 px
(with the tokenizer's blur and artifacts) — and what it should produce: the same scene rendered at
128 px by the world's renderer. Reconstructions are computed once for `train_pairs` / `eval_pairs`
examples and cached in <workdir>/pairs (the tokenizer is frozen, so recomputing them every epoch would
only cost time). Training uses random aligned crops with flips; evaluation compares PSNR on whole
validation images against bicubic (PIL) upsampling of the same reconstructions.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from vim.config import Config, UpsamplerConfig, save_or_check
from vim.metrics.pixels import psnr, to_unit
from vim.tokenizer.losses import AdversarialGame, l2_loss, logit_laplace_loss
from vim.tokenizer.model import pixels
from vim.training.loop import fit
from vim.training.optim import guarded_update, make_optimizer
from vim.training.state import advance, new_state
from vim.training.weights import latest_ema, read_config
from vim.upsample.model import WDSR, bicubic

log = logging.getLogger(__name__)

PAIRS_DIR = "pairs"


def _reconstructor(tokenizer) -> callable:
    """A jitted uint8 → uint8 round trip through the tokenizer's codes (what generation decodes)."""
    graphdef, state = nnx.split(tokenizer)

    @jax.jit
    def run(state, images_uint8):
        out, _ = nnx.merge(graphdef, state)(to_unit(images_uint8))
        return jnp.round(pixels(out) * 255).astype(jnp.uint8)

    return lambda images: np.asarray(run(state, images))


def build_pairs(
    cfg: Config, ucfg: UpsamplerConfig, tokenizer, split: str, n: int, batch_size: int = 32
) -> dict[str, np.ndarray]:
    """`low` = tokenizer reconstructions uint8 [n, S, S, 3] of the first n examples of `split`, `high` = their
    scenes rendered at S·scale (or the same records of `ucfg.target_data_dir`), `bicubic` = the baseline
    upsampling of `low`."""
    from vim.data.pipeline import open_split
    from vim.world.render import render
    from vim.world.scene import Scene

    source = open_split(cfg.data, split)
    n = min(n, len(source))
    side, big = ucfg.input_size, ucfg.input_size * ucfg.scale
    targets = None
    if ucfg.target_data_dir:
        # The same dataset at the higher side (a world's folder is named by its resolution; an import's is not).
        world = dataclasses.replace(cfg.data.world, resolution=big)
        targets = open_split(dataclasses.replace(cfg.data, data_dir=ucfg.target_data_dir, world=world), split)
    if targets is not None and len(targets) < n:
        raise ValueError(f"{ucfg.target_data_dir} holds {len(targets)} {split} records, fewer than the {n} pairs asked")
    recon = _reconstructor(tokenizer)
    low = np.zeros((n, side, side, 3), np.uint8)
    high = np.zeros((n, big, big, 3), np.uint8)
    for start in range(0, n, batch_size):
        examples = [source[i] for i in range(start, min(start + batch_size, n))]
        if targets is None and not examples[0]["scene"]:
            raise ValueError(
                f"dataset {cfg.data.dataset!r} has no scenes to render at {big} px: build it at that side into "
                "another data dir and set upsampler.target_data_dir"
            )
        images = np.stack([np.asarray(e["image"]) for e in examples])
        if images.shape[1:] != (side, side, 3):
            raise ValueError(f"{split} images are {images.shape[1:]}, the upsampler takes {side}×{side}")
        pad = batch_size - len(images)  # one batch shape, one compilation
        low[start : start + len(images)] = recon(np.concatenate([images, np.repeat(images[-1:], pad, 0)]))[
            : len(images)
        ]
        for j, e in enumerate(examples):
            if targets is None:
                high[start + j] = render(Scene.from_json(e["scene"]), big)
                continue
            target = targets[start + j]
            if target["caption"] != e["caption"] or np.asarray(target["image"]).shape != (big, big, 3):
                raise ValueError(
                    f"{ucfg.target_data_dir}'s {split} record {start + j} is not the {big} px twin of "
                    f"{cfg.data.data_dir}'s (another caption or size): build both the same way at the two sides"
                )
            high[start + j] = target["image"]
    return {"low": low, "high": high, "bicubic": bicubic(low, ucfg.scale)}


def cached_pairs(
    workdir: str | os.PathLike, cfg: Config, ucfg: UpsamplerConfig, tokenizer_workdir: str | os.PathLike
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Train and eval pairs from <workdir>/pairs, (re)built when the tokenizer checkpoint or counts changed."""
    from vim.tokenizer.infer import load_tokenizer
    from vim.training.checkpoint import Checkpointer

    folder = Path(workdir) / PAIRS_DIR
    if not (Path(tokenizer_workdir) / "config.json").is_file():
        raise FileNotFoundError(f"{tokenizer_workdir} is not a tokenizer workdir (no config.json)")
    ckpt = Checkpointer(Path(tokenizer_workdir) / "checkpoints", use_async=False)
    try:
        tok_step = ckpt.latest_step()
    finally:
        ckpt.close()
    if tok_step is None:
        raise FileNotFoundError(f"no tokenizer checkpoint in {tokenizer_workdir}")
    meta = {
        "tokenizer": str(Path(tokenizer_workdir).absolute()),
        "tokenizer_step": int(tok_step),
        "targets": ucfg.target_data_dir or "world renders",
        "train_pairs": ucfg.train_pairs,
        "eval_pairs": ucfg.eval_pairs,
        "scale": ucfg.scale,
    }
    meta_file = folder / "meta.json"
    if meta_file.is_file() and json.loads(meta_file.read_text()) == meta:
        with np.load(folder / "train.npz") as t, np.load(folder / "validation.npz") as v:
            return dict(t), dict(v)
    tokenizer, tok_cfg = load_tokenizer(tokenizer_workdir)
    if tok_cfg.tokenizer.image_size != ucfg.input_size:
        raise ValueError(
            f"the tokenizer makes {tok_cfg.tokenizer.image_size} px images; upsampler input_size is {ucfg.input_size}"
        )
    log.info("reconstructing %d train + %d validation pairs with %s", ucfg.train_pairs, ucfg.eval_pairs, meta)
    train = build_pairs(cfg, ucfg, tokenizer, "train", ucfg.train_pairs)
    evaluation = build_pairs(cfg, ucfg, tokenizer, "validation", ucfg.eval_pairs)
    folder.mkdir(parents=True, exist_ok=True)
    for name, arrays in (("train", train), ("validation", evaluation)):
        tmp = folder / f"{name}.tmp.npz"
        np.savez(tmp, **arrays)
        tmp.replace(folder / f"{name}.npz")
    meta_file.write_text(json.dumps(meta, indent=2) + "\n")
    return train, evaluation


class PairBatches:
    """Resumable training batches of aligned random crops (with flips) from cached pairs.

    Batch k is a pure function of (seed, k), so the iterator state is just k.
    """

    def __init__(self, pairs: dict[str, np.ndarray], batch_size: int, crop: int, scale: int, seed: int = 0):
        self.low, self.high = pairs["low"], pairs["high"]
        if len(self.low) < batch_size:
            raise ValueError(f"{len(self.low)} training pairs cannot fill a batch of {batch_size}")
        side = self.low.shape[1]
        self.crop = min(crop, side) if crop > 0 else side
        self.batch_size, self.scale, self.seed, self.k = batch_size, scale, seed, 0

    def __iter__(self) -> PairBatches:
        return self

    def __next__(self) -> dict[str, np.ndarray]:
        rng = np.random.default_rng([self.seed, self.k])
        self.k += 1
        c, s, side = self.crop, self.scale, self.low.shape[1]
        idx = rng.choice(len(self.low), self.batch_size, replace=False)
        ys, xs = rng.integers(0, side - c + 1, (2, self.batch_size))
        flips = rng.integers(0, 2, (3, self.batch_size)).astype(bool)  # horizontal, vertical, transpose
        low = np.empty((self.batch_size, c, c, 3), np.uint8)
        high = np.empty((self.batch_size, c * s, c * s, 3), np.uint8)
        for j, (i, y, x) in enumerate(zip(idx, ys, xs, strict=True)):
            lo = self.low[i, y : y + c, x : x + c]
            hi = self.high[i, y * s : (y + c) * s, x * s : (x + c) * s]
            for axis, flip in ((1, flips[0, j]), (0, flips[1, j])):
                if flip:
                    lo, hi = np.flip(lo, axis), np.flip(hi, axis)
            if flips[2, j]:
                lo, hi = lo.transpose(1, 0, 2), hi.transpose(1, 0, 2)
            low[j], high[j] = lo, hi
        return {"low": low, "high": high}

    def get_state(self) -> bytes:
        return json.dumps({"k": self.k}).encode()

    def set_state(self, state: bytes) -> None:
        self.k = int(json.loads(state)["k"])


def eval_batches(pairs: dict[str, np.ndarray], batch_size: int):
    """Whole validation images in order (an incomplete last batch is dropped: one eval shape)."""
    for start in range(0, len(pairs["low"]) - batch_size + 1, batch_size):
        yield {k: v[start : start + batch_size] for k, v in pairs.items()}


class UpsamplerTask:
    grid_name = "nearest_bicubic_ours_target"

    def __init__(self, cfg: Config):
        self.cfg, self.ucfg = cfg, cfg.upsampler
        ucfg = self.ucfg
        self.graphdef, _ = nnx.split(nnx.eval_shape(lambda: WDSR(ucfg, rngs=nnx.Rngs(0))))
        self.use_gan = ucfg.adversarial_weight > 0
        self.disc_size = min(ucfg.crop, ucfg.input_size) * ucfg.scale if ucfg.crop > 0 else ucfg.input_size * ucfg.scale
        self.gan = AdversarialGame(self.disc_size, ucfg.disc_width, ucfg.r1_gamma, cfg.train) if self.use_gan else None
        self.tx = make_optimizer(cfg.train)

    def model(self, params: dict) -> WDSR:
        return nnx.merge(self.graphdef, params)

    def init_state(self, rng: jax.Array) -> dict:
        key = jax.random.wrap_key_data(rng)
        params = nnx.to_pure_dict(nnx.state(WDSR(self.ucfg, rngs=nnx.Rngs(jax.random.fold_in(key, 1)))))
        state = new_state(params, self.tx, rng)
        if self.use_gan:
            state |= self.gan.init_state(jax.random.fold_in(key, 2))
        return state

    def train_step(self, state: dict, batch: dict) -> tuple[dict, dict]:
        uc, step = self.ucfg, state["step"]
        low, high = to_unit(batch["low"]), to_unit(batch["high"])
        gan_on = self.use_gan & (step >= uc.adversarial_start_step)

        def loss_fn(params):
            out = self.model(params)(low)  # [B, c·s, c·s, 6]
            terms = {"l2": l2_loss(out, high)}
            loss = uc.l2_weight * terms["l2"]
            if uc.logit_laplace_weight > 0:
                terms["logit_laplace"] = logit_laplace_loss(out, high)
                loss = loss + uc.logit_laplace_weight * terms["logit_laplace"]
            if self.use_gan:
                terms["g_adv"] = self.gan.generator_loss(state, pixels(out))
                loss = loss + jnp.where(gan_on, uc.adversarial_weight, 0.0) * terms["g_adv"]
            return loss, (terms, out)

        (loss, (terms, out)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state["params"])
        params, opt_state, ok = guarded_update(self.tx, state["params"], state["opt_state"], grads, loss)
        new = dict(state)
        metrics = {"loss": loss, **terms}
        if self.use_gan:
            disc_state, d_terms = self.gan.discriminator_step(state, high, pixels(out), gan_on)
            new |= disc_state
            metrics |= d_terms
        new = advance(new, params, opt_state, ok, self.cfg.train.ema_decay)
        metrics["batch_psnr"] = jnp.mean(psnr(pixels(out), high))
        return new, metrics

    def eval_step(self, state: dict, batch: dict) -> dict:
        high = to_unit(batch["high"])
        ours = jnp.round(pixels(self.model(state["ema"])(to_unit(batch["low"]))) * 255) / 255  # as saved (uint8)
        return {"psnr": psnr(ours, high), "psnr_bicubic": psnr(to_unit(batch["bicubic"]), high)}

    def summarize_eval(self, outputs: list[dict]) -> dict[str, float]:
        ours = np.concatenate([o["psnr"] for o in outputs])
        base = np.concatenate([o["psnr_bicubic"] for o in outputs])
        return {
            "psnr": float(ours.mean()),
            "psnr_bicubic": float(base.mean()),
            "psnr_gain": float((ours - base).mean()),
            "beats_bicubic_share": float((ours > base).mean()),  # share of images where ours is better
            "images": float(len(ours)),
        }

    def image_grid(self, state: dict, batch: dict) -> np.ndarray:
        s = self.ucfg.scale
        low = batch["low"][:4]
        nearest = jnp.repeat(jnp.repeat(to_unit(low), s, axis=1), s, axis=2)
        ours = pixels(self.model(state["ema"])(to_unit(low)))
        row = jnp.concatenate([nearest, to_unit(batch["bicubic"][:4]), ours, to_unit(batch["high"][:4])], axis=2)
        return np.asarray(jnp.concatenate(list(row), axis=0) * 255).round().astype(np.uint8)


def train_and_evaluate(
    cfg: Config,
    workdir: str | os.PathLike,
    tokenizer_workdir: str | os.PathLike,
    stop_at: int | None = None,
) -> dict:
    """Train the upsampler in workdir (resuming if it holds a checkpoint), then evaluate its EMA weights on
    every cached validation pair against bicubic; the result also goes to <workdir>/eval.json."""
    from vim.training.checkpoint import dump_json
    from vim.upsample.infer import evaluate_pairs

    ucfg = cfg.upsampler
    if cfg.data.world.resolution != ucfg.input_size:
        raise ValueError(
            f"upsampler input_size={ucfg.input_size} but the world renders {cfg.data.world.resolution} px; set both"
        )
    save_or_check(cfg, workdir)  # before the pairs are built: a mismatched resume fails at once
    train, evaluation = cached_pairs(workdir, cfg, ucfg, tokenizer_workdir)
    bs = cfg.data.batch_size
    result = fit(
        cfg,
        workdir,
        UpsamplerTask(cfg),
        train_batches=lambda: PairBatches(train, bs, ucfg.crop, ucfg.scale, seed=cfg.data.shuffle_seed),
        eval_batches=lambda: eval_batches(evaluation, bs),
        stop_at=stop_at,
    )
    task = UpsamplerTask(cfg)
    ema = task.model(latest_ema(Path(workdir), task)["params"])
    final = evaluate_pairs(ema, evaluation["low"], evaluation["high"], evaluation["bicubic"])
    dump_json(Path(workdir) / "eval.json", {"step": result["step"], **final})
    return {**result, "final_eval": final}


def export_upsampler(workdir: str | os.PathLike, folder: str | os.PathLike) -> Path:
    """Export a training run's EMA weights as an upsampler part (what bundles and `Upsampler` read)."""
    from vim.upsample.infer import save_exported

    workdir = Path(workdir)
    cfg = read_config(workdir)
    task = UpsamplerTask(cfg)
    return save_exported(task.model(latest_ema(workdir, task)["params"]), cfg, folder, workdir)
