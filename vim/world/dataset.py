"""Examples of the shapes world as plain dicts: a pure function of (world config, split, index).

No tfds import here, so worker processes that render examples start fast.
"""

from __future__ import annotations

import numpy as np

from vim.config import WorldConfig
from vim.world.captions import make_caption
from vim.world.render import render
from vim.world.scene import sample_scene, validate_heldout

SPLITS = ("train", "validation", "test")


def split_size(world: WorldConfig, split: str) -> int:
    return {"train": world.num_train, "validation": world.num_validation, "test": world.num_test}[split]


def make_example(world: WorldConfig, split: str, index: int) -> dict:
    """One example: image (uint8 HWC), caption, scene JSON and whether it uses a held-out pair."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    validate_heldout(tuple(world.heldout_pairs))
    rng = np.random.default_rng([world.seed, SPLITS.index(split), index])
    heldout = split == "test" and bool(world.heldout_pairs) and rng.random() < world.test_heldout_fraction
    scene = sample_scene(rng, max_objects=world.max_objects, heldout_pairs=world.heldout_pairs, require_heldout=heldout)
    return {
        "image": render(scene, world.resolution),
        "caption": make_caption(scene.spec, rng),
        "scene": scene.to_json(),
        "heldout": heldout,
    }


def make_examples(world: WorldConfig, split: str, indices: range) -> list[dict]:
    return [make_example(world, split, i) for i in indices]


class WorldSource:
    """A split of the world rendered on demand: random access by index, nothing on disk.

    Any `num_train` costs nothing to "build", so a generator can train on millions of examples that
    never repeat (`data.dataset=shapes-stream`). Example i equals example i of the built dataset.
    """

    def __init__(self, world: WorldConfig, split: str):
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
        self.world, self.split = world, split

    def __len__(self) -> int:
        return split_size(self.world, self.split)

    def __getitem__(self, index: int) -> dict:
        if not 0 <= index < len(self):
            raise IndexError(f"example {index} of the {self.split} split (size {len(self)})")
        return make_example(self.world, self.split, int(index))

    def __repr__(self) -> str:
        # grain checks a restored iterator against repr(data_source): it must name the settings, not an
        # object address, or no streamed run could resume.
        return f"WorldSource(split={self.split!r}, world={self.world!r})"
