"""vim's data loader with its read options against grain's default read options, same source and operations.

    python bench/data_loader.py [--rounds 7] [--batch 64] [--batches 20] [--step-ms 70] [--eval-batch 16] [--evals 10]

Two workloads, each read with `vim.data.pipeline.prefetch_options` (one reader thread, two batches of records
ahead: "vim") and with `grain.ReadOptions()` (16 threads, 500 records: "peer"):
- train: the streamed shapes world (records rendered on read, captions tokenized), `--batches` batches of
  `--batch`, with a `--step-ms` sleep after each standing in for a train step on a device (the loop waits on
  the device without the GIL, as `vim.training.loop.fit` does on `jax.device_get`); `--step-ms 0` measures
  the loader alone.
- eval: `--evals` fresh iterators over a built world's validation split (32 batches long) taking one batch of
  `--eval-batch` each, as a short evaluation (`train.eval_batches`) and most tests do.

The sides take turns in rounds (bench/common.py: vim train, peer train, vim eval, peer eval, matmul). Every
turn opens fresh iterators and waits, after dropping them, until their reader threads have ended, so that
no side's threads read ahead during another side's turn (`leftover_threads` counts any that outlived it).
The first batch of a train turn starts the reader and is not timed. Prints one JSON object as its last
line: `ratio` is vim's train throughput over the peer's (median of the paired rounds, with its spread),
`eval_ratio` the same for evaluation iterators.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import grain
from common import finish, interleave, matmul_round, paired_ratios

from vim import config as config_lib
from vim.data import pipeline
from vim.world.build import build_world

TEXT_TOKENIZER = Path(__file__).resolve().parents[1] / "checkpoints" / "shapes-tiny" / "text_tokenizer.model"
THREAD_WAIT_S = 5.0  # how long a turn waits for its dropped iterators' threads to end
leftover_threads: list[int] = []


def settled(turn: Callable[[], float]) -> Callable[[], float]:
    """The turn, then a wait until this process is back to the threads it had before it."""

    def run() -> float:
        before = threading.active_count()
        seconds = turn()
        gc.collect()
        deadline = time.monotonic() + THREAD_WAIT_S
        while threading.active_count() > before and time.monotonic() < deadline:
            time.sleep(0.01)
        leftover_threads.append(threading.active_count() - before)
        return seconds

    return run


def train_turn(args: argparse.Namespace, read_options: grain.ReadOptions | None) -> Callable[[], float]:
    """Seconds per batch of the streamed world with a simulated step after each."""
    cfg = config_lib.apply_overrides(
        config_lib.tiny(),
        ["data.dataset=shapes-stream", "data.world.num_train=100000000", f"text.model_path={TEXT_TOKENIZER}"],
    )
    cfg.data.batch_size = args.batch
    rounds_started = [0]

    def turn() -> float:
        # Another shuffle seed each round: no turn reads the records a previous one rendered.
        rounds_started[0] += 1
        cfg.data.shuffle_seed = rounds_started[0]
        batches = pipeline.make_batches(cfg, "train", read_options=read_options)
        next(batches)
        start = time.perf_counter()
        for _ in range(args.batches):
            next(batches)
            time.sleep(args.step_ms / 1000)
        return (time.perf_counter() - start) / args.batches

    return settled(turn)


def eval_turn(args: argparse.Namespace, cfg: config_lib.Config, read_options: grain.ReadOptions | None):
    """Seconds per fresh validation iterator taking one batch."""

    def turn() -> float:
        start = time.perf_counter()
        for _ in range(args.evals):
            next(pipeline.make_batches(cfg, "validation", shuffle=False, num_epochs=1, read_options=read_options))
        return (time.perf_counter() - start) / args.evals

    return settled(turn)


def small_world(root: str, batch: int) -> config_lib.Config:
    cfg = config_lib.tiny()
    cfg.data.data_dir = root
    cfg.data.world = dataclasses.replace(cfg.data.world, num_train=4 * batch, num_validation=32 * batch, num_test=batch)
    cfg.data.batch_size = batch
    cfg.text.model_path = str(TEXT_TOKENIZER)
    build_world(cfg.data.world, root, workers=1)
    return cfg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="turns of every side")
    parser.add_argument("--batch", type=int, default=64, help="training batch (records per batch)")
    parser.add_argument("--batches", type=int, default=20, help="timed training batches per turn")
    parser.add_argument("--step-ms", type=float, default=70.0, help="simulated device step after each batch")
    parser.add_argument("--eval-batch", type=int, default=16)
    parser.add_argument("--evals", type=int, default=10, help="fresh evaluation iterators per turn, one batch each")
    args = parser.parse_args()
    grain_default = grain.ReadOptions()
    with tempfile.TemporaryDirectory() as root:
        cfg = small_world(root, args.eval_batch)
        sides = {
            "vim": train_turn(args, None),
            "peer": train_turn(args, grain_default),
            "vim_eval": eval_turn(args, cfg, None),
            "peer_eval": eval_turn(args, cfg, grain_default),
            "matmul": matmul_round(),
        }
        seconds = interleave(args.rounds, sides)
    eval_ms = {side: statistics.median(seconds[side]) * 1000 for side in ("vim_eval", "peer_eval")}
    finish(
        "data_loader",
        seconds,
        work=args.batch,
        unit="records_per_s",
        peer_missing=None,
        **paired_ratios(seconds["vim_eval"], seconds["peer_eval"], "eval_ratio"),
        vim_eval_ms=round(eval_ms["vim_eval"], 1),
        peer_eval_ms=round(eval_ms["peer_eval"], 1),
        vim_read_options=str(pipeline.prefetch_options(args.batch)),
        peer_read_options=str(grain_default),
        batch=args.batch,
        step_ms=args.step_ms,
        leftover_threads=max(leftover_threads),
    )


if __name__ == "__main__":
    main()
