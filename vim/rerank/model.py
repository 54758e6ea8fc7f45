"""A contrastive image–text dual encoder (CLIP-style) that scores how well an image matches a caption.

Parti draws several candidates per prompt and keeps the ones a contrastive scorer likes best; this is
that scorer, sized for the 64×64 shapes world. The image tower is a small strided conv net whose final
4×4 feature map is flattened (not pooled) so the embedding keeps *where* things are ("left of",
"in the top right corner"); the text tower is a small pre-LN Transformer over caption ids with padding
masked out. Both are projected into one l2-normalized space and compared by cosine similarity times a
learned scale (1 / temperature), trained with the symmetric InfoNCE loss.

Shapes: B batch, H/W image side, T text tokens, D text width, E embedding width.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import nnx

from vim.config import ScorerConfig


def l2_normalize(x: jax.Array, axis: int = -1, eps: float = 1e-6) -> jax.Array:
    return x * jax.lax.rsqrt(jnp.maximum(jnp.sum(x * x, axis=axis, keepdims=True), eps * eps))


class ImageTower(nnx.Module):
    """Strided conv stages (3×3 stride 2 then a residual 3×3) → flattened grid → LayerNorm → E."""

    def __init__(self, cfg: ScorerConfig, *, rngs: nnx.Rngs):
        self.stem = nnx.Conv(3, cfg.image_widths[0], (3, 3), rngs=rngs)
        stages, ch = [], cfg.image_widths[0]
        for out in cfg.image_widths:
            stages.append((nnx.Conv(ch, out, (3, 3), strides=(2, 2), rngs=rngs), nnx.Conv(out, out, (3, 3), rngs=rngs)))
            ch = out
        self.stages = nnx.List([nnx.List(s) for s in stages])
        side = cfg.image_size // 2 ** len(cfg.image_widths)
        self.ln = nnx.LayerNorm(ch * side * side, rngs=rngs)
        self.proj = nnx.Linear(ch * side * side, cfg.embed_dim, rngs=rngs)

    def __call__(self, images_bhwc: jax.Array) -> jax.Array:
        """Images in [0, 1] → un-normalized embeddings [B, E]."""
        x = jax.nn.gelu(self.stem(images_bhwc * 2 - 1))
        for down, conv in self.stages:
            x = jax.nn.gelu(down(x))
            x = x + jax.nn.gelu(conv(x))  # [B, H/2^s, W/2^s, C_s]
        return self.proj(self.ln(x.reshape(x.shape[0], -1)))


class TextBlock(nnx.Module):
    """Pre-LN Transformer block whose attention ignores padding keys."""

    def __init__(self, width: int, heads: int, mlp_dim: int, *, rngs: nnx.Rngs):
        self.heads = heads
        self.ln1 = nnx.LayerNorm(width, rngs=rngs)
        self.qkv = nnx.Linear(width, 3 * width, rngs=rngs)
        self.out = nnx.Linear(width, width, rngs=rngs)
        self.ln2 = nnx.LayerNorm(width, rngs=rngs)
        self.fc1 = nnx.Linear(width, mlp_dim, rngs=rngs)
        self.fc2 = nnx.Linear(mlp_dim, width, rngs=rngs)

    def __call__(self, x_btd: jax.Array, mask_b11t: jax.Array) -> jax.Array:
        b, t, d = x_btd.shape
        qkv = self.qkv(self.ln1(x_btd)).reshape(b, t, 3, self.heads, d // self.heads)
        attn = jax.nn.dot_product_attention(qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2], mask=mask_b11t)  # [B,T,H,K]
        x_btd = x_btd + self.out(attn.reshape(b, t, d))
        return x_btd + self.fc2(jax.nn.gelu(self.fc1(self.ln2(x_btd))))


class TextTower(nnx.Module):
    """Token + position embeddings → masked Transformer → mean over real tokens → LayerNorm → E."""

    def __init__(self, cfg: ScorerConfig, *, rngs: nnx.Rngs):
        self.embed = nnx.Embed(cfg.text_vocab_size, cfg.text_width, rngs=rngs)
        self.pos_td = nnx.Param(jax.random.normal(rngs.params(), (cfg.text_length, cfg.text_width)) * 0.02)
        self.blocks = nnx.List(
            [TextBlock(cfg.text_width, cfg.text_heads, cfg.text_mlp_dim, rngs=rngs) for _ in range(cfg.text_layers)]
        )
        self.ln = nnx.LayerNorm(cfg.text_width, rngs=rngs)
        self.proj = nnx.Linear(cfg.text_width, cfg.embed_dim, rngs=rngs)

    def __call__(self, text_ids_bt: jax.Array, text_mask_bt: jax.Array) -> jax.Array:
        """Caption ids [B, T] and their mask (True on real tokens) → un-normalized embeddings [B, E]."""
        x_btd = self.embed(text_ids_bt) + self.pos_td[...][: text_ids_bt.shape[1]]
        mask_b11t = text_mask_bt[:, None, None, :]
        for block in self.blocks:
            x_btd = block(x_btd, mask_b11t)
        m_bt1 = text_mask_bt[..., None].astype(x_btd.dtype)
        pooled_bd = jnp.sum(x_btd * m_bt1, axis=1) / jnp.maximum(jnp.sum(m_bt1, axis=1), 1.0)
        return self.proj(self.ln(pooled_bd))


class DualEncoder(nnx.Module):
    """Image and text towers into one l2-normalized space, plus the learned logit scale (1/temperature)."""

    def __init__(self, cfg: ScorerConfig, *, rngs: nnx.Rngs):
        if cfg.image_size % 2 ** len(cfg.image_widths):
            raise ValueError(f"image_size {cfg.image_size} must be divisible by 2^{len(cfg.image_widths)}")
        self.cfg = cfg
        self.image = ImageTower(cfg, rngs=rngs)
        self.text = TextTower(cfg, rngs=rngs)
        self.log_scale = nnx.Param(jnp.asarray(math.log(1.0 / cfg.init_temperature), jnp.float32))

    def embed_images(self, images_bhwc: jax.Array) -> jax.Array:
        """Images in [0, 1] [B, H, W, 3] → unit vectors [B, E]."""
        return l2_normalize(self.image(images_bhwc))

    def embed_text(self, text_ids_bt: jax.Array, text_mask_bt: jax.Array) -> jax.Array:
        """Caption ids and mask [B, T] → unit vectors [B, E]."""
        return l2_normalize(self.text(text_ids_bt, text_mask_bt))

    def logit_scale(self) -> jax.Array:
        return jnp.minimum(jnp.exp(self.log_scale[...]), self.cfg.max_logit_scale)

    def similarities(self, images_bhwc: jax.Array, text_ids_bt: jax.Array, text_mask_bt: jax.Array) -> jax.Array:
        """Cosine similarity of every image with every caption, [B_images, B_texts]."""
        return self.embed_images(images_bhwc) @ self.embed_text(text_ids_bt, text_mask_bt).T


def info_nce(similarities_bb: jax.Array, logit_scale: jax.Array) -> jax.Array:
    """Symmetric InfoNCE: the mean of image→text and text→image cross-entropies with the diagonal as targets.

    Row i of `similarities_bb` is image i against every caption; caption i is image i's own.
    """
    logits = similarities_bb * logit_scale
    labels = jnp.arange(logits.shape[0])
    log_p_i2t = jax.nn.log_softmax(logits, axis=1)
    log_p_t2i = jax.nn.log_softmax(logits, axis=0)
    return -0.5 * (jnp.mean(log_p_i2t[labels, labels]) + jnp.mean(log_p_t2i[labels, labels]))
