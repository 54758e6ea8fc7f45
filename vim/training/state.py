"""The train-state layout every task shares, and its per-step bookkeeping."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax

from vim.training.optim import ema_update


def new_state(params: Any, tx: optax.GradientTransformation, rng: jax.Array) -> dict:
    """step, params, opt_state, ema, rng (raw key data), skipped (total), consecutive_skipped."""
    zero = jnp.zeros((), jnp.int32)
    return {
        "step": zero,
        "params": params,
        "opt_state": tx.init(params),
        "ema": params,
        "rng": rng,
        "skipped": zero,
        "consecutive_skipped": zero,
    }


def advance(state: dict, params: Any, opt_state: Any, ok: jax.Array, ema_decay: float) -> dict:
    """The state after one step whose update was applied (ok) or skipped as non-finite."""
    return {
        **state,
        "step": state["step"] + 1,
        "params": params,
        "opt_state": opt_state,
        "ema": ema_update(state["ema"], params, ema_decay, ok),
        "skipped": state["skipped"] + (~ok).astype(jnp.int32),
        "consecutive_skipped": jnp.where(ok, 0, state["consecutive_skipped"] + 1),
    }


def step_key(state: dict) -> jax.Array:
    """This step's randomness: a pure function of the run's key and the step (so resume needs nothing else)."""
    return jax.random.fold_in(jax.random.wrap_key_data(state["rng"]), state["step"])
