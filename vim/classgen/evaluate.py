"""`vim eval classgen`: samples of every class (or unconditional ones) scored three ways —
the class read back from each image by the dataset's label scheme (the shapes world's parser), FID of the
samples against the split's real images, and the Inception Score (vim/metrics: clean-fid's FID, the reference IS) —
with the tokenizer's own rFID on the same real images beside them (FID of its reconstructions), the floor
a generator over its codes can reach.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from vim.classgen.data import label_of, split_examples
from vim.classgen.infer import ClassGenerator
from vim.config import SampleConfig


def balanced_labels(num_classes: int, n: int) -> np.ndarray:
    """n class ids cycling through every class (class c at positions c, c + C, …), so any prefix is balanced."""
    return np.arange(n, dtype=np.int32) % max(num_classes, 1)


def real_images(generator: ClassGenerator, split: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The first n labeled images of a split (uint8 [n, H, W, 3]) and their class ids."""
    cfg = generator.cfg
    source, count = split_examples(cfg, split)
    images, labels = [], []
    for i in range(len(source)):
        if len(images) == n:
            break
        example = source[i]
        label = label_of(cfg, example, generator.classes)
        if label is not None:
            images.append(np.asarray(example["image"]))
            labels.append(label)
    if len(images) < n:
        raise ValueError(f"the {split} split has {len(images)} labeled images, fewer than the {n} asked for")
    del count
    return np.stack(images), np.asarray(labels, np.int32)


def reconstructions(generator: ClassGenerator, images: np.ndarray, batch: int = 64) -> np.ndarray:
    """The tokenizer's round trip of uint8 images (encode, decode), uint8."""
    tok = generator.tokenizer
    encode = jax.jit(lambda x: tok.encode(x.astype(jnp.float32) / 255.0))
    out = []
    for start in range(0, len(images), batch):
        codes = encode(jnp.asarray(images[start : start + batch]))
        out.append(generator.images(np.asarray(codes).reshape(len(codes), -1), batch))
    return np.concatenate(out)


def read_classes(reader: Callable[[np.ndarray], int | None], images: np.ndarray) -> np.ndarray:
    """The class id read back from each image (`ClassGenerator.class_reader`), -1 where none is read."""
    return np.asarray([-1 if (r := reader(image)) is None else r for image in images])


def read_back_accuracy(read: np.ndarray, labels: np.ndarray, classes: list[str]) -> dict:
    """Share of images whose class was read back (`read_classes`) as the one drawn, with its standard error,
    the share with no readable class, and the per-class rates."""
    hit = read == labels
    p, n = float(hit.mean()), len(hit)
    per_class = {classes[c]: float(hit[labels == c].mean()) for c in np.unique(labels)}
    return {
        "n": n,
        "class_accuracy": p,
        "class_accuracy_se": math.sqrt(p * (1 - p) / n),
        "unreadable": float(np.mean(read < 0)),
        "per_class": per_class,
    }


def read_distribution(read: np.ndarray, classes: list[str]) -> dict[str, float]:
    """Share of images read back (`read_classes`) as each class, and the share with none ("unreadable")."""
    return {name: float(np.mean(read == c)) for c, name in enumerate(classes)} | {
        "unreadable": float(np.mean(read < 0))
    }


def evaluate(
    generator: ClassGenerator,
    n: int,
    sample: SampleConfig,
    seed: int = 0,
    split: str = "test",
    fid: bool = True,
    unconditional: bool = False,
) -> dict:
    """Draw n images (balanced over classes, or unconditional), read their classes back where the labels
    come from a scheme that can (unconditional images: how often each class is drawn, against as many real
    images), and with `fid` compute FID / IS against n real images of `split` and the tokenizer's rFID on
    those images."""
    cfg = generator.cfg
    conditional = not unconditional and cfg.classgen.num_classes > 0
    reader = generator.class_reader()
    readable = reader is not None
    reads_back = conditional and readable
    if (fid or readable) and (available := len(split_examples(cfg, split)[0])) < n:
        # Before drawing: the real images are compared n for n.
        raise ValueError(f"the {split} split has {available} images, fewer than the {n} asked for (-n)")
    labels = balanced_labels(len(generator.classes), n)
    given = labels if conditional else np.full(n, generator.null_class, np.int32)
    seeds = np.arange(seed, seed + n, dtype=np.uint32)
    images = generator.images(generator.codes(given, seeds, sample))
    result: dict = {
        "n": n,
        "step": generator.step,
        "conditional": conditional,
        "sample": {
            "cfg_scale": sample.cfg_scale,
            "temperature": sample.temperature,
            "top_k": sample.top_k,
            "top_p": sample.top_p,
        },
        "split": split,
    }
    if not (fid or readable):
        return result, images
    # As many real images of the split and their tokenizer round trip, for the reader's ceiling and for FID.
    real, real_labels = real_images(generator, split, n)
    reconstructed = reconstructions(generator, real) if reads_back or fid else None
    if reads_back:
        result["read_back"] = read_back_accuracy(read_classes(reader, images), labels, generator.classes)
        for name, pictures in (("real", real), ("reconstructed", reconstructed)):
            read = read_back_accuracy(read_classes(reader, pictures), real_labels, generator.classes)
            result[f"read_back_{name}"] = {k: v for k, v in read.items() if k != "per_class"}
    elif readable:  # unconditional: how often each class is drawn, against the real images
        drawn, seen = (read_distribution(read_classes(reader, p), generator.classes) for p in (images, real))
        result["read_distribution"] = {
            "samples": drawn,
            "real": seen,
            "total_variation": 0.5 * sum(abs(drawn[k] - seen[k]) for k in drawn),
        }
    if fid:
        result |= fid_scores(images, real, reconstructed)
    return result, images


def fid_scores(images: np.ndarray, real: np.ndarray, reconstructed: np.ndarray) -> dict:
    """FID of `images` and of the tokenizer's reconstructions of `real` against `real`, and IS."""
    from vim.metrics.features import Extractor, Statistics, compute_features
    from vim.metrics.fid import fid_from_statistics, inception_score

    try:
        extractor, note = Extractor(logits=True), None
    except ValueError as e:  # weights with FID features only: FID still, IS named as not computed
        extractor, note = Extractor(), str(e)

    def stats(batch: np.ndarray) -> tuple[Statistics, np.ndarray | None]:
        features = compute_features(batch, logits=note is None, extractor=extractor, progress=False)
        pool = features.pool.astype(np.float64)
        return Statistics(pool.mean(axis=0), np.cov(pool, rowvar=False), len(pool)), features.logits

    sample_stats, sample_logits = stats(images)
    real_stats, real_logits = stats(real)
    recon_stats, _ = stats(reconstructed)
    out = {
        "fid": fid_from_statistics(sample_stats, real_stats),
        "tokenizer_rfid": fid_from_statistics(recon_stats, real_stats),
        "n_real": len(real),
    }
    if note is not None:
        return out | {"inception_score": None, "inception_score_not_computed": note}
    is_mean, is_std = inception_score(sample_logits)
    return out | {
        "inception_score": is_mean,
        "inception_score_std_over_splits": is_std,
        "inception_score_real": inception_score(real_logits)[0],
    }
