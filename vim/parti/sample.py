"""Sampling image codes from Parti.

`sample_codes` is the sampler users run: the text encoder runs once, cross-attention keys/values are
computed once, the decoder keeps a self-attention KV cache in chunks, and the token loop is one
`lax.fori_loop` per chunk (`run_stretches`), each step reading only the chunks up to its own.
Classifier-free guidance runs the conditional and the empty-text rows as one
doubled batch. Every image has its own seed, so any image can be drawn again on its own.

Infill (editing, completion) is an option of the same loop: given an image's codes and a mask of the
tokens to draw, the kept tokens are fed in as they are (teacher-forced into the cache) and only the
masked ones are drawn, in raster order; the loop stops after the last masked token.

`sample_uncached` re-runs the decoder over the whole prefix for every token (and, guided, a second
time on the empty text); it is the slow, obviously-correct reference the tests hold the cached
sampler to.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from vim.config import SampleConfig
from vim.data.text import EOS_ID, PAD_ID
from vim.parti.model import CACHE_CHUNK, Parti, chunk_bounds


def empty_text(length: int) -> np.ndarray:
    """Token ids of the empty caption: EOS then padding (what classifier-free guidance conditions on)."""
    ids = np.full((length,), PAD_ID, np.int32)
    ids[0] = EOS_ID
    return ids


def guide(cond_bv: jax.Array, uncond_bv: jax.Array, scale: jax.Array | float) -> jax.Array:
    """Classifier-free guidance. Written as cond + (s − 1)(cond − uncond) so that s = 1 is exactly cond."""
    return cond_bv + (scale - 1.0) * (cond_bv - uncond_bv)


def order_key(x: jax.Array) -> jax.Array:
    """uint32 keys that sort like the float32 values (−inf lowest), so a threshold can be bisected."""
    bits = jax.lax.bitcast_convert_type(x.astype(jnp.float32), jnp.uint32)
    return jnp.where(bits >> 31 == 0, bits | jnp.uint32(0x80000000), ~bits)


def kth_largest(logits_bv: jax.Array, k: jax.Array | int) -> jax.Array:
    """The k-th largest logit of each row, [B, 1], by bisection on `order_key` (32 counting passes).

    Exact, like `sort(...)[k − 1]`, without sorting the row: on the CPU a sort per sampled token costs
    more than the decoder step of a small model.
    """
    key_bv = order_key(logits_bv)
    lo_b1 = jnp.zeros((*logits_bv.shape[:-1], 1), jnp.uint32)  # count(key ≥ lo) ≥ k holds throughout
    hi_b1 = jnp.full_like(lo_b1, 0xFFFFFFFF)

    def halve(_, bounds):
        lo_b1, hi_b1 = bounds
        mid_b1 = lo_b1 + ((hi_b1 - lo_b1) >> 1) + ((hi_b1 - lo_b1) & 1)
        enough_b1 = jnp.sum(key_bv >= mid_b1, axis=-1, keepdims=True) >= k
        return jnp.where(enough_b1, mid_b1, lo_b1), jnp.where(enough_b1, hi_b1, mid_b1 - 1)

    lo_b1, _ = jax.lax.fori_loop(0, 32, halve, (lo_b1, hi_b1))
    return jnp.max(jnp.where(key_bv == lo_b1, logits_bv, -jnp.inf), axis=-1, keepdims=True)


def filter_logits(logits_bv: jax.Array, top_k: jax.Array | int, top_p: jax.Array | float) -> jax.Array:
    """Logits with everything outside the top-k and then the top-p nucleus set to −inf.

    top_k ≤ 0 keeps all codes; top-p keeps the smallest prefix of the probabilities sorted in
    decreasing order whose sum reaches p (so the most likely code always survives); p ≥ 1 keeps all.
    Codes tied with the last one kept are kept too. Only a nucleus needs the sorted row; top-k alone
    bisects for its threshold, and no filter at all costs nothing.
    """
    v = logits_bv.shape[-1]
    k = jnp.where(top_k > 0, jnp.minimum(top_k, v), v)

    def unfiltered(logits_bv):
        return logits_bv

    def top_k_only(logits_bv):
        return jnp.where(logits_bv >= kth_largest(logits_bv, k), logits_bv, -jnp.inf)

    def nucleus(logits_bv):
        sorted_bv = -jnp.sort(-logits_bv, axis=-1)
        in_top_k_bv = jnp.arange(v) < k
        probs_bv = jax.nn.softmax(jnp.where(in_top_k_bv, sorted_bv, -jnp.inf), axis=-1)
        mass_before_bv = jnp.cumsum(probs_bv, axis=-1) - probs_bv
        keep_bv = in_top_k_bv & (mass_before_bv < top_p)
        n_keep_b1 = jnp.maximum(jnp.sum(keep_bv, axis=-1, keepdims=True), 1)
        threshold_b1 = jnp.take_along_axis(sorted_bv, n_keep_b1 - 1, axis=-1)
        return jnp.where(logits_bv >= threshold_b1, logits_bv, -jnp.inf)

    branch = jnp.where(top_p < 1.0, 2, jnp.where(k < v, 1, 0))
    return jax.lax.switch(branch, (unfiltered, top_k_only, nucleus), logits_bv)


def choose(logits_bv: jax.Array, keys_b: jax.Array, settings: dict) -> jax.Array:
    """One code per row: greedy when temperature is 0, else a draw from the filtered distribution."""
    temperature = settings["temperature"]
    scaled = logits_bv / jnp.where(temperature > 0, temperature, 1.0)
    filtered = filter_logits(scaled, settings["top_k"], settings["top_p"])
    drawn_b = jax.vmap(jax.random.categorical)(keys_b, filtered)
    return jnp.where(temperature > 0, drawn_b, jnp.argmax(logits_bv, axis=-1)).astype(jnp.int32)


def settings_arrays(sample: SampleConfig) -> dict[str, jax.Array]:
    """The sampling knobs as traced scalars, so changing them does not recompile."""
    return {
        "cfg_scale": jnp.float32(sample.cfg_scale),
        "temperature": jnp.float32(sample.temperature),
        "top_k": jnp.int32(sample.top_k),
        "top_p": jnp.float32(sample.top_p),
    }


def weights_in_compute_dtype(model: Parti) -> Parti:
    """The model with its matmul weights (every floating array of rank ≥ 2) stored in its compute dtype.

    A bf16 model samples with weights cast once per call instead of inside every token step (reading
    half the bytes per token); a float32 model comes back as it is, so its codes do not change.
    """
    if model.dtype == jnp.float32:
        return model
    graphdef, state = nnx.split(model)

    def cast(x: jax.Array) -> jax.Array:
        return x.astype(model.dtype) if x.ndim >= 2 and jnp.issubdtype(x.dtype, jnp.floating) else x

    return nnx.merge(graphdef, jax.tree.map(cast, state))


def expert_rows(text_ids: jax.Array) -> tuple[jax.Array, int]:
    """Text ids [B, T] or [B, E, T] (E experts per image) as expert-major rows [E·B, T] (expert j is rows
    jB..(j+1)B − 1), and E."""
    text_ids_bet = text_ids if text_ids.ndim == 3 else text_ids[:, None]
    b, e, t = text_ids_bet.shape
    return text_ids_bet.swapaxes(0, 1).reshape(e * b, t), e


def infill_steps(infill: tuple[jax.Array, jax.Array] | None, n: int) -> jax.Array | int:
    """How many tokens the loop visits: all n, or with infill up to the last token any row draws (the
    tokens after it are kept and nothing after them is drawn)."""
    if infill is None:
        return n
    draw_bn = infill[1]
    return jnp.max(jnp.where(jnp.any(draw_bn, axis=0), jnp.arange(n, dtype=jnp.int32) + 1, 0))


def pick(code_b: jax.Array, infill: tuple[jax.Array, jax.Array] | None, i: jax.Array) -> jax.Array:
    """The token at position i: the drawn one, or with infill the kept code where the mask does not draw."""
    if infill is None:
        return code_b
    known_bn, draw_bn = infill
    return jnp.where(draw_bn[:, i], code_b, known_bn[:, i])


def run_stretches(body: Callable, carry: Any, bounds: list[tuple[int, int]], steps: jax.Array | int) -> Any:
    """The token loop `body(i, carry, chunk)` over positions 0..steps − 1, one `fori_loop` per KV-cache
    chunk (`bounds`: `chunk_bounds`), each told statically which chunk its positions are in."""
    clip = min if isinstance(steps, int) else jnp.minimum
    for chunk, (start, stop) in enumerate(bounds):
        carry = jax.lax.fori_loop(clip(start, steps), clip(stop, steps), functools.partial(body, chunk=chunk), carry)
    return carry


def sample_codes(
    model: Parti,
    text_ids: jax.Array,
    seeds_b: jax.Array,
    settings: dict,
    guided: bool = True,
    infill: tuple[jax.Array, jax.Array] | None = None,
    cache_chunk: int = CACHE_CHUNK,
) -> jax.Array:
    """Codes int32 [B, N] for B captions (token ids, padded with PAD_ID) and B seeds.

    `text_ids` is [B, T], or [B, E, T] for a product of E experts (`parti.text_views`: E views
    of each caption), whose logits are summed. `settings` comes from `settings_arrays`. With `guided`,
    B more rows hold the empty text and each expert's logits are guided against them with `guide`;
    without it the scale is ignored. `infill` = (codes int32 [B, N], mask bool [B, N]): the tokens where
    the mask is False are kept as given and only the True ones are drawn; a token drawn at position i sees
    the kept tokens before i, not those after. Every position draws with the key it would use without
    infill, so an all-True mask gives the ordinary sample of the same seed. The KV cache holds the
    positions in chunks of `cache_chunk` (`vim.parti.model.empty_cache`): a step reads only those up to its own.
    """
    b, t = text_ids.shape[0], text_ids.shape[-1]
    text_ids_rt, e = expert_rows(text_ids)
    n = model.cfg.image_grid**2
    model = weights_in_compute_dtype(model)
    keys_b = jax.vmap(jax.random.key)(seeds_b)
    if guided:
        text_ids_rt = jnp.concatenate([text_ids_rt, jnp.broadcast_to(jnp.asarray(empty_text(t)), (b, t))])
    rows = text_ids_rt.shape[0] // b
    mask_rt = text_ids_rt != PAD_ID
    cache = model.init_cache(model.encode_text(text_ids_rt, mask_rt), cache_chunk)
    bos_r = jnp.full((rows * b,), model.bos_id, jnp.int32)

    def body(i, carry, chunk):
        token_r, cache, codes_bn = carry
        logits_rv, cache = model.decode_step(token_r, i, cache, mask_rt, chunk)
        logits_ebv = logits_rv.reshape(rows, b, -1)
        if guided:
            logits_bv = jnp.sum(guide(logits_ebv[:e], logits_ebv[e], settings["cfg_scale"]), axis=0)
        else:
            logits_bv = jnp.sum(logits_ebv, axis=0)
        step_keys_b = jax.vmap(lambda k: jax.random.fold_in(k, i))(keys_b)
        code_b = pick(choose(logits_bv, step_keys_b, settings), infill, i)
        return jnp.tile(code_b, rows), cache, codes_bn.at[:, i].set(code_b)

    start_bn = jnp.zeros((b, n), jnp.int32) if infill is None else jnp.asarray(infill[0], jnp.int32)
    return run_stretches(body, (bos_r, cache, start_bn), chunk_bounds(cache["self"][0]), infill_steps(infill, n))[2]


def sample_uncached(
    model: Parti,
    text_ids: jax.Array,
    seeds_b: jax.Array,
    settings: dict,
    guided: bool = False,
    infill: tuple[jax.Array, jax.Array] | None = None,
) -> jax.Array:
    """Reference sampler without cache: the whole prefix is decoded again for every token.

    `text_ids` and `infill` as in `sample_codes` (here every position is visited); each expert is its own
    full forward and their logits are summed.
    With `guided`, the empty text's logits come from another full forward and each expert is mixed as
    uncond + s·(cond − uncond), the guidance formula as papers write it.
    """
    text_ids_bet = jnp.asarray(text_ids)
    text_ids_bet = text_ids_bet if text_ids_bet.ndim == 3 else text_ids_bet[:, None]
    b, e, t = text_ids_bet.shape
    n = model.cfg.image_grid**2
    keys_b = jax.vmap(jax.random.key)(seeds_b)
    masks = [text_ids_bet[:, j] != PAD_ID for j in range(e)]
    texts = [model.encode_text(text_ids_bet[:, j], masks[j]) for j in range(e)]
    empty_bt = jnp.broadcast_to(jnp.asarray(empty_text(t)), (b, t))
    empty_btd = model.encode_text(empty_bt, empty_bt != PAD_ID)
    bos = jnp.full((b, 1), model.bos_id, jnp.int32)

    def body(i, codes_bn):
        inputs_bn = jnp.concatenate([bos, codes_bn[:, :-1]], axis=1)
        uncond_bv = model.decode(empty_btd, empty_bt != PAD_ID, inputs_bn)[:, i] if guided else None
        logits_bv = 0.0
        for text_btd, mask_bt in zip(texts, masks, strict=True):
            cond_bv = model.decode(text_btd, mask_bt, inputs_bn)[:, i]
            logits_bv = logits_bv + (uncond_bv + settings["cfg_scale"] * (cond_bv - uncond_bv) if guided else cond_bv)
        step_keys_b = jax.vmap(lambda k: jax.random.fold_in(k, i))(keys_b)
        return codes_bn.at[:, i].set(pick(choose(logits_bv, step_keys_b, settings), infill, i))

    start_bn = jnp.zeros((b, n), jnp.int32) if infill is None else jnp.asarray(infill[0], jnp.int32)
    return jax.lax.fori_loop(0, n, body, start_bn)
