import json
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from PIL import Image

from vim import config as config_lib
from vim.cli import main
from vim.data.pipeline import make_batches
from vim.sharding import logical_spec, make_mesh
from vim.tokenizer.train import TokenizerTask, train_and_evaluate
from vim.training.optim import clip_by_global_norm, guarded_update, make_optimizer

from .conftest import fake_devices_env, small_run_cfg


def test_run_writes_config_metrics_tensorboard_and_grids(trained_run):
    assert json.loads((trained_run / "config.json").read_text())["tokenizer"]["width"] == 32
    lines = [json.loads(x) for x in (trained_run / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in lines if "loss" in m] == [1, 2, 3]
    evals = [m for m in lines if "eval/psnr" in m]
    assert evals and {"eval/codebook_usage", "eval/codebook_perplexity"} <= set(evals[-1])
    assert any(p.name.startswith("events.out.tfevents") for p in (trained_run / "tb").iterdir())
    grid = Image.open(next((trained_run / "samples").glob("reconstructions_*.png")))
    assert grid.size == (128, 8 * 64)  # input | reconstruction, 8 rows
    assert json.loads((trained_run / "summary.json").read_text())["step"] == 3


def test_resuming_with_a_changed_model_field_names_it(small_cfg, trained_run):
    cfg = small_run_cfg(small_cfg, num_steps=3)
    cfg.tokenizer.width = 48
    with pytest.raises(config_lib.ConfigError, match=r"tokenizer\.width: run has 32, requested 48"):
        train_and_evaluate(cfg, trained_run)


def test_reconstruct_and_tokenize_cli(small_cfg, trained_run, tmp_path, capsys):
    source = make_batches(small_cfg, "validation", shuffle=False, num_epochs=1, process_index=0, process_count=1)
    image = next(source)["image"][0]
    path = tmp_path / "in.png"
    Image.fromarray(image).save(path)
    assert main(["reconstruct", str(path), "--checkpoint", str(trained_run), "-o", str(tmp_path / "out")]) == 0
    assert "PSNR" in capsys.readouterr().out
    assert Image.open(tmp_path / "out" / "in.recon.png").size == (64, 64)
    out = tmp_path / "codes.npz"
    assert (
        main(["tokenize", "--checkpoint", str(trained_run), "--split", "validation", "--limit", "10", "-o", str(out)])
        == 0
    )
    codes = np.load(out)
    assert codes["codes"].shape == (10, 8, 8) and codes["codes"].max() < 32 and len(codes["captions"]) == 10
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    assert main(["reconstruct", str(bad), "--checkpoint", str(trained_run)]) == 2
    assert "could not read bad.png as an image" in capsys.readouterr().err


def test_bf16_compute_keeps_f32_master_weights(small_cfg):
    cfg = small_run_cfg(small_cfg)
    cfg.tokenizer.compute_dtype = "bfloat16"
    task = TokenizerTask(cfg)
    state = jax.jit(task.init_state)(jax.random.key_data(jax.random.key(0)))
    batch = {"image": jnp.asarray(next(make_batches(cfg, "train", process_index=0, process_count=1))["image"])}
    new, metrics = jax.jit(task.train_step)(state, batch)
    assert int(new["consecutive_skipped"]) == 0 and np.isfinite(metrics["loss"])  # the update was applied
    assert {x.dtype for x in jax.tree.leaves(new["params"])} == {jnp.dtype(jnp.float32)}


def test_guarded_update_skips_non_finite_gradients():
    tx = make_optimizer(config_lib.TrainConfig(learning_rate=0.1, warmup_steps=1))
    params = {"w": jnp.ones(3)}
    opt = tx.init(params)
    new, new_opt, ok = guarded_update(tx, params, opt, {"w": jnp.array([1.0, jnp.inf, 0.0])}, jnp.array(1.0))
    assert not bool(ok) and np.array_equal(new["w"], params["w"])
    assert all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(new_opt), jax.tree.leaves(opt), strict=True))


@pytest.mark.parametrize("max_norm", [0.5, 100.0])  # clipping on, and a norm under the limit
def test_clipping_with_a_given_norm_equals_optax(max_norm):
    grads = {"a": jnp.arange(6.0).reshape(2, 3) - 2.5, "b": jnp.full((4,), 0.3)}
    reference, _ = optax.clip_by_global_norm(max_norm).update(grads, optax.EmptyState())
    ours = clip_by_global_norm(max_norm)
    computed, state = ours.update(grads, ours.init(grads))
    given, _ = ours.update(grads, state, global_norm=optax.tree.norm(grads))
    for tree in (computed, given):
        assert all(np.array_equal(x, y) for x, y in zip(jax.tree.leaves(tree), jax.tree.leaves(reference), strict=True))
    assert jax.tree.structure(ours.init(grads)) == jax.tree.structure(optax.clip_by_global_norm(1.0).init(grads))


def test_mesh_and_logical_rules():
    mesh = make_mesh(config_lib.MeshConfig())
    assert mesh.shape == {"data": 1, "fsdp": 1, "model": 1}
    assert logical_spec(["batch", "length", "act_embed"]) == jax.sharding.PartitionSpec(("data", "fsdp"), None, None)
    assert logical_spec(["embed", "mlp"]) == jax.sharding.PartitionSpec("fsdp", "model")
    with pytest.raises(KeyError, match="no rule"):
        logical_spec(["nonsense"])
    with pytest.raises(ValueError, match="needs 4 devices"):
        make_mesh(config_lib.MeshConfig(data=2, fsdp=2))


SHARDED_SCRIPT = textwrap.dedent("""
    import json, sys, dataclasses
    import jax
    from vim import config as config_lib
    from vim.tokenizer.train import TokenizerTask, train_and_evaluate
    from vim.training.checkpoint import Checkpointer
    assert jax.device_count() == 8, jax.devices()
    cfg = config_lib.from_dict(json.loads(sys.argv[1]))
    result = train_and_evaluate(cfg, sys.argv[2])
    task = TokenizerTask(cfg)
    abstract = jax.eval_shape(task.init_state, jax.random.key_data(jax.random.key(0)))
    state, _, _ = Checkpointer(sys.argv[2] + "/checkpoints", use_async=False).restore(abstract)
    print(json.dumps({"step": result["step"], "loss_finite": bool(jax.numpy.isfinite(
        state["params"]["codebook_kc"]).all())}))
""")


@pytest.mark.slow
def test_sharded_training_on_8_fake_devices(small_cfg, tmp_path):
    cfg = small_run_cfg(small_cfg, num_steps=2, eval_every=2)
    cfg.mesh = config_lib.MeshConfig(data=4, fsdp=2)
    env = fake_devices_env(8)
    out = subprocess.run(
        [sys.executable, "-c", SHARDED_SCRIPT, json.dumps(config_lib.to_dict(cfg)), str(tmp_path / "run")],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"step": 2, "loss_finite": True}
    # The 8-device run checkpoints; a 1-device process restores the same values.
    task = TokenizerTask(cfg)
    from vim.training.checkpoint import Checkpointer

    abstract = jax.eval_shape(task.init_state, jax.random.key_data(jax.random.key(0)))
    state, _, step = Checkpointer(tmp_path / "run" / "checkpoints", use_async=False).restore(abstract)
    assert step == 2 and int(state["step"]) == 2


def _two_checkpoints(directory):
    import jax.numpy as jnp

    from vim.training.checkpoint import Checkpointer

    ckpt = Checkpointer(directory, keep=3, use_async=False)
    states = {s: {"w": jnp.arange(4096, dtype=jnp.float32) * s, "step": jnp.int32(s)} for s in (1, 2)}
    for s, state in states.items():
        ckpt.save(s, state, b'{"pos": %d}' % s)
    ckpt.close()
    return states


@pytest.mark.parametrize("damage", ["flip_bytes", "delete_files"])
def test_damaged_latest_checkpoint_falls_back_with_a_warning(tmp_path, caplog, damage):
    import jax

    from vim.training.checkpoint import Checkpointer

    states = _two_checkpoints(tmp_path / "ckpt")
    files = sorted((p for p in (tmp_path / "ckpt" / "2").rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)
    if damage == "flip_bytes":  # flip one byte in the middle of step 2's largest file (the array data)
        data = bytearray(files[-1].read_bytes())
        data[len(data) // 2] ^= 0x01
        files[-1].write_bytes(bytes(data))
    else:
        for path in files[-3:]:
            path.unlink()
    abstract = jax.eval_shape(lambda: states[1])
    with caplog.at_level("WARNING"):
        state, data, step = Checkpointer(tmp_path / "ckpt", use_async=False).restore(abstract)
    assert step == 1 and data == b'{"pos": 1}'
    np.testing.assert_array_equal(state["w"], states[1]["w"])
    assert "checkpoint 2 is damaged" in caplog.text


def test_all_checkpoints_damaged_is_a_clear_error(tmp_path):
    import jax

    from vim.training.checkpoint import Checkpointer, CorruptCheckpointError

    states = _two_checkpoints(tmp_path / "ckpt")
    for step in (1, 2):
        for path in (tmp_path / "ckpt" / str(step)).rglob("*"):
            if path.is_file() and path.stat().st_size > 64:
                data = bytearray(path.read_bytes())
                data[len(data) // 2] ^= 0xFF
                path.write_bytes(bytes(data))
    with pytest.raises(CorruptCheckpointError, match=r"no intact checkpoint .*step 2: .*step 1: "):
        Checkpointer(tmp_path / "ckpt", use_async=False).restore(jax.eval_shape(lambda: states[1]))


def test_a_min_lr_ratio_of_one_is_a_constant_rate_after_warm_up():
    from vim.config import TrainConfig
    from vim.training.optim import schedule

    rates = [
        float(schedule(TrainConfig(num_steps=1000, learning_rate=3e-4, warmup_steps=200, min_lr_ratio=1.0))(s))
        for s in (0, 100, 200, 500, 999, 5000)
    ]
    np.testing.assert_allclose(rates, [0.0, 1.5e-4, 3e-4, 3e-4, 3e-4, 3e-4], rtol=1e-6)
