"""Tokenizer training throughput: vim vs parti-pytorch's VitVQGanVAE at a matched config.

    python bench/tokenizer_train.py [--peer-python PEER/bin/python] [--steps 10] [--rounds 5]

Matched config: width 128, 4 encoder + 4 decoder layers, 64×64 images, patch 8, codebook 1,024,
batch 16, no GAN/perceptual loss; the peer is bench/peers/vitvqgan.py. Rounds of `--steps` steps
alternate, vim then peer (bench/common.py). Prints one JSON object as its last line; `ratio` is the
median over rounds of vim's training images/s over the peer's in the same round, `ratio_spread` their
lowest and highest (null without a peer, `peer_missing` saying why), `mfu` is vim's XLA-counted FLOP/s
over the f32 matmul rate timed in the same round (median over rounds). Runs under tcmalloc when
installed, as the `vim` command does;
`ratio_peer_tcmalloc` is the ratio with the peer under the same preload (vim/allocator.py).
"""

from __future__ import annotations

import argparse
import json

import jax
import jax.numpy as jnp
import numpy as np
from common import finish, matmul_round, peer_arguments, start_peers, train_rounds

from vim import allocator
from vim import config as config_lib
from vim.tokenizer.train import TokenizerTask

BATCH = 16
# The tiny preset's losses (L2 + codebook/commitment, no logit-Laplace, no GAN) at the matched sizes.
MATCHED = config_lib.TokenizerConfig(
    width=128, encoder_layers=4, decoder_layers=4, heads=4, mlp_dim=512, codebook_size=1024,
    adversarial_weight=0.0, logit_laplace_weight=0.0,
)  # fmt: skip


def peer_sizes(tc: config_lib.TokenizerConfig, batch: int) -> dict:
    """bench/peers/vitvqgan.py's `--sizes` (its encoder and decoder have one depth)."""
    assert tc.encoder_layers == tc.decoder_layers
    return {
        "dim": tc.width,
        "layers": tc.encoder_layers,
        "image_size": tc.image_size,
        "patch": tc.patch_size,
        "codebook": tc.codebook_size,
        "batch": batch,
    }


def main() -> None:
    allocator.tune_for_cpu()  # as the `vim` command runs (vim/allocator.py)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    peer_arguments(parser, "import parti_pytorch")
    parser.add_argument("--steps", type=int, default=10, help="steps per timed round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per side, interleaved (median)")
    args = parser.parse_args()
    sizes = json.dumps(peer_sizes(MATCHED, BATCH))
    peers, missing = start_peers(args, "vitvqgan.py", "--sizes", sizes, "--steps", str(args.steps))
    cfg = config_lib.tiny()
    cfg.tokenizer = MATCHED
    cfg.train.ema_decay = 0.999
    task = TokenizerTask(cfg)
    state = jax.jit(task.init_state)(jax.random.key_data(jax.random.key(0)))
    size = MATCHED.image_size
    batch = {"image": jnp.asarray(np.random.default_rng(0).integers(0, 256, (BATCH, size, size, 3), np.uint8))}
    seconds, step = train_rounds(task, state, batch, args.steps, args.rounds, {**peers, "matmul": matmul_round()})
    finish(
        "tokenizer_train",
        seconds,
        work=BATCH,
        unit="img_per_s",
        peer_missing=missing,
        **step,
        devices=jax.devices()[0].platform,
    )


if __name__ == "__main__":
    main()
