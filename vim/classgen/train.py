"""Training the class-conditional Transformer with the shared core: `train_and_evaluate(cfg, workdir, tokenizer)`.

vim train-classgen --preset tiny --tokenizer checkpoints/shapes-tiny/tokenizer --workdir runs/classgen/tiny

The task is Parti's (`PartiTask`: sharding rules, microbatches, sharded update, NaN guard, EMA) with the
caption replaced by a class id: label dropout to the null class for classifier-free guidance, the same
chunked cross-entropy, the same step. Checkpoints, resume and eval are `vim.training.loop.fit`'s.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from vim.classgen.data import encode_split, labeled_batches
from vim.classgen.model import ClassGPT
from vim.classgen.sample import sample_codes
from vim.config import Config, ConfigError
from vim.parti.data import tokenizer_state
from vim.parti.sample import settings_arrays
from vim.parti.train import PartiTask, chunked_token_losses
from vim.training.loop import fit
from vim.training.optim import make_optimizer
from vim.training.state import new_state
from vim.training.weights import TRAINED_ON, describe_tokenizer, read_record, same_codes, write_record


class ClassGenTask(PartiTask):
    grid_name = "class_samples"  # eval grids: decoded true codes | a sample of the same class

    def __init__(self, cfg: Config, tokenizer: Any | None = None):  # Parti's task with ClassGPT in its place
        self.cfg, self.pc = cfg, cfg.classgen
        self.graphdef, self.abstract_params = nnx.split(nnx.eval_shape(lambda: ClassGPT(self.pc, rngs=nnx.Rngs(0))))
        self.tx = make_optimizer(cfg.train)
        self.tokenizer = tokenizer

    def init_state(self, rng: jax.Array) -> dict:
        key = jax.random.wrap_key_data(rng)
        params = nnx.to_pure_dict(nnx.state(ClassGPT(self.pc, rngs=nnx.Rngs(jax.random.fold_in(key, 1)))))
        return new_state(params, self.tx, rng)

    @property
    def text_key(self) -> str:  # the batch field the model conditions on
        return "label"

    def text_ids(self, batch: dict) -> jax.Array:
        if "label" not in batch:
            raise ConfigError("classgen batches need a 'label' field (class ids), made by vim.classgen.data")
        return batch["label"]

    def batch_shapes(self, batch_size: int) -> dict[str, jax.ShapeDtypeStruct]:
        """A train batch as abstract arrays (for `vim plan`): codes [B, N] and class ids [B]."""
        return {
            "codes": jax.ShapeDtypeStruct((batch_size, self.pc.image_grid**2), jnp.int32),
            "label": jax.ShapeDtypeStruct((batch_size,), jnp.int32),
        }

    def drop_captions(self, labels_b: jax.Array, key: jax.Array) -> jax.Array:
        """Each label replaced by the null class with probability classgen.class_dropout (for CFG)."""
        drop_b = jax.random.bernoulli(key, self.pc.class_dropout, labels_b.shape)
        return jnp.where(drop_b, self.pc.num_classes, labels_b)

    def conditions(self, labels_b: jax.Array) -> jax.Array:
        """What the model is given: the labels, or for an unconditional model (num_classes = 0) the null class."""
        return jnp.zeros_like(labels_b) if self.pc.num_classes == 0 else labels_b

    def loss(self, params: dict, batch: dict, key: jax.Array | None) -> tuple[jax.Array, dict]:
        """Mean cross-entropy per image token."""
        labels_b, codes_bn = self.conditions(self.text_ids(batch)), self.codes(batch)
        if key is not None:
            labels_b = self.drop_captions(labels_b, key)
        model = self.model(params)
        nll, correct = chunked_token_losses(model, model.features(labels_b, codes_bn), codes_bn)
        return jnp.mean(nll), {"accuracy": jnp.mean(correct)}

    def image_grid(self, state: dict, batch: dict) -> np.ndarray | None:
        """Rows of (tokenizer decode of the true codes | a sample of the same class)."""
        if self.tokenizer is None:
            return None
        codes = self.codes(batch)
        n = min(8, codes.shape[0])
        labels = self.conditions(batch["label"][:n])
        seeds = jnp.arange(n, dtype=jnp.uint32) + jnp.uint32(state["step"])
        settings = settings_arrays(self.cfg.sample)
        samples = sample_codes(self.model(state["ema"]), labels, seeds, settings, guided=self.cfg.sample.guided)
        g = self.pc.image_grid
        pair = jnp.concatenate(
            [self.tokenizer.decode(codes[:n].reshape(n, g, g)), self.tokenizer.decode(samples.reshape(n, g, g))],
            axis=2,
        )
        return np.asarray(jnp.concatenate(list(pair), axis=0) * 255).round().astype(np.uint8)


def check_against_tokenizer(cfg: Config, tok_cfg: Config) -> None:
    """The model's vocabulary and grid must match the tokenizer it trains on, and the images its size."""
    expected = {
        "classgen.image_vocab_size": tok_cfg.tokenizer.codebook_size,
        "classgen.image_grid": tok_cfg.tokenizer.image_size // tok_cfg.tokenizer.patch_size,
        "data.world.resolution": tok_cfg.tokenizer.image_size,
    }
    actual = {
        "classgen.image_vocab_size": cfg.classgen.image_vocab_size,
        "classgen.image_grid": cfg.classgen.image_grid,
        "data.world.resolution": cfg.data.world.resolution,
    }
    wrong = [f"{k}={actual[k]} (the tokenizer needs {v}; --set {k}={v})" for k, v in expected.items() if actual[k] != v]
    if wrong:
        raise ConfigError("classgen config does not match the tokenizer: " + "; ".join(wrong))


def encoded_splits(cfg: Config, workdir: Path, tokenizer: str | os.PathLike) -> tuple[Any, Config, dict, dict]:
    """The tokenizer (model, config, state record) and its train / validation code files for the run."""
    tok_model, tok_cfg, tok_state = tokenizer_state(tokenizer)
    check_against_tokenizer(cfg, tok_cfg)
    paths = {s: encode_split(cfg, tok_model, tok_state["fingerprint"], workdir, s) for s in ("train", "validation")}
    return tok_model, tok_cfg, tok_state, paths


def record_tokenizer(workdir: Path, tok_state: dict) -> None:
    """Record the tokenizer state a run trains on (for loading and export); a run resumed on another state
    is refused, since its codes would mean other images."""
    file = workdir / TRAINED_ON
    before = read_record(file)
    if before is not None:
        if not same_codes(before["tokenizer"], tok_state):
            raise ValueError(
                f"{workdir} was trained on tokenizer {describe_tokenizer(before['tokenizer'])}, not "
                f"{describe_tokenizer(tok_state)}: resume it with that tokenizer state, or start a new --workdir"
            )
        return
    if jax.process_index() == 0:
        workdir.mkdir(parents=True, exist_ok=True)
        write_record(file, {"tokenizer": tok_state})


def train_and_evaluate(
    cfg: Config, workdir: str | os.PathLike, tokenizer: str | os.PathLike, stop_at: int | None = None
) -> dict:
    """Train ClassGPT on the labeled codes of `tokenizer` (a tokenizer workdir or bundle part), resuming if
    possible. The codes are made once into `<workdir>/codes`; the tokenizer state is recorded in the run."""
    if not str(workdir).strip():
        raise ConfigError("--workdir is empty: give the run's folder")
    workdir = Path(workdir)
    if cfg.classgen.num_classes < 0:
        raise ConfigError(f"classgen.num_classes={cfg.classgen.num_classes} must be ≥ 0 (0 = unconditional)")
    tok_model, _, tok_state, paths = encoded_splits(cfg, workdir, tokenizer)
    record_tokenizer(workdir, tok_state)
    task = ClassGenTask(cfg, tokenizer=tok_model)
    return fit(
        cfg,
        workdir,
        task,
        train_batches=lambda: labeled_batches(cfg, paths["train"]),
        eval_batches=lambda: labeled_batches(cfg, paths["validation"], shuffle=False, num_epochs=1),
        shardings_fn=task.shardings,
        stop_at=stop_at,
    )
