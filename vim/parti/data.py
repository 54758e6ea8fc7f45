"""Code datasets for the generator: every example's image codes and caption token ids, computed once
by the tokenizer (`vim encode-dataset`) so generator training never runs the tokenizer.

Written as tfds array_record under `<tokenizer workdir>/encoded/` with features
  codes int16 [g, g], text_ids int32 [L], caption text, scene text, heldout bool.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import grain
import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from vim.config import Config
from vim.data.locations import encoded_dir
from vim.data.pipeline import batch_iterator, open_split, text_tokenizer_path
from vim.data.text import TextTokenizer

log = logging.getLogger(__name__)
SPLITS = ("train", "validation", "test")


def encode_dataset(tokenizer_workdir: str | os.PathLike, batch_size: int = 128) -> Path:
    """Encode every split of the tokenizer's dataset; returns the encoded dataset's folder."""
    from vim.parti.codes_builder import EncodedCaptions  # tfds: only the writer and readers import it
    from vim.tokenizer.train import load_tokenizer

    model, cfg = load_tokenizer(tokenizer_workdir)
    out = encoded_dir(tokenizer_workdir)
    if (out / "dataset_info.json").is_file():
        log.info("codes already cached at %s", out)
        return out
    text = TextTokenizer(text_tokenizer_path(cfg))
    encode = nnx.jit(lambda m, x: m.encode(x))
    grid = cfg.tokenizer.image_size // cfg.tokenizer.patch_size

    def examples(split: str) -> Iterator[tuple[int, dict]]:
        source = open_split(cfg.data, split)
        for start in range(0, len(source), batch_size):
            batch = [source[i] for i in range(start, min(start + batch_size, len(source)))]
            images = jnp.asarray(np.stack([e["image"] for e in batch]), jnp.float32) / 255.0
            codes = np.asarray(jax.device_get(encode(model, images)), np.int16)
            captions = [e["caption"].decode() for e in batch]
            ids = text.encode(captions, cfg.text.max_length).ids
            for j, e in enumerate(batch):
                yield (
                    start + j,
                    {
                        "codes": codes[j],
                        "text_ids": ids[j],
                        "caption": captions[j],
                        "scene": e["scene"],
                        "heldout": bool(e["heldout"]),
                    },
                )

    available = [s for s in SPLITS if _has_split(cfg, s)]
    builder = EncodedCaptions(
        grid=grid,
        text_length=cfg.text.max_length,
        splits={s: (lambda s=s: examples(s)) for s in available},
        data_dir=str(Path(tokenizer_workdir) / "encoded"),
    )
    builder.download_and_prepare()
    if text.num_truncated:
        log.warning(
            "%d captions were longer than text.max_length=%d and were truncated",
            text.num_truncated,
            cfg.text.max_length,
        )
    return Path(builder.data_path)


def _has_split(cfg: Config, split: str) -> bool:
    try:
        open_split(cfg.data, split)
    except ValueError:
        return False
    return True


@dataclasses.dataclass
class ToModelInputs(grain.transforms.Map):
    pad_id: int = 0

    def map(self, example: dict) -> dict:
        ids = example["text_ids"].astype(np.int32)
        return {
            "codes": example["codes"].astype(np.int32).reshape(-1),
            "text_ids": ids,
            "text_mask": ids != self.pad_id,
            "heldout": np.bool_(example["heldout"]),
        }


def code_batches(cfg: Config, tokenizer_workdir: str | os.PathLike, split: str, **kwargs) -> grain.DataLoaderIterator:
    """Batches of {codes int32 [b, N], text_ids int32 [b, L], text_mask bool [b, L], heldout}."""
    path = encoded_dir(tokenizer_workdir)
    if not (path / "dataset_info.json").is_file():
        raise FileNotFoundError(f"no cached codes at {path}: run `vim encode-dataset --tokenizer {tokenizer_workdir}`")
    import tensorflow_datasets as tfds  # heavy; only readers need it

    source = tfds.builder_from_directory(str(path)).as_data_source(split)
    return batch_iterator(source, [ToModelInputs()], cfg, **kwargs)
