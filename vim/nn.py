"""Layers' numerics shared by the tokenizer and the generator, shaped for XLA:CPU as well as accelerators.

Shapes: B batch, T query positions, S key positions, H heads, K head dim; n any leading dims.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp

COMPUTE_DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}


def compute_dtype(name: str, field: str = "compute_dtype") -> jnp.dtype:
    """The matmul dtype a config names; anything else (e.g. "bf16") fails instead of training in float32."""
    if name not in COMPUTE_DTYPES:
        raise ValueError(f"{field}={name!r} is not a compute dtype; choose one of {sorted(COMPUTE_DTYPES)}")
    return COMPUTE_DTYPES[name]


@jax.custom_vjp
def matmul(x_sd: jax.Array, w_do: jax.Array) -> jax.Array:
    """x @ w over x's last dim, with the weight gradient computed as one row-major x^T·g.

    With JAX's own transpose rule, XLA:CPU asks for the output gradient in transposed layout and
    builds that copy by re-fusing the residual-stream backward of every later layer into it: O(L²)
    elementwise work, a quarter of a Parti train step. This rule keeps g in its natural layout.

    w may have several output dims ([D, n, H·K], a fused projection): contracting it as it is, rather
    than merged into [D, n·H·K], keeps a sharded output dim sharded (the SPMD partitioner cannot split
    a merged dim whose minor part is the sharded one, and gathers the whole weight instead).
    """
    return jnp.tensordot(x_sd, w_do, axes=1)


def _matmul_fwd(x_sd: jax.Array, w_do: jax.Array) -> tuple[jax.Array, tuple[jax.Array, jax.Array]]:
    return jnp.tensordot(x_sd, w_do, axes=1), (x_sd, w_do)


def _matmul_bwd(res: tuple[jax.Array, jax.Array], g_so: jax.Array) -> tuple[jax.Array, jax.Array]:
    x_sd, w_do = res
    out_dims = range(1, w_do.ndim)
    x_nd = x_sd.reshape(-1, x_sd.shape[-1])  # n = all leading dims
    g_no = g_so.reshape(-1, *w_do.shape[1:])
    g_dims = [g_so.ndim - len(out_dims) + i for i in range(len(out_dims))]
    return jnp.tensordot(g_so, w_do, axes=(g_dims, list(out_dims))), jnp.tensordot(x_nd, g_no, axes=([0], [0]))


matmul.defvjp(_matmul_fwd, _matmul_bwd)


def row_major_dot_general(
    lhs: jax.Array,
    rhs: jax.Array,
    dimension_numbers: tuple[tuple[Sequence[int], Sequence[int]], tuple[Sequence[int], Sequence[int]]],
    precision: jax.lax.PrecisionLike = None,
    preferred_element_type: jnp.dtype | None = None,
    **_: object,
) -> jax.Array:
    """`nnx.Linear(dot_general=...)` spelling of `matmul` (a Linear contracts x's last dim with w's first)."""
    (lhs_contract, rhs_contract), (lhs_batch, rhs_batch) = dimension_numbers
    if tuple(lhs_contract) != (lhs.ndim - 1,) or tuple(rhs_contract) != (0,) or lhs_batch or rhs_batch:
        raise ValueError(f"row_major_dot_general handles x @ w only, got dimension_numbers={dimension_numbers}")
    out = matmul(lhs, rhs)
    return out.astype(preferred_element_type) if preferred_element_type is not None else out


@jax.custom_vjp
def layer_norm(x: jax.Array, scale_d: jax.Array, bias_d: jax.Array) -> jax.Array:
    """LayerNorm over the last dim (statistics in float32, eps 1e-6), with a hand-derived backward:
    two row means instead of autodiff's chain through mean, variance and rsqrt."""
    return _layer_norm_fwd(x, scale_d, bias_d)[0]


def _layer_norm_fwd(x, scale_d, bias_d):
    x32 = x.astype(jnp.float32)
    centered = x32 - x32.mean(-1, keepdims=True)
    inv_std = jax.lax.rsqrt(jnp.square(centered).mean(-1, keepdims=True) + 1e-6)
    normed = centered * inv_std
    return (normed * scale_d + bias_d).astype(x.dtype), (normed, inv_std, scale_d)


def _layer_norm_bwd(res, g):
    normed, inv_std, scale_d = res
    g32 = g.astype(jnp.float32)
    lead = tuple(range(g.ndim - 1))
    g_normed = g32 * scale_d
    dx = inv_std * (g_normed - g_normed.mean(-1, keepdims=True) - normed * (g_normed * normed).mean(-1, keepdims=True))
    return dx.astype(g.dtype), (g32 * normed).sum(lead), g32.sum(lead)


layer_norm.defvjp(_layer_norm_fwd, _layer_norm_bwd)


def attention(q_bthk: jax.Array, k_bshk: jax.Array, v_bshk: jax.Array, mask_b1ts: jax.Array | None = None) -> jax.Array:
    """Softmax attention in [B, T, H, K] layout → [B, T, H, K]: `attention_bhtk` between two layout swaps."""
    q, k, v = (jnp.swapaxes(x, 1, 2) for x in (q_bthk, k_bshk, v_bshk))
    return jnp.swapaxes(attention_bhtk(q, k, v, mask_b1ts), 1, 2)


ATTENTION_IMPLEMENTATIONS = ("auto", "written", "library")


def attention_bhtk(
    q_bhtk: jax.Array,
    k_bhsk: jax.Array,
    v_bhsk: jax.Array,
    mask_b1ts: jax.Array | None = None,
    implementation: str = "auto",
) -> jax.Array:
    """Softmax attention (softmax in float32) over the key positions the mask allows, heads-major:
    [B, H, T, K] → [B, H, T, K].

    `implementation`: "written" is the einsum form below; "library" is `jax.nn.dot_product_attention`
    (on a GPU, cuDNN's fused flash attention where it applies, else XLA's); "auto" takes the library
    on GPUs and the written form elsewhere. Both are tested equal.

    Heads-major so every einsum has its batch dims (b, h) leading; callers that project q, k and v
    with one fused kernel transpose once for all three. Written out on the CPU because the library's
    layout changes cost XLA:CPU a few percent of a Parti train step, and with a hand-derived backward
    (dS = P ⊙ (dP − rowsum(dO ⊙ O))) that is cheaper there than autodiff's softmax chain (A/B measured
    when it was written; see bench/results/).
    """
    if implementation not in ATTENTION_IMPLEMENTATIONS:
        raise ValueError(f"attention implementation {implementation!r}; choose one of {ATTENTION_IMPLEMENTATIONS}")
    if implementation == "library" or (implementation == "auto" and jax.default_backend() == "gpu"):
        return _library_attention(q_bhtk, k_bhsk, v_bhsk, mask_b1ts)
    return _attention(q_bhtk, k_bhsk, v_bhsk, jnp.ones((1, 1, 1, 1), bool) if mask_b1ts is None else mask_b1ts)


def chunked_attention_bhtk(
    q_bhtk: jax.Array, k_chunks: Sequence[jax.Array], v_chunks: Sequence[jax.Array], mask_b1ts: jax.Array
) -> jax.Array:
    """`attention_bhtk` over keys and values held in chunks along the position axis ([B, H, S_j, K] each,
    in order; the mask spans them all), without joining them: a sampler's decoding step reads only the
    chunks of its KV cache it passes. One chunk is `attention_bhtk` itself. Forward only."""
    if len(k_chunks) == 1:
        return attention_bhtk(q_bhtk, k_chunks[0], v_chunks[0], mask_b1ts)
    dtype = q_bhtk.dtype
    scores = [jnp.einsum("bhtk,bhsk->bhts", q_bhtk, k_bhsk.astype(dtype)) for k_bhsk in k_chunks]
    s_bhts = jnp.concatenate(scores, axis=-1) * q_bhtk.shape[-1] ** -0.5
    s_bhts = jnp.where(mask_b1ts, s_bhts.astype(jnp.float32), jnp.finfo(jnp.float32).min)
    p_bhts = jax.nn.softmax(s_bhts, axis=-1).astype(dtype)
    o_bhtk, start = 0.0, 0
    for v_bhsk in v_chunks:
        stop = start + v_bhsk.shape[2]
        o_bhtk = o_bhtk + jnp.einsum("bhts,bhsk->bhtk", p_bhts[..., start:stop], v_bhsk.astype(dtype))
        start = stop
    return o_bhtk


def _library_attention(q_bhtk, k_bhsk, v_bhsk, mask_b1ts):
    dtype = q_bhtk.dtype
    q_bthk, k_bshk, v_bshk = (jnp.swapaxes(x.astype(dtype), 1, 2) for x in (q_bhtk, k_bhsk, v_bhsk))
    o_bthk = jax.nn.dot_product_attention(q_bthk, k_bshk, v_bshk, mask=mask_b1ts)
    return jnp.swapaxes(o_bthk, 1, 2)


@jax.custom_vjp
def _attention(q_bhtk: jax.Array, k_bhsk: jax.Array, v_bhsk: jax.Array, mask_b1ts: jax.Array) -> jax.Array:
    return _attention_fwd(q_bhtk, k_bhsk, v_bhsk, mask_b1ts)[0]


def _attention_fwd(q_bhtk, k_bhsk, v_bhsk, mask_b1ts):
    dtype = q_bhtk.dtype
    s_bhts = jnp.einsum("bhtk,bhsk->bhts", q_bhtk, k_bhsk.astype(dtype)) * q_bhtk.shape[-1] ** -0.5
    s_bhts = jnp.where(mask_b1ts, s_bhts.astype(jnp.float32), jnp.finfo(jnp.float32).min)
    p_bhts = jax.nn.softmax(s_bhts, axis=-1).astype(dtype)
    o_bhtk = jnp.einsum("bhts,bhsk->bhtk", p_bhts, v_bhsk.astype(dtype))
    return o_bhtk, (q_bhtk, k_bhsk, v_bhsk, p_bhts, o_bhtk)  # masked keys have p = 0


def _attention_bwd(res, do_bhtk):
    q_bhtk, k_bhsk, v_bhsk, p_bhts, o_bhtk = res
    scale = q_bhtk.shape[-1] ** -0.5
    dv = jnp.einsum("bhts,bhtk->bhsk", p_bhts, do_bhtk)
    dp_bhts = jnp.einsum("bhtk,bhsk->bhts", do_bhtk, v_bhsk).astype(jnp.float32)
    rowsum_bht1 = jnp.sum(do_bhtk.astype(jnp.float32) * o_bhtk.astype(jnp.float32), -1, keepdims=True)
    ds_bhts = (p_bhts.astype(jnp.float32) * (dp_bhts - rowsum_bht1) * scale).astype(q_bhtk.dtype)
    dq = jnp.einsum("bhts,bhsk->bhtk", ds_bhts, k_bhsk)
    dk = jnp.einsum("bhts,bhtk->bhsk", ds_bhts, q_bhtk)
    return dq.astype(q_bhtk.dtype), dk.astype(k_bhsk.dtype), dv.astype(v_bhsk.dtype), None


_attention.defvjp(_attention_fwd, _attention_bwd)
