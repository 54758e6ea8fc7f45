"""Optimizer (AdamW, warm-up + cosine, global-norm clipping) and the guarded update with EMA."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax

from vim.config import TrainConfig


def schedule(cfg: TrainConfig) -> optax.Schedule:
    return optax.warmup_cosine_decay_schedule(
        init_value=0.0,
        peak_value=cfg.learning_rate,
        warmup_steps=max(cfg.warmup_steps, 1),
        decay_steps=max(cfg.num_steps, cfg.warmup_steps + 1),
        end_value=cfg.learning_rate * cfg.min_lr_ratio,
    )


def make_optimizer(cfg: TrainConfig, learning_rate: float | None = None) -> optax.GradientTransformation:
    lr = schedule(cfg) if learning_rate is None else learning_rate
    return optax.chain(
        optax.clip_by_global_norm(cfg.grad_clip),
        optax.adamw(lr, b1=cfg.b1, b2=cfg.b2, weight_decay=cfg.weight_decay),
    )


def all_finite(tree: Any) -> jax.Array:
    leaves = [jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree) if jnp.issubdtype(x.dtype, jnp.inexact)]
    return jnp.all(jnp.stack(leaves)) if leaves else jnp.array(True)


def guarded_update(
    tx: optax.GradientTransformation, params: Any, opt_state: Any, grads: Any, loss: jax.Array
) -> tuple[Any, Any, jax.Array]:
    """Apply the update only if loss and every gradient are finite; returns (params, opt_state, ok)."""
    ok = jnp.isfinite(loss) & all_finite(grads)
    safe_grads = jax.tree.map(lambda g: jnp.where(ok, g, jnp.zeros_like(g)), grads)
    updates, new_opt_state = tx.update(safe_grads, opt_state, params)
    new_params = optax.apply_updates(params, updates)
    pick = lambda new, old: jax.tree.map(lambda a, b: jnp.where(ok, a, b), new, old)  # noqa: E731
    return pick(new_params, params), pick(new_opt_state, opt_state), ok


def ema_update(ema: Any, params: Any, decay: float, ok: jax.Array) -> Any:
    d = jnp.where(ok, decay, 1.0)
    return jax.tree.map(lambda e, p: (d * e + (1 - d) * p).astype(e.dtype), ema, params)
