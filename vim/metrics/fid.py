"""FID, KID and Inception Score that agree with clean-fid, computed with the JAX Inception network.

    stats = compute_statistics("generated/", mode="clean")
    fid = frechet_distance(stats.mu, stats.sigma, *load_statistics("ref.npz").pair())

Why each choice:

- Resizing is where FID implementations disagree most (Parmar et al., "On Aliased Resizing and
  Surprising Subtleties in GAN Evaluation"), so both of clean-fid's modes are reproduced exactly:
  `clean` resizes each channel as a float32 PIL image with bicubic filtering and no requantization;
  `legacy_tensorflow` is TF1's `resize_bilinear` (align_corners=False, no half-pixel centers), which the
  original TF FID code and StyleGAN's network use. Pixels then go in as (x − 128) / 128.
- Images are streamed in fixed-size batches (one compiled program, bounded memory) and FID statistics are
  running float64 sums of x and x·xᵀ, so any number of images needs O(2048²) memory. KID needs the
  features themselves and IS the logits, so those two keep them (n × 2048 and n × 1008 floats).
- The network call is asynchronous: the next batch is decoded and resized while the previous one runs.
- A corrupt file in a folder of 50,000 should not cost the run: it is reported (name and reason) and skipped.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import warnings
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import linalg
from tqdm import tqdm

from vim.config import MAX_PIXELS
from vim.data.importer import not_a_file, printable, to_rgb
from vim.metrics.inception import INPUT_SIZE, POOL_DIM, InceptionV3, make_forward
from vim.metrics.weights import WeightsInfo, find_weights, load_weights

log = logging.getLogger(__name__)

MODES = ("clean", "legacy_tensorflow")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")

# A folder, an (N, H, W, 3) uint8 array, an iterable of such batches, or `fn(count) -> count images`.
Source = str | Path | np.ndarray | Iterable[np.ndarray] | Callable[[int], np.ndarray]


# ---------------------------------------------------------------- resizing


def resize_clean(image: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    """clean-fid's `clean` resize: bicubic on each channel as a float32 ('F') PIL image, clipped, not rounded."""
    channels = []
    for c in range(image.shape[2]):
        plane = Image.fromarray(np.ascontiguousarray(image[:, :, c], dtype=np.float32))
        resized = plane.resize((size, size), resample=Image.Resampling.BICUBIC)
        channels.append(np.asarray(resized, np.float32).clip(0, 255))
    return np.stack(channels, axis=-1)


def _tf_axis(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source indices and weights of TF1 bilinear along one axis: source = i · n_in / n_out, edge clamped."""
    src = np.arange(n_out, dtype=np.float64) * (n_in / n_out)
    lo = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    hi = np.minimum(lo + 1, n_in - 1)
    return lo, hi, (src - lo).astype(np.float32)


def resize_legacy_tensorflow(image: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    """TF1 `resize_bilinear(align_corners=False)` without half-pixel centers, as the original FID code.

    Downscaling by k samples every k-th pixel (the aliasing clean-fid is named against); kept for numbers
    comparable with papers that used the TF code.
    """
    x = image.astype(np.float32)
    y0, y1, wy = _tf_axis(x.shape[0], size)
    x0, x1, wx = _tf_axis(x.shape[1], size)
    top, bottom = x[y0], x[y1]
    top = top[:, x0] + (top[:, x1] - top[:, x0]) * wx[None, :, None]
    bottom = bottom[:, x0] + (bottom[:, x1] - bottom[:, x0]) * wx[None, :, None]
    return top + (bottom - top) * wy[:, None, None]


def prepare(image: np.ndarray, mode: str = "clean") -> np.ndarray:
    """A uint8 (H, W, 3) image → float32 (299, 299, 3) in [0, 255], resized as `mode` says."""
    if mode == "clean":
        return resize_clean(image)
    if mode == "legacy_tensorflow":
        return resize_legacy_tensorflow(image)
    raise ValueError(f"unknown resize mode {mode!r}; choose one of {', '.join(MODES)}")


# ---------------------------------------------------------------- inputs


@dataclasses.dataclass(frozen=True)
class Skipped:
    """A file that could not be used, and why."""

    name: str
    reason: str

    def to_dict(self) -> dict:
        return {"file": self.name, "reason": self.reason}


def list_images(folder: str | Path) -> list[Path]:
    """Paths with an image extension under `folder`, recursively, sorted (so runs and subsets are
    reproducible). Entries that are not regular files (a folder named x.png, a broken link, a FIFO) are
    listed too, so that they are reported as skipped, with why, instead of silently left out."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder not found: {folder}")
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)


def load_image(path: str | Path, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """RGB uint8 pixels of a file, decoded fully now so a truncated file fails here, not later.

    Raises (with the reason as message) for what is not a regular non-empty file, and for images over
    `max_pixels`, judged from the header before any pixel is decoded.
    """
    path = Path(path)
    if (reason := not_a_file(path)) is not None:  # before opening: a FIFO would block the reader
        raise ValueError(reason)
    if path.stat().st_size == 0:
        raise ValueError("empty file (0 bytes)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # max_pixels is the limit here
        im = Image.open(path)
    with im:
        if im.width * im.height > max_pixels:
            raise ValueError(f"too large: {im.width}x{im.height} = {im.width * im.height:,} pixels > {max_pixels:,}")
        if im.mode in ("I", "F") or im.mode.startswith("I;16"):
            # Pillow's convert("RGB") clips 16-bit values at 255 (a near-white image); scale them instead.
            return np.asarray(to_rgb(im, "")[0])
        return np.asarray(im.convert("RGB"))


def _check_image(image: np.ndarray, where: str) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"{where}: images must be uint8 in [0, 255], got dtype {image.dtype}")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"{where}: expected (H, W, 3) images, got shape {image.shape}")
    return image


def _items(source: Source, num_images: int | None, batch_size: int) -> tuple[Iterator, int | None]:
    """(name, load) pairs, where load() returns a uint8 image; plus the total count when known."""
    if isinstance(source, str | Path):
        files = list_images(source)
        if not files:
            raise FileNotFoundError(f"no images ({' '.join(IMAGE_EXTENSIONS)}) found under {source}")
        files = files[:num_images] if num_images is not None else files
        root = Path(source)
        # Names as valid text: a non-UTF-8 file name must not break the JSON report or the terminal.
        return ((printable(str(p.relative_to(root))), lambda p=p: load_image(p)) for p in files), len(files)
    if isinstance(source, np.ndarray):
        if source.ndim not in (3, 4):
            raise ValueError(f"expected an (N, H, W, 3) uint8 array, got shape {source.shape}")
        images = source[:num_images] if num_images is not None else source
        return ((f"[{i}]", lambda im=im: im) for i, im in enumerate(images)), len(images)
    if callable(source):
        if num_images is None:
            raise ValueError("a callback source needs num_images: how many images to draw from it")
        return _from_callback(source, num_images, batch_size), num_images
    if isinstance(source, Iterable):
        return _from_batches(source, num_images), num_images
    raise ValueError(f"cannot read images from {type(source).__name__}")


def _from_callback(fn: Callable[[int], np.ndarray], num_images: int, batch_size: int) -> Iterator:
    done = 0
    while done < num_images:
        count = min(batch_size, num_images - done)
        batch = np.asarray(fn(count))
        if batch.ndim != 4 or len(batch) != count:
            raise ValueError(f"the image callback was asked for {count} images and returned shape {batch.shape}")
        for im in batch:
            yield f"[{done}]", lambda im=im: im
            done += 1


def _from_batches(batches: Iterable[np.ndarray], num_images: int | None) -> Iterator:
    done = 0
    for batch in batches:
        for im in np.asarray(batch):
            if num_images is not None and done >= num_images:
                return
            yield f"[{done}]", lambda im=im: im
            done += 1


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
    except Exception as e:  # unreadable/truncated/not an image: reported by the caller, the run goes on
        return name, None, f"{type(e).__name__}: {e}"
    return name, prepare(_check_image(image, name), mode), ""


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
    items, total = _items(source, num_images, extractor.batch_size)
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
    """Write `mu`, `sigma`, `n` and the settings (`weights` as JSON, `mode`) to an .npz."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        path,
        mu=stats.mu,
        sigma=stats.sigma,
        n=np.int64(stats.n),
        weights=np.array(json.dumps(stats.weights or {})),
        mode=np.array(stats.mode or ""),
    )
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


def fid_from_statistics(a: Statistics, b: Statistics) -> float:
    """FID between two sets of statistics, refusing ones made with different resize modes (not comparable)."""
    if a.mode and b.mode and a.mode != b.mode:
        raise ValueError(f"statistics were computed with different resize modes ({a.mode} vs {b.mode})")
    return frechet_distance(a.mu, a.sigma, b.mu, b.sigma)


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray, eps: float = 1e-6
) -> float:
    """‖mu1 − mu2‖² + tr(Σ1 + Σ2 − 2 (Σ1 Σ2)^½) in float64, decided as clean-fid and pytorch-fid decide.

    scipy's sqrtm is used as they use it, so values agree. With fewer images than dimensions Σ1 Σ2 is
    singular; when sqrtm then comes back non-finite or with a large imaginary part, eps·I is added to
    both covariances and it is tried once more. A large imaginary part after that means the inputs are
    not covariance matrices: an error, not a number.
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError(f"statistics differ in shape: mu {mu1.shape} vs {mu2.shape}")
    diff = mu1 - mu2
    covmean = _sqrtm(sigma1 @ sigma2)
    if not _usable(covmean):
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = _sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not _usable(covmean):
            raise ValueError(f"FID: matrix square root has imaginary part {np.abs(covmean.imag).max():.3g}")
        covmean = covmean.real
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def _sqrtm(a: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():  # "matrix is singular": expected with few images, judged by _usable
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        return linalg.sqrtm(a)


def _usable(root: np.ndarray) -> bool:
    """Finite, and (if complex) with a negligible imaginary diagonal: the reference implementations' test."""
    if not np.isfinite(root).all():
        return False
    return not np.iscomplexobj(root) or bool(np.allclose(np.diagonal(root).imag, 0, atol=1e-3))


# ---------------------------------------------------------------- KID and IS


def kernel_inception_distance(
    features1: np.ndarray,
    features2: np.ndarray,
    num_subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
) -> float:
    """KID: unbiased MMD² with kernel k(x, y) = (x·y / d + 1)³, averaged over random equal-size subsets.

    The subset size is capped at the smaller set (clean-fid / StyleGAN-ADA's estimator); `seed` makes
    the subsets, hence the value, reproducible.
    """
    f1, f2 = np.asarray(features1, np.float64), np.asarray(features2, np.float64)
    d = f1.shape[1]
    m = min(len(f1), len(f2), subset_size)
    if m < 2:
        raise ValueError(f"KID needs at least 2 images on each side, got {len(f1)} and {len(f2)}")
    rng = np.random.default_rng(seed)
    total = 0.0
    for _ in range(num_subsets):
        x = f2[rng.choice(len(f2), m, replace=False)]
        y = f1[rng.choice(len(f1), m, replace=False)]
        a = (x @ x.T / d + 1) ** 3 + (y @ y.T / d + 1) ** 3
        b = (x @ y.T / d + 1) ** 3
        total += (a.sum() - np.trace(a)) / (m - 1) - b.sum() * 2 / m
    return float(total / num_subsets / m)


def inception_score(logits: np.ndarray, splits: int = 10) -> tuple[float, float]:
    """IS = exp(E_x KL(p(y|x) ‖ p(y))) in each of `splits` consecutive parts; (mean, std) over parts."""
    logits = np.asarray(logits, np.float64)
    n = len(logits)
    if n < splits:
        raise ValueError(f"Inception Score with {splits} splits needs at least {splits} images, got {n}")
    log_p = logits - logits.max(axis=1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(axis=1, keepdims=True))
    scores = []
    for k in range(splits):
        part = log_p[k * n // splits : (k + 1) * n // splits]
        log_py = np.log(np.exp(part).mean(axis=0))
        kl = (np.exp(part) * (part - log_py)).sum(axis=1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))
