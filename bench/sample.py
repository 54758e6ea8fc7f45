"""Sampling throughput: vim's cached, guided sampler vs parti-pytorch's `generate` at a matched config.

    python bench/sample.py --peer-python /path/to/python-with-parti-pytorch [--rounds 5]

Matched config (the one `bench/parti_train.py` trains): width 256, 4 decoder layers, 4 heads × 64,
text length 32, 8×8 = 64 image tokens, codebook 1,024, batch 8, classifier-free guidance scale 3,
top-k 10 % of the codebook (the peer's `filter_thres=0.9`), temperature 1. vim's count includes its
own 2-layer text encoder; the peer is given random text embeddings. Both time codes only (no image
decoding). Prints one JSON object as its last line: `ratio` is vim's sampled image tokens/s over the
peer's (null without --peer-python), beside this machine's f32 matmul peak.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from vim import allocator
from vim.config import PartiConfig, SampleConfig
from vim.parti.model import Parti
from vim.parti.sample import sample_codes, settings_arrays
from vim.perf import cpu_model, matmul_peak_flops, peer_runs

PEER_SCRIPT = Path(__file__).resolve().parents[1].parent / "shared" / "bench" / "peer_parti_pytorch.py"
BATCH, TEXT, CODEBOOK = 8, 32, 1024
MATCHED = PartiConfig(
    width=256,
    encoder_layers=2,
    decoder_layers=4,
    heads=4,
    head_dim=64,
    mlp_dim=1024,
    text_length=TEXT,
    image_vocab_size=CODEBOOK,
    image_grid=8,
)
SETTINGS = SampleConfig(cfg_scale=3.0, temperature=1.0, top_k=CODEBOOK // 10, top_p=1.0)


def bench_vim(rounds_n: int) -> dict:
    graphdef, state = nnx.split(Parti(MATCHED, rngs=nnx.Rngs(0)))

    @jax.jit
    def draw(state, text_ids_bt, seeds_b, settings):
        return sample_codes(nnx.merge(graphdef, state), text_ids_bt, seeds_b, settings, guided=True)

    rng = np.random.default_rng(0)
    text_ids_bt = jnp.asarray(rng.integers(4, 512, (BATCH, TEXT)), jnp.int32)
    settings = settings_arrays(SETTINGS)
    draw(state, text_ids_bt, jnp.arange(BATCH), settings).block_until_ready()  # compile
    rounds = []  # the median of several rounds: one stray process on 2 cores would skew a single mean
    for r in range(rounds_n):
        seeds_b = jnp.arange(BATCH) + BATCH * (r + 1)
        start = time.perf_counter()
        draw(state, text_ids_bt, seeds_b, settings).block_until_ready()
        rounds.append(time.perf_counter() - start)
    seconds = statistics.median(rounds)
    return {
        "sample_s_batch8": seconds,
        "sample_s_rounds": [round(r, 4) for r in rounds],
        "sample_tokens_per_s": BATCH * MATCHED.image_grid**2 / seconds,
    }


def main() -> None:
    allocator.tune_for_cpu()  # as the `vim` command runs (vim/allocator.py)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer-python", help="a Python where `import parti_pytorch` works")
    parser.add_argument("--rounds", type=int, default=5, help="timed batches of 8 (median)")
    args = parser.parse_args()
    peer, peer_same_malloc = peer_runs(args.peer_python, PEER_SCRIPT) if args.peer_python else (None, None)
    vim = bench_vim(args.rounds)
    print("vim:", json.dumps(vim))
    tokens_per_s = vim["sample_tokens_per_s"]
    print(
        json.dumps(
            {
                "bench": "sample",
                "cpu": cpu_model(),
                "machine": platform.machine(),
                "vim_malloc": allocator.in_use(),
                "vim_tokens_per_s": round(tokens_per_s, 1),
                "peer_tokens_per_s": round(peer["sample_tokens_per_s"], 1) if peer else None,
                "ratio": round(tokens_per_s / peer["sample_tokens_per_s"], 2) if peer else None,
                "ratio_peer_tcmalloc": (
                    round(tokens_per_s / peer_same_malloc["sample_tokens_per_s"], 2) if peer_same_malloc else None
                ),
                "matmul_peak_gflops": round(matmul_peak_flops() / 1e9, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
