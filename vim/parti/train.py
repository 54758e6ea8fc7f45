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
from vim.data.pipeline import make_batches, streamed, text_tokenizer_path
from vim.data.text import PAD_ID
from vim.parti.data import check_codes, code_batches, record_trained_on, tokenizer_state
from vim.parti.model import Parti
from vim.parti.sample import empty_text, expert_rows, sample_codes, settings_arrays
from vim.sharding import param_specs, replicated
from vim.training.loop import fit
from vim.training.optim import accumulate_gradients, guarded_update, make_optimizer
from vim.training.shard_update import reduce_scattered_gradients, shard_optimizer_state, update_specs
from vim.training.state import advance, new_state, step_key
from vim.training.weights import TRAINED_ON, read_record, records_mismatch, text_record


class PartiTask:
    grid_name = "truth_vs_sample"  # eval grids: decoded true codes | a sample for the same caption
    splits_microbatches = True  # train_step honours train.microbatches (vim.training.loop checks)
    shards_update = True  # and train.shard_update

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
        state = {**out, "params": params, "ema": params, "opt_state": opt}
        return shard_optimizer_state(state, abstract_state, mesh) if self.cfg.train.shard_update else state

    @property
    def text_key(self) -> str:
        """The batch field the model conditions on: captions [B, T], or their two views [B, 2, T]."""
        return "text_ids_views" if self.pc.text_views else "text_ids"

    def drop_captions(self, text_ids: jax.Array, key: jax.Array) -> jax.Array:
        """Replace each caption (with caption views: both of an image's rows) by the empty text with
        probability parti.caption_dropout (for CFG)."""
        drop_b = jax.random.bernoulli(key, self.pc.caption_dropout, (text_ids.shape[0],))
        drop = drop_b.reshape(-1, *[1] * (text_ids.ndim - 1))
        return jnp.where(drop, jnp.asarray(empty_text(text_ids.shape[-1])), text_ids)

    def text_ids(self, batch: dict) -> jax.Array:
        if self.text_key not in batch:
            raise ConfigError(
                f"parti.text_views={self.pc.text_views!r} needs batches with {self.text_key}, made from each "
                "example's caption by the input pipeline (`caption_operations`)"
            )
        return batch[self.text_key]

    def batch_shapes(self, batch_size: int) -> dict[str, jax.ShapeDtypeStruct]:
        """A train batch of cached codes as abstract arrays (for `vim plan`): codes [B, N], captions [B, T]."""
        return {
            "codes": jax.ShapeDtypeStruct((batch_size, self.pc.image_grid**2), jnp.int32),
            "text_ids": jax.ShapeDtypeStruct((batch_size, self.pc.text_length), jnp.int32),
        }

    def codes(self, batch: dict) -> jax.Array:
        """Image codes int32 [B, N]: cached ones, or the frozen tokenizer's codes of rendered images."""
        if "codes" in batch:
            return batch["codes"]
        if self.tokenizer is None:
            raise ValueError("this batch holds images, not codes: PartiTask needs the tokenizer to encode them")
        images_bhwc = batch["image"].astype(jnp.float32) / 255.0
        return jax.lax.stop_gradient(self.tokenizer.encode(images_bhwc)).reshape(images_bhwc.shape[0], -1)

    def loss(self, params: dict, batch: dict, key: jax.Array | None) -> tuple[jax.Array, dict]:
        """Mean cross-entropy per image token; with caption views, of the two rows' summed logits."""
        text_ids, codes_bn = self.text_ids(batch), self.codes(batch)
        if key is not None:
            text_ids = self.drop_captions(text_ids, key)
        text_ids_rt, experts = expert_rows(text_ids)
        codes_rn = jnp.tile(codes_bn, (experts, 1))  # every row predicts the same image
        model = self.model(params)
        features_rnd = model.features(text_ids_rt, text_ids_rt != PAD_ID, codes_rn)
        nll, correct = chunked_token_losses(model, features_rnd, codes_bn)
        return jnp.mean(nll), {"accuracy": jnp.mean(correct)}

    def train_step(self, state: dict, batch: dict) -> tuple[dict, dict]:
        key = step_key(state)
        microbatches = self.cfg.train.microbatches
        specs = param_specs(self.abstract_params)
        update = update_specs(specs, state["params"]) if self.cfg.train.shard_update else None
        if microbatches == 1 and update is None:
            (loss, aux), grads = jax.value_and_grad(self.loss, has_aux=True)(state["params"], batch, key)
        else:  # captions drop over the whole batch, so the update equals the one-batch update
            batch = {**batch, self.text_key: self.drop_captions(self.text_ids(batch), key)}
            args = (lambda params, micro: self.loss(params, micro, None), state["params"], batch, microbatches, specs)
            if update is None:
                (loss, aux), grads = accumulate_gradients(*args)
            elif self.pc.remat:  # the partitioner sums and shards (see reduce_scattered_gradients)
                (loss, aux), grads = accumulate_gradients(*args[:-1], update)
            else:
                (loss, aux), grads = reduce_scattered_gradients(*args, update)
        sharded = None if update is None else (update, specs)
        params, opt_state, ok = guarded_update(self.tx, state["params"], state["opt_state"], grads, loss, sharded)
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
            self.text_ids(batch)[:n],
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


def chunked_token_losses(model: Parti, features_rnd: jax.Array, codes_bn: jax.Array) -> tuple[jax.Array, jax.Array]:
    """`token_losses` [B, N] of the model's logits summed over the E = R / B experts' rows (expert-major:
    rows jB..(j+1)B − 1 are expert j; E = 1 is the plain model), parti.logits_chunk image tokens at a
    time: a scan whose step is rematerialized, so only one chunk's f32 logits [R, chunk, V] exist, forward
    and backward. logits_chunk = 0 is one chunk of all N tokens (no scan)."""
    r, n, d = features_rnd.shape
    b = codes_bn.shape[0]
    chunk = model.cfg.logits_chunk or n
    if chunk < 0 or n % chunk:
        raise ConfigError(f"parti.logits_chunk={chunk} must divide the {n} image tokens (or be 0 = off)")

    def losses(features_rcd, codes_bc):
        logits_rcv = model.logits(features_rcd).astype(jnp.float32)
        return token_losses(jnp.sum(logits_rcv.reshape(r // b, b, *logits_rcv.shape[1:]), axis=0), codes_bc)

    if chunk == n:
        return losses(features_rnd, codes_bn)

    @jax.checkpoint
    def one_chunk(_, chunk_inputs):
        return None, losses(*chunk_inputs)

    features_krcd = features_rnd.reshape(r, n // chunk, chunk, d).swapaxes(0, 1)
    codes_kbc = codes_bn.reshape(b, n // chunk, chunk).swapaxes(0, 1)
    _, (nll_kbc, correct_kbc) = jax.lax.scan(one_chunk, None, (features_krcd, codes_kbc))
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
    possible. A streamed dataset (e.g. data.dataset=shapes-stream) is made on demand and encoded inside the step.
    Cached codes must have been made from the tokenizer's current state; the state trained on is recorded
    in the run (`trained_on.json`) for `vim export`.
    """
    tok_model, tok_cfg, tok_state = tokenizer_state(tokenizer)
    check_against_tokenizer(cfg, tok_cfg)
    if streamed(cfg.data):
        trained_on = {"tokenizer": tok_state, "text_tokenizer": text_record(text_tokenizer_path(cfg))}
    else:
        trained_on = check_codes(tokenizer, tok_state)
    if cfg.train.init_from:  # weights drawn in another tokenizer's codes would start from garbage
        start = read_record(Path(cfg.train.init_from) / TRAINED_ON)
        if start is not None and (wrong := records_mismatch(start, trained_on)):
            raise ConfigError(f"train.init_from={cfg.train.init_from} was trained on other parts: {wrong}")
    task = PartiTask(cfg, tokenizer=tok_model)
    if streamed(cfg.data):
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
