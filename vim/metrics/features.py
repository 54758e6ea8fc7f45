"""Inception features of many images, and the FID statistics built from them.

- Images are streamed in fixed-size batches (one compiled program, bounded memory) and FID statistics are
  running float64 sums of x and x·xᵀ, so any number of images needs O(2048²) memory. KID needs the
  features themselves and IS the logits, so those two keep them (n × 2048 and n × 1008 floats).
- The network call is asynchronous: the next batch is decoded and resized while the previous one runs.
- Pixels go in as (x − 128) / 128, inside the compiled program.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from tqdm import tqdm

from vim.data.image_files import BadImageError
from vim.metrics.images import MODES, Skipped, Source, check_image, image_items, prepare
from vim.metrics.inception import POOL_DIM, InceptionV3, make_forward
from vim.metrics.weights import WeightsInfo, find_weights, load_weights

log = logging.getLogger(__name__)


# ---------------------------------------------------------------- the network, batched


class Extractor:
    """The jitted Inception network over fixed-size batches (the last one zero-padded: one compile).

    Build it once and pass it to several computations to load weights and compile only once.
    """

    def __init__(self, weights: str | Path | None = None, batch_size: int = 32, logits: bool = False):
        if batch_size < 1:
            raise ValueError(f"batch size must be ≥ 1, got {batch_size}")
        self.info: WeightsInfo = find_weights(weights)
        if logits and not self.info.has_logits:
            raise ValueError(
                f"Inception Score needs the 1,008-way classifier head, which {self.info} lacks (it holds FID "
                "features only); pass --weights pt_inception-2015-12-05-6726825d.pth (pytorch-fid) or "
                "inception-2015-12-05.pt (clean-fid)"
            )
        arrays = load_weights(self.info)
        if not logits:
            arrays.pop("fc.kernel", None)
        self.batch_size = batch_size
        self.logits = logits
        self._forward = make_forward(InceptionV3(arrays), with_logits=logits)

    def submit(self, images: np.ndarray) -> tuple:
        """Start the network on ≤ batch_size prepared images; returns device arrays (not yet waited for)."""
        n = len(images)
        if n < self.batch_size:
            pad = np.zeros((self.batch_size - n, *images.shape[1:]), np.float32)
            images = np.concatenate([images, pad])
        return self._forward(images), n

    @staticmethod
    def fetch(handle: tuple) -> tuple[np.ndarray, np.ndarray | None]:
        """Wait for a submitted batch: (pool features, logits or None) without the padding rows."""
        (pool, logits), n = handle
        return np.asarray(pool)[:n], (np.asarray(logits)[:n] if logits is not None else None)


def _try_prepare(item: tuple[str, Callable[[], np.ndarray]], mode: str) -> tuple[str, np.ndarray | None, str]:
    name, load = item
    try:
        image = load()
    except BadImageError as e:  # the caller shows the file's name beside the reason
        return name, None, e.reason
    except Exception as e:  # any other failure to read: reported by the caller too, the run goes on
        return name, None, f"{type(e).__name__}: {e}"
    return name, prepare(check_image(image, name), mode), ""


def _chunks(items: Iterator, size: int) -> Iterator[list]:
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@dataclasses.dataclass
class Run:
    """What a pass over a source saw: images used, files skipped, and under which settings."""

    n: int
    skipped: list[Skipped]
    mode: str
    weights: WeightsInfo


def run_network(
    source: Source,
    extractor: Extractor,
    consume: Callable[[np.ndarray, np.ndarray | None], None],
    mode: str = "clean",
    num_images: int | None = None,
    progress: bool = True,
    workers: int = 2,
) -> Run:
    """Feed every image of `source` through the network, calling `consume(pool, logits)` per batch."""
    if mode not in MODES:
        raise ValueError(f"unknown resize mode {mode!r}; choose one of {', '.join(MODES)}")
    items, total = image_items(source, num_images, extractor.batch_size)
    skipped: list[Skipped] = []
    n, pending = 0, None
    bar = tqdm(total=total, unit="img", disable=not progress, desc=f"inception ({mode})")
    with ThreadPoolExecutor(max(1, workers)) as pool:
        for chunk in _chunks(items, extractor.batch_size):
            ready = []
            for name, image, reason in pool.map(lambda it: _try_prepare(it, mode), chunk):
                if image is None:
                    log.debug("skipping %s: %s", name, reason)  # returned in Run.skipped; the CLI prints it
                    skipped.append(Skipped(name, reason))
                else:
                    ready.append(image)
            bar.update(len(chunk))
            if not ready:
                continue
            handle = extractor.submit(np.stack(ready))  # runs while the next chunk is decoded
            if pending is not None:
                consume(*Extractor.fetch(pending))
            pending, n = handle, n + len(ready)
    if pending is not None:
        consume(*Extractor.fetch(pending))
    bar.close()
    if n == 0:
        # Nothing reaches the report when we stop here, so the reasons go into the error itself.
        shown = "".join(f"\n  {s.name}: {s.reason}" for s in skipped[:20])
        more = f"\n  … and {len(skipped) - 20} more" if len(skipped) > 20 else ""
        raise ValueError(f"no usable images: all {len(skipped)} files were skipped:{shown}{more}")
    return Run(n, skipped, mode, extractor.info)


# ---------------------------------------------------------------- statistics and FID


@dataclasses.dataclass
class Statistics:
    """Mean and covariance of pool features, with where they came from."""

    mu: np.ndarray
    sigma: np.ndarray
    n: int
    weights: dict | None = None
    mode: str | None = None
    skipped: list[Skipped] = dataclasses.field(default_factory=list)

    def pair(self) -> tuple[np.ndarray, np.ndarray]:
        return self.mu, self.sigma


class RunningStats:
    """Σx and Σx·xᵀ in float64 over batches: FID statistics of any number of images in O(d²) memory."""

    def __init__(self, dim: int = POOL_DIM):
        self.n = 0
        self.sum = np.zeros(dim, np.float64)
        self.outer = np.zeros((dim, dim), np.float64)

    def update(self, features: np.ndarray, _logits: np.ndarray | None = None) -> None:
        f = np.asarray(features, np.float64)
        self.n += len(f)
        self.sum += f.sum(axis=0)
        self.outer += f.T @ f

    def mean(self) -> np.ndarray:
        return self.sum / self.n

    def covariance(self) -> np.ndarray:
        """Unbiased (n − 1) covariance, as np.cov(features, rowvar=False)."""
        if self.n < 2:
            raise ValueError(f"FID statistics need at least 2 images, got {self.n}")
        mu = self.mean()
        return (self.outer - self.n * np.outer(mu, mu)) / (self.n - 1)


def _extractor(extractor: Extractor | None, weights: str | Path | None, batch_size: int, logits: bool) -> Extractor:
    if extractor is None:
        return Extractor(weights, batch_size, logits=logits)
    if logits and not extractor.logits:
        raise ValueError("this extractor was built without logits; build it with Extractor(..., logits=True)")
    return extractor


def compute_statistics(
    source: Source,
    *,
    mode: str = "clean",
    weights: str | Path | None = None,
    batch_size: int = 32,
    num_images: int | None = None,
    extractor: Extractor | None = None,
    progress: bool = True,
) -> Statistics:
    """FID statistics (mu, sigma) of a folder, array, batch iterable or callback, streamed."""
    ex = _extractor(extractor, weights, batch_size, logits=False)
    stats = RunningStats()
    run = run_network(source, ex, stats.update, mode, num_images, progress)
    return Statistics(stats.mean(), stats.covariance(), run.n, ex.info.to_dict(), mode, run.skipped)


@dataclasses.dataclass
class Features:
    """All pool features (and logits, for IS) of a source: what KID and IS need."""

    pool: np.ndarray
    logits: np.ndarray | None
    run: Run


def compute_features(
    source: Source,
    *,
    mode: str = "clean",
    weights: str | Path | None = None,
    batch_size: int = 32,
    num_images: int | None = None,
    logits: bool = False,
    extractor: Extractor | None = None,
    progress: bool = True,
) -> Features:
    """Pool features (n, 2048) and optionally IS logits (n, 1008) of every image of `source`."""
    ex = _extractor(extractor, weights, batch_size, logits)
    pools: list[np.ndarray] = []
    outs: list[np.ndarray] = []

    def keep(pool: np.ndarray, lg: np.ndarray | None) -> None:
        pools.append(pool)
        if logits and lg is not None:
            outs.append(lg)

    run = run_network(source, ex, keep, mode, num_images, progress)
    return Features(np.concatenate(pools), np.concatenate(outs) if logits else None, run)


def save_statistics(stats: Statistics, path: str | Path) -> Path:
    """Write `mu`, `sigma`, `n` and the settings (`weights` as JSON, `mode`) to an .npz.

    Written beside `path` and renamed into place, so a killed writer, or several processes writing the same
    cache at once, never leave a half-written file there."""
    path = Path(path)
    if path.suffix != ".npz":  # as numpy.savez names a path itself
        path = path.with_name(path.name + ".npz")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    with open(partial, "wb") as f:
        np.savez(
            f,
            mu=stats.mu,
            sigma=stats.sigma,
            n=np.int64(stats.n),
            weights=np.array(json.dumps(stats.weights or {})),
            mode=np.array(stats.mode or ""),
        )
    os.replace(partial, path)
    return path


def load_statistics(path: str | Path) -> Statistics:
    """Read statistics written by `save_statistics`, or any .npz with `mu` and `sigma` (clean-fid, pytorch-fid)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"statistics file not found: {path}")
    try:
        with np.load(path) as data:
            if "mu" not in data.files or "sigma" not in data.files:
                raise ValueError(f"{path} has no 'mu' and 'sigma' arrays (keys: {', '.join(data.files)})")
            mu, sigma = np.asarray(data["mu"], np.float64), np.asarray(data["sigma"], np.float64)
            n = int(data["n"]) if "n" in data.files else 0
            weights = json.loads(str(data["weights"])) if "weights" in data.files else None
            mode = str(data["mode"]) if "mode" in data.files else None
    except (OSError, EOFError) as e:  # np.load's error for a file that is not an .npz
        raise ValueError(f"{path} is not a statistics .npz ({e})") from None
    if mu.shape != (sigma.shape[0],) or sigma.shape != (mu.shape[0], mu.shape[0]):
        raise ValueError(f"{path}: mu {mu.shape} and sigma {sigma.shape} do not match")
    return Statistics(mu, sigma, n, weights or None, mode or None)
