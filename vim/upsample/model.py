"""A WDSR-style super-resolution net: Parti's last stage, turning a decoded low-res image into a sharper,
larger one (here ×2, 64 → 128 px).

WDSR-A (Yu et al., 2018): weight-normalized convolutions, residual blocks that widen *before* the ReLU
(C → e·C → C) so more channels see the non-linearity at the same cost, a pixel-shuffle tail, and a global
5×5 skip branch from the input. On top of that the net predicts a residual over a bicubic upsampling of
the input, with the tail and skip convolutions starting at zero: the untrained net *is* the bicubic
baseline it has to beat, and training spends its steps on edges rather than on learning to copy colors.

The output is in the tokenizer decoder's format — 6 channels per pixel, the logit-Laplace location μ
and log-scale for R, G, B (vim/tokenizer/losses.py) — so the tokenizer's L2, logit-Laplace and
adversarial losses apply unchanged and `pixels()` turns it into an image.

Shapes: B batch, H/W low-res side, s scale, C width.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from PIL import Image

from vim.config import UpsamplerConfig
from vim.tokenizer.model import LOGIT_LAPLACE_EPS


class WNConv(nnx.Module):
    """Weight-normalized 'SAME' convolution: kernel = g · v / ‖v‖ per output channel (WDSR's choice; it
    trains deep residual SR nets without batch norm, which would shift colors between images)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, *, rngs: nnx.Rngs, gain: float = 1.0):
        init = jax.nn.initializers.variance_scaling(2.0, "fan_in", "truncated_normal")
        v = init(rngs.params(), (kernel, kernel, c_in, c_out))
        self.v = nnx.Param(v)
        # g starts at ‖v‖ (times gain): the first forward pass equals a plainly initialized conv.
        self.g = nnx.Param(gain * jnp.sqrt(jnp.sum(v * v, axis=(0, 1, 2))))
        self.b = nnx.Param(jnp.zeros((c_out,)))

    def __call__(self, x_bhwc: jax.Array) -> jax.Array:
        v = self.v[...]
        w = v * (self.g[...] * jax.lax.rsqrt(jnp.maximum(jnp.sum(v * v, axis=(0, 1, 2)), 1e-12)))
        y = jax.lax.conv_general_dilated(x_bhwc, w, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))
        return y + self.b[...]


class WideBlock(nnx.Module):
    """x + res_scale · conv(ReLU(conv_wide(x))): WDSR-A's wide-activation residual block."""

    def __init__(self, width: int, expansion: int, res_scale: float, *, rngs: nnx.Rngs):
        self.expand = WNConv(width, width * expansion, 3, rngs=rngs)
        self.reduce = WNConv(width * expansion, width, 3, rngs=rngs)
        self.res_scale = res_scale

    def __call__(self, x_bhwc: jax.Array) -> jax.Array:
        return x_bhwc + self.res_scale * self.reduce(jax.nn.relu(self.expand(x_bhwc)))


def pixel_shuffle(x_bhwc: jax.Array, scale: int) -> jax.Array:
    """[B, H, W, C·s²] → [B, H·s, W·s, C] (depth to space)."""
    b, h, w, cs = x_bhwc.shape
    c = cs // (scale * scale)
    x = x_bhwc.reshape(b, h, w, scale, scale, c).transpose(0, 1, 3, 2, 4, 5)
    return x.reshape(b, h * scale, w * scale, c)


def bicubic(images_uint8: np.ndarray, scale: int) -> np.ndarray:
    """The baseline: PIL bicubic upsampling, uint8 [B, H, W, 3] → [B, H·s, W·s, 3]."""
    out = [
        np.asarray(Image.fromarray(im).resize((im.shape[1] * scale, im.shape[0] * scale), Image.Resampling.BICUBIC))
        for im in np.asarray(images_uint8, np.uint8)
    ]
    return np.stack(out) if out else np.zeros((0, 0, 0, 3), np.uint8)


def to_logit_space(images: jax.Array) -> jax.Array:
    """The μ that `pixels()` maps back to `images` in [0, 1] (inverse of its squeezed sigmoid)."""
    x = (1 - 2 * LOGIT_LAPLACE_EPS) * images + LOGIT_LAPLACE_EPS
    return jnp.log(x) - jnp.log1p(-x)


class WDSR(nnx.Module):
    """The ×scale upsampler (see the module docstring)."""

    def __init__(self, cfg: UpsamplerConfig, *, rngs: nnx.Rngs):
        self.cfg = cfg
        out = 6 * cfg.scale * cfg.scale  # μ and log-scale per RGB channel, per sub-pixel
        self.head = WNConv(3, cfg.width, 3, rngs=rngs)
        self.body = nnx.List([WideBlock(cfg.width, cfg.expansion, cfg.res_scale, rngs=rngs) for _ in range(cfg.blocks)])
        # Tail and skip start at zero (g = 0), so at initialization the output is exactly the bicubic base;
        # g receives gradients from the first step, and v from the second.
        self.tail = WNConv(cfg.width, out, 3, rngs=rngs, gain=0.0)
        self.skip = WNConv(3, out, 5, rngs=rngs, gain=0.0)

    def __call__(self, images_bhwc: jax.Array) -> jax.Array:
        """Low-res images in [0, 1] [B, H, W, 3] → decoder output [B, H·s, W·s, 6] (μ, log-scale per RGB)."""
        s = self.cfg.scale
        b, h, w, _ = images_bhwc.shape
        x = images_bhwc * 2 - 1
        y = self.head(x)
        for block in self.body:
            y = block(y)
        residual = pixel_shuffle(self.tail(y) + self.skip(x), s)  # [B, H·s, W·s, 6]
        base = jax.image.resize(images_bhwc, (b, h * s, w * s, 3), "cubic")  # Keys a = −0.5, as PIL
        base_mu = to_logit_space(jnp.clip(base, 0.0, 1.0))
        return residual + jnp.concatenate([base_mu, jnp.zeros_like(base_mu)], axis=-1)
