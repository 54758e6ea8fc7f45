"""The shapes world as a tfds dataset on disk (`vim data build shapes`), in the schema of
vim/data/builders.py; rendered in parallel worker processes, each example a pure function of its index.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import multiprocessing
import os
from collections.abc import Iterator
from pathlib import Path

import tensorflow_datasets as tfds

from vim.config import Config, WorldConfig
from vim.data.builders import features
from vim.data.locations import VERSION, world_config_name
from vim.world.dataset import SPLITS, make_examples, split_size

CHUNK = 256  # examples rendered per worker task


class ShapesWorld(tfds.core.GeneratorBasedBuilder):
    """The embedded captioned shapes world (vim/world)."""

    VERSION = tfds.core.Version(VERSION)

    def __init__(self, *, world: WorldConfig, workers: int | None = None, **kwargs):
        self.world = world
        self.workers = workers if workers is not None else (os.cpu_count() or 1)
        config = tfds.core.BuilderConfig(
            name=world_config_name(world), description=json.dumps(dataclasses.asdict(world))
        )
        super().__init__(config=config, file_format="array_record", **kwargs)

    def _info(self) -> tfds.core.DatasetInfo:
        return tfds.core.DatasetInfo(
            builder=self,
            description="Procedural captioned shapes world of vim; regenerate with `vim data build shapes`.",
            features=features(self.world.resolution),
            metadata=tfds.core.MetadataDict(world=dataclasses.asdict(self.world)),
        )

    def _split_generators(self, dl_manager):
        return {s: self._generate_examples(s) for s in SPLITS if split_size(self.world, s) > 0}

    def _generate_examples(self, split: str) -> Iterator[tuple[int, dict]]:
        n = split_size(self.world, split)
        chunks = [range(i, min(i + CHUNK, n)) for i in range(0, n, CHUNK)]
        if self.workers <= 1:
            results = (make_examples(self.world, split, c) for c in chunks)
            for chunk, examples in zip(chunks, results, strict=True):
                yield from zip(chunk, examples, strict=True)
            return
        # spawn: the parent may hold JAX/tfds threads that fork would copy half-way.
        with concurrent.futures.ProcessPoolExecutor(
            self.workers, mp_context=multiprocessing.get_context("spawn")
        ) as pool:
            results = pool.map(make_examples, [self.world] * len(chunks), [split] * len(chunks), chunks)
            for chunk, examples in zip(chunks, results, strict=True):
                yield from zip(chunk, examples, strict=True)


def build_command(cfg: Config, workers: int | None = None, source: str | None = None) -> Path:
    """`vim data build shapes` (registered in pyproject.toml): the world of `cfg.data.world` under data_dir."""
    if source is not None:
        raise ValueError("the shapes world is rendered, not read from files: `vim data build shapes` takes no --from")
    return build_world(cfg.data.world, cfg.data.data_dir, workers=workers)


def build_world(world: WorldConfig, data_dir: str | os.PathLike, workers: int | None = None) -> Path:
    """Generate (once) the world dataset under data_dir and return its folder."""
    builder = ShapesWorld(world=world, workers=workers, data_dir=str(data_dir))
    builder.download_and_prepare()
    return Path(builder.data_path)
