"""Parti: a bidirectional text encoder and a causal image-token decoder with cross-attention.

Shapes: B batch, T text tokens, N image tokens (grid²), D width, H heads, K head dim, F MLP width,
V vocab. Every parameter carries logical axis names (`logical_axes` metadata) that vim.sharding.RULES
maps to mesh axes; activations are constrained to (batch, length, embed) at block boundaries.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
from flax import nnx

from vim.config import PartiConfig
from vim.nn import attention_bhtk, chunked_attention_bhtk, compute_dtype, layer_norm, matmul
from vim.sharding import constrain, logical_spec

_init = jax.nn.initializers.variance_scaling(1.0, "fan_in", "truncated_normal")

# Image positions per chunk of a sampler's KV cache. A decoding step reads only the chunks up to the one
# it writes, so a long grid's sampling reads about half the cache it would read whole; a grid of at most
# this many tokens (8×8) has one chunk.
CACHE_CHUNK = 64


def empty_cache(
    batch: int, heads: int, positions: int, head_dim: int, dtype: jnp.dtype, chunk: int = CACHE_CHUNK
) -> dict:
    """One attention layer's empty KV cache: {"k": [...], "v": [...]}, the positions in chunks [B, H, S_j, K]
    of `chunk` positions (the last may be shorter)."""
    if chunk < 1:
        raise ValueError(f"a KV cache chunk holds at least one position, got {chunk}")
    sizes = [min(chunk, positions - start) for start in range(0, positions, chunk)]
    return {name: [jnp.zeros((batch, heads, s, head_dim), dtype) for s in sizes] for name in ("k", "v")}


def chunk_bounds(layer_cache: dict) -> list[tuple[int, int]]:
    """(first position, end) of each chunk of a layer's KV cache (`empty_cache`)."""
    bounds, start = [], 0
    for k_bhsk in layer_cache["k"]:
        bounds.append((start, start + k_bhsk.shape[2]))
        start += k_bhsk.shape[2]
    return bounds


class Dense(nnx.Module):
    def __init__(
        self, d_in: int, d_out: int, axes: tuple[str | None, str | None], *, dtype, rngs: nnx.Rngs, bias: bool = True
    ):
        self.kernel = nnx.Param(_init(rngs.params(), (d_in, d_out)), logical_axes=axes)
        self.bias = nnx.Param(jnp.zeros((d_out,)), logical_axes=(axes[1],)) if bias else None
        self.dtype = dtype

    def __call__(self, x: jax.Array) -> jax.Array:
        y = matmul(x.astype(self.dtype), self.kernel[...].astype(self.dtype))
        return y + self.bias[...].astype(self.dtype) if self.bias is not None else y


class LayerNorm(nnx.Module):
    def __init__(self, width: int):
        self.scale = nnx.Param(jnp.ones((width,)), logical_axes=("embed",))
        self.bias = nnx.Param(jnp.zeros((width,)), logical_axes=("embed",))

    def __call__(self, x: jax.Array) -> jax.Array:
        return layer_norm(x, self.scale[...], self.bias[...])


class Attention(nnx.Module):
    """Multi-head attention. Self-attention projects q, k, v with one fused kernel [D, 3, H·K];
    cross-attention projects q from the image stream and k, v (fused [D, 2, H·K]) from the text.
    Attention runs heads-major ([B, H, T, K]): one transpose of the fused projection serves q, k and v."""

    def __init__(self, cfg: PartiConfig, *, self_attention: bool, dtype, rngs: nnx.Rngs):
        inner = cfg.heads * cfg.head_dim
        self.heads, self.head_dim, self.dtype = cfg.heads, cfg.head_dim, dtype
        self.self_attention = self_attention
        fused = jax.nn.initializers.variance_scaling(1.0, "fan_in", "truncated_normal", in_axis=0, out_axis=(1, 2))
        if self_attention:
            self.qkv = nnx.Param(fused(rngs.params(), (cfg.width, 3, inner)), logical_axes=("embed", None, "heads"))
        else:
            self.q = Dense(cfg.width, inner, ("embed", "heads"), dtype=dtype, rngs=rngs, bias=False)
            self.kv = nnx.Param(fused(rngs.params(), (cfg.width, 2, inner)), logical_axes=("embed", None, "heads"))
        self.out = Dense(inner, cfg.width, ("heads", "embed"), dtype=dtype, rngs=rngs)

    def _project(self, x_bsd: jax.Array, kernel_dni: jax.Array) -> jax.Array:
        """x through a fused kernel [D, n, H·K] → [n, B, H, S, K] (heads-major, one transpose for all n)."""
        b, s, d = x_bsd.shape
        if heads_split():
            # Contracted as [D, n, H·K]: merged into [D, n·H·K] the heads could not stay split (the
            # partitioner would gather the whole kernel and every device would project all heads).
            y_bsni = matmul(x_bsd.astype(self.dtype), kernel_dni.astype(self.dtype))
        else:  # one 2-D kernel: XLA:CPU copies a 3-D one into a transposed layout for the input gradient
            y_bsni = matmul(x_bsd.astype(self.dtype), kernel_dni.reshape(d, -1).astype(self.dtype))
        return jnp.transpose(y_bsni.reshape(b, s, kernel_dni.shape[1], self.heads, self.head_dim), (2, 0, 3, 1, 4))

    def project_q(self, x_btd: jax.Array) -> jax.Array:
        """Cross-attention queries [B, H, T, K] of the image stream."""
        b, t, _ = x_btd.shape
        return jnp.transpose(self.q(x_btd).reshape(b, t, self.heads, self.head_dim), (0, 2, 1, 3))

    def project_kv(self, context_bsd: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Keys and values [B, H, S, K] of a context (the text, or the image prefix)."""
        kernel = self.qkv[...][:, 1:] if self.self_attention else self.kv[...]
        kv = self._project(context_bsd, kernel)
        return kv[0], kv[1]

    def attend(self, q_bhtk: jax.Array, k_bhsk: jax.Array, v_bhsk: jax.Array, mask_b1ts: jax.Array) -> jax.Array:
        return self.project_out(attention_bhtk(q_bhtk, k_bhsk, v_bhsk, mask_b1ts))

    def project_out(self, o_bhtk: jax.Array) -> jax.Array:
        """The heads' outputs [B, H, T, K] back to the stream, [B, T, D]."""
        b, _, t, _ = o_bhtk.shape
        return self.out(jnp.transpose(o_bhtk, (0, 2, 1, 3)).reshape(b, t, self.heads * self.head_dim))

    def step(self, x_b1d: jax.Array, cache: dict, index: jax.Array, chunk: int | None = None) -> tuple[jax.Array, dict]:
        """Self-attention for the token at `index`: its k, v go into the KV cache (`empty_cache`), and it
        attends to cache positions ≤ index. `chunk` (static) is the cache chunk that holds `index`; only
        chunks 0..chunk are read (reading the cache is most of a step's cost). None: a one-chunk cache."""
        if chunk is None:
            if len(cache["k"]) > 1:
                raise ValueError(f"a KV cache in {len(cache['k'])} chunks needs the chunk that holds the index")
            chunk = 0
        start, stop = chunk_bounds(cache)[chunk]
        q, k, v = self._project(x_b1d, self.qkv[...])  # each [B, H, 1, K]
        k_chunks, v_chunks = list(cache["k"]), list(cache["v"])
        at = index - start if start else index
        k_chunks[chunk] = jax.lax.dynamic_update_slice_in_dim(k_chunks[chunk], k.astype(k_chunks[chunk].dtype), at, 2)
        v_chunks[chunk] = jax.lax.dynamic_update_slice_in_dim(v_chunks[chunk], v.astype(v_chunks[chunk].dtype), at, 2)
        visible_11s = (jnp.arange(stop) <= index)[None, None, None, :]
        o_bh1k = chunked_attention_bhtk(q, k_chunks[: chunk + 1], v_chunks[: chunk + 1], visible_11s)
        return self.project_out(o_bh1k), {"k": k_chunks, "v": v_chunks}

    def __call__(self, x_btd: jax.Array, context_bsd: jax.Array, mask_b1ts: jax.Array) -> jax.Array:
        if self.self_attention:  # context is x itself: one matmul for q, k and v
            q, k, v = self._project(x_btd, self.qkv[...])
            return self.attend(q, k, v, mask_b1ts)
        k, v = self.project_kv(context_bsd)
        return self.attend(self.project_q(x_btd), k, v, mask_b1ts)


class MLP(nnx.Module):
    def __init__(self, cfg: PartiConfig, *, dtype, rngs: nnx.Rngs):
        self.fc1 = Dense(cfg.width, cfg.mlp_dim, ("embed", "mlp"), dtype=dtype, rngs=rngs)
        self.fc2 = Dense(cfg.mlp_dim, cfg.width, ("mlp", "embed"), dtype=dtype, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.fc2(jax.nn.gelu(self.fc1(x)))


class EncoderBlock(nnx.Module):
    def __init__(self, cfg: PartiConfig, *, dtype, rngs: nnx.Rngs):
        self.ln1, self.attn = LayerNorm(cfg.width), Attention(cfg, self_attention=True, dtype=dtype, rngs=rngs)
        self.ln2, self.mlp = LayerNorm(cfg.width), MLP(cfg, dtype=dtype, rngs=rngs)

    def __call__(self, x_btd: jax.Array, mask_b1tt: jax.Array) -> jax.Array:
        h = self.ln1(x_btd)
        x_btd = x_btd + self.attn(h, h, mask_b1tt)
        x_btd = x_btd + self.mlp(self.ln2(x_btd))
        return constrain(x_btd, ("batch", "length", "act_embed"))


class DecoderBlock(nnx.Module):
    def __init__(self, cfg: PartiConfig, *, dtype, rngs: nnx.Rngs):
        self.ln1, self.self_attn = LayerNorm(cfg.width), Attention(cfg, self_attention=True, dtype=dtype, rngs=rngs)
        self.ln2, self.cross_attn = LayerNorm(cfg.width), Attention(cfg, self_attention=False, dtype=dtype, rngs=rngs)
        self.ln3, self.mlp = LayerNorm(cfg.width), MLP(cfg, dtype=dtype, rngs=rngs)

    def __call__(self, x_bnd, text_btd, self_mask_b1nn, cross_mask_b1nt) -> jax.Array:
        h = self.ln1(x_bnd)
        x_bnd = x_bnd + self.self_attn(h, h, self_mask_b1nn)
        x_bnd = x_bnd + self.cross_attn(self.ln2(x_bnd), text_btd, cross_mask_b1nt)
        x_bnd = x_bnd + self.mlp(self.ln3(x_bnd))
        return constrain(x_bnd, ("batch", "length", "act_embed"))

    def step(
        self, x_b1d, cross_kv, cross_mask_b11t, cache: dict, index: jax.Array, chunk: int | None = None
    ) -> tuple[jax.Array, dict]:
        """One new token through the block, with cached self-attention (`Attention.step`: `chunk` holds
        `index`) and precomputed text k, v."""
        h, cache = self.self_attn.step(self.ln1(x_b1d), cache, index, chunk)
        x_b1d = x_b1d + h
        q_bh1k = self.cross_attn.project_q(self.ln2(x_b1d))
        x_b1d = x_b1d + self.cross_attn.attend(q_bh1k, *cross_kv, cross_mask_b11t)
        return x_b1d + self.mlp(self.ln3(x_b1d)), cache


class Parti(nnx.Module):
    def __init__(self, cfg: PartiConfig, *, rngs: nnx.Rngs):
        dtype = compute_dtype(cfg.compute_dtype, "parti.compute_dtype")
        self.cfg, self.dtype = cfg, dtype
        emb = jax.nn.initializers.normal(0.02)
        self.text_embed = nnx.Param(
            emb(rngs.params(), (cfg.text_vocab_size, cfg.width)), logical_axes=("vocab", "embed")
        )
        self.text_pos = nnx.Param(emb(rngs.params(), (cfg.text_length, cfg.width)), logical_axes=(None, "embed"))
        self.encoder = nnx.List([EncoderBlock(cfg, dtype=dtype, rngs=rngs) for _ in range(cfg.encoder_layers)])
        self.encoder_ln = LayerNorm(cfg.width)
        # Image tokens: the codebook plus one BOS token that starts every image.
        # Rows padded to a multiple of 128 so the vocab axis splits evenly over any model-parallel size.
        rows = -(-(cfg.image_vocab_size + 1) // 128) * 128
        self.image_embed = nnx.Param(emb(rngs.params(), (rows, cfg.width)), logical_axes=("vocab", "embed"))
        self.row_pos = nnx.Param(emb(rngs.params(), (cfg.image_grid, cfg.width)), logical_axes=(None, "embed"))
        self.col_pos = nnx.Param(emb(rngs.params(), (cfg.image_grid, cfg.width)), logical_axes=(None, "embed"))
        self.decoder = nnx.List([DecoderBlock(cfg, dtype=dtype, rngs=rngs) for _ in range(cfg.decoder_layers)])
        self.decoder_ln = LayerNorm(cfg.width)
        self.logits = Dense(cfg.width, cfg.image_vocab_size, ("embed", "vocab"), dtype=dtype, rngs=rngs)

    @property
    def bos_id(self) -> int:
        return self.cfg.image_vocab_size

    def image_positions(self) -> jax.Array:
        """[N, D]: row embedding + column embedding, raster order."""
        g = self.cfg.image_grid
        pos = self.row_pos[...][:, None, :] + self.col_pos[...][None, :, :]
        return pos.reshape(g * g, -1)

    def encode_text(self, text_ids_bt: jax.Array, text_mask_bt: jax.Array) -> jax.Array:
        """Bidirectional encoding of (padded) text → [B, T, D]; padded positions are ignored."""
        x = (self.text_embed[...][text_ids_bt] + self.text_pos[...][None, : text_ids_bt.shape[1]]).astype(self.dtype)
        x = constrain(x, ("batch", "length", "act_embed"))
        mask_b1tt = text_mask_bt[:, None, None, :]
        for block in self.encoder:
            x = _call(block, self.cfg.remat, x, mask_b1tt)
        return self.encoder_ln(x)

    def decode(self, text_btd: jax.Array, text_mask_bt: jax.Array, inputs_bn: jax.Array) -> jax.Array:
        """Teacher-forced decoder: input tokens (BOS + codes[:-1]) → logits [B, N, V] (float32)."""
        return self.logits(self.decode_features(text_btd, text_mask_bt, inputs_bn)).astype(jnp.float32)

    def decode_features(self, text_btd: jax.Array, text_mask_bt: jax.Array, inputs_bn: jax.Array) -> jax.Array:
        """Teacher-forced decoder up to the logits layer: [B, N, D] in the compute dtype."""
        n = inputs_bn.shape[1]
        x = (self.image_embed[...][inputs_bn] + self.image_positions()[None, :n]).astype(self.dtype)
        x = constrain(x, ("batch", "length", "act_embed"))
        causal_1nn = jnp.tril(jnp.ones((n, n), bool))[None, None]
        cross_b1nt = text_mask_bt[:, None, None, :]
        for block in self.decoder:
            x = _call(block, self.cfg.remat, x, text_btd, causal_1nn, cross_b1nt)
        return self.decoder_ln(x)

    def init_cache(self, text_btd: jax.Array, chunk: int = CACHE_CHUNK) -> dict:
        """Decoding state for `decode_step`: per layer an empty self-attention cache (`empty_cache`, the N
        positions in chunks of `chunk`) and the cross-attention keys/values [B, H, T, K] of the text,
        computed once."""
        b, n = text_btd.shape[0], self.cfg.image_grid**2
        return {
            "self": [empty_cache(b, self.cfg.heads, n, self.cfg.head_dim, self.dtype, chunk) for _ in self.decoder],
            "cross": [block.cross_attn.project_kv(text_btd) for block in self.decoder],
        }

    def decode_step(
        self, token_b: jax.Array, index: jax.Array, cache: dict, text_mask_bt: jax.Array, chunk: int | None = None
    ) -> tuple[jax.Array, dict]:
        """Logits [B, V] for position index + 1 given the input token at `index` (BOS at 0), and the
        updated cache. Equal to `decode` on the whole prefix, at a cost of one token. `chunk`: the cache
        chunk that holds `index` (`Attention.step`; None for a one-chunk cache)."""
        features_b1d, cache = self.decode_step_features(token_b, index, cache, text_mask_bt, chunk)
        return self.logits(features_b1d)[:, 0].astype(jnp.float32), cache

    def decode_step_features(
        self, token_b: jax.Array, index: jax.Array, cache: dict, text_mask_bt: jax.Array, chunk: int | None = None
    ) -> tuple[jax.Array, dict]:
        """`decode_step` up to the logits layer: what `self.logits` reads, [B, 1, D], and the updated cache."""
        pos_1d = jax.lax.dynamic_slice_in_dim(self.image_positions(), index, 1)
        x_b1d = (self.image_embed[...][token_b][:, None] + pos_1d[None]).astype(self.dtype)
        cross_b11t = text_mask_bt[:, None, None, :]
        new_self = []
        for block, layer_cache, cross_kv in zip(self.decoder, cache["self"], cache["cross"], strict=True):
            x_b1d, layer_cache = block.step(x_b1d, cross_kv, cross_b11t, layer_cache, index, chunk)
            new_self.append(layer_cache)
        return self.decoder_ln(x_b1d), {"self": new_self, "cross": cache["cross"]}

    def __call__(self, text_ids_bt: jax.Array, text_mask_bt: jax.Array, codes_bn: jax.Array) -> jax.Array:
        """Logits [B, N, V] predicting codes_bn[:, i] from text and codes_bn[:, :i]."""
        return self.logits(self.features(text_ids_bt, text_mask_bt, codes_bn)).astype(jnp.float32)

    def features(self, text_ids_bt: jax.Array, text_mask_bt: jax.Array, codes_bn: jax.Array) -> jax.Array:
        """What the logits layer reads, [B, N, D]: `self.logits` of it is `self(...)` (before the f32 cast)."""
        text = self.encode_text(text_ids_bt, text_mask_bt)
        bos = jnp.full((codes_bn.shape[0], 1), self.bos_id, codes_bn.dtype)
        return self.decode_features(text, text_mask_bt, jnp.concatenate([bos, codes_bn[:, :-1]], axis=1))


def heads_split() -> bool:
    """Whether the mesh in use splits attention heads over more than one device."""
    mesh = jax.sharding.get_abstract_mesh()
    if mesh.empty:
        return False
    axes = logical_spec(["heads"])[0] or ()
    return math.prod(mesh.shape[a] for a in ((axes,) if isinstance(axes, str) else axes)) > 1


def _call(block: nnx.Module, remat: bool, *args: jax.Array) -> jax.Array:
    """Run a block; with remat only its inputs are kept and its activations are recomputed in the
    backward pass (memory for about a quarter more step FLOPs: `vim plan` counts the recomputed forward)."""
    if not remat:
        return block(*args)
    graphdef, state = nnx.split(block)
    is_float = tuple(bool(jnp.issubdtype(a.dtype, jnp.inexact)) for a in args)
    floats = (state, *(a for a, f in zip(args, is_float, strict=True) if f))
    masks = tuple(a for a, f in zip(args, is_float, strict=True) if not f)
    return _remat_in_backward(functools.partial(_apply_block, graphdef, is_float), floats, masks)


def _apply_block(graphdef: nnx.GraphDef, is_float: tuple[bool, ...], floats: tuple, masks: tuple) -> jax.Array:
    state, *xs = floats
    xs_iter, masks_iter = iter(xs), iter(masks)
    return nnx.merge(graphdef, state)(*(next(xs_iter) if f else next(masks_iter) for f in is_float))


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def _remat_in_backward(fn, floats: tuple, bools: tuple) -> jax.Array:
    """fn(floats, bools), differentiated by recomputing fn in the backward pass.

    `jax.checkpoint` asks for the same, but XLA:CPU drops its optimization barriers before common
    subexpression elimination, so the recomputation merged back into the forward pass and every
    block's activations stayed live (`vim plan`: remat on and off needed the same memory). A
    conditional's branch is a separate computation that nothing merges into, and its predicate reads
    the output gradient, so each block is recomputed only when the backward pass reaches it.
    """
    return fn(floats, bools)


def _remat_fwd(fn, floats, bools):
    return fn(floats, bools), (floats, bools)


def _remat_bwd(fn, saved, g):
    floats, bools = saved

    def recompute(floats, g):
        _, vjp = jax.vjp(lambda f: fn(f, bools), floats)
        return vjp(g)[0]

    def poisoned(floats, g):  # a NaN gradient arriving stays NaN, so the step's guard still skips it
        return jax.tree.map(lambda a: jnp.full_like(a, jnp.nan), floats)

    first = g.reshape(-1)[0]
    return jax.lax.cond(first == first, recompute, poisoned, floats, g), None


_remat_in_backward.defvjp(_remat_fwd, _remat_bwd)


def call_block(block: nnx.Module, remat: bool, *args: jax.Array) -> jax.Array:
    """A block run as the Parti stacks run theirs (with `remat`, recomputed in the backward pass), for
    other models built from these blocks (vim/classgen)."""
    return _call(block, remat, *args)
