"""Pixel values as the trainers and metrics share them: uint8 images to floats in [0, 1], and PSNR."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def to_unit(images_uint8: jax.Array) -> jax.Array:
    """uint8 [0, 255] → float32 [0, 1]."""
    return images_uint8.astype(jnp.float32) / 255.0


def psnr(a: jax.Array, b: jax.Array) -> jax.Array:
    """Per-image PSNR in dB of images in [0, 1], [B, H, W, C] → [B]."""
    mse = jnp.mean((a.astype(jnp.float32) - b.astype(jnp.float32)) ** 2, axis=(1, 2, 3))
    return 10 * jnp.log10(1.0 / jnp.maximum(mse, 1e-10))
