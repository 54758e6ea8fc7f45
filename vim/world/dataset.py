"""Examples of the shapes world as plain dicts: a pure function of (world config, split, index).

No tfds import here, so worker processes that render examples start fast.
"""

from __future__ import annotations

import numpy as np

from vim.config import DataConfig, WorldConfig
from vim.world.captions import full_register, make_caption, make_natural_caption
from vim.world.render import render
from vim.world.scene import sample_scene, validate_heldout

SPLITS = ("train", "validation", "test")  # the splits a built dataset holds
# "natural": the natural-prompt test set, test scenes with captions of the natural register only (every
# caption leaves something out or says it another way); rendered on demand for evaluation.
EVAL_SPLITS = (*SPLITS, "natural")


def split_size(world: WorldConfig, split: str) -> int:
    sizes = {"train": world.num_train, "validation": world.num_validation, "test": world.num_test}
    return {**sizes, "natural": world.num_natural}[split]


def make_example(world: WorldConfig, split: str, index: int) -> dict:
    """One example: image (uint8 HWC), caption, scene JSON and whether it uses a held-out pair."""
    if split not in EVAL_SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {EVAL_SPLITS}")
    validate_heldout(tuple(world.heldout_pairs))
    rng = np.random.default_rng([world.seed, EVAL_SPLITS.index(split), index])
    tested = split in ("test", "natural")
    heldout = tested and bool(world.heldout_pairs) and rng.random() < world.test_heldout_fraction
    # The test split keeps the full register, and a world without natural captions draws no extra number,
    # so both stay what they were before the natural register existed.
    natural = split == "natural" or (
        not tested and world.natural_captions > 0 and rng.random() < world.natural_captions
    )
    scene = sample_scene(
        rng, max_objects=world.max_objects, heldout_pairs=world.heldout_pairs, require_heldout=heldout, natural=natural
    )
    caption = make_natural_caption(scene.spec, rng) if natural else make_caption(scene.spec, rng)
    while split == "natural" and full_register(caption):
        caption = make_natural_caption(scene.spec, rng)
    return {"image": render(scene, world.resolution), "caption": caption, "scene": scene.to_json(), "heldout": heldout}


def make_examples(world: WorldConfig, split: str, indices: range) -> list[dict]:
    return [make_example(world, split, i) for i in indices]


class WorldSource:
    """A split of the world rendered on demand: random access by index, nothing on disk.

    Any `num_train` costs nothing to "build", so a generator can train on millions of examples that
    never repeat (`data.dataset=shapes-stream`). Example i equals example i of the built dataset.
    """

    def __init__(self, world: WorldConfig, split: str):
        if split not in EVAL_SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {EVAL_SPLITS}")
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


def stream(data: DataConfig, split: str) -> WorldSource:
    """The source of `data.dataset=shapes-stream` (registered in pyproject.toml for vim/data/pipeline.py)."""
    return WorldSource(data.world, split)
