"""Labeled code datasets for the class-conditional Transformer: every example's image codes (the frozen
tokenizer's) and class id, encoded once into `<workdir>/codes/<split>.npz`, read as resumable batches.

Labels come from the dataset itself (an example's "label" field: tfds catalog datasets such as
imagenet2012) or from a scheme a dataset registers as an entry point of the group "vim.class_labels"
(pyproject.toml), so this module names no dataset: the shapes world registers "shapes-color-shape". A
scheme is an object with `names(cfg) -> list[str]`, `label(example, names) -> int | None` (None: the
example has no class and is skipped) and `read(image_hwc_uint8, names) -> int | None` (a class read back
from a drawn image, for `vim eval classgen`; None when it cannot be read).
"""

from __future__ import annotations

import functools
import json
import logging
import os
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import grain
import jax
import jax.numpy as jnp
import numpy as np

from vim.config import Config, ConfigError
from vim.data.pipeline import NoLabelsError, batch_iterator, label_names, open_split
from vim.files import write_text

log = logging.getLogger(__name__)
GROUP = "vim.class_labels"
CLASSES_FILE = "classes.json"


def registered() -> list[str]:
    return sorted(ep.name for ep in entry_points(group=GROUP))


@functools.cache
def scheme(name: str) -> Any:
    """The label scheme registered as `name`; ConfigError naming the registered ones if there is none."""
    found = {ep.name: ep for ep in entry_points(group=GROUP)}
    if name not in found:
        raise ConfigError(
            f"classgen.labels={name!r} is not a registered label scheme; registered: {registered()} "
            f"(entry points of the group {GROUP!r}; reinstall vim with `pip install -e .` if the list is empty), "
            "or '' for the dataset's own label feature"
        )
    return found[name].load()


def class_names(cfg: Config) -> list[str]:
    """The class names of a config: the scheme's, or the dataset's own label names (tfds features)."""
    names = list(scheme(cfg.classgen.labels).names(cfg)) if cfg.classgen.labels else dataset_label_names(cfg)
    if cfg.classgen.num_classes not in (0, len(names)):  # 0: an unconditional model keeps labels for probes
        raise ConfigError(
            f"classgen.num_classes={cfg.classgen.num_classes} but the labels have {len(names)} classes "
            f"(--set classgen.num_classes={len(names)})"
        )
    return names


def dataset_label_names(cfg: Config) -> list[str]:
    """A labeled dataset's class names (its tfds "label" feature: `vim.data.pipeline.label_names`)."""
    try:
        return label_names(cfg.data)
    except NoLabelsError as e:
        raise ConfigError(f"{e}; or give a registered label scheme (classgen.labels, one of {registered()})") from None


def label_of(cfg: Config, example: dict, names: list[str]) -> int | None:
    if cfg.classgen.labels:
        return scheme(cfg.classgen.labels).label(example, names)
    if "label" not in example:
        raise ConfigError(f"examples of data.dataset={cfg.data.dataset!r} have no 'label' field")
    return int(example["label"])


def resolve_class(name_or_id: str, names: list[str]) -> int:
    """A class given by name or id → its id; an unknown one is an error listing some valid names."""
    text = name_or_id.strip()
    if text.isdigit() and int(text) < len(names):
        return int(text)
    lookup = {n.lower(): i for i, n in enumerate(names)}
    if text.lower() in lookup:
        return lookup[text.lower()]
    shown = ", ".join(repr(n) for n in names[:8]) + (f", … ({len(names)} in all)" if len(names) > 8 else "")
    raise ValueError(f"unknown class {name_or_id!r}: give a name or an id 0…{len(names) - 1}, e.g. {shown}")


def split_examples(cfg: Config, split: str) -> tuple[Any, int]:
    """A split's source and how many of its examples a run uses (classgen.max_examples, 0 = all)."""
    source = open_split(cfg.data, split)
    limit = cfg.classgen.max_examples
    return source, len(source) if limit <= 0 else min(limit, len(source))


def encode_split(cfg: Config, tokenizer: Any, fingerprint: str, workdir: Path, split: str, batch: int = 256) -> Path:
    """`<workdir>/codes/<split>.npz` with codes int16 [M, N] and labels int32 [M] of the split's labeled
    examples, made once per tokenizer state (a cache of another state is made again)."""
    path = Path(workdir) / "codes" / f"{split}.npz"
    meta = {"tokenizer": fingerprint, "labels": cfg.classgen.labels, "dataset": cfg.data.dataset}
    meta_path = path.with_suffix(".json")
    names = class_names(cfg)
    if path.is_file() and meta_path.is_file() and json.loads(meta_path.read_text()) == meta:
        write_text(Path(workdir) / CLASSES_FILE, json.dumps(names) + "\n")  # codes copied from another run
        return path
    source, count = split_examples(cfg, split)
    encode = jax.jit(lambda images: tokenizer.encode(images.astype(jnp.float32) / 255.0))
    codes, labels, pending = [], [], []

    def flush() -> None:
        if pending:
            images = np.stack([image for image, _ in pending])
            codes.append(np.asarray(encode(images)).reshape(len(pending), -1).astype(np.int16))
            labels.extend(label for _, label in pending)
            pending.clear()

    for i in range(count):
        example = source[i]
        label = label_of(cfg, example, names)
        if label is not None:
            pending.append((checked_image(example["image"], cfg), label))
        if len(pending) == batch:
            flush()
        if (i + 1) % 2000 == 0:
            log.info("encoded %d of %d %s examples", i + 1, count, split)
    flush()
    if not codes:
        raise ValueError(f"no labeled examples in the {split} split of {cfg.data.dataset!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez(tmp, codes=np.concatenate(codes), labels=np.asarray(labels, np.int32))
    os.replace(tmp, path)
    write_text(meta_path, json.dumps(meta) + "\n")
    write_text(Path(workdir) / CLASSES_FILE, json.dumps(names) + "\n")
    return path


def checked_image(image: Any, cfg: Config) -> np.ndarray:
    """An example's image, refused unless it has the side the tokenizer reads (data.world.resolution): an
    imported dataset keeps the side it was imported at."""
    image = np.asarray(image)
    side = cfg.data.world.resolution
    if image.shape != (side, side, 3):
        raise ValueError(
            f"data.dataset={cfg.data.dataset!r} holds images of shape {image.shape}, but the tokenizer reads "
            f"{side}×{side}×3: import the images at --resolution {side}, or use a tokenizer of their size"
        )
    return image


class LabeledCodes:
    """A random-access source of {codes int32 [N], label int32} from an `encode_split` file."""

    def __init__(self, path: Path):
        with np.load(path) as f:
            self.codes, self.labels = f["codes"], f["labels"]
        self.path = Path(path)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> dict:
        return {"codes": self.codes[index].astype(np.int32), "label": np.int32(self.labels[index])}

    def __repr__(self) -> str:  # grain checks a restored iterator against it: settings, no object address
        return f"LabeledCodes({self.path.name!r}, {len(self)})"


def labeled_batches(cfg: Config, path: Path, **kwargs: Any) -> grain.DataLoaderIterator:
    """Seeded, resumable batches {codes int32 [b, N], label int32 [b]} of an encoded split."""
    return batch_iterator(LabeledCodes(path), [], cfg, **kwargs)
