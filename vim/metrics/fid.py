"""FID, KID and Inception Score that agree with clean-fid, from the statistics and features of
vim/metrics/features.py (which reads images through vim/metrics/images.py).

    stats = compute_statistics("generated/", mode="clean")                 # vim.metrics.features
    fid = frechet_distance(stats.mu, stats.sigma, *load_statistics("ref.npz").pair())
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

from vim.metrics.features import Statistics

# ---------------------------------------------------------------- FID


def fid_from_statistics(a: Statistics, b: Statistics) -> float:
    """FID between two sets of statistics, refusing ones made with different resize modes (not comparable)."""
    if a.mode and b.mode and a.mode != b.mode:
        raise ValueError(f"statistics were computed with different resize modes ({a.mode} vs {b.mode})")
    return frechet_distance(a.mu, a.sigma, b.mu, b.sigma)


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray, eps: float = 1e-6
) -> float:
    """‖mu1 − mu2‖² + tr(Σ1 + Σ2 − 2 (Σ1 Σ2)^½) in float64, decided as clean-fid and pytorch-fid decide.

    They take the trace of scipy's sqrtm of Σ1 Σ2; that trace is the sum of the square roots of Σ1 Σ2's
    eigenvalues, which LAPACK's eigenvalue routine finds several times faster than sqrtm's Schur
    iteration at 2048 dimensions (bench/frechet.py), to within 1e-6 of their value
    (tests/test_clean_fid_parity.py). With fewer images than dimensions Σ1 Σ2 is singular; when the
    roots then come back non-finite or with a large imaginary part, eps·I is added to both covariances
    and it is tried once more, as they do. A large imaginary part after that means the inputs are not
    covariance matrices: an error, not a number.
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError(f"statistics differ in shape: mu {mu1.shape} vs {mu2.shape}")
    if not all(np.isfinite(x).all() for x in (mu1, sigma1, mu2, sigma2)):
        raise ValueError("FID: the statistics hold NaN or inf")
    diff = mu1 - mu2
    roots = _eigenvalue_roots(sigma1 @ sigma2)
    if not _usable(roots):
        offset = np.eye(sigma1.shape[0]) * eps
        roots = _eigenvalue_roots((sigma1 + offset) @ (sigma2 + offset))
        if not _usable(roots):
            raise ValueError(f"FID: matrix square root has imaginary part {np.abs(roots.imag).max():.3g}")
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * roots.real.sum())


def _eigenvalue_roots(a: np.ndarray) -> np.ndarray:
    """Principal square roots of a's eigenvalues (complex): their sum is the trace of sqrtm(a)."""
    if not np.isfinite(a).all():
        return np.full(a.shape[0], np.nan, complex)
    return np.sqrt(linalg.eigvals(a, check_finite=False).astype(complex))


def _usable(roots: np.ndarray) -> bool:
    """Finite, with negligible imaginary parts: the reference implementations' test on sqrtm's diagonal."""
    return bool(np.isfinite(roots).all() and np.allclose(roots.imag, 0, atol=1e-3))


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
