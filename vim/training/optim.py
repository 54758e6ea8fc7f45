"""Optimizer (AdamW or Adafactor, warm-up + cosine, global-norm clipping), gradients accumulated over
microbatches, and the guarded update with EMA."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax

from vim.config import ConfigError, TrainConfig
from vim.sharding import constrain


def schedule(cfg: TrainConfig) -> optax.Schedule:
    return optax.warmup_cosine_decay_schedule(
        init_value=0.0,
        peak_value=cfg.learning_rate,
        warmup_steps=max(cfg.warmup_steps, 1),
        decay_steps=max(cfg.num_steps, cfg.warmup_steps + 1),
        end_value=cfg.learning_rate * cfg.min_lr_ratio,
    )


def clip_by_global_norm(max_norm: float) -> optax.GradientTransformationExtraArgs:
    """optax.clip_by_global_norm (same formula, same empty state) that takes the norm as an extra
    argument when the caller has it: `guarded_update` computes it anyway, and computing it twice cost
    ~2 ms of a ~60 ms Parti bench step (one pass over every gradient, A/B)."""

    def update(updates: Any, state: optax.EmptyState, params: Any = None, *, global_norm=None, **_: Any):
        norm = optax.tree.norm(updates) if global_norm is None else global_norm
        clipped = jax.tree.map(lambda g: jnp.where(norm < max_norm, g, (g / norm.astype(g.dtype)) * max_norm), updates)
        return clipped, state

    return optax.GradientTransformationExtraArgs(lambda _: optax.EmptyState(), update)


OPTIMIZERS = ("adamw", "adafactor")


def make_optimizer(cfg: TrainConfig, learning_rate: float | None = None) -> optax.GradientTransformation:
    """Global-norm clipping, then train.optimizer: AdamW, or Adafactor (factored second moment)."""
    lr = schedule(cfg) if learning_rate is None else learning_rate
    if cfg.optimizer == "adamw":
        rule = optax.adamw(lr, b1=cfg.b1, b2=cfg.b2, weight_decay=cfg.weight_decay)
    elif cfg.optimizer == "adafactor":
        rule = adafactor(cfg, lr)
    else:
        raise ConfigError(f"train.optimizer={cfg.optimizer!r} is not an optimizer; choose one of {OPTIMIZERS}")
    return optax.chain(clip_by_global_norm(cfg.grad_clip), rule)


def adafactor(cfg: TrainConfig, lr: optax.ScalarOrSchedule) -> optax.GradientTransformation:
    """Adafactor built from optax's parts, as Parti trained it: a constant second-moment decay b2
    (`optax.adafactor` only offers the step-dependent 1 - t^-0.8), update clipping at RMS 1, a bf16
    first moment (b1; 0 = none), and decoupled weight decay scaled by the learning rate like AdamW's
    (`optax.adafactor` adds it unscaled)."""
    parts = [
        optax.scale_by_factored_rms(decay_rate=cfg.b2, decay_rate_fn=lambda _step, rate: rate),
        optax.clip_by_block_rms(1.0),
    ]
    if cfg.b1 > 0:
        parts.append(optax.ema(cfg.b1, debias=False, accumulator_dtype=jnp.bfloat16))
    parts += [optax.add_decayed_weights(cfg.weight_decay), optax.scale_by_learning_rate(lr)]
    return optax.chain(*parts)


def accumulate_gradients(
    loss_fn: Callable[[Any, dict], tuple[jax.Array, dict]],
    params: Any,
    batch: dict,
    microbatches: int,
    param_specs: Any = None,
) -> tuple[tuple[jax.Array, dict], Any]:
    """`jax.value_and_grad(loss_fn, has_aux=True)(params, batch)` for a loss that is a mean over the
    batch, computed `microbatches` equal parts at a time: a `lax.scan` whose carry sums loss, aux and
    gradients in f32, divided by the count at the end. Only one microbatch's activations are live.

    Microbatch m takes rows m, m + M, m + 2M, … so each device splits the rows it already holds (the
    batch is sharded over its leading dim) and nothing moves between devices. `param_specs` (the
    params' PartitionSpecs) keeps the gradient sum sharded like the params under a mesh.
    """
    if microbatches == 1:
        return jax.value_and_grad(loss_fn, has_aux=True)(params, batch)
    sizes = {x.shape[0] for x in jax.tree.leaves(batch)}
    if microbatches < 1 or any(size % microbatches for size in sizes):
        raise ConfigError(f"train.microbatches={microbatches} must be ≥ 1 and divide the global batch {sizes}")
    mesh = jax.sharding.get_abstract_mesh()

    def shard_like_params(grads: Any) -> Any:
        if param_specs is None or mesh.empty:
            return grads
        return jax.lax.with_sharding_constraint(grads, param_specs)

    def split(x: jax.Array) -> jax.Array:
        parts = x.reshape(x.shape[0] // microbatches, microbatches, *x.shape[1:]).swapaxes(0, 1)
        return constrain(parts, (None, "batch", *(None,) * (x.ndim - 1)))

    def add(total: Any, micro: dict) -> tuple[Any, None]:
        (loss, aux), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, micro)
        terms = (loss, aux, shard_like_params(grads))
        return jax.tree.map(lambda t, x: t + x.astype(jnp.float32), total, terms), None

    shapes = jax.eval_shape(lambda: jax.value_and_grad(loss_fn, has_aux=True)(params, batch))
    (loss_shape, aux_shape), grad_shape = shapes
    zeros = jax.tree.map(lambda x: jnp.zeros(x.shape, jnp.float32), (loss_shape, aux_shape, grad_shape))
    zeros = (zeros[0], zeros[1], shard_like_params(zeros[2]))
    total, _ = jax.lax.scan(add, zeros, jax.tree.map(split, batch))
    loss, aux, grads = jax.tree.map(
        lambda t, x: (t / microbatches).astype(x.dtype), total, (loss_shape, aux_shape, grad_shape)
    )
    return (loss, aux), grads


def all_finite(tree: Any) -> jax.Array:
    leaves = [jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree) if jnp.issubdtype(x.dtype, jnp.inexact)]
    return jnp.all(jnp.stack(leaves)) if leaves else jnp.array(True)


def guarded_update(
    tx: optax.GradientTransformation,
    params: Any,
    opt_state: Any,
    grads: Any,
    loss: jax.Array,
    sharded: tuple[Any, Any] | None = None,
) -> tuple[Any, Any, jax.Array]:
    """Apply the update only if loss and every gradient are finite; returns (params, opt_state, ok).

    `sharded` = (update specs, param specs) runs the sharded weight update (`vim.training.shard_update`):
    gradients and the update split over the data axis, the new weights gathered back to the param specs.

    A `lax.cond`, so a skipped step costs nothing and a taken one pays no select over the state.
    One finite global norm stands for "every gradient is finite" (an inf or NaN anywhere makes it
    non-finite); clipping is handed this norm instead of computing its own, and a per-leaf check
    would cost ~100 more ops.
    A norm overflowing float32 (> 1.8e19) also counts as non-finite, and that step is skipped.
    """
    if sharded is not None:  # the data-parallel gradient sum becomes a reduce-scatter
        grads = jax.lax.with_sharding_constraint(grads, sharded[0])
    norm = optax.tree.norm(grads)
    ok = jnp.isfinite(loss) & jnp.isfinite(norm)

    def apply(_):
        own = params if sharded is None else jax.lax.with_sharding_constraint(params, sharded[0])
        updates, new_opt_state = tx.update(grads, opt_state, own, global_norm=norm)
        new_params = optax.apply_updates(own, updates)
        if sharded is not None:  # each device updated its shard; gather the weights the rules' way
            new_params = jax.lax.with_sharding_constraint(new_params, sharded[1])
        return new_params, new_opt_state

    new_params, new_opt_state = jax.lax.cond(ok, apply, lambda _: (params, opt_state), None)
    return new_params, new_opt_state, ok


def ema_update(ema: Any, params: Any, decay: float, ok: jax.Array) -> Any:
    d = jnp.where(ok, decay, 1.0)
    return jax.tree.map(lambda e, p: (d * e + (1 - d) * p).astype(e.dtype), ema, params)
