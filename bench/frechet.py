"""The Fréchet distance at Inception's 2,048 dimensions: vim's against clean-fid's, the same statistics.

    python bench/frechet.py [--images 2000] [--rounds 3]

Both sides get the same two sets of statistics (mean and covariance of `--images` random 2,048-dim
features, as from two image folders). clean-fid's `frechet_distance` (installed by `make test-deps`)
takes the trace of scipy's sqrtm of Σ1 Σ2; vim's sums the square roots of its eigenvalues. Times the
distance alone (statistics are computed once), median of `--rounds`. Prints one JSON object as its last
line: `ratio` is clean-fid's seconds over vim's, `relative_difference` how far the two values differ,
beside this machine's f32 matmul peak and CPU model.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings

import numpy as np

from vim.metrics.fid import frechet_distance
from vim.perf import cpu_model, matmul_peak_flops


def seconds(fn, rounds: int) -> tuple[float, float]:
    times, value = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), float(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000, help="features per set")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with warnings.catch_warnings():  # torchvision's compiled ops may not load beside this torch; unused here
        warnings.simplefilter("ignore", UserWarning)
        from cleanfid.fid import frechet_distance as clean_fid_frechet_distance

    rng = np.random.default_rng(0)
    mixing = rng.normal(size=(2048, 2048)) / 40  # correlated features, as Inception's are
    a = rng.normal(size=(args.images, 2048)) @ mixing
    b = rng.normal(size=(args.images, 2048)) @ mixing * 1.1 + 0.05
    stats = [(x.mean(0), np.cov(x, rowvar=False)) for x in (a, b)]
    pair = (*stats[0], *stats[1])
    vim_s, vim_value = seconds(lambda: frechet_distance(*pair), args.rounds)
    peer_s, peer_value = seconds(lambda: clean_fid_frechet_distance(*pair), args.rounds)
    print(json.dumps({"side": "vim", "s": round(vim_s, 3), "fid": vim_value}))
    print(json.dumps({"side": "clean-fid 0.1.35 (scipy sqrtm)", "s": round(peer_s, 3), "fid": peer_value}))
    print(
        json.dumps(
            {
                "bench": "frechet",
                "images": args.images,
                "dims": 2048,
                "vim_s": round(vim_s, 3),
                "peer_s": round(peer_s, 3),
                "ratio": round(peer_s / vim_s, 2),
                "relative_difference": abs(vim_value - peer_value) / abs(peer_value),
                "cpu": cpu_model(),
                "matmul_peak_gflop_s": round(matmul_peak_flops() / 1e9, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
