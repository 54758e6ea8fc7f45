"""Generator training throughput: vim's Parti vs parti-pytorch at a matched config.

    python bench/parti_train.py [--peer-python PEER/bin/python] [--steps 10] [--rounds 5]

Matched config (bench/common.py): width 256, 4 decoder layers, 4 heads × 64, text length 32, 64 image
tokens, codebook 1,024, batch 8. vim's own 2-layer text encoder is inside vim's timed step; the peer
(bench/peers/parti.py, under --peer-python) gets its text embeddings for free. Rounds of `--steps` steps
alternate, vim then peer (bench/common.py). Prints one JSON object as its last line: `ratio` is the
median over rounds of vim's image tokens/s over the peer's in the same round, `ratio_spread` their
lowest and highest (null without a peer, `peer_missing` saying why); `mfu` is the step's XLA-counted
FLOP/s over this machine's f32 matmul rate timed in the same round (median over rounds). Like the `vim`
command, the bench runs under tcmalloc when it is installed (vim/allocator.py); the peer runs as its
users run it, and a second copy under the same preload (`ratio_peer_tcmalloc`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json

import jax
import numpy as np
from common import (
    MATCHED_BATCH,
    MATCHED_PARTI,
    MATCHED_TOKENS,
    finish,
    matmul_round,
    parti_peer_sizes,
    peer_arguments,
    start_peers,
    train_rounds,
)

from vim import allocator
from vim import config as config_lib
from vim.parti.train import PartiTask


def matched_setup() -> tuple[PartiTask, dict, dict]:
    """The task at the matched config, its initial state and one fixed random batch."""
    cfg = config_lib.preset("tiny", "parti")
    cfg.parti = dataclasses.replace(MATCHED_PARTI)
    task = PartiTask(cfg)
    state = jax.jit(task.init_state)(jax.random.key_data(jax.random.key(0)))
    rng = np.random.default_rng(0)
    pc = cfg.parti
    batch = {
        "codes": rng.integers(0, pc.image_vocab_size, (MATCHED_BATCH, pc.image_grid**2)).astype(np.int32),
        "text_ids": rng.integers(4, pc.text_vocab_size, (MATCHED_BATCH, pc.text_length)).astype(np.int32),
    }
    return task, state, batch


def main() -> None:
    allocator.tune_for_cpu()  # as the `vim` command runs (vim/allocator.py)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    peer_arguments(parser, "import parti_pytorch")
    parser.add_argument("--steps", type=int, default=10, help="steps per timed round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per side, interleaved (median)")
    args = parser.parse_args()
    sizes = json.dumps(parti_peer_sizes(MATCHED_PARTI, MATCHED_BATCH))
    peers, missing = start_peers(args, "parti.py", "--sizes", sizes, "--steps", str(args.steps))
    task, state, batch = matched_setup()
    seconds, step = train_rounds(task, state, batch, args.steps, args.rounds, {**peers, "matmul": matmul_round()})
    finish("parti_train", seconds, work=MATCHED_TOKENS, unit="tokens_per_s", peer_missing=missing, **step)


if __name__ == "__main__":
    main()
