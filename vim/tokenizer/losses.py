"""Tokenizer losses: L2, logit-Laplace, and the adversarial game (StyleGAN-style discriminator + R1), whose
training-step half (`AdversarialGame`) the tokenizer and the upsampler share."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import nnx

from vim.config import ConfigError, TrainConfig
from vim.tokenizer.model import LOGIT_LAPLACE_EPS, pixels
from vim.training.optim import guarded_update, make_optimizer


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


class AdversarialGame:
    """The adversarial half of a training step, one implementation for the tokenizer and the upsampler: a
    `Discriminator` over image_size² images with its own optimizer (train's settings), its weights and
    optimizer state kept in the train state as `disc_params` and `disc_opt_state`."""

    def __init__(self, image_size: int, width: int, r1_gamma: float, train: TrainConfig):
        side = image_size
        while side > 4 and side % 2 == 0:
            side //= 2
        if side != 4:  # each stage halves the side down to the 4×4 head
            raise ConfigError(f"the discriminator needs images of 4·2^k pixels a side; it would see {image_size}")
        self.image_size, self.width, self.r1_gamma = image_size, width, r1_gamma
        self.graphdef, _ = nnx.split(nnx.eval_shape(lambda: Discriminator(image_size, width, rngs=nnx.Rngs(0))))
        self.tx = make_optimizer(train)

    def init_state(self, key: jax.Array) -> dict:
        """`disc_params` and `disc_opt_state` of a discriminator initialized from `key`."""
        params = nnx.to_pure_dict(nnx.state(Discriminator(self.image_size, self.width, rngs=nnx.Rngs(key))))
        return {"disc_params": params, "disc_opt_state": self.tx.init(params)}

    def generator_loss(self, state: dict, fake_bhwc: jax.Array) -> jax.Array:
        """The generator's non-saturating term for images in [0, 1] against the state's discriminator."""
        return generator_adversarial_loss(nnx.merge(self.graphdef, state["disc_params"])(fake_bhwc))

    def discriminator_step(
        self, state: dict, real_bhwc: jax.Array, fake_bhwc: jax.Array, on: jax.Array
    ) -> tuple[dict, dict]:
        """The discriminator's NaN-guarded update on real vs. generated images, applied only where `on`
        (before the game starts it is skipped); returns the new `disc_params` / `disc_opt_state` and its terms."""

        def loss_fn(params):
            return discriminator_loss(nnx.merge(self.graphdef, params), real_bhwc, fake_bhwc, self.r1_gamma)

        (loss, terms), grads = jax.value_and_grad(loss_fn, has_aux=True)(state["disc_params"])
        # Masked, not a lax.cond: inside a cond XLA:CPU ran it far slower (bench/results/tokenizer_perceptual_*).
        params, opt_state, _ = guarded_update(
            self.tx, state["disc_params"], state["disc_opt_state"], grads, jnp.where(on, loss, jnp.nan)
        )
        return {"disc_params": params, "disc_opt_state": opt_state}, terms
