"""vim's data loader with its read options against grain's default read options, same source and operations.

    python bench/data_loader.py [--batch 64] [--batches 40] [--step-ms 70] [--eval-batch 16] [--evals 20]

Two workloads, each run with `vim.data.pipeline.prefetch_options` (one reader thread, two batches of
records ahead) and with `grain.ReadOptions()` (16 threads, 500 records):
- `train`: the streamed shapes world (records rendered on read, captions tokenized), `--batches` batches
  of `--batch`, with a `--step-ms` sleep after each standing in for a train step on a device (the loop
  waits on the device without the GIL, as `vim.training.loop.fit` does on `jax.device_get`); `--step-ms 0`
  measures the loader alone.
- `eval`: `--evals` fresh iterators over a built world's validation split (32 batches long) taking one
  batch of `--eval-batch` each, as a short evaluation (`train.eval_batches`) and most tests do.

Reports wall and CPU (this process, all threads) ms per batch. Prints one JSON object as its last line:
`ratio` is grain-default's train wall time over vim's, beside this machine's f32 matmul peak and CPU model.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path

import grain

from vim import config as config_lib
from vim.data import pipeline
from vim.perf import cpu_model, matmul_peak_flops
from vim.world.build import build_world

TEXT_TOKENIZER = Path(__file__).resolve().parents[1] / "checkpoints" / "shapes-tiny" / "text_tokenizer.model"


def timed(run) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def train_workload(args, read_options: grain.ReadOptions | None) -> dict:
    cfg = config_lib.apply_overrides(
        config_lib.tiny(),
        ["data.dataset=shapes-stream", "data.world.num_train=100000000", f"text.model_path={TEXT_TOKENIZER}"],
    )
    cfg.data.batch_size = args.batch
    batches = pipeline.make_batches(cfg, "train", read_options=read_options)
    next(batches)  # the first batch starts the reader: not timed

    def run() -> None:
        for _ in range(args.batches):
            next(batches)
            time.sleep(args.step_ms / 1000)

    wall, cpu = timed(run)
    return {
        "wall_ms_per_batch": round(1000 * wall / args.batches, 1),
        "cpu_ms_per_batch": round(1000 * cpu / args.batches, 1),
    }


def eval_workload(args, cfg: config_lib.Config, read_options: grain.ReadOptions | None) -> dict:
    def run() -> None:
        for _ in range(args.evals):
            next(pipeline.make_batches(cfg, "validation", shuffle=False, num_epochs=1, read_options=read_options))

    wall, cpu = timed(run)
    return {
        "wall_ms_per_iterator": round(1000 * wall / args.evals, 1),
        "cpu_ms_per_iterator": round(1000 * cpu / args.evals, 1),
    }


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
    parser.add_argument("--batch", type=int, default=64, help="training batch (records per batch)")
    parser.add_argument("--batches", type=int, default=40, help="timed training batches")
    parser.add_argument("--step-ms", type=float, default=70.0, help="simulated device step after each batch")
    parser.add_argument("--eval-batch", type=int, default=16)
    parser.add_argument("--evals", type=int, default=20, help="fresh evaluation iterators, one batch each")
    args = parser.parse_args()
    sides = {"vim": None, "grain default": grain.ReadOptions()}
    rows = {}
    with tempfile.TemporaryDirectory() as root:
        cfg = small_world(root, args.eval_batch)
        for name, options in sides.items():
            rows[name] = {
                "side": name,
                "read_options": str(options or pipeline.prefetch_options(args.batch)),
                "train": train_workload(args, options),
                "eval": eval_workload(args, cfg, options),
            }
            print(json.dumps(rows[name]))
    vim_train, peer_train = rows["vim"]["train"], rows["grain default"]["train"]
    print(
        json.dumps(
            {
                "bench": "data_loader",
                "batch": args.batch,
                "step_ms": args.step_ms,
                "vim_train_ms": vim_train["wall_ms_per_batch"],
                "peer_train_ms": peer_train["wall_ms_per_batch"],
                "vim_eval_ms": rows["vim"]["eval"]["wall_ms_per_iterator"],
                "peer_eval_ms": rows["grain default"]["eval"]["wall_ms_per_iterator"],
                "ratio": round(peer_train["wall_ms_per_batch"] / vim_train["wall_ms_per_batch"], 2),
                "cpu": cpu_model(),
                "matmul_peak_gflop_s": round(matmul_peak_flops() / 1e9, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
