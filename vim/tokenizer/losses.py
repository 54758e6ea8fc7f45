"""Tokenizer losses: L2, logit-Laplace, and the adversarial game (StyleGAN-style discriminator + R1)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import nnx

from vim.tokenizer.model import LOGIT_LAPLACE_EPS, pixels


def l2_loss(decoder_out: jax.Array, images: jax.Array) -> jax.Array:
    """Mean squared error of the decoded image (in [0, 1]) against the input."""
    return jnp.mean((pixels(decoder_out) - images) ** 2)


def logit_laplace_loss(decoder_out: jax.Array, images: jax.Array) -> jax.Array:
    """Negative log-likelihood of the logit-Laplace distribution (DALL·E; used by ViT-VQGAN), per pixel.

    Pixels x ∈ [0, 1] are squeezed to x' = (1 − 2ε)x + ε so logit(x') is finite; with μ, b from the
    decoder:  −ln f(x') = ln(2b) + ln(x'(1 − x')) + |logit(x') − μ| / b.
    """
    mu, log_b = decoder_out[..., :3], decoder_out[..., 3:]
    x = (1 - 2 * LOGIT_LAPLACE_EPS) * images + LOGIT_LAPLACE_EPS
    logit_x = jnp.log(x) - jnp.log1p(-x)
    nll = math.log(2.0) + log_b + jnp.log(x * (1 - x)) + jnp.abs(logit_x - mu) * jnp.exp(-log_b)
    return jnp.mean(nll)


class Discriminator(nnx.Module):
    """StyleGAN2-style residual discriminator: each stage halves the resolution and doubles channels."""

    def __init__(self, image_size: int, width: int, *, rngs: nnx.Rngs, max_width: int = 256):
        self.stem = nnx.Conv(3, width, (3, 3), rngs=rngs)
        stages, ch, size = [], width, image_size
        while size > 4:
            out = min(ch * 2, max_width)
            stages.append(
                (
                    nnx.Conv(ch, ch, (3, 3), rngs=rngs),
                    nnx.Conv(ch, out, (3, 3), rngs=rngs),
                    nnx.Conv(ch, out, (1, 1), use_bias=False, rngs=rngs),
                )
            )
            ch, size = out, size // 2
        self.stages = nnx.List([nnx.List(s) for s in stages])
        self.head = nnx.Linear(ch * 4 * 4, ch, rngs=rngs)
        self.logit = nnx.Linear(ch, 1, rngs=rngs)

    def __call__(self, images_bhwc: jax.Array) -> jax.Array:
        def down(x):
            b, h, w, c = x.shape
            return x.reshape(b, h // 2, 2, w // 2, 2, c).mean((2, 4))

        x = jax.nn.leaky_relu(self.stem(images_bhwc * 2 - 1), 0.2)
        for conv1, conv2, skip in self.stages:
            y = jax.nn.leaky_relu(conv1(x), 0.2)
            y = down(jax.nn.leaky_relu(conv2(y), 0.2))
            x = (y + down(skip(x))) / math.sqrt(2)
        x = jax.nn.leaky_relu(self.head(x.reshape(x.shape[0], -1)), 0.2)
        return self.logit(x)[:, 0]


def generator_adversarial_loss(fake_logits: jax.Array) -> jax.Array:
    """Non-saturating generator loss: softplus(−D(G(z)))."""
    return jnp.mean(jax.nn.softplus(-fake_logits))


def discriminator_loss(disc: Discriminator, real: jax.Array, fake: jax.Array, r1_gamma: float) -> tuple:
    """softplus(D(fake)) + softplus(−D(real)) + γ/2 · E‖∇ₓD(real)‖² (R1)."""

    def real_logits_sum(x):
        return jnp.sum(disc(x))

    real_logits = disc(real)
    fake_logits = disc(jax.lax.stop_gradient(fake))
    grad_real = jax.grad(real_logits_sum)(real)
    r1 = jnp.mean(jnp.sum(grad_real**2, axis=(1, 2, 3)))
    loss = jnp.mean(jax.nn.softplus(fake_logits)) + jnp.mean(jax.nn.softplus(-real_logits)) + r1_gamma / 2 * r1
    return loss, {"disc_loss": loss, "r1": r1, "d_real": jnp.mean(real_logits), "d_fake": jnp.mean(fake_logits)}
