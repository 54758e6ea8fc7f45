"""Drawing image codes from a class-conditional (or unconditional) ClassGPT.

The loop is Parti's (vim/parti/sample.py): KV-cached, `run_stretches` (a `lax.fori_loop` per cache
chunk), a seed per image, guidance as a doubled batch, and the same `choose` / `guide` / `settings_arrays`;
here the condition is a class id and the unconditional rows hold the null class. `sample_uncached` re-runs
the whole prefix for every token, the reference the tests hold the cached loop to.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from vim.classgen.model import ClassGPT
from vim.parti.model import chunk_bounds
from vim.parti.sample import choose, guide, run_stretches, weights_in_compute_dtype


def sample_codes(
    model: ClassGPT, labels_b: jax.Array, seeds_b: jax.Array, settings: dict, guided: bool = True
) -> jax.Array:
    """Codes int32 [B, N] for B class ids (the null class for unconditional images) and B seeds.

    `settings` comes from `vim.parti.sample.settings_arrays`. With `guided`, B more rows hold the null
    class and the logits are guided against them; without it the scale is ignored.
    """
    b, n = labels_b.shape[0], model.cfg.image_grid**2
    model = weights_in_compute_dtype(model)
    keys_b = jax.vmap(jax.random.key)(seeds_b)
    labels_r = jnp.asarray(labels_b, jnp.int32)
    if guided:
        labels_r = jnp.concatenate([labels_r, jnp.full((b,), model.null_class, jnp.int32)])
    rows = labels_r.shape[0] // b

    def body(i, carry, chunk):
        token_r, cache, codes_bn = carry
        logits_rv, cache = model.decode_step(token_r, labels_r, i, cache, chunk)
        logits_bv = guide(logits_rv[:b], logits_rv[b:], settings["cfg_scale"]) if guided else logits_rv
        step_keys_b = jax.vmap(lambda k: jax.random.fold_in(k, i))(keys_b)
        code_b = choose(logits_bv, step_keys_b, settings)
        return jnp.tile(code_b, rows), cache, codes_bn.at[:, i].set(code_b)

    cache = model.init_cache(rows * b)
    start = (jnp.zeros((rows * b,), jnp.int32), cache, jnp.zeros((b, n), jnp.int32))
    return run_stretches(body, start, chunk_bounds(cache[0]), n)[2]


def sample_uncached(
    model: ClassGPT, labels_b: jax.Array, seeds_b: jax.Array, settings: dict, guided: bool = False
) -> jax.Array:
    """Reference sampler without cache: the whole prefix runs again for every token (guided: a second
    forward on the null class, mixed as uncond + s·(cond − uncond), the formula as papers write it)."""
    b, n = labels_b.shape[0], model.cfg.image_grid**2
    keys_b = jax.vmap(jax.random.key)(seeds_b)
    null_b = jnp.full((b,), model.null_class, jnp.int32)

    def body(i, codes_bn):
        cond_bv = model(labels_b, codes_bn)[:, i]
        if guided:
            uncond_bv = model(null_b, codes_bn)[:, i]
            cond_bv = uncond_bv + settings["cfg_scale"] * (cond_bv - uncond_bv)
        step_keys_b = jax.vmap(lambda k: jax.random.fold_in(k, i))(keys_b)
        return codes_bn.at[:, i].set(choose(cond_bv, step_keys_b, settings))

    return jax.lax.fori_loop(0, n, body, jnp.zeros((b, n), jnp.int32))
