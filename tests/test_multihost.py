"""`vim train-parti` as two processes on 127.0.0.1 (gloo collectives on the CPU), through the real command:
the same result as one process, one set of files, a config mismatch refused at start-up, a killed peer
noticed by the survivor, resume after the kill and across process counts."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np
import pytest

from vim.training.checkpoint import Checkpointer, restore_latest

from .conftest import TEST_XLA_FLAGS

pytestmark = pytest.mark.slow  # long multi-process runs: `make test-slow` (CI runs both tiers)

STEPS = 6
PARTI = dict(width=32, encoder_layers=1, decoder_layers=1, heads=2, head_dim=16, mlp_dim=64, image_vocab_size=32)
ENV = {**os.environ, "JAX_PLATFORMS": "cpu", "XLA_FLAGS": TEST_XLA_FLAGS}


def command(small_cfg, encoded, workdir: Path, steps: int = STEPS, *extra: str) -> list[str]:
    world = small_cfg.data.world
    sets = {
        "data.world.num_train": world.num_train,
        "data.world.num_validation": world.num_validation,
        "data.world.num_test": world.num_test,
        "data.world.natural_captions": world.natural_captions,
        "data.batch_size": 8,
        "train.progress": "false",
        "train.checkpoint_every": 2,
        "train.eval_every": 1000,
        "train.eval_batches": 1,
        "train.num_steps": steps,
        "log_every": 1,
        **{f"parti.{k}": v for k, v in PARTI.items()},
    }
    args = [x for k, v in sets.items() for x in ("--set", f"{k}={v}")]
    data = ["--data-dir", small_cfg.data.data_dir, "--tokenizer", str(encoded), "--workdir", str(workdir)]
    return ["train-parti", "--preset", "tiny", *data, *args, *extra]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(
    args: list[str],
    processes: int,
    logs: Path,
    per_process: dict[int, list[str]] | None = None,
    env: dict | None = None,
) -> list:
    """`vim` as `processes` processes of one run (one plain process when 1); output to logs.p<i>.log."""
    port, procs = free_port(), []
    for i in range(processes):
        flags = ["--coordinator", f"127.0.0.1:{port}", "--num-processes", str(processes), "--process-id", str(i)]
        argv = (per_process or {}).get(i, args)
        with open(f"{logs}.p{i}.log", "a") as log:
            cmd = [sys.executable, "-m", "vim.cli", *(flags if processes > 1 else []), *argv]
            procs.append(subprocess.Popen(cmd, env=env or ENV, stdout=log, stderr=subprocess.STDOUT))
    return procs


def finish(procs: list, logs: Path, timeout: float = 600) -> None:
    codes = [p.wait(timeout=timeout) for p in procs]
    text = "\n".join(Path(f"{logs}.p{i}.log").read_text()[-3000:] for i in range(len(procs)))
    assert codes == [0] * len(procs), text


def final(workdir: Path) -> tuple[list[np.ndarray], list[dict], int]:
    from vim.config import from_dict
    from vim.parti.train import PartiTask

    state, step = restore_latest(workdir, PartiTask(from_dict(json.loads((workdir / "config.json").read_text()))))
    metrics = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    return [np.asarray(x) for x in jax.tree.leaves(state)], metrics, step


def losses(metrics: list[dict]) -> list[float]:
    return [m["loss"] for m in metrics if "loss" in m]


@pytest.fixture(scope="module")
def runs(small_cfg, encoded, tmp_path_factory):
    """The same 6-step run on two processes and on one, started side by side."""
    root = tmp_path_factory.mktemp("multihost")
    two = start(command(small_cfg, encoded, root / "two"), 2, root / "two")
    one = start(command(small_cfg, encoded, root / "one"), 1, root / "one")
    finish(two, root / "two")
    finish(one, root / "one")
    return root


def test_two_processes_match_one_and_write_once(runs):
    params2, metrics2, step2 = final(runs / "two")
    params1, metrics1, step1 = final(runs / "one")
    assert step2 == step1 == STEPS
    np.testing.assert_allclose(losses(metrics2), losses(metrics1), atol=1e-5)
    assert len(losses(metrics2)) == STEPS  # one metrics log, each step once (process 0 writes)
    assert len(params2) > 10
    for a, b in zip(params2, params1, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)
    ckpt = Checkpointer(runs / "two" / "checkpoints", use_async=False)
    assert ckpt.all_steps() == [2, 4, 6]  # one set of checkpoints
    ckpt.close()
    assert [p.name for p in (runs / "two" / "samples").iterdir()] == ["truth_vs_sample_0000006.png"]
    assert len(list((runs / "two" / "tb").iterdir())) == 1  # one TensorBoard event file


def test_different_configs_fail_at_start_naming_the_field(small_cfg, encoded, tmp_path):
    args = command(small_cfg, encoded, tmp_path / "run")
    other = command(small_cfg, encoded, tmp_path / "run", STEPS, "--set", "data.batch_size=16")
    procs = start(args, 2, tmp_path / "log", per_process={1: other})
    codes = [p.wait(timeout=300) for p in procs]
    for i, code in enumerate(codes):
        text = Path(f"{tmp_path / 'log'}.p{i}.log").read_text()
        assert code != 0 and "data.batch_size: process 0 has 8, process 1 has 16" in text, text[-2000:]
    assert not (tmp_path / "run" / "metrics.jsonl").exists()  # no step ran
    assert not (tmp_path / "run" / "config.json").exists()


def test_killed_peer_stops_the_survivor_and_both_resume_identically(small_cfg, encoded, runs, tmp_path):
    rng = random.Random()
    workdir, logs = tmp_path / "run", tmp_path / "log"
    args = command(small_cfg, encoded, workdir)
    # A survivor outside a collective learns of the death from the missing heartbeats: 20 s instead of
    # the default 45 s keeps the test short (heartbeats come from a thread, so compiling does not delay them).
    procs = start(args, 2, logs, env={**ENV, "VIM_HEARTBEAT_TIMEOUT": "20"})
    kill_after, victim = rng.randint(2, STEPS - 2), rng.randrange(2)
    metrics = workdir / "metrics.jsonl"
    while not (metrics.exists() and len(metrics.read_text().splitlines()) >= kill_after):
        assert all(p.poll() is None for p in procs), "a process ended before the kill"
        time.sleep(0.05)
    procs[victim].send_signal(signal.SIGKILL)
    killed_at = time.perf_counter()
    code = procs[1 - victim].wait(timeout=150)
    exit_s = time.perf_counter() - killed_at
    text = Path(f"{logs}.p{1 - victim}.log").read_text()
    assert exit_s <= 120 and code != 0, (exit_s, code)
    assert "a collective with the other processes failed" in text or "another task died" in text, text[-2000:]
    reached = len(metrics.read_text().splitlines())  # process 0 logs each finished step
    try:
        _, _, step = final(workdir)  # the newest finished checkpoint restores intact …
        assert step <= reached  # … and holds a state the run reached
    except FileNotFoundError as e:  # killed before the first checkpoint finished: the restart begins at 0
        assert "no finished checkpoint" in str(e)
    finish(start(args, 2, logs), logs)
    params, metrics_after, step = final(workdir)
    want_params, want_metrics, want_step = final(runs / "two")
    assert step == want_step and losses(metrics_after) == losses(want_metrics)
    for a, b in zip(params, want_params, strict=True):
        np.testing.assert_array_equal(a, b)


def test_resume_across_process_counts(small_cfg, encoded, runs):
    """Two processes' checkpoint continued on one, and one's on two: the same two further steps (side by side)."""
    on_one = start(command(small_cfg, encoded, runs / "two", STEPS + 2), 1, runs / "two-then-one")
    on_two = start(command(small_cfg, encoded, runs / "one", STEPS + 2), 2, runs / "one-then-two")
    finish(on_one, runs / "two-then-one")
    finish(on_two, runs / "one-then-two")
    params_a, metrics_a, step_a = final(runs / "two")
    params_b, metrics_b, step_b = final(runs / "one")
    assert step_a == step_b == STEPS + 2
    assert len(losses(metrics_a)) == len(losses(metrics_b)) == STEPS + 2
    np.testing.assert_allclose(losses(metrics_a), losses(metrics_b), atol=1e-5)
    for a, b in zip(params_a, params_b, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_a_peer_that_never_joins_stops_the_other_within_the_join_timeout(tmp_path):
    """Process 1 alone (its peer killed before joining, or never started) must not wait JAX's 300 s."""
    logs = tmp_path / "alone"
    flags = ["--coordinator", f"127.0.0.1:{free_port()}", "--num-processes", "2", "--process-id", "1"]
    with open(f"{logs}.log", "w") as log:
        cmd = [sys.executable, "-m", "vim.cli", *flags, "--join-timeout", "3", "generate", "x", "-o", str(tmp_path)]
        start_s = time.perf_counter()
        code = subprocess.run(cmd, env=ENV, stdout=log, stderr=subprocess.STDOUT, timeout=120).returncode
    text = Path(f"{logs}.log").read_text()
    assert code != 0 and "waiting up to 3 s (--join-timeout)" in text and "another task died" in text, text
    assert time.perf_counter() - start_s < 60
