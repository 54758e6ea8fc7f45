"""ViT-VQGAN: ViT encoder → factorized, l2-normalized codebook lookup → ViT decoder → pixels.

Shapes: B batch, H/W image side, P patch, N = (H/P)² tokens, D width, C code dim, K codebook size.
The decoder emits 6 channels per pixel: the logit-Laplace location μ and log-scale for R, G, B
(see losses.py); `pixels()` turns μ into an image in [0, 1].
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from vim.config import TokenizerConfig
from vim.nn import attention, compute_dtype, row_major_dot_general


class Block(nnx.Module):
    """Pre-LN Transformer block: x + attn(LN(x)); x + mlp(LN(x))."""

    def __init__(self, width: int, heads: int, mlp_dim: int, *, dtype: jnp.dtype, rngs: nnx.Rngs):
        self.heads = heads
        self.ln1 = nnx.LayerNorm(width, dtype=dtype, rngs=rngs)
        self.qkv = nnx.Linear(width, 3 * width, dtype=dtype, dot_general=row_major_dot_general, rngs=rngs)
        self.out = nnx.Linear(width, width, dtype=dtype, dot_general=row_major_dot_general, rngs=rngs)
        self.ln2 = nnx.LayerNorm(width, dtype=dtype, rngs=rngs)
        self.fc1 = nnx.Linear(width, mlp_dim, dtype=dtype, dot_general=row_major_dot_general, rngs=rngs)
        self.fc2 = nnx.Linear(mlp_dim, width, dtype=dtype, dot_general=row_major_dot_general, rngs=rngs)

    def __call__(self, x_bnd: jax.Array) -> jax.Array:
        b, n, d = x_bnd.shape
        qkv = self.qkv(self.ln1(x_bnd)).reshape(b, n, 3, self.heads, d // self.heads)
        q_bnhk, k_bnhk, v_bnhk = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]
        attn = attention(q_bnhk, k_bnhk, v_bnhk)  # [B, N, heads, D/heads]
        x_bnd = x_bnd + self.out(attn.reshape(b, n, d))
        return x_bnd + self.fc2(jax.nn.gelu(self.fc1(self.ln2(x_bnd))))


class ViT(nnx.Module):
    """Learned positions + a stack of blocks + final LayerNorm, over [B, N, D] tokens."""

    def __init__(self, tokens: int, width: int, layers: int, heads: int, mlp_dim: int, *, dtype, rngs):
        self.pos_nd = nnx.Param(jax.random.normal(rngs.params(), (tokens, width)) * 0.02)
        self.blocks = nnx.List([Block(width, heads, mlp_dim, dtype=dtype, rngs=rngs) for _ in range(layers)])
        self.ln = nnx.LayerNorm(width, dtype=dtype, rngs=rngs)

    def __call__(self, x_bnd: jax.Array) -> jax.Array:
        x_bnd = x_bnd + self.pos_nd[...].astype(x_bnd.dtype)
        for block in self.blocks:
            x_bnd = block(x_bnd)
        return self.ln(x_bnd)


def l2_normalize(x: jax.Array, axis: int = -1, eps: float = 1e-6) -> jax.Array:
    return x * jax.lax.rsqrt(jnp.maximum(jnp.sum(x * x, axis=axis, keepdims=True), eps * eps))


def quantize(z_bnc: jax.Array, codebook_kc: jax.Array, beta: float) -> dict[str, jax.Array]:
    """Nearest l2-normalized code by cosine similarity, with straight-through gradients.

    Returns `z_q` (= z in the forward pass numerically the code, gradient identity to z), `codes`,
    `codebook_loss` ‖sg(z) − e‖², `commitment_loss` β‖z − sg(e)‖².
    """
    z = l2_normalize(z_bnc.astype(jnp.float32))
    e_kc = l2_normalize(codebook_kc.astype(jnp.float32))
    codes_bn = jnp.argmax(jnp.einsum("bnc,kc->bnk", z, e_kc), axis=-1)
    e_bnc = e_kc[codes_bn]
    codebook_loss = jnp.mean(jnp.sum((jax.lax.stop_gradient(z) - e_bnc) ** 2, -1))
    commitment_loss = beta * jnp.mean(jnp.sum((z - jax.lax.stop_gradient(e_bnc)) ** 2, -1))
    z_q = z + jax.lax.stop_gradient(e_bnc - z)
    return {"z": z, "z_q": z_q, "codes": codes_bn, "codebook_loss": codebook_loss, "commitment_loss": commitment_loss}


# The weights that decide which code an image gets and which vector a code stands for: a generator
# trained on codes stays valid as long as these are unchanged, whatever the decoder side becomes.
CODE_WEIGHTS = ("patch_in", "encoder", "to_code", "codebook_kc")


class ViTVQGAN(nnx.Module):
    def __init__(self, cfg: TokenizerConfig, *, rngs: nnx.Rngs):
        dtype = compute_dtype(cfg.compute_dtype, "tokenizer.compute_dtype")
        self.cfg = cfg
        grid = cfg.image_size // cfg.patch_size
        patch_dim = cfg.patch_size * cfg.patch_size * 3
        self.patch_in = nnx.Linear(patch_dim, cfg.width, dtype=dtype, dot_general=row_major_dot_general, rngs=rngs)
        self.encoder = ViT(grid * grid, cfg.width, cfg.encoder_layers, cfg.heads, cfg.mlp_dim, dtype=dtype, rngs=rngs)
        self.to_code = nnx.Linear(cfg.width, cfg.code_dim, rngs=rngs)  # factorized lookup space, f32
        self.codebook_kc = nnx.Param(jax.random.normal(rngs.params(), (cfg.codebook_size, cfg.code_dim)))
        self.from_code = nnx.Linear(cfg.code_dim, cfg.width, dtype=dtype, dot_general=row_major_dot_general, rngs=rngs)
        self.decoder = ViT(grid * grid, cfg.width, cfg.decoder_layers, cfg.heads, cfg.mlp_dim, dtype=dtype, rngs=rngs)
        self.patch_out = nnx.Linear(cfg.width, 2 * patch_dim, dtype=dtype, dot_general=row_major_dot_general, rngs=rngs)

    @property
    def grid(self) -> int:
        return self.cfg.image_size // self.cfg.patch_size

    def _patchify(self, images_bhwc: jax.Array) -> jax.Array:
        b, h, w, c = images_bhwc.shape
        p = self.cfg.patch_size
        x = images_bhwc.reshape(b, h // p, p, w // p, p, c).transpose(0, 1, 3, 2, 4, 5)
        return x.reshape(b, (h // p) * (w // p), p * p * c)

    def _unpatchify(self, x_bnq: jax.Array, channels: int) -> jax.Array:
        b, g, p = x_bnq.shape[0], self.grid, self.cfg.patch_size
        x = x_bnq.reshape(b, g, g, p, p, channels).transpose(0, 1, 3, 2, 4, 5)
        return x.reshape(b, g * p, g * p, channels)

    def encode_latents(self, images_bhwc: jax.Array) -> jax.Array:
        """Images in [0, 1] → projected (not yet normalized) lookup vectors [B, N, C]."""
        x_bnd = self.patch_in(self._patchify(images_bhwc * 2 - 1))
        return self.to_code(self.encoder(x_bnd).astype(jnp.float32))

    def decode_latents(self, z_bnc: jax.Array) -> jax.Array:
        """Normalized code vectors [B, N, C] → decoder output [B, H, W, 6] (μ and log-scale per RGB)."""
        y_bnq = self.patch_out(self.decoder(self.from_code(z_bnc)))
        return self._unpatchify(y_bnq.astype(jnp.float32), 6)

    def __call__(
        self, images_bhwc: jax.Array, use_codes: jax.Array | bool = True
    ) -> tuple[jax.Array, dict[str, jax.Array]]:
        """Decoder output and quantizer results; `use_codes=False` decodes the un-quantized z (warm-up)."""
        q = quantize(self.encode_latents(images_bhwc), self.codebook_kc[...], self.cfg.commitment_cost)
        return self.decode_latents(jnp.where(use_codes, q["z_q"], q["z"])), q

    def encode(self, images_bhwc: jax.Array) -> jax.Array:
        """Images in [0, 1] → codes int32 [B, grid, grid], with every f32 matmul at full precision: codes are
        data (cached, trained on, compared across machines), and a GPU's default f32 matmul precision picks
        another code than a CPU for about half the patches of the bundled tokenizer."""
        with jax.default_matmul_precision("highest"):
            q = quantize(self.encode_latents(images_bhwc), self.codebook_kc[...], self.cfg.commitment_cost)
        return q["codes"].reshape(-1, self.grid, self.grid).astype(jnp.int32)

    def decode(self, codes_bgg: jax.Array) -> jax.Array:
        """Codes [B, grid, grid] → images in [0, 1], [B, H, W, 3]."""
        e_kc = l2_normalize(self.codebook_kc[...])
        out = self.decode_latents(e_kc[codes_bgg.reshape(codes_bgg.shape[0], -1)])
        return pixels(out)


LOGIT_LAPLACE_EPS = 0.1


def pixels(decoder_out_bhw6: jax.Array) -> jax.Array:
    """Image in [0, 1] from the decoder's logit-Laplace location μ: x = (σ(μ) − ε) / (1 − 2ε), clipped."""
    mu = decoder_out_bhw6[..., :3]
    return jnp.clip((jax.nn.sigmoid(mu) - LOGIT_LAPLACE_EPS) / (1 - 2 * LOGIT_LAPLACE_EPS), 0.0, 1.0)
