"""Shared fixtures: one small world dataset + text tokenizer built once per test session."""

from __future__ import annotations

import dataclasses

import pytest

from vim import config as config_lib
from vim.data.builders import build_world
from vim.data.pipeline import open_split, text_tokenizer_path
from vim.data.text import train_text_tokenizer


@pytest.fixture(scope="session")
def small_cfg(tmp_path_factory) -> config_lib.Config:
    """tiny preset shrunk to 320/64/64 examples, built into a temporary data dir."""
    cfg = config_lib.tiny()
    cfg.data.data_dir = str(tmp_path_factory.mktemp("data"))
    cfg.data.world = dataclasses.replace(cfg.data.world, num_train=320, num_validation=64, num_test=64)
    cfg.data.batch_size = 8
    build_world(cfg.data.world, cfg.data.data_dir, workers=1)
    source = open_split(cfg.data, "train")
    train_text_tokenizer(
        (source[i]["caption"].decode() for i in range(len(source))),
        text_tokenizer_path(cfg),
        cfg.text.vocab_size,
        cfg.text.model_type,
    )
    return cfg
