"""A decoder-only image Transformer (VIM stage 2): class embedding, then image tokens in raster order.

Shapes: B batch, N image tokens (grid²), D width, V codebook, C classes (+1: the null class at row C).
Input position 0 is the class embedding and position i > 0 the code at i − 1, so the output at i predicts
code i (the class plays the part of Parti's BOS token). The blocks are Parti's encoder blocks (self-attention
+ MLP, same parameters and logical axes, so vim.sharding.RULES shard them) under a causal mask.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
from flax import nnx

from vim.config import ClassGenConfig, PartiConfig
from vim.nn import compute_dtype
from vim.parti.model import CACHE_CHUNK, Dense, EncoderBlock, LayerNorm, call_block, empty_cache
from vim.sharding import constrain


def block_config(cfg: ClassGenConfig) -> PartiConfig:
    """The sizes Parti's blocks read, taken from the classgen section."""
    return dataclasses.replace(
        PartiConfig(), width=cfg.width, heads=cfg.heads, head_dim=cfg.head_dim, mlp_dim=cfg.mlp_dim
    )


class ClassGPT(nnx.Module):
    def __init__(self, cfg: ClassGenConfig, *, rngs: nnx.Rngs):
        dtype = compute_dtype(cfg.compute_dtype, "classgen.compute_dtype")
        self.cfg, self.dtype = cfg, dtype
        emb = jax.nn.initializers.normal(0.02)
        self.class_embed = nnx.Param(emb(rngs.params(), (cfg.num_classes + 1, cfg.width)), logical_axes=(None, "embed"))
        # Rows padded to a multiple of 128 so the vocab axis splits evenly over any model-parallel size.
        rows = -(-cfg.image_vocab_size // 128) * 128
        self.image_embed = nnx.Param(emb(rngs.params(), (rows, cfg.width)), logical_axes=("vocab", "embed"))
        self.row_pos = nnx.Param(emb(rngs.params(), (cfg.image_grid, cfg.width)), logical_axes=(None, "embed"))
        self.col_pos = nnx.Param(emb(rngs.params(), (cfg.image_grid, cfg.width)), logical_axes=(None, "embed"))
        blocks = block_config(cfg)
        self.blocks = nnx.List([EncoderBlock(blocks, dtype=dtype, rngs=rngs) for _ in range(cfg.layers)])
        self.final_ln = LayerNorm(cfg.width)
        self.logits = Dense(cfg.width, cfg.image_vocab_size, ("embed", "vocab"), dtype=dtype, rngs=rngs)

    @property
    def null_class(self) -> int:
        return self.cfg.num_classes

    def positions(self) -> jax.Array:
        """[N, D]: row embedding + column embedding, raster order."""
        g = self.cfg.image_grid
        return (self.row_pos[...][:, None, :] + self.col_pos[...][None, :, :]).reshape(g * g, -1)

    def inputs(self, labels_b: jax.Array, codes_bn: jax.Array) -> jax.Array:
        """[B, N, D]: the class embedding, then the embeddings of codes 0 … N − 2, plus positions."""
        tokens_bnd = jnp.concatenate(
            [self.class_embed[...][labels_b][:, None], self.image_embed[...][codes_bn[:, :-1]]], axis=1
        )
        return constrain((tokens_bnd + self.positions()[None]).astype(self.dtype), ("batch", "length", "act_embed"))

    def hidden_states(self, labels_b: jax.Array, codes_bn: jax.Array) -> list[jax.Array]:
        """Every block's output [B, N, D] (the input to block l + 1), for the linear probe; the last one
        is before the final layer norm."""
        x_bnd = self.inputs(labels_b, codes_bn)
        n = codes_bn.shape[1]
        causal_11nn = jnp.tril(jnp.ones((n, n), bool))[None, None]
        out = []
        for block in self.blocks:
            x_bnd = call_block(block, self.cfg.remat, x_bnd, causal_11nn)
            out.append(x_bnd)
        return out

    def features(self, labels_b: jax.Array, codes_bn: jax.Array) -> jax.Array:
        """What the logits layer reads, [B, N, D]: `self.logits` of it is `self(...)`."""
        return self.final_ln(self.hidden_states(labels_b, codes_bn)[-1])

    def __call__(self, labels_b: jax.Array, codes_bn: jax.Array) -> jax.Array:
        """Logits [B, N, V] (float32) predicting codes_bn[:, i] from the class and codes_bn[:, :i]."""
        return self.logits(self.features(labels_b, codes_bn)).astype(jnp.float32)

    def init_cache(self, batch: int, chunk: int = CACHE_CHUNK) -> list[dict]:
        """Per block an empty self-attention cache for `decode_step` (`empty_cache`: positions in chunks)."""
        n = self.cfg.image_grid**2
        return [empty_cache(batch, self.cfg.heads, n, self.cfg.head_dim, self.dtype, chunk) for _ in self.blocks]

    def decode_step(
        self, token_b: jax.Array, labels_b: jax.Array, index: jax.Array, cache: list[dict], chunk: int | None = None
    ) -> tuple[jax.Array, list[dict]]:
        """Logits [B, V] for code `index` given the code drawn at index − 1 (`token_b`; at index 0 the
        class is the input and `token_b` is ignored), and the updated cache. Equal to `self(...)` at
        `index`, at a cost of one token. `chunk`: the cache chunk that holds `index` (None: one chunk)."""
        code_b1d = self.image_embed[...][token_b][:, None]
        class_b1d = self.class_embed[...][labels_b][:, None]
        pos_1d = jax.lax.dynamic_slice_in_dim(self.positions(), index, 1)
        x_b1d = (jnp.where(index == 0, class_b1d, code_b1d) + pos_1d[None]).astype(self.dtype)
        new_cache = []
        for block, layer_cache in zip(self.blocks, cache, strict=True):
            h_b1d, layer_cache = block.attn.step(block.ln1(x_b1d), layer_cache, index, chunk)
            x_b1d = x_b1d + h_b1d
            x_b1d = x_b1d + block.mlp(block.ln2(x_b1d))
            new_cache.append(layer_cache)
        return self.logits(self.final_ln(x_b1d))[:, 0].astype(jnp.float32), new_cache
