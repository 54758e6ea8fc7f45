"""Classes of the shapes world for the class-conditional Transformer (`classgen.labels=shapes-color-shape`,
registered in pyproject.toml under "vim.class_labels"; vim/classgen/data.py describes the interface).

A class is the color and shape of an image's lone object ("red circle"): every color × shape pair of the
world but the held-out ones, so 48 with `data.world.heldout_pairs=()`. Scenes with more than one object have
no class. Size, place and background are left to the model. A drawn image is read back by the scene parser.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vim.world.parser import parse_image, region_of
from vim.world.scene import COLORS, POSITIONS, SHAPES, SIZES, Scene, pair_name


def names(cfg: Any) -> list[str]:
    """ "<color> <shape>" for every pair not held out, colors in palette order, shapes within a color."""
    heldout = set(cfg.data.world.heldout_pairs)
    return [pair_name(c, s) for c in COLORS for s in SHAPES if pair_name(c, s) not in heldout]


def label(example: dict, classes: list[str]) -> int | None:
    """The class of an example with one object; None for other scenes (or a held-out pair)."""
    objects = Scene.from_json(example["scene"]).objects
    if len(objects) != 1:
        return None
    name = pair_name(objects[0].color, objects[0].shape)
    return classes.index(name) if name in classes else None


def read(image: np.ndarray, classes: list[str]) -> int | None:
    """The class the parser reads from a drawn image: its one object's pair; None when it finds no object,
    several, or a pair outside the classes."""
    objects = parse_image(np.ascontiguousarray(image))
    if len(objects) != 1:
        return None
    name = pair_name(objects[0].color, objects[0].shape)
    return classes.index(name) if name in classes else None


def attributes(example: dict) -> dict[str, int]:
    """More targets for the linear probe (vim/classgen/probe.py): the lone object's shape, color and size, and
    which of the 3×3 regions its center falls in (ids in the world's orders)."""
    o = Scene.from_json(example["scene"]).objects[0]
    return {
        "shape": SHAPES.index(o.shape),
        "color": list(COLORS).index(o.color),
        "size": list(SIZES).index(o.size),
        "region": POSITIONS.index(region_of(o.x, o.y)),
    }
