"""The Fréchet distance at Inception's 2,048 dimensions: vim's against clean-fid's, the same statistics.

    python bench/frechet.py [--images 2000] [--rounds 3]

Both sides get the same two sets of statistics (mean and covariance of `--images` random 2,048-dim
features, as from two image folders). clean-fid's `frechet_distance` (installed by `make test-deps`)
takes the trace of scipy's sqrtm of Σ1 Σ2; vim's sums the square roots of its eigenvalues. Times the
distance alone (statistics are computed once), one distance per side a round, the sides taking turns
(bench/common.py), under tcmalloc where installed, as the `vim` command runs. Prints one JSON object as
its last line: `ratio` is the median over rounds of clean-fid's seconds over vim's in the same round,
`ratio_spread` their lowest and highest, `relative_difference` how far the two values differ, beside
this machine's f32 matmul peak and CPU model.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
from common import finish, interleave, matmul_round

from vim import allocator
from vim.metrics.fid import frechet_distance


def timed(distance, pair: tuple, values: list[float]):
    """One round of a side: one distance, kept in `values`; seconds."""

    def one_round() -> float:
        start = time.perf_counter()
        values.append(float(distance(*pair)))
        return time.perf_counter() - start

    return one_round


def main() -> None:
    allocator.tune_for_cpu()  # as the `vim` command runs (vim/allocator.py)
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
    vim_values, peer_values = [], []
    sides = {
        "vim": timed(frechet_distance, pair, vim_values),
        "peer": timed(clean_fid_frechet_distance, pair, peer_values),
        "matmul": matmul_round(),
    }
    seconds = interleave(args.rounds, sides)
    relative = abs(vim_values[-1] - peer_values[-1]) / abs(peer_values[-1])
    fields = {"images": args.images, "dims": 2048, "fid": vim_values[-1], "relative_difference": relative}
    fields |= {f"{side}_s": round(statistics.median(seconds[side]), 3) for side in ("vim", "peer")}
    finish("frechet", seconds, work=1, unit="distances_per_s", peer_missing=None, **fields)


if __name__ == "__main__":
    main()
