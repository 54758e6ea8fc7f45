"""Sampling throughput: vim's cached, guided sampler vs parti-pytorch's `generate` at a matched config.

    python bench/sample.py --peer-python PEER/bin/python [--rounds 5]
    python bench/sample.py --grid 16 --whole-cache [--rounds 5]     # the emoji bundle's 256 tokens

`--grid G` draws G×G tokens instead (both sides). `--whole-cache` adds a side that samples with the
KV cache in one chunk (every step reads all of it), to measure what reading only the chunks up to a
step's own (`vim.parti.model.empty_cache`) gains; `ratio_over_whole_cache` is vim's speed over it.

Matched config (bench/common.py, the one `bench/parti_train.py` trains): width 256, 4 decoder layers,
4 heads × 64, text length 32, 8×8 = 64 image tokens, codebook 1,024, batch 8, classifier-free guidance
scale 3, top-k 10 % of the codebook (the peer's `filter_thres=0.9`), temperature 1. vim's count includes
its own 2-layer text encoder; the peer (bench/peers/parti.py) is given random text embeddings. Both time
codes only (no image decoding). A round is one batch of 8 images, vim's and the peer's alternating
(bench/common.py). Prints one JSON object as its last line: `ratio` is the median over rounds of vim's
sampled image tokens/s over the peer's in the same round, `ratio_spread` their lowest and highest (null
without a peer, `peer_missing` saying why), beside this machine's f32 matmul peak and CPU model.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import time

import jax
import jax.numpy as jnp
import numpy as np
from common import (
    MATCHED_BATCH,
    MATCHED_PARTI,
    finish,
    interleave,
    matmul_round,
    paired_ratios,
    parti_peer_sizes,
    peer_arguments,
    start_peers,
)
from flax import nnx

from vim import allocator
from vim.config import PartiConfig, SampleConfig
from vim.parti.model import CACHE_CHUNK, Parti
from vim.parti.sample import sample_codes, settings_arrays

CODEBOOK = MATCHED_PARTI.image_vocab_size
SETTINGS = SampleConfig(cfg_scale=3.0, temperature=1.0, top_k=CODEBOOK // 10, top_p=1.0)


def vim_side(model_cfg: PartiConfig, cache_chunk: int = CACHE_CHUNK):
    """vim's side, compiled now: each call draws a guided batch of 8 from fresh seeds; seconds per batch."""
    graphdef, state = nnx.split(Parti(model_cfg, rngs=nnx.Rngs(0)))

    @jax.jit
    def draw(state, text_ids_bt, seeds_b, settings):
        model = nnx.merge(graphdef, state)
        return sample_codes(model, text_ids_bt, seeds_b, settings, guided=True, cache_chunk=cache_chunk)

    rng = np.random.default_rng(0)
    text_ids_bt = jnp.asarray(rng.integers(4, 512, (MATCHED_BATCH, model_cfg.text_length)), jnp.int32)
    settings = settings_arrays(SETTINGS)
    draw(state, text_ids_bt, jnp.arange(MATCHED_BATCH), settings).block_until_ready()  # compile
    rounds = [0]

    def one_round() -> float:
        rounds[0] += 1
        seeds_b = jnp.arange(MATCHED_BATCH) + MATCHED_BATCH * rounds[0]
        start = time.perf_counter()
        draw(state, text_ids_bt, seeds_b, settings).block_until_ready()
        return time.perf_counter() - start

    return one_round


def main() -> None:
    allocator.tune_for_cpu()  # as the `vim` command runs (vim/allocator.py)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    peer_arguments(parser, "import parti_pytorch")
    parser.add_argument("--rounds", type=int, default=5, help="batches of 8 per side, interleaved (median)")
    parser.add_argument("--grid", type=int, default=MATCHED_PARTI.image_grid, help="image tokens per side")
    parser.add_argument("--whole-cache", action="store_true", help="also time the sampler with a one-chunk cache")
    args = parser.parse_args()
    f = SETTINGS
    model_cfg = dataclasses.replace(MATCHED_PARTI, image_grid=args.grid)
    sizes = json.dumps(parti_peer_sizes(model_cfg, MATCHED_BATCH))
    peers, missing = start_peers(
        args, "parti.py", "--mode", "sample", "--sizes", sizes, "--cond-scale", str(f.cfg_scale),
        "--filter-thres", str(1 - f.top_k / CODEBOOK),
    )  # fmt: skip
    sides = {"vim": vim_side(model_cfg)}
    if args.whole_cache:
        sides["vim_whole_cache"] = vim_side(model_cfg, cache_chunk=args.grid**2)
    seconds = interleave(args.rounds, {**sides, **peers, "matmul": matmul_round()})
    whole = (
        paired_ratios(seconds["vim"], seconds["vim_whole_cache"], "ratio_over_whole_cache") if args.whole_cache else {}
    )
    tokens = MATCHED_BATCH * args.grid**2
    finish(
        "sample", seconds, work=tokens, unit="tokens_per_s", peer_missing=missing, machine=platform.machine(),
        grid=args.grid, cache_chunk=CACHE_CHUNK, **whole,
    )  # fmt: skip


if __name__ == "__main__":
    main()
