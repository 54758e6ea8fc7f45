"""Scene-level classes of the shapes world (`classgen.labels=shapes-count`, registered in pyproject.toml under
"vim.class_labels"; vim/classgen/data.py describes the interface).

A class is the number of objects in the image ("2 objects"), so every scene of the world has one. With
`classgen.num_classes=0` it is the label scheme of an unconditional model over whole scenes, whose linear
probe (vim/classgen/probe.py) asks what raw pixels do not give away linearly: how many objects, how many
groups, and how the two groups are placed (`attributes`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vim.world.parser import parse_image
from vim.world.scene import RELATIONS, Scene

NO_RELATION = "none"  # one group: no relation to read


def names(cfg: Any) -> list[str]:
    """ "1 object", "2 objects", … up to the world's data.world.max_objects."""
    return [f"{n} object{'s' if n > 1 else ''}" for n in range(1, cfg.data.world.max_objects + 1)]


def label(example: dict, classes: list[str]) -> int | None:
    """The number of objects (as a class id); None for a scene with more objects than the classes name."""
    count = len(Scene.from_json(example["scene"]).objects)
    return count - 1 if count <= len(classes) else None


def read(image: np.ndarray, classes: list[str]) -> int | None:
    """The number of objects the scene parser finds in a drawn image; None for none or too many."""
    count = len(parse_image(np.ascontiguousarray(image)))
    return count - 1 if 1 <= count <= len(classes) else None


def attributes(example: dict) -> dict[str, int]:
    """More probe targets: the number of groups (0: one, 1: two) and the relation of the first group to the
    second (0: none, then the world's RELATIONS order)."""
    spec = Scene.from_json(example["scene"]).spec
    relation = spec.relation or NO_RELATION
    return {"groups": len(spec.groups) - 1, "relation": (NO_RELATION, *RELATIONS).index(relation)}
