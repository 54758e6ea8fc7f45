"""Training the contrastive reranking scorer with the shared core: `train_and_evaluate(cfg, workdir)`.

vim train-scorer --preset tiny --data-dir data --workdir runs/scorer

Batches are the regular (image, caption) batches plus one *hard negative* caption per example: the
scene's caption changed in one way (colors or shapes of the two groups swapped, relation reversed, one
attribute changed; vim/world/negatives.py). In-batch captions almost never differ from an image's own
caption by such a near miss, so without them the scorer never has to learn which color belongs to which
shape. The loss is InfoNCE whose image→text side ranks the own caption against the batch's B own
captions and B hard negatives (`info_nce_with_negatives`). Examples without a scene (imported folders,
tfds) get no hard negative. With `scorer.image_negatives` each example also brings a hard negative image
(its scene with one group recolored or reshaped in place; `perturb_scene`), and the text→image side ranks
each caption's own image against the batch's B images and B negative images: reranking asks exactly that
(one caption, candidates that differ in one attribute), and in-batch images are almost never near misses.

Evaluation reports retrieval accuracy (the share of validation images whose own caption scores highest
among the batch's B captions, and among groups of 8; chance 1/B and 1/8), `hard_negative_acc` (own
caption above its hard negative) and `color_swap_acc` (own caption above the same caption with the two
groups' colors swapped), the last two over the examples that have such a negative, and
`image_negative_acc` (own caption scores its image above the image's hard negative).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import grain
import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from vim.config import Config
from vim.data.pipeline import TokenizeCaptions, batch_iterator, open_split, text_tokenizer_path
from vim.metrics.pixels import to_unit
from vim.rerank.model import DualEncoder
from vim.training.loop import fit
from vim.training.optim import guarded_update, make_optimizer
from vim.training.state import advance, new_state
from vim.world.negatives import negative_captions, negative_image

GROUP = 8  # the "1 of 8" retrieval: an image against its own caption and 7 others


def retrieval_correct(sims_bb: jax.Array, text_ids_bt: jax.Array) -> jax.Array:
    """[B] bool: image i's best-scoring caption is its own.

    A caption whose ids equal image i's own caption counts as its own, so two images that happen to
    share a caption (a small grammar repeats itself) are not marked wrong for a tie nobody could break.
    """
    best_b = jnp.argmax(sims_bb, axis=1)
    return jnp.all(text_ids_bt[best_b] == text_ids_bt, axis=1)


def grouped_correct(sims_bb: jax.Array, text_ids_bt: jax.Array, group: int = GROUP) -> jax.Array:
    """[B // group * group] bool: retrieval within consecutive groups of `group` images and their captions."""
    n = sims_bb.shape[0] // group
    blocks = []
    for g in range(n):
        rows = slice(g * group, (g + 1) * group)
        blocks.append(retrieval_correct(sims_bb[rows, rows], text_ids_bt[rows]))
    return jnp.concatenate(blocks) if blocks else jnp.zeros((0,), bool)


def info_nce_with_negatives(
    sims_mn: jax.Array,
    has_negative_b: jax.Array,
    logit_scale: jax.Array,
    has_negative_image_b: jax.Array | None = None,
) -> jax.Array:
    """Symmetric InfoNCE with one hard negative caption (and optionally one hard negative image) per image.

    `sims_mn` [M, 2B]: rows are the B images (row i is image i), then, when `has_negative_image_b` is
    given (M = 2B), the B negative images (row B + j is image j's); columns are the B own captions
    (caption i is image i's), then the B hard negative captions (column B + j is image j's). Image→text
    is a cross-entropy of each image over all 2B captions; text→image of each own caption over all M
    images, as a negative caption describes no image in the batch. A negative whose flag is False (a
    stand-in copy) is masked out. With no negatives at all this is `info_nce` of the first B columns.
    """
    b = sims_mn.shape[1] // 2
    keep_n = jnp.concatenate([jnp.ones((b,), bool), has_negative_b.astype(bool)])
    keep_m = jnp.ones((b,), bool)
    if has_negative_image_b is not None:
        keep_m = jnp.concatenate([keep_m, has_negative_image_b.astype(bool)])
    if sims_mn.shape[0] != keep_m.shape[0]:
        raise ValueError(f"similarities have {sims_mn.shape[0]} image rows; expected {keep_m.shape[0]}")
    logits_mn = jnp.where(keep_n[None, :] & keep_m[:, None], sims_mn * logit_scale, -jnp.inf)
    labels = jnp.arange(b)
    log_p_i2t = jax.nn.log_softmax(logits_mn[:b], axis=1)[labels, labels]
    log_p_t2i = jax.nn.log_softmax(logits_mn[:, :b], axis=0)[labels, labels]
    return -0.5 * (jnp.mean(log_p_i2t) + jnp.mean(log_p_t2i))


@dataclasses.dataclass
class HardNegatives(grain.transforms.RandomMap):
    """TokenizeCaptions plus the tokenized hard negative: `negative_ids`, `negative_mask`, `has_negative`;
    with `color_swap` (evaluation) also `swap_ids`, `swap_mask`, `has_swap`; with `image_negatives` also
    `negative_image` (uint8, like `image`) and `has_negative_image`.

    It wraps TokenizeCaptions rather than following it because that drops the `scene` a negative is
    made from. grain seeds `rng` per record from the sampler seed, so the negatives are reproducible
    (and differ between epochs). A missing negative is a copy of the own caption with its flag False.
    """

    tokenize: TokenizeCaptions
    heldout_pairs: tuple[str, ...]
    max_objects: int
    color_swap: bool = False
    image_negatives: bool = False

    def random_map(self, example: dict, rng: np.random.Generator) -> dict:
        out = self.tokenize.map(example)
        negative, swapped = negative_captions(example, rng, self.heldout_pairs, self.max_objects, self.color_swap)
        named = [("negative", negative), ("swap", swapped)] if self.color_swap else [("negative", negative)]
        for name, caption in named:
            # The same tokenization path as the own caption: same length, padding and truncation.
            enc = self.tokenize.map({"image": None, "caption": caption or out["caption"], "heldout": False})
            out[f"{name}_ids"], out[f"{name}_mask"] = enc["text_ids"], enc["text_mask"]
            out[f"has_{name}"] = np.bool_(caption is not None)
        if self.image_negatives:  # drawn after the captions', so those stay what they are without it
            image = negative_image(example, rng, self.heldout_pairs, self.max_objects)
            out["negative_image"] = np.asarray(example["image"]) if image is None else image
            out["has_negative_image"] = np.bool_(image is not None)
        return out


def scorer_batches(
    cfg: Config, split: str, *, color_swap: bool = False, image_negatives: bool = False, **options: Any
) -> grain.DataLoaderIterator:
    """`make_batches` plus the hard negatives of `HardNegatives` (color swaps with `color_swap`, negative
    images with `image_negatives`)."""
    source = open_split(cfg.data, split)
    tokenizer_path = text_tokenizer_path(cfg)
    if not tokenizer_path.is_file():
        raise FileNotFoundError(f"no text tokenizer at {tokenizer_path}: run `vim data text-tokenizer` first")
    op = HardNegatives(
        TokenizeCaptions(str(tokenizer_path), cfg.text.max_length),
        tuple(cfg.data.world.heldout_pairs),
        cfg.data.world.max_objects,
        color_swap,
        image_negatives,
    )
    return batch_iterator(source, [op], cfg, **options)


def _beats(own_b: jax.Array, other_b: jax.Array, has_b: jax.Array) -> jax.Array:
    """Share of examples with a negative whose own caption scores strictly above it (0 when none has one)."""
    return jnp.sum((own_b > other_b) & has_b) / jnp.maximum(jnp.sum(has_b), 1)


class ScorerTask:
    grid_name = "retrieval"

    def __init__(self, cfg: Config):
        self.cfg, self.scfg = cfg, cfg.scorer
        scfg = self.scfg
        self.graphdef, _ = nnx.split(nnx.eval_shape(lambda: DualEncoder(scfg, rngs=nnx.Rngs(0))))
        self.tx = make_optimizer(cfg.train)

    def model(self, params: dict) -> DualEncoder:
        return nnx.merge(self.graphdef, params)

    def init_state(self, rng: jax.Array) -> dict:
        key = jax.random.wrap_key_data(rng)
        params = nnx.to_pure_dict(nnx.state(DualEncoder(self.scfg, rngs=nnx.Rngs(jax.random.fold_in(key, 1)))))
        return new_state(params, self.tx, rng)

    def train_step(self, state: dict, batch: dict) -> tuple[dict, dict]:
        images = to_unit(batch["image"])
        b = images.shape[0]
        ids_nt = jnp.concatenate([batch["text_ids"], batch["negative_ids"]])  # own captions, then negatives
        mask_nt = jnp.concatenate([batch["text_mask"], batch["negative_mask"]])

        has_negative_image = batch.get("has_negative_image")  # only with scorer.image_negatives
        if has_negative_image is not None:
            images = jnp.concatenate([images, to_unit(batch["negative_image"])])  # own images, then negatives

        def loss_fn(params):
            model = self.model(params)
            sims_mn = model.similarities(images, ids_nt, mask_nt)
            loss = info_nce_with_negatives(sims_mn, batch["has_negative"], model.logit_scale(), has_negative_image)
            return loss, (sims_mn, model.logit_scale())

        (loss, (sims_mn, scale)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state["params"])
        sims = sims_mn[:b, :b]
        own_b, negative_b = jnp.diagonal(sims), jnp.diagonal(sims_mn[:b, b:])
        params, opt_state, ok = guarded_update(self.tx, state["params"], state["opt_state"], grads, loss)
        new = advance(state, params, opt_state, ok, self.cfg.train.ema_decay)
        metrics = {
            "loss": loss,
            "logit_scale": scale,
            "batch_retrieval": jnp.mean(retrieval_correct(sims, batch["text_ids"])),
            "batch_hard_negative": _beats(own_b, negative_b, batch["has_negative"]),
        }
        if has_negative_image is not None:
            metrics["batch_image_negative"] = _beats(own_b, jnp.diagonal(sims_mn[b:, :b]), has_negative_image)
        return new, metrics

    def eval_step(self, state: dict, batch: dict) -> dict:
        model = self.model(state["ema"])
        b = batch["image"].shape[0]
        image_be = model.embed_images(to_unit(batch["image"]))
        # Own captions, hard negatives and color swaps through the text tower at once: [3B, E].
        text_ne = model.embed_text(
            jnp.concatenate([batch["text_ids"], batch["negative_ids"], batch["swap_ids"]]),
            jnp.concatenate([batch["text_mask"], batch["negative_mask"], batch["swap_mask"]]),
        )
        sims_bn = image_be @ text_ne[: 2 * b].T  # [B, 2B]: own captions, then hard negatives
        sims = sims_bn[:, :b]
        own_b = jnp.diagonal(sims)
        negative_image_b = jnp.sum(model.embed_images(to_unit(batch["negative_image"])) * text_ne[:b], axis=-1)
        return {
            "correct_batch": retrieval_correct(sims, batch["text_ids"]),
            "correct_8": grouped_correct(sims, batch["text_ids"]),
            # The training objective, so eval and train losses compare.
            "loss": info_nce_with_negatives(sims_bn, batch["has_negative"], model.logit_scale()),
            "batch": jnp.asarray(b),
            "hard_negative_correct": own_b > jnp.diagonal(sims_bn[:, b:]),
            "has_negative": batch["has_negative"],
            "color_swap_correct": own_b > jnp.sum(image_be * text_ne[2 * b :], axis=-1),
            "has_swap": batch["has_swap"],
            "image_negative_correct": own_b > negative_image_b,
            "has_negative_image": batch["has_negative_image"],
        }

    def summarize_eval(self, outputs: list[dict]) -> dict[str, float]:
        summary = {
            "retrieval_acc_batch": float(np.mean(np.concatenate([o["correct_batch"] for o in outputs]))),
            "retrieval_acc_1of8": float(np.mean(np.concatenate([o["correct_8"] for o in outputs]))),
            "chance_batch": float(np.mean([1.0 / o["batch"] for o in outputs])),
            "loss": float(np.mean([o["loss"] for o in outputs])),
        }
        # Over the examples that have such a negative; absent when none has (a dataset without scenes).
        for name, correct, has in (
            ("hard_negative_acc", "hard_negative_correct", "has_negative"),
            ("color_swap_acc", "color_swap_correct", "has_swap"),
            ("image_negative_acc", "image_negative_correct", "has_negative_image"),
        ):
            has_n = np.concatenate([o[has] for o in outputs]).astype(bool)
            if has_n.any():
                summary[name] = float(np.mean(np.concatenate([o[correct] for o in outputs])[has_n]))
        return summary

    def image_grid(self, state: dict, batch: dict) -> np.ndarray | None:
        return None  # retrieval has no natural picture; the accuracies say it


def resolve_scorer_config(cfg: Config) -> Config:
    """The config with the scorer's image and text sizes taken from the data and text settings (one source)."""
    scorer = dataclasses.replace(
        cfg.scorer,
        text_vocab_size=cfg.text.vocab_size,
        text_length=cfg.text.max_length,
        image_size=cfg.data.world.resolution,
    )
    return dataclasses.replace(cfg, scorer=scorer)


def train_and_evaluate(cfg: Config, workdir: str | os.PathLike, stop_at: int | None = None) -> dict:
    """Train the scorer in workdir (resuming if it holds a checkpoint); config.json's `scorer` section
    records its architecture."""
    cfg = resolve_scorer_config(cfg)
    return fit(
        cfg,
        workdir,
        ScorerTask(cfg),
        train_batches=lambda: scorer_batches(cfg, "train", image_negatives=cfg.scorer.image_negatives),
        eval_batches=lambda: scorer_batches(
            cfg, "validation", color_swap=True, image_negatives=True, shuffle=False, num_epochs=1
        ),
        stop_at=stop_at,
    )
