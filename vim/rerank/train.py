"""Training the contrastive reranking scorer with the shared core: `train_and_evaluate(cfg, workdir)`.

vim train-scorer --preset tiny --data-dir data --workdir runs/scorer

Batches are the regular (image, caption) batches of `make_batches`; every other caption in a batch is
a negative. Evaluation reports retrieval accuracy: the share of validation images whose own caption
scores highest among the batch's B captions, and among groups of 8 (chance 1/B and 1/8).
"""

from __future__ import annotations

import dataclasses
import os

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from vim.config import Config
from vim.data.pipeline import make_batches
from vim.rerank.model import DualEncoder, ScorerConfig, info_nce, save_scorer_config
from vim.training.loop import fit
from vim.training.optim import guarded_update, make_optimizer, schedule
from vim.training.state import advance, new_state

GROUP = 8  # the "1 of 8" retrieval: an image against its own caption and 7 others


def to_unit(images_uint8: jax.Array) -> jax.Array:
    return images_uint8.astype(jnp.float32) / 255.0


def retrieval_correct(sims_bb: jax.Array, text_ids_bt: jax.Array) -> jax.Array:
    """[B] bool: image i's best-scoring caption is its own.

    A caption whose ids equal image i's own caption counts as its own, so two images that happen to
    share a caption (a small grammar repeats itself) are not marked wrong for a tie nobody could break.
    """
    best_b = jnp.argmax(sims_bb, axis=1)
    return jnp.all(text_ids_bt[best_b] == text_ids_bt, axis=1)


def grouped_correct(sims_bb: jax.Array, text_ids_bt: jax.Array, group: int = GROUP) -> jax.Array:
    """[B // group * group] bool: retrieval within consecutive groups of `group` images and their captions."""
    n = sims_bb.shape[0] // group
    blocks = []
    for g in range(n):
        rows = slice(g * group, (g + 1) * group)
        blocks.append(retrieval_correct(sims_bb[rows, rows], text_ids_bt[rows]))
    return jnp.concatenate(blocks) if blocks else jnp.zeros((0,), bool)


class ScorerTask:
    grid_name = "retrieval"

    def __init__(self, cfg: Config, scfg: ScorerConfig):
        self.cfg, self.scfg = cfg, scfg
        self.graphdef, _ = nnx.split(nnx.eval_shape(lambda: DualEncoder(scfg, rngs=nnx.Rngs(0))))
        self.tx = make_optimizer(cfg.train)

    def model(self, params: dict) -> DualEncoder:
        return nnx.merge(self.graphdef, params)

    def init_state(self, rng: jax.Array) -> dict:
        key = jax.random.wrap_key_data(rng)
        params = nnx.to_pure_dict(nnx.state(DualEncoder(self.scfg, rngs=nnx.Rngs(jax.random.fold_in(key, 1)))))
        return new_state(params, self.tx, rng)

    def train_step(self, state: dict, batch: dict) -> tuple[dict, dict]:
        images = to_unit(batch["image"])

        def loss_fn(params):
            model = self.model(params)
            sims = model.similarities(images, batch["text_ids"], batch["text_mask"])
            return info_nce(sims, model.logit_scale()), (sims, model.logit_scale())

        (loss, (sims, scale)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state["params"])
        params, opt_state, ok = guarded_update(self.tx, state["params"], state["opt_state"], grads, loss)
        new = advance(state, params, opt_state, ok, self.cfg.train.ema_decay)
        metrics = {
            "loss": loss,
            "logit_scale": scale,
            "batch_retrieval": jnp.mean(retrieval_correct(sims, batch["text_ids"])),
            "learning_rate": schedule(self.cfg.train)(state["step"]),
            "update_ok": ok,
            "skipped": new["skipped"],
            "consecutive_skipped": new["consecutive_skipped"],
        }
        return new, metrics

    def eval_step(self, state: dict, batch: dict) -> dict:
        model = self.model(state["ema"])
        sims = model.similarities(to_unit(batch["image"]), batch["text_ids"], batch["text_mask"])
        return {
            "correct_batch": retrieval_correct(sims, batch["text_ids"]),
            "correct_8": grouped_correct(sims, batch["text_ids"]),
            "loss": info_nce(sims, model.logit_scale()),
            "batch": jnp.asarray(sims.shape[0]),
        }

    def summarize_eval(self, outputs: list[dict]) -> dict[str, float]:
        return {
            "retrieval_acc_batch": float(np.mean(np.concatenate([o["correct_batch"] for o in outputs]))),
            "retrieval_acc_1of8": float(np.mean(np.concatenate([o["correct_8"] for o in outputs]))),
            "chance_batch": float(np.mean([1.0 / o["batch"] for o in outputs])),
            "loss": float(np.mean([o["loss"] for o in outputs])),
        }

    def image_grid(self, state: dict, batch: dict) -> np.ndarray | None:
        return None  # retrieval has no natural picture; the accuracies say it


def resolve_scorer_config(cfg: Config, scfg: ScorerConfig | None) -> ScorerConfig:
    """The scorer config with its text sizes taken from the run's text settings (one source of truth)."""
    scfg = scfg or ScorerConfig()
    return dataclasses.replace(
        scfg,
        text_vocab_size=cfg.text.vocab_size,
        text_length=cfg.text.max_length,
        image_size=cfg.data.world.resolution,
    )


def train_and_evaluate(
    cfg: Config, workdir: str | os.PathLike, scfg: ScorerConfig | None = None, stop_at: int | None = None
) -> dict:
    """Train the scorer in workdir (resuming if it holds a checkpoint); scorer.json records its architecture."""
    scfg = resolve_scorer_config(cfg, scfg)
    save_scorer_config(scfg, workdir)
    return fit(
        cfg,
        workdir,
        ScorerTask(cfg, scfg),
        train_batches=lambda: make_batches(cfg, "train"),
        eval_batches=lambda: make_batches(cfg, "validation", shuffle=False, num_epochs=1),
        stop_at=stop_at,
    )
