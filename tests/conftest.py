"""Shared fixtures: one small world dataset + text tokenizer built once per test session."""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile

# XLA programs kept on disk for this test session, shared by the test process and every `vim` subprocess it
# starts (they inherit the environment): the same small models compile in many tests and commands, and only
# the first pays. Set before JAX is imported; a developer's own JAX_COMPILATION_CACHE_DIR is kept.
_SESSION_CACHE = None
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
    _SESSION_CACHE = os.environ["JAX_COMPILATION_CACHE_DIR"] = tempfile.mkdtemp(prefix="vim-tests-xla-")
    os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
# One Eigen thread per XLA:CPU process: `make test` runs two workers on two cores, plus their subprocesses,
# and a pool of core-count threads in each only made them fight over the cores. LLVM's optimization level 0:
# the tests' models are tiny, so compiling is most of their time and optimized code saves little (the
# suite's checks do not depend on it; outside the tests, vim and its benches keep XLA's default). A developer's
# own XLA_FLAGS is kept; subprocesses that set their own flags start from these.
TEST_XLA_FLAGS = "--xla_cpu_multi_thread_eigen=false --xla_backend_optimization_level=0"
os.environ.setdefault("XLA_FLAGS", TEST_XLA_FLAGS)

import pytest  # noqa: E402

from vim import allocator  # noqa: E402
from vim import config as config_lib  # noqa: E402
from vim.data.pipeline import open_split, text_tokenizer_path  # noqa: E402
from vim.data.text import train_text_tokenizer  # noqa: E402
from vim.world.build import build_world  # noqa: E402

allocator.keep_freed_memory()  # the test runner owns its process: XLA:CPU's scratch reused (vim/allocator.py)


# `make test` runs two workers that take whole files in collection order (`--dist loadfile
# --no-loadscope-reorder`). The longest files go first, so the two finish together instead of one idling
# while the other runs a long file that came last. Longest first, as measured on 2 cores; the rest follow
# in their usual order.
LONGEST_FILES_FIRST = (
    "test_multihost.py", "test_parti.py", "test_tokenizer.py", "test_reliability.py", "test_generate.py",
    "test_sample.py", "test_scale.py", "test_clean_fid_parity.py", "test_metrics.py", "test_classgen.py",
    "test_own_data.py", "test_rerank.py", "test_bench_gpu.py", "test_demo.py", "test_lpips.py",
    "test_plan_auto.py", "test_training_core.py", "test_upsample.py", "test_multihost_inference.py",
    "test_allocator.py", "test_p2.py", "test_nn.py", "test_browser.py",
)  # fmt: skip


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FILES_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: a file's own order is kept


def pytest_unconfigure(config: pytest.Config) -> None:
    if _SESSION_CACHE is not None:
        shutil.rmtree(_SESSION_CACHE, ignore_errors=True)


@pytest.fixture(scope="session")
def small_cfg(tmp_path_factory) -> config_lib.Config:
    """tiny preset shrunk to 320/64/64 examples, built into a temporary data dir."""
    cfg = config_lib.tiny()
    cfg.data.data_dir = str(tmp_path_factory.mktemp("data"))
    # The full caption register only: the thresholds of the short training tests below were measured on it
    # (a natural caption such as "three circles" fits many images, so retrieval by it is not a learning signal).
    cfg.data.world = dataclasses.replace(
        cfg.data.world, num_train=320, num_validation=64, num_test=64, natural_captions=0.0
    )
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


SMALL_MODEL = dict(width=32, encoder_layers=1, decoder_layers=1, heads=2, mlp_dim=64, codebook_size=32, code_dim=8)


def fake_devices_env(count: int = 8) -> dict[str, str]:
    """Environment for a subprocess whose JAX sees `count` fake CPU devices.

    Their collectives rendezvous in threads of one process; on 2 busy cores a device thread can lag
    past XLA:CPU's default 40 s rendezvous limit (seen once in CI, while another job ran), so it is raised.
    """
    flags = (
        f"{TEST_XLA_FLAGS} --xla_force_host_platform_device_count={count} "
        "--xla_cpu_collective_call_terminate_timeout_seconds=600 "
        "--xla_cpu_collective_call_warn_stuck_timeout_seconds=60"
    )
    return {**os.environ, "XLA_FLAGS": flags, "JAX_PLATFORMS": "cpu"}


def small_run_cfg(small_cfg: config_lib.Config, **train) -> config_lib.Config:
    """A 32-wide tokenizer run on the small dataset; `train` overrides TrainConfig fields."""
    cfg = dataclasses.replace(small_cfg)
    cfg.tokenizer = config_lib.TokenizerConfig(**SMALL_MODEL, adversarial_weight=0.0, dead_code_steps=5)
    defaults = {
        "num_steps": 12,
        "learning_rate": 1e-3,
        "warmup_steps": 2,
        "checkpoint_every": 4,
        "eval_every": 6,
        "eval_batches": 2,
        "progress": False,
    }
    cfg.train = config_lib.TrainConfig(**{**defaults, **train})
    cfg.log_every = 1
    return cfg


@pytest.fixture(scope="session")
def trained_run(small_cfg, tmp_path_factory):
    """A small tokenizer trained for 3 steps (enough for shapes, files and CLIs)."""
    from vim.tokenizer.train import train_and_evaluate

    workdir = tmp_path_factory.mktemp("tok")
    train_and_evaluate(small_run_cfg(small_cfg, num_steps=3, eval_every=3), workdir)
    return workdir


@pytest.fixture(scope="session")
def encoded(trained_run):
    """The small tokenizer run with its code dataset cached (`vim encode-dataset`)."""
    from vim.parti.data import encode_dataset

    encode_dataset(trained_run)
    return trained_run


@pytest.fixture(scope="session")
def small_bundle(small_cfg, encoded, tmp_path_factory):
    """A bundle (`vim export`) of the small tokenizer and a small Parti trained 4 steps on its codes."""
    from vim.bundle import export_bundle
    from vim.parti.train import train_and_evaluate

    cfg = dataclasses.replace(small_cfg)
    cfg.parti = config_lib.PartiConfig(
        width=32, encoder_layers=1, decoder_layers=1, heads=2, head_dim=16, mlp_dim=64, image_vocab_size=32
    )
    cfg.train = config_lib.TrainConfig(num_steps=4, warmup_steps=1, eval_every=4, eval_batches=1, progress=False)
    parti_dir = tmp_path_factory.mktemp("parti")
    train_and_evaluate(cfg, parti_dir, encoded)
    return export_bundle(encoded, parti_dir, tmp_path_factory.mktemp("bundle") / "small")
