"""Where examples come from (world, imported folder, tfds catalog) and the input pipeline that batches
them: deterministic seeded shuffling per epoch, per-process sharding, and an iterator state that can be
saved and restored so a resumed run sees exactly the batches it would have seen.
"""

from __future__ import annotations

import dataclasses
import functools
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import grain
import numpy as np
from PIL import Image

from vim.config import Config, DataConfig
from vim.data.locations import imported_dir, world_dir
from vim.data.text import MODEL_FILE, TextTokenizer
from vim.data.text_views import encode_views

# Datasets made on demand instead of read from disk (any size, never repeat) register a source factory
# `(DataConfig, split) -> random-access source` as an entry point of this group (pyproject.toml); the
# shapes world registers "shapes-stream".
STREAMS_GROUP = "vim.streams"


class DatasetNotReadyError(FileNotFoundError):
    """The configured dataset is not on disk; the message says how to make it."""


class NoLabelsError(ValueError):
    """The configured dataset has no class label feature; the message names what it has."""


@functools.cache
def stream_factories() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=STREAMS_GROUP)}


def streamed(data: DataConfig) -> bool:
    """Is data.dataset a registered stream (examples made on demand, no folder on disk)?"""
    return data.dataset in stream_factories()


def dataset_dir(data: DataConfig) -> Path:
    """Folder of a vim dataset (world or imported); raises DatasetNotReadyError if it is absent."""
    if data.dataset == "shapes":
        path = world_dir(data.world, data.data_dir)
        hint = f"build it with `vim data build shapes` (same --preset/--set) into {data.data_dir}"
    elif data.dataset.startswith("imported/"):
        path = imported_dir(data.dataset.removeprefix("imported/"), data.data_dir)
        hint = "create it with `vim data import DIR --name NAME`"
    else:
        raise DatasetNotReadyError(f"{data.dataset!r} is a tfds catalog dataset, not a vim dataset folder")
    if not (path / "dataset_info.json").is_file():
        raise DatasetNotReadyError(f"dataset {data.dataset!r} not found at {path}: {hint}")
    return path


class _CatalogSource:
    """A prepared tfds catalog dataset (e.g. coco_captions) seen through vim's schema."""

    def __init__(self, source: Any, resolution: int, name: str):
        self.source, self.resolution, self.name = source, resolution, name

    def __len__(self) -> int:
        return len(self.source)

    def __repr__(self) -> str:  # grain checks a restored iterator against repr(data_source): no object address
        return f"_CatalogSource({self.name!r}, {len(self)} examples, resolution={self.resolution})"

    @property
    def dataset_info(self) -> Any:  # tfds's, as the imported datasets' sources have it
        return self.source.dataset_info

    def __getitem__(self, index: int) -> dict:
        ex = self.source[index]
        caption = ex.get("caption", ex.get("text"))
        if caption is None and "captions" in ex:
            caption = ex["captions"]["text"][0]
        image = Image.fromarray(np.asarray(ex["image"])).convert("RGB")
        side = min(image.size)
        left, top = (image.width - side) // 2, (image.height - side) // 2
        image = image.crop((left, top, left + side, top + side)).resize(
            (self.resolution, self.resolution), Image.Resampling.BICUBIC
        )
        example = {"image": np.asarray(image), "caption": caption, "scene": b"", "heldout": False}
        return example if "label" not in ex else {**example, "label": ex["label"]}  # e.g. imagenet2012's class


def open_split(data: DataConfig, split: str) -> Any:
    """A random-access source of examples ({image, caption, scene, heldout}) for one split."""
    import tensorflow_datasets as tfds  # heavy; only readers need it

    if streamed(data):
        return stream_factories()[data.dataset].load()(data, split)
    if data.dataset == "shapes" or data.dataset.startswith("imported/"):
        builder = tfds.builder_from_directory(str(dataset_dir(data)))
        if split not in builder.info.splits:
            raise ValueError(f"dataset {data.dataset!r} has no split {split!r}; it has {sorted(builder.info.splits)}")
        return builder.as_data_source(split)
    from tensorflow_datasets.core import read_only_builder

    try:  # from the prepared files, not the catalog's code: constructing e.g. coco_captions imports TensorFlow
        builder = read_only_builder.builder_from_files(data.dataset, data_dir=data.data_dir)
    except ValueError as e:  # tfds's DatasetNotFoundError, for unknown names and unprepared datasets alike
        raise DatasetNotReadyError(
            f"cannot open tfds dataset {data.dataset!r}: it is not prepared under {data.data_dir}. vim never "
            f"downloads at train time: prepare it with `tfds build {data.dataset} --file_format=array_record` "
            "where its source is reachable (and TensorFlow, if its builder code needs it), then copy it there"
        ) from e
    splits = builder.info.splits
    if split == "validation" and split not in splits and "val" in splits:  # coco_captions names it "val"
        split = "val"
    if split not in splits:
        raise ValueError(f"dataset {data.dataset!r} has no split {split!r}; it has {sorted(splits)}")
    try:
        source = builder.as_data_source(split)
    except NotImplementedError as e:  # tfrecord files: no random access
        raise DatasetNotReadyError(
            f"tfds dataset {data.dataset!r} under {data.data_dir} is stored as {builder.info.file_format.value}, "
            "which has no random access; vim reads array_record: prepare it again with "
            f"`tfds build {data.dataset} --file_format=array_record`"
        ) from e
    return _CatalogSource(source, data.world.resolution, f"{builder.info.full_name}:{split}")


def label_names(data: DataConfig) -> list[str]:
    """The class names of a dataset's `label` feature (a tfds ClassLabel: a catalog dataset's such as
    imagenet2012, or an import of class folders); NoLabelsError naming the dataset's features if it has none."""
    if streamed(data):
        raise NoLabelsError(f"data.dataset={data.dataset!r} is made on demand and has no 'label' feature")
    info = getattr(open_split(data, "train"), "dataset_info", None)
    features = {} if info is None else info.features
    if "label" not in features:
        hint = (
            " (import class folders with `vim data import DIR --class-folders`)"
            if data.dataset.startswith("imported/")
            else ""
        )
        raise NoLabelsError(
            f"data.dataset={data.dataset!r} has no 'label' feature; its features are {sorted(features.keys())}{hint}"
        )
    label = features["label"]
    if not hasattr(label, "names"):
        raise NoLabelsError(
            f"data.dataset={data.dataset!r}: its 'label' feature is a {type(label).__name__}, not a tfds ClassLabel "
            "naming the classes"
        )
    return list(label.names)  # a ClassLabel built with a class count alone names them "0", "1", ...


def text_tokenizer_path(cfg: Config) -> Path:
    if cfg.text.model_path:
        return Path(cfg.text.model_path)
    if streamed(cfg.data):
        raise ValueError(
            f"data.dataset={cfg.data.dataset} has no folder holding a text tokenizer: set text.model_path "
            "(e.g. a bundle's text_tokenizer.model, or the one `vim data text-tokenizer` wrote)"
        )
    if cfg.data.dataset == "shapes" or cfg.data.dataset.startswith("imported/"):
        return dataset_dir(cfg.data) / MODEL_FILE
    return Path(cfg.data.data_dir) / cfg.data.dataset / MODEL_FILE


@dataclasses.dataclass
class TokenizeCaptions(grain.transforms.Map):
    """Adds text_ids / text_mask / truncated to an example; reloads the model in worker processes."""

    model_path: str
    length: int
    _tokenizer: TextTokenizer | None = None

    def __getstate__(self) -> dict:
        return {"model_path": self.model_path, "length": self.length, "_tokenizer": None}

    def map(self, example: dict) -> dict:
        if self._tokenizer is None:
            self._tokenizer = TextTokenizer(self.model_path)
        caption = as_text(example["caption"])
        enc = self._tokenizer.encode([caption], self.length)
        return {
            "image": example["image"],
            "caption": caption,
            "heldout": np.bool_(example["heldout"]),
            "text_ids": enc.ids[0],
            "text_mask": enc.mask[0],
            "truncated": enc.truncated[0],
        }


@dataclasses.dataclass
class TokenizeViews(grain.transforms.Map):
    """Adds text_ids_views int32 [E, L]: the caption's E views under the text-view transform `views`
    (`parti.text_views`); reloads the model in worker processes."""

    model_path: str
    length: int
    views: str
    _tokenizer: TextTokenizer | None = None

    def __getstate__(self) -> dict:
        return {"model_path": self.model_path, "length": self.length, "views": self.views, "_tokenizer": None}

    def map(self, example: dict) -> dict:
        if self._tokenizer is None:
            self._tokenizer = TextTokenizer(self.model_path)
        ids, _ = encode_views(self._tokenizer, [as_text(example["caption"])], self.views, self.length)
        return {**example, "text_ids_views": ids[0]}


def as_text(caption: bytes | str) -> str:
    return caption.decode() if isinstance(caption, bytes) else str(caption)


def caption_operations(cfg: Config, tokenizer_path: Path, tokenize: bool = True) -> list[grain.transforms.Map]:
    """The text transforms of a batch pipeline: tokenize the caption (`tokenize`) and, with
    parti.text_views, its views."""
    ops: list[grain.transforms.Map] = []
    if tokenize:
        ops.append(TokenizeCaptions(str(tokenizer_path), cfg.text.max_length))
    if cfg.parti.text_views:
        ops.append(TokenizeViews(str(tokenizer_path), cfg.text.max_length, cfg.parti.text_views))
    return ops


def absl_flags_parsed() -> None:
    """grain's worker processes read grain's absl flags, which only an absl app parses; in any other
    program (vim's CLI, a notebook) they stay unparsed and every worker dies on the first read. Marking
    them parsed keeps their defaults and any value already set."""
    from absl import flags

    if not flags.FLAGS.is_parsed():
        flags.FLAGS.mark_as_parsed()


def make_batches(cfg: Config, split: str, **options: Any) -> grain.DataLoaderIterator:
    """Iterator of numpy batches of this process's share of `split`.

    Batches hold `image` uint8 [b, R, R, 3], `text_ids` int32 [b, L], `text_mask`, `truncated`,
    `caption` and `heldout` (with parti.text_views also `text_ids_views` int32 [b, E, L]), with
    b = cfg.data.batch_size / process_count. `options` are those of `batch_iterator` (shuffle, num_epochs,
    drop_remainder, process_index, process_count, read_options). The iterator's
    `get_state()` / `set_state()` give exact resumption.
    """
    source = open_split(cfg.data, split)
    tokenizer_path = text_tokenizer_path(cfg)
    if not tokenizer_path.is_file():
        raise FileNotFoundError(f"no text tokenizer at {tokenizer_path}: run `vim data text-tokenizer` first")
    return batch_iterator(source, caption_operations(cfg, tokenizer_path), cfg, **options)


class ProcessSlice:
    """Process i's slice of every global batch of `sampler`'s order: global batch k is records
    [k·B, (k+1)·B) of that order whatever the process count, so N processes train on exactly the batches
    one process would (and a run can resume on another process count). Only whole global batches are
    served, so every process yields the same number of batches."""

    def __init__(self, sampler: grain.samplers.IndexSampler, global_batch: int, index: int, count: int):
        self.sampler, self.global_batch, self.index, self.count = sampler, global_batch, index, count
        self.local_batch = global_batch // count
        self.length = len(sampler) // global_batch * self.local_batch

    def __len__(self) -> int:
        return self.length

    def __repr__(self) -> str:  # grain checks a restored iterator against it
        return f"ProcessSlice({self.sampler!r}, global_batch={self.global_batch}, {self.index} of {self.count})"

    def __getitem__(self, local: int) -> grain.RecordMetadata:
        if not 0 <= local < self.length:
            raise IndexError(f"record {local} of process {self.index}'s slice (length {self.length})")
        batch, offset = divmod(local, self.local_batch)
        meta = self.sampler[batch * self.global_batch + self.index * self.local_batch + offset]
        return grain.RecordMetadata(index=local, record_key=meta.record_key, rng=meta.rng)


def batch_iterator(
    source: Any,
    operations: list,
    cfg: Config,
    *,
    shuffle: bool = True,
    num_epochs: int | None = None,
    drop_remainder: bool = True,
    process_index: int | None = None,
    process_count: int | None = None,
    read_options: grain.ReadOptions | None = None,
) -> grain.DataLoaderIterator:
    """Seeded, per-process-sharded, resumable batches of any random-access source after `operations`.

    `read_options` default to `prefetch_options(local batch)`.
    """
    if process_index is None or process_count is None:
        import jax

        process_index, process_count = jax.process_index(), jax.process_count()
    if cfg.data.batch_size % process_count:
        raise ValueError(f"data.batch_size={cfg.data.batch_size} does not divide over {process_count} processes")
    if drop_remainder and len(source) // process_count < cfg.data.batch_size // process_count:
        # otherwise an evaluation averages nothing and an endless training stream never yields
        raise ValueError(
            f"a split of {len(source)} examples holds no full batch of data.batch_size={cfg.data.batch_size}: "
            "lower data.batch_size or give the split more examples"
        )
    whole = grain.sharding.ShardOptions(0, 1, drop_remainder=True)  # one order for all; ProcessSlice splits it
    sampler = grain.samplers.IndexSampler(
        num_records=len(source), shard_options=whole, shuffle=shuffle, num_epochs=num_epochs, seed=cfg.data.shuffle_seed
    )
    if process_count > 1:
        sampler = ProcessSlice(sampler, cfg.data.batch_size, process_index, process_count)
    if cfg.data.num_workers > 0:
        absl_flags_parsed()
    loader = grain.DataLoader(
        data_source=source,
        sampler=sampler,
        shard_options=whole,
        operations=[
            *operations,
            grain.transforms.Batch(cfg.data.batch_size // process_count, drop_remainder=drop_remainder),
        ],
        worker_count=cfg.data.num_workers,
        read_options=read_options or prefetch_options(cfg.data.batch_size // process_count),
    )
    return iter(loader)


def prefetch_options(local_batch: int) -> grain.ReadOptions:
    """One reader thread, two batches of records ahead.

    The thread reads (and, for the streamed world, renders) while the train step runs, since the loop then
    waits on the device without the GIL. grain's default, 16 threads and 500 records, makes every short
    evaluation read 500 records first, has the threads contend for the GIL, and rescans the pending
    records' futures for every record handed out (bench/data_loader.py measures both).
    """
    return grain.ReadOptions(num_threads=1, prefetch_buffer_size=2 * local_batch)
