"""Where vim's own datasets live under a data dir; light (no tfds), so readers' callers need not import it."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

from vim.config import WorldConfig

VERSION = "1.2.0"  # bump when the world's pixels or captions change for the same config
CODES_VERSION = "1.0.0"  # of the code datasets `vim encode-dataset` writes (vim/parti/codes_builder.py)


def world_config_name(world: WorldConfig) -> str:
    """Dataset folder name: resolution plus a digest of every world setting a built dataset depends on (the
    natural-prompt split is rendered on demand, never built)."""
    settings = {k: v for k, v in dataclasses.asdict(world).items() if k != "num_natural"}
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()
    return f"r{world.resolution}_{digest[:10]}"


def world_dir(world: WorldConfig, data_dir: str | os.PathLike) -> Path:
    return Path(data_dir) / "shapes_world" / world_config_name(world) / VERSION


def imported_dir(name: str, data_dir: str | os.PathLike) -> Path:
    return Path(data_dir) / "imported_captions" / name / VERSION


def encoded_dir(tokenizer_workdir: str | os.PathLike) -> Path:
    """The code dataset `vim encode-dataset` writes for a tokenizer run."""
    return Path(tokenizer_workdir) / "encoded" / "encoded_captions" / CODES_VERSION


def codes_record(tokenizer_workdir: str | os.PathLike) -> Path:
    """The record of the tokenizer state (and text model) a code dataset was made from, written last."""
    return encoded_dir(tokenizer_workdir) / "made_from.json"
