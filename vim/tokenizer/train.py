"""Training the ViT-VQGAN tokenizer with the shared core: `train_and_evaluate(config, workdir)`.

vim train-tokenizer --preset tiny --workdir runs/tok
"""

from __future__ import annotations

import logging
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from vim.config import Config, ConfigError
from vim.data.pipeline import make_batches
from vim.metrics.lpips import LPIPS
from vim.metrics.lpips_weights import find_lpips_weights
from vim.metrics.lpips_weights import load_weights as load_lpips_weights
from vim.metrics.pixels import psnr, to_unit
from vim.tokenizer.losses import AdversarialGame, l2_loss, logit_laplace_loss
from vim.tokenizer.model import CODE_WEIGHTS, ViTVQGAN, pixels
from vim.training.loop import fit
from vim.training.optim import guarded_update, make_optimizer
from vim.training.state import advance, new_state, step_key

log = logging.getLogger(__name__)


class TokenizerTask:
    grid_name = "reconstructions"  # eval grids: input | reconstruction

    def __init__(self, cfg: Config):
        self.cfg, self.tc = cfg, cfg.tokenizer
        self.graphdef, _ = nnx.split(nnx.eval_shape(lambda: ViTVQGAN(self.tc, rngs=nnx.Rngs(0))))
        self.use_gan = self.tc.adversarial_weight > 0
        self.gan = (
            AdversarialGame(self.tc.image_size, self.tc.disc_width, self.tc.r1_gamma, cfg.train)
            if self.use_gan
            else None
        )
        self.tx = make_optimizer(cfg.train)
        if self.tc.train_decoder_only:  # the code-deciding weights get no update, not even weight decay
            self.tx = optax.partition({"train": self.tx, "frozen": optax.set_to_zero()}, frozen_labels)
        self.perceptual = self._perceptual_network()

    def _perceptual_network(self) -> LPIPS | None:
        """LPIPS (VGG16) for the perceptual term when tokenizer.perceptual_weight > 0 and weights are found."""
        if self.tc.perceptual_weight <= 0:
            return None
        if not 0 <= self.tc.perceptual_images <= self.cfg.data.batch_size:
            raise ValueError(
                f"tokenizer.perceptual_images={self.tc.perceptual_images}: must be 0 (all) or at most "
                f"data.batch_size={self.cfg.data.batch_size}"
            )
        path = self.tc.perceptual_weights
        try:
            info = find_lpips_weights(path or None)
        except FileNotFoundError as e:
            if path:  # a path that was asked for and is not there is a mistake, not a choice
                raise FileNotFoundError(f"tokenizer.perceptual_weights={path}: {e}") from None
            log.warning("perceptual loss OFF (tokenizer.perceptual_weight=%g): %s", self.tc.perceptual_weight, e)
            return None
        log.info("perceptual loss ON: LPIPS VGG16 from %s, weight %g", info, self.tc.perceptual_weight)
        # DEFAULT precision: a loss, not the metric; on CPUs it is the same as HIGHEST.
        return LPIPS(load_lpips_weights(info), precision=jax.lax.Precision.DEFAULT)

    def model(self, params: dict) -> ViTVQGAN:
        return nnx.merge(self.graphdef, params)

    def init_state(self, rng: jax.Array) -> dict:
        key = jax.random.wrap_key_data(rng)
        params = nnx.to_pure_dict(nnx.state(ViTVQGAN(self.tc, rngs=nnx.Rngs(jax.random.fold_in(key, 1)))))
        state = new_state(params, self.tx, rng) | {"last_used": jnp.zeros((self.tc.codebook_size,), jnp.int32)}
        if self.use_gan:
            state |= self.gan.init_state(jax.random.fold_in(key, 2))
        return state

    def train_step(self, state: dict, batch: dict) -> tuple[dict, dict]:
        tc, step = self.tc, state["step"]
        images = to_unit(batch["image"])
        key = step_key(state)
        gan_on = self.use_gan & (step >= tc.adversarial_start_step)
        quantizing = step >= tc.quantize_after
        params = state["params"]
        if tc.quantize_after > 0:
            params = {**params, "codebook_kc": self._codebook_at_start(params, images, step, key)}

        def loss_fn(params):
            if tc.train_decoder_only:  # no backward pass through the encoder
                params = {k: jax.lax.stop_gradient(v) if k in CODE_WEIGHTS else v for k, v in params.items()}
            out, q = self.model(params)(images, use_codes=quantizing)
            terms = {"l2": l2_loss(out, images), "codebook": q["codebook_loss"], "commitment": q["commitment_loss"]}
            loss = tc.l2_weight * terms["l2"] + jnp.where(quantizing, terms["codebook"] + terms["commitment"], 0.0)
            if tc.logit_laplace_weight > 0:  # a switched-off loss costs nothing
                terms["logit_laplace"] = logit_laplace_loss(out, images)
                loss = loss + tc.logit_laplace_weight * terms["logit_laplace"]
            if self.perceptual is not None:  # the LPIPS weights enter the compiled step as constants
                n = tc.perceptual_images or images.shape[0]
                terms["perceptual"] = jnp.mean(self.perceptual(pixels(out[:n]), images[:n]))
                loss = loss + tc.perceptual_weight * terms["perceptual"]
            if self.use_gan:
                terms["g_adv"] = self.gan.generator_loss(state, pixels(out))
                loss = loss + jnp.where(gan_on, tc.adversarial_weight, 0.0) * terms["g_adv"]
            return loss, (terms, out, q)

        (loss, (terms, out, q)), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
        params, opt_state, ok = guarded_update(self.tx, params, state["opt_state"], grads, loss)
        new = dict(state)
        metrics = {"loss": loss, **terms}
        if self.use_gan:
            disc_state, d_terms = self.gan.discriminator_step(state, images, pixels(out), gan_on)
            new |= disc_state
            metrics |= d_terms
        # Codebook health: remember when each code was last chosen; restart long-unused ones.
        used = jnp.zeros((tc.codebook_size,), bool).at[q["codes"].reshape(-1)].set(True)
        last_used = jnp.where((used & ok) | ~quantizing | (step == tc.quantize_after), step + 1, state["last_used"])
        if tc.dead_code_steps > 0 and not tc.train_decoder_only:
            dead = ((step + 1 - last_used) >= tc.dead_code_steps) & quantizing
            z_flat = jax.lax.stop_gradient(q["z"]).reshape(-1, tc.code_dim)
            picks = jax.random.randint(key, (tc.codebook_size,), 0, z_flat.shape[0])
            codebook = jnp.where(dead[:, None] & ok, z_flat[picks], params["codebook_kc"])
            params = {**params, "codebook_kc": codebook}
            last_used = jnp.where(dead & ok, step + 1, last_used)
            metrics["dead_codes_restarted"] = jnp.sum(dead & ok)
        new = advance(new, params, opt_state, ok, self.cfg.train.ema_decay) | {"last_used": last_used}
        if tc.train_decoder_only:  # d·w + (1 − d)·w is not always w in floating point: keep them bit for bit
            new["ema"] = {k: params[k] if k in CODE_WEIGHTS else v for k, v in new["ema"].items()}
        if tc.quantize_after > 0:  # the EMA starts from the fresh codebook instead of averaging it in
            ema_codebook = jnp.where(step == tc.quantize_after, params["codebook_kc"], new["ema"]["codebook_kc"])
            new["ema"] = {**new["ema"], "codebook_kc": ema_codebook}
        metrics["batch_psnr"] = jnp.mean(psnr(pixels(out), images))
        return new, metrics

    def _codebook_at_start(self, params: dict, images: jax.Array, step: jax.Array, key: jax.Array) -> jax.Array:
        """At step `quantize_after`, the codebook becomes distinct encoder outputs of this batch."""

        def from_encoder(_):
            z = self.model(params).encode_latents(images).reshape(-1, self.tc.code_dim)
            n, k = z.shape[0], self.tc.codebook_size
            picks = jax.random.permutation(key, n)[:k] if n >= k else jax.random.randint(key, (k,), 0, n)
            jitter = 0.01 * jnp.std(z) * jax.random.normal(jax.random.fold_in(key, 1), (k, z.shape[1]))
            return jax.lax.stop_gradient(z[picks] + jitter)  # jitter separates repeats when n < k

        return jax.lax.cond(step == self.tc.quantize_after, from_encoder, lambda _: params["codebook_kc"], None)

    def eval_step(self, state: dict, batch: dict) -> dict:
        images = to_unit(batch["image"])
        out, q = self.model(state["ema"])(images)
        hist = jnp.zeros((self.tc.codebook_size,), jnp.int32).at[q["codes"].reshape(-1)].add(1)
        return {
            "psnr": psnr(pixels(out), images),
            "l2": jnp.mean((pixels(out) - images) ** 2, axis=(1, 2, 3)),
            "code_hist": hist,
        }

    def summarize_eval(self, outputs: list[dict]) -> dict[str, float]:
        hist = np.sum([o["code_hist"] for o in outputs], axis=0).astype(np.float64)
        p = hist / max(hist.sum(), 1)
        nz = p[p > 0]
        return {
            "psnr": float(np.mean(np.concatenate([o["psnr"] for o in outputs]))),
            "l2": float(np.mean(np.concatenate([o["l2"] for o in outputs]))),
            "codebook_usage": float((hist > 0).mean()),
            "codebook_perplexity": float(np.exp(-(nz * np.log(nz)).sum())),
        }

    def image_grid(self, state: dict, batch: dict) -> np.ndarray:
        images = to_unit(batch["image"][:8])
        recon = pixels(self.model(state["ema"])(images)[0])
        pair = jnp.concatenate([images, recon], axis=2)  # input | reconstruction, side by side
        return np.asarray(jnp.concatenate(list(pair), axis=0) * 255).round().astype(np.uint8)


def frozen_labels(params: dict) -> dict:
    """ "frozen" for the weights that decide the codes (`CODE_WEIGHTS`), "train" for the decoder side."""
    return {k: jax.tree.map(lambda _, k=k: "frozen" if k in CODE_WEIGHTS else "train", v) for k, v in params.items()}


def train_and_evaluate(cfg: Config, workdir: str | os.PathLike, stop_at: int | None = None) -> dict:
    """Train the tokenizer described by cfg in workdir (resuming if it holds a checkpoint)."""
    if cfg.tokenizer.train_decoder_only and not cfg.train.init_from:
        raise ConfigError(
            "tokenizer.train_decoder_only=true keeps the encoder and codebook of the weights it starts from: "
            "name them with train.init_from (an exported tokenizer, e.g. a bundle's tokenizer/)"
        )
    if cfg.tokenizer.train_decoder_only and cfg.tokenizer.quantize_after > 0:
        raise ConfigError(
            f"tokenizer.train_decoder_only=true keeps the codebook, but tokenizer.quantize_after="
            f"{cfg.tokenizer.quantize_after} would make a new one: set tokenizer.quantize_after=0"
        )
    if cfg.tokenizer.image_size != cfg.data.world.resolution and cfg.data.dataset == "shapes":
        raise ValueError(
            f"tokenizer.image_size={cfg.tokenizer.image_size} but the world renders "
            f"{cfg.data.world.resolution}px; set both"
        )
    task = TokenizerTask(cfg)
    return fit(
        cfg,
        workdir,
        task,
        train_batches=lambda: make_batches(cfg, "train"),
        eval_batches=lambda: make_batches(cfg, "validation", shuffle=False, num_epochs=1),
        stop_at=stop_at,
    )
