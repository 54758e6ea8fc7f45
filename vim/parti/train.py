"""Training the Parti generator with the shared core: `train_and_evaluate(config, workdir, tokenizer)`.

vim encode-dataset --tokenizer runs/tok
vim train-parti --preset tiny --tokenizer runs/tok --workdir runs/parti
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from jax.sharding import NamedSharding

from vim.config import Config, ConfigError
from vim.data.pipeline import STREAM, make_batches, text_tokenizer_path
from vim.data.text import PAD_ID
from vim.parti.data import check_codes, code_batches, record_trained_on, tokenizer_state
from vim.parti.model import Parti
from vim.parti.sample import empty_text, sample_codes, settings_arrays
from vim.sharding import param_specs, replicated
from vim.training.loop import fit
from vim.training.optim import accumulate_gradients, guarded_update, make_optimizer
from vim.training.state import advance, new_state, step_key
from vim.training.weights import TRAINED_ON, read_record, records_mismatch, text_record


class PartiTask:
    grid_name = "truth_vs_sample"  # eval grids: decoded true codes | a sample for the same caption
    splits_microbatches = True  # train_step honours train.microbatches (vim.training.loop checks)

    def __init__(self, cfg: Config, tokenizer: Any | None = None):
        self.cfg, self.pc = cfg, cfg.parti
        self.graphdef, self.abstract_params = nnx.split(nnx.eval_shape(lambda: Parti(self.pc, rngs=nnx.Rngs(0))))
        self.tx = make_optimizer(cfg.train)
        self.tokenizer = tokenizer  # a ViTVQGAN for sample grids (optional)

    def model(self, params: dict) -> Parti:
        return nnx.merge(self.graphdef, params)

    def init_state(self, rng: jax.Array) -> dict:
        key = jax.random.wrap_key_data(rng)
        params = nnx.to_pure_dict(nnx.state(Parti(self.pc, rngs=nnx.Rngs(jax.random.fold_in(key, 1)))))
        return new_state(params, self.tx, rng)

    def shardings(self, abstract_state: dict, mesh: jax.sharding.Mesh) -> dict:
        """Params, EMA and optimizer slots shaped like a param follow the logical-axis rules; Adafactor's
        factored row/column statistics (vectors) and scalars are replicated."""
        specs = param_specs(self.abstract_params)
        params = jax.tree.map(
            lambda s: NamedSharding(mesh, s), specs, is_leaf=lambda x: isinstance(x, jax.sharding.PartitionSpec)
        )
        opt = optax.tree_map_params(
            self.tx,
            lambda slot, sharding, param: sharding if slot.shape == param.shape else replicated(mesh),
            abstract_state["opt_state"],
            params,
            abstract_state["params"],
            transform_non_params=lambda _: replicated(mesh),
        )
        out = jax.tree.map(lambda _: replicated(mesh), abstract_state)
        return {**out, "params": params, "ema": params, "opt_state": opt}

    def drop_captions(self, text_ids_bt: jax.Array, key: jax.Array) -> jax.Array:
        """Replace each caption by the empty text with probability parti.caption_dropout (for CFG)."""
        drop_b = jax.random.bernoulli(key, self.pc.caption_dropout, (text_ids_bt.shape[0],))
        return jnp.where(drop_b[:, None], jnp.asarray(empty_text(text_ids_bt.shape[1]))[None], text_ids_bt)

    def codes(self, batch: dict) -> jax.Array:
        """Image codes int32 [B, N]: cached ones, or the frozen tokenizer's codes of rendered images."""
        if "codes" in batch:
            return batch["codes"]
        if self.tokenizer is None:
            raise ValueError("this batch holds images, not codes: PartiTask needs the tokenizer to encode them")
        images_bhwc = batch["image"].astype(jnp.float32) / 255.0
        return jax.lax.stop_gradient(self.tokenizer.encode(images_bhwc)).reshape(images_bhwc.shape[0], -1)

    def loss(self, params: dict, batch: dict, key: jax.Array | None) -> tuple[jax.Array, dict]:
        text_ids, codes = batch["text_ids"], self.codes(batch)
        if key is not None:
            text_ids = self.drop_captions(text_ids, key)
        model = self.model(params)
        if self.pc.logits_chunk:
            nll, correct = chunked_token_losses(model, model.features(text_ids, text_ids != PAD_ID, codes), codes)
            return jnp.mean(nll), {"accuracy": jnp.mean(correct)}
        nll, correct = token_losses(model(text_ids, text_ids != PAD_ID, codes), codes)
        accuracy = jnp.mean(correct)
        return jnp.mean(nll), {"accuracy": accuracy}

    def train_step(self, state: dict, batch: dict) -> tuple[dict, dict]:
        key = step_key(state)
        microbatches = self.cfg.train.microbatches
        if microbatches == 1:
            (loss, aux), grads = jax.value_and_grad(self.loss, has_aux=True)(state["params"], batch, key)
        else:  # captions drop over the whole batch, so the update equals the one-batch update
            batch = {**batch, "text_ids": self.drop_captions(batch["text_ids"], key)}
            (loss, aux), grads = accumulate_gradients(
                lambda params, micro: self.loss(params, micro, None),
                state["params"],
                batch,
                microbatches,
                param_specs(self.abstract_params),
            )
        params, opt_state, ok = guarded_update(self.tx, state["params"], state["opt_state"], grads, loss)
        new = advance(state, params, opt_state, ok, self.cfg.train.ema_decay)
        return new, {"loss": loss, **aux, "grad_norm": optax.tree.norm(grads)}

    def eval_step(self, state: dict, batch: dict) -> dict:
        loss, aux = self.loss(state["ema"], batch, None)
        return {"nll": loss, **aux}

    def summarize_eval(self, outputs: list[dict]) -> dict[str, float]:
        return {
            "nll_per_token": float(np.mean([o["nll"] for o in outputs])),
            "accuracy": float(np.mean([o["accuracy"] for o in outputs])),
        }

    def image_grid(self, state: dict, batch: dict) -> np.ndarray | None:
        """Rows of (tokenizer decode of the true codes | a sample for the same caption)."""
        if self.tokenizer is None:
            return None
        codes = self.codes(batch)
        n = min(8, codes.shape[0])
        seeds = jnp.arange(n, dtype=jnp.uint32) + jnp.uint32(state["step"])
        samples = sample_codes(
            self.model(state["ema"]),
            batch["text_ids"][:n],
            seeds,
            settings_arrays(self.cfg.sample),
            guided=self.cfg.sample.guided,
        )
        g = self.pc.image_grid
        truth = self.tokenizer.decode(codes[:n].reshape(n, g, g))
        drawn = self.tokenizer.decode(samples.reshape(n, g, g))
        pair = jnp.concatenate([truth, drawn], axis=2)
        return np.asarray(jnp.concatenate(list(pair), axis=0) * 255).round().astype(np.uint8)


def token_losses(logits_bnv: jax.Array, codes_bn: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Per token: cross-entropy of the true code, and whether its logit is the largest."""
    nll_bn = optax.softmax_cross_entropy_with_integer_labels(logits_bnv, codes_bn)
    # "The true code's logit is the largest": argmax's variadic reduce costs XLA:CPU ~1.2 ms a step.
    true_logit_bn = jnp.take_along_axis(logits_bnv, codes_bn[..., None], axis=-1)[..., 0]
    return nll_bn, true_logit_bn >= jnp.max(logits_bnv, axis=-1)


def chunked_token_losses(model: Parti, features_bnd: jax.Array, codes_bn: jax.Array) -> tuple[jax.Array, jax.Array]:
    """`token_losses` of the model's logits, parti.logits_chunk image tokens at a time: a scan whose
    step is rematerialized, so only one chunk's f32 logits [B, chunk, V] exist, forward and backward."""
    b, n, d = features_bnd.shape
    chunk = model.cfg.logits_chunk
    if chunk < 0 or n % chunk:
        raise ConfigError(f"parti.logits_chunk={chunk} must divide the {n} image tokens (or be 0 = off)")

    @jax.checkpoint
    def one_chunk(_, chunk_inputs):
        features_bcd, codes_bc = chunk_inputs
        return None, token_losses(model.logits(features_bcd).astype(jnp.float32), codes_bc)

    features_kbcd = features_bnd.reshape(b, n // chunk, chunk, d).swapaxes(0, 1)
    codes_kbc = codes_bn.reshape(b, n // chunk, chunk).swapaxes(0, 1)
    _, (nll_kbc, correct_kbc) = jax.lax.scan(one_chunk, None, (features_kbcd, codes_kbc))
    return nll_kbc.swapaxes(0, 1).reshape(b, n), correct_kbc.swapaxes(0, 1).reshape(b, n)


def check_against_tokenizer(cfg: Config, tok_cfg: Config) -> None:
    """The generator's vocabularies and lengths must match the tokenizer run it trains on."""
    expected = {
        "parti.image_vocab_size": tok_cfg.tokenizer.codebook_size,
        "parti.image_grid": tok_cfg.tokenizer.image_size // tok_cfg.tokenizer.patch_size,
        "parti.text_length": tok_cfg.text.max_length,
    }
    actual = {
        "parti.image_vocab_size": cfg.parti.image_vocab_size,
        "parti.image_grid": cfg.parti.image_grid,
        "parti.text_length": cfg.parti.text_length,
    }
    wrong = [f"{k}={actual[k]} (tokenizer run needs {v}; --set {k}={v})" for k, v in expected.items() if actual[k] != v]
    if wrong:
        raise ConfigError("generator config does not match the tokenizer: " + "; ".join(wrong))


def train_and_evaluate(
    cfg: Config, workdir: str | os.PathLike, tokenizer: str | os.PathLike, stop_at: int | None = None
) -> dict:
    """Train Parti on the codes cached from `tokenizer` (a tokenizer workdir or bundle part), resuming if
    possible. With data.dataset=shapes-stream the world is rendered on demand and encoded inside the step.
    Cached codes must have been made from the tokenizer's current state; the state trained on is recorded
    in the run (`trained_on.json`) for `vim export`.
    """
    tok_model, tok_cfg, tok_state = tokenizer_state(tokenizer)
    check_against_tokenizer(cfg, tok_cfg)
    if cfg.data.dataset == STREAM:
        trained_on = {"tokenizer": tok_state, "text_tokenizer": text_record(text_tokenizer_path(cfg))}
    else:
        trained_on = check_codes(tokenizer, tok_state)
    if cfg.train.init_from:  # weights drawn in another tokenizer's codes would start from garbage
        start = read_record(Path(cfg.train.init_from) / TRAINED_ON)
        if start is not None and (wrong := records_mismatch(start, trained_on)):
            raise ConfigError(f"train.init_from={cfg.train.init_from} was trained on other parts: {wrong}")
    task = PartiTask(cfg, tokenizer=tok_model)
    if cfg.data.dataset == STREAM:
        if cfg.data.world.resolution != tok_cfg.tokenizer.image_size:
            raise ConfigError(
                f"data.world.resolution={cfg.data.world.resolution} but the tokenizer encodes "
                f"{tok_cfg.tokenizer.image_size}² images (--set data.world.resolution={tok_cfg.tokenizer.image_size})"
            )
        train, validation = (
            lambda: make_batches(cfg, "train"),
            lambda: make_batches(cfg, "validation", shuffle=False, num_epochs=1),
        )
    else:
        train, validation = (
            lambda: code_batches(cfg, tokenizer, "train"),
            lambda: code_batches(cfg, tokenizer, "validation", shuffle=False, num_epochs=1),
        )
    record_trained_on(workdir, trained_on)
    return fit(
        cfg,
        workdir,
        task,
        train_batches=train,
        eval_batches=validation,
        shardings_fn=task.shardings,
        stop_at=stop_at,
    )
