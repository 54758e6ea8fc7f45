"""Tokenizer training throughput: vim vs parti-pytorch's VitVQGanVAE at a matched config.

    python bench/tokenizer_train.py [--peer-python /path/to/python-with-parti-pytorch] [--steps 20]

Matched config: width 128, 4 encoder + 4 decoder layers, 64×64 images, patch 8, codebook 1,024,
batch 16, no GAN/perceptual loss. Prints one JSON object as its last line; `ratio` is vim's training
images/s over the peer's (null when no peer Python is given), `mfu` is vim's model FLOP/s over this
machine's measured f32 matmul rate. Runs under tcmalloc when installed, as the `vim` command does;
`ratio_peer_tcmalloc` is the ratio with the peer under the same preload (vim/allocator.py).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from vim import allocator
from vim import config as config_lib
from vim.perf import matmul_peak_flops, peer_runs
from vim.tokenizer.train import TokenizerTask

PEER_SCRIPT = Path(__file__).resolve().parents[1].parent / "shared" / "bench" / "peer_vitvqgan_pytorch.py"


def bench_vim(steps: int, batch: int = 16) -> dict:
    cfg = config_lib.tiny()
    # The tiny preset's losses (L2 + codebook/commitment, no logit-Laplace, no GAN) at the matched sizes.
    cfg.tokenizer = config_lib.TokenizerConfig(
        width=128,
        encoder_layers=4,
        decoder_layers=4,
        heads=4,
        mlp_dim=512,
        codebook_size=1024,
        adversarial_weight=0.0,
        logit_laplace_weight=0.0,
    )
    cfg.train.ema_decay = 0.999
    task = TokenizerTask(cfg)
    state = jax.jit(task.init_state)(jax.random.key_data(jax.random.key(0)))
    images = jnp.asarray(np.random.default_rng(0).integers(0, 256, (batch, 64, 64, 3), dtype=np.uint8))
    step = jax.jit(task.train_step, donate_argnums=0)
    compiled = step.lower(state, {"image": images}).compile()
    flops = compiled.cost_analysis().get("flops", float("nan"))
    for _ in range(3):
        state, _ = step(state, {"image": images})
    jax.block_until_ready(state)
    start = time.perf_counter()
    for _ in range(steps):
        state, _ = step(state, {"image": images})
    jax.block_until_ready(state)
    seconds = (time.perf_counter() - start) / steps
    params = sum(int(np.prod(x.shape)) for x in jax.tree.leaves(state["params"]))
    return {"params": params, "train_step_s_b16": seconds, "train_img_per_s": batch / seconds, "step_flops": flops}


def main() -> None:
    allocator.tune_for_cpu()  # as the `vim` command runs (vim/allocator.py)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer-python", help="a Python where `import parti_pytorch` works")
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    vim = bench_vim(args.steps)
    peak = matmul_peak_flops()
    mfu = vim["step_flops"] / vim["train_step_s_b16"] / peak
    peer, peer_same_malloc = peer_runs(args.peer_python, PEER_SCRIPT) if args.peer_python else (None, None)
    print("vim:", json.dumps(vim))
    ratio = vim["train_img_per_s"] / peer["train_img_per_s"] if peer else None
    ratio_same_malloc = vim["train_img_per_s"] / peer_same_malloc["train_img_per_s"] if peer_same_malloc else None
    print(
        json.dumps(
            {
                "bench": "tokenizer_train",
                "vim_malloc": allocator.in_use(),
                "vim_img_per_s": round(vim["train_img_per_s"], 2),
                "peer_img_per_s": round(peer["train_img_per_s"], 2) if peer else None,
                "ratio": round(ratio, 3) if ratio else None,
                "ratio_peer_tcmalloc": round(ratio_same_malloc, 3) if ratio_same_malloc else None,
                "mfu": round(mfu, 4),
                "matmul_peak_gflops": round(peak / 1e9, 1),
                "devices": str(jax.devices()[0].platform),
            }
        )
    )


if __name__ == "__main__":
    main()
