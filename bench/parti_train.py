"""Generator training throughput: vim's Parti vs parti-pytorch at a matched config.

    python bench/parti_train.py [--peer-python /path/to/python-with-parti-pytorch] [--steps 10]

Matched config: width 256, 4 decoder layers, 4 heads × 64, text length 32, 64 image tokens,
codebook 1,024, batch 8. vim's own 2-layer text encoder is inside vim's timed step; the peer gets its
text embeddings for free. Prints one JSON object as its last line: `ratio` is vim's image tokens/s
over the peer's (null without --peer-python); `mfu` is the step's XLA-counted FLOP/s over this
machine's f32 matmul rate measured in the same run. Like the `vim` command, the bench runs under
tcmalloc when it is installed (vim/allocator.py); the peer runs as its users run it, and once more
with the same preload (`ratio_peer_tcmalloc`), so the allocator's share of the ratio is on record.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import jax
import numpy as np

from vim import allocator
from vim import config as config_lib
from vim.parti.train import PartiTask
from vim.perf import matmul_peak_flops, peer_runs

PEER_SCRIPT = Path(__file__).resolve().parents[1].parent / "shared" / "bench" / "peer_parti_pytorch.py"
BATCH, TEXT, TOKENS = 8, 32, 64


def matched_setup() -> tuple[PartiTask, dict, dict]:
    """The task at the matched config, its initial state and one fixed random batch."""
    cfg = config_lib.preset("tiny", "parti")
    cfg.parti = config_lib.PartiConfig(
        width=256,
        encoder_layers=2,
        decoder_layers=4,
        heads=4,
        head_dim=64,
        mlp_dim=1024,
        text_length=TEXT,
        image_vocab_size=1024,
        image_grid=8,
    )
    task = PartiTask(cfg)
    state = jax.jit(task.init_state)(jax.random.key_data(jax.random.key(0)))
    rng = np.random.default_rng(0)
    batch = {
        "codes": rng.integers(0, 1024, (BATCH, TOKENS)).astype(np.int32),
        "text_ids": rng.integers(4, 512, (BATCH, TEXT)).astype(np.int32),
    }
    return task, state, batch


def bench_vim(steps: int, rounds_n: int = 5) -> dict:
    task, state, batch = matched_setup()
    step = jax.jit(task.train_step, donate_argnums=0)
    flops = step.lower(state, batch).compile().cost_analysis().get("flops", float("nan"))
    for _ in range(3):
        state, _ = step(state, batch)
    jax.block_until_ready(state)
    rounds = []  # the median of several rounds: one stray process on 2 cores would skew a single mean
    for _ in range(rounds_n):
        start = time.perf_counter()
        for _ in range(steps):
            state, _ = step(state, batch)
        jax.block_until_ready(state)
        rounds.append((time.perf_counter() - start) / steps)
    seconds = statistics.median(rounds)
    params = sum(int(np.prod(x.shape)) for x in jax.tree.leaves(state["params"]))
    return {
        "params": params,
        "train_step_s_batch8": seconds,
        "train_step_s_rounds": [round(r, 4) for r in rounds],
        "train_tokens_per_s": BATCH * TOKENS / seconds,
        "step_flops": flops,
    }


def main() -> None:
    allocator.tune_for_cpu()  # as the `vim` command runs (vim/allocator.py)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer-python", help="a Python where `import parti_pytorch` works")
    parser.add_argument("--steps", type=int, default=10, help="steps per timed round (5 rounds, median)")
    args = parser.parse_args()
    peer, peer_same_malloc = peer_runs(args.peer_python, PEER_SCRIPT) if args.peer_python else (None, None)
    vim = bench_vim(args.steps)
    peak = matmul_peak_flops()
    print("vim:", json.dumps(vim))
    tokens_per_s = vim["train_tokens_per_s"]
    print(
        json.dumps(
            {
                "bench": "parti_train",
                "vim_malloc": allocator.in_use(),
                "vim_tokens_per_s": round(tokens_per_s, 1),
                "peer_tokens_per_s": round(peer["train_tokens_per_s"], 1) if peer else None,
                "ratio": round(tokens_per_s / peer["train_tokens_per_s"], 3) if peer else None,
                "ratio_peer_tcmalloc": (
                    round(tokens_per_s / peer_same_malloc["train_tokens_per_s"], 3) if peer_same_malloc else None
                ),
                "mfu": round(vim["step_flops"] / vim["train_step_s_batch8"] / peak, 4),
                "matmul_peak_gflops": round(peak / 1e9, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
