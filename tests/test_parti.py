import dataclasses
import functools
import json
import os
import shutil
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from vim import config as config_lib
from vim.data.text import EOS_ID, PAD_ID
from vim.parti.data import code_batches, encode_dataset
from vim.parti.model import Parti
from vim.parti.train import PartiTask, train_and_evaluate
from vim.training.checkpoint import Checkpointer
from vim.training.weights import PARAMS_FILE, TRAINED_ON, flatten, read_config
from vim.training.writer import read_metrics

from .conftest import TEST_XLA_FLAGS, fake_devices_env

SMALL_PARTI = config_lib.PartiConfig(
    width=32,
    encoder_layers=1,
    decoder_layers=2,
    heads=2,
    head_dim=16,
    mlp_dim=64,
    text_vocab_size=512,
    text_length=32,
    image_vocab_size=32,
    image_grid=8,
)


def parti_cfg(small_cfg, **train):
    cfg = dataclasses.replace(small_cfg)
    cfg.parti = dataclasses.replace(SMALL_PARTI)
    defaults = {
        "num_steps": 8,
        "learning_rate": 1e-3,
        "warmup_steps": 2,
        "checkpoint_every": 3,
        "eval_every": 4,
        "eval_batches": 2,
        "progress": False,
    }
    cfg.train = config_lib.TrainConfig(**{**defaults, **train})
    cfg.log_every = 1
    return cfg


def test_encoded_dataset_matches_the_tokenizer(small_cfg, encoded):
    batch = next(code_batches(parti_cfg(small_cfg), encoded, "train", process_index=0, process_count=1))
    assert batch["codes"].shape == (8, 64) and batch["codes"].dtype == np.int32
    assert batch["codes"].min() >= 0 and batch["codes"].max() < 32
    assert batch["text_ids"].shape == (8, 32) and batch["text_mask"].sum(1).min() >= 2
    assert encode_dataset(encoded) == encoded / "encoded" / "encoded_captions" / "1.0.0"  # cached, not redone


def test_padding_and_causality():
    graphdef, weights = nnx.split(Parti(SMALL_PARTI, rngs=nnx.Rngs(0)))
    forward = jax.jit(lambda weights, *inputs: nnx.merge(graphdef, weights)(*inputs))  # compiled once, not op by op
    model = functools.partial(forward, weights)
    rng = np.random.default_rng(0)
    text = jnp.asarray(rng.integers(4, 512, (2, 32)), jnp.int32)
    mask = jnp.arange(32)[None] < jnp.array([[10], [20]])
    codes = jnp.asarray(rng.integers(0, 32, (2, 64)), jnp.int32)
    logits = model(text, mask, codes)
    assert logits.shape == (2, 64, 32) and logits.dtype == jnp.float32
    # Whatever sits in padded text positions changes nothing.
    scrambled = jnp.where(mask, text, jnp.asarray(rng.integers(4, 512, (2, 32))))
    np.testing.assert_allclose(model(scrambled, mask, codes), logits, atol=1e-5)
    # Changing image token j leaves the logits of positions ≤ j (which predict tokens ≤ j) unchanged.
    j = 37
    changed = codes.at[:, j].set((codes[:, j] + 1) % 32)
    out = model(text, mask, changed)
    np.testing.assert_allclose(out[:, : j + 1], logits[:, : j + 1], atol=1e-5)
    assert not np.allclose(out[:, j + 1 :], logits[:, j + 1 :], atol=1e-5)


def test_caption_dropout_rate(small_cfg):
    cfg = parti_cfg(small_cfg)
    task = PartiTask(cfg)
    ids = jnp.tile(jnp.arange(4, 36, dtype=jnp.int32)[None], (20_000, 1))
    dropped = task.drop_captions(ids, jax.random.key(0))
    is_empty = (dropped[:, 0] == EOS_ID) & (dropped[:, 1:] == PAD_ID).all(1)
    assert abs(float(is_empty.mean()) - 0.1) < 0.01
    assert (dropped[~is_empty] == ids[~is_empty]).all()


def caption_views_task(small_cfg, logits_chunk: int = 0) -> PartiTask:
    cfg = parti_cfg(small_cfg)
    cfg.parti = dataclasses.replace(SMALL_PARTI, text_views="shapes-attributes", logits_chunk=logits_chunk)
    return PartiTask(cfg)


@pytest.mark.parametrize("logits_chunk", [0, 16])
def test_caption_views_loss_is_the_cross_entropy_of_the_summed_logits(small_cfg, logits_chunk):
    task = caption_views_task(small_cfg, logits_chunk)
    params = jax.jit(task.init_state)(jax.random.key_data(jax.random.key(0)))["params"]
    rng = np.random.default_rng(0)
    views = rng.integers(4, 512, (3, 2, 32)).astype(np.int32)
    views[:, :, 12:] = PAD_ID
    codes = rng.integers(0, 32, (3, 64)).astype(np.int32)
    loss, _ = jax.jit(task.loss)(params, {"text_ids_views": views, "codes": codes}, None)
    # Compiled, not op by op: each of the model's operations would compile on its own.
    forward = jax.jit(lambda params, ids, codes: task.model(params)(ids, ids != PAD_ID, codes))
    summed = sum(forward(params, views[:, j], codes) for j in range(2))
    log_probs = jax.nn.log_softmax(summed, axis=-1)
    expected = -jnp.mean(jnp.take_along_axis(log_probs, codes[..., None], axis=-1))
    np.testing.assert_allclose(loss, expected, rtol=1e-5)
    first_alone = jax.nn.log_softmax(forward(params, views[:, 0], codes))
    assert abs(float(loss) + float(jnp.mean(jnp.take_along_axis(first_alone, codes[..., None], -1)))) > 1e-3


def test_caption_views_drop_both_rows_to_the_empty_caption_together(small_cfg):
    task = caption_views_task(small_cfg)
    ids = jnp.tile(jnp.arange(4, 36, dtype=jnp.int32)[None, None], (20_000, 2, 1)).at[:, 1].add(100)
    dropped = task.drop_captions(ids, jax.random.key(0))
    empty = (dropped[..., 0] == EOS_ID) & (dropped[..., 1:] == PAD_ID).all(-1)  # [B, 2]
    assert (empty[:, 0] == empty[:, 1]).all() and abs(float(empty[:, 0].mean()) - 0.1) < 0.01
    assert (dropped[~empty[:, 0]] == ids[~empty[:, 0]]).all()
    with pytest.raises(config_lib.ConfigError, match="text_ids_views"):
        task.loss(None, {"text_ids": ids[:, 0], "codes": np.zeros((20_000, 64), np.int32)}, None)


def test_a_views_model_trains_on_cached_codes_with_views_of_their_captions(small_cfg, encoded, tmp_path):
    from vim.parti.data import code_batches

    cfg = parti_cfg(small_cfg, num_steps=2, eval_every=2)
    cfg.parti = dataclasses.replace(SMALL_PARTI, text_views="shapes-attributes")
    batch = next(code_batches(cfg, encoded, "train"))
    assert batch["text_ids_views"].shape == (cfg.data.batch_size, 2, cfg.text.max_length)
    summary = train_and_evaluate(cfg, tmp_path, encoded)
    assert summary["step"] == cfg.train.num_steps and np.isfinite(summary["nll_per_token"])


def test_an_unknown_text_view_transform_is_refused_naming_the_registered_ones(small_cfg, encoded):
    from vim.parti.data import code_batches

    cfg = parti_cfg(small_cfg)
    cfg.parti = dataclasses.replace(SMALL_PARTI, text_views="no-such-views")
    with pytest.raises(config_lib.ConfigError, match=r"'no-such-views' is not a registered.*'shapes-attributes'"):
        next(code_batches(cfg, encoded, "train"))


def test_an_old_config_with_caption_views_reads_as_the_shapes_transform():
    on = config_lib.to_dict(config_lib.Config())
    on["parti"] = {k: v for k, v in on["parti"].items() if k != "text_views"} | {"caption_views": True}
    assert config_lib.from_dict(on).parti.text_views == "shapes-attributes"
    off = {**on, "parti": {**on["parti"], "caption_views": False}}
    assert config_lib.from_dict(off).parti.text_views == ""
    assert config_lib.differences(on, config_lib.to_dict(config_lib.from_dict(on))) == []  # resumes as it was


def test_pipeline_tokenizes_the_two_caption_views():
    from vim.data.pipeline import TokenizeCaptions, TokenizeViews
    from vim.data.text import TextTokenizer
    from vim.world.captions import attribute_views

    model = "checkpoints/shapes-tiny/text_tokenizer.model"
    caption = "a big red circle left of two small blue squares"
    example = {"image": np.zeros((4, 4, 3), np.uint8), "caption": caption, "heldout": False}
    out = TokenizeViews(model, 32, "shapes-attributes").map(TokenizeCaptions(model, 32).map(example))
    no_shape, no_color = attribute_views(caption)
    assert "circle" not in no_shape and "red" in no_shape and "red" not in no_color and "circle" in no_color
    np.testing.assert_array_equal(out["text_ids_views"], TextTokenizer(model).encode([no_shape, no_color], 32).ids)
    assert "text_ids_views" not in TokenizeCaptions(model, 32).map(example)


def test_train_resume_bit_exact(small_cfg, encoded, tmp_path):
    cfg = parti_cfg(small_cfg)
    straight = train_and_evaluate(cfg, tmp_path / "a", encoded)
    train_and_evaluate(cfg, tmp_path / "b", encoded, stop_at=4)
    train_and_evaluate(cfg, tmp_path / "b", encoded)
    assert straight["step"] == 8 and np.isfinite(straight["nll_per_token"])
    task = PartiTask(cfg)
    abstract = jax.eval_shape(task.init_state, jax.random.key_data(jax.random.key(0)))
    states = []
    for run in ("a", "b"):
        ckpt = Checkpointer(tmp_path / run / "checkpoints", use_async=False)
        states.append(ckpt.restore(abstract)[0])
        ckpt.close()
    for x, y in zip(jax.tree.leaves(states[0]), jax.tree.leaves(states[1]), strict=True):
        assert np.array_equal(np.asarray(x), np.asarray(y))
    la = [m["loss"] for m in read_metrics(tmp_path / "a") if "loss" in m]
    lb = [m["loss"] for m in read_metrics(tmp_path / "b") if "loss" in m]
    assert la == lb and len(la) == 8
    assert any(p.name.startswith("truth_vs_sample") for p in (tmp_path / "a" / "samples").iterdir())


def test_generator_must_match_the_tokenizer(small_cfg, encoded, tmp_path):
    cfg = parti_cfg(small_cfg)
    cfg.parti.image_vocab_size = 1024
    with pytest.raises(config_lib.ConfigError, match=r"parti\.image_vocab_size=1024 \(tokenizer run needs 32"):
        train_and_evaluate(cfg, tmp_path, encoded)


SHARDED = textwrap.dedent("""
    import json, sys
    import jax, numpy as np
    from vim import config as config_lib
    from vim.parti.train import PartiTask
    from vim.sharding import make_mesh
    cfg = config_lib.from_dict(json.loads(sys.argv[1]))
    rng = np.random.default_rng(0)
    batch = {"codes": rng.integers(0, 32, (8, 64)).astype(np.int32),
             "text_ids": rng.integers(4, 512, (8, 32)).astype(np.int32)}
    batch["text_mask"] = np.arange(32)[None] < rng.integers(3, 32, (8, 1))
    results = {}
    meshes = [("single", config_lib.MeshConfig(data=1)), ("dp2_mp4", config_lib.MeshConfig(data=2, model=4)),
              ("fsdp8", config_lib.MeshConfig(data=1, fsdp=8))]
    for name, mesh_cfg in meshes:
        devices = jax.devices()[:1] if name == "single" else jax.devices()
        mesh = make_mesh(mesh_cfg, devices)
        task = PartiTask(cfg)
        with jax.set_mesh(mesh):
            abstract = jax.eval_shape(task.init_state, jax.random.key_data(jax.random.key(0)))
            shardings = task.shardings(abstract, mesh)
            state = jax.jit(task.init_state, out_shardings=shardings)(jax.random.key_data(jax.random.key(0)))
            batch_sh = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec(("data", "fsdp")))
            step = jax.jit(task.train_step, in_shardings=(shardings, batch_sh), out_shardings=(shardings, None))
            new, metrics = step(state, {k: jax.device_put(v, batch_sh) for k, v in batch.items()})
            fc1 = new["params"]["decoder"][0]["mlp"]["fc1"]["kernel"]
            emb = new["params"]["text_embed"]
            results[name] = {
                "loss": float(metrics["loss"]),
                "params": {k: np.asarray(v).tolist() for k, v in [("fc1", fc1), ("emb", emb[:4])]},
                "fc1_shard_bytes": fc1.addressable_shards[0].data.nbytes, "fc1_bytes": fc1.nbytes,
                "emb_shard_shape": list(emb.addressable_shards[0].data.shape),
            }
    print(json.dumps(results))
""")


def test_sharded_step_equals_single_device(small_cfg):
    cfg = parti_cfg(small_cfg)
    env = fake_devices_env(8)
    out = subprocess.run(
        [sys.executable, "-c", SHARDED, json.dumps(config_lib.to_dict(cfg))],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    r = json.loads(out.stdout.strip().splitlines()[-1])
    for name in ("dp2_mp4", "fsdp8"):
        assert abs(r[name]["loss"] - r["single"]["loss"]) < 1e-5
        for k in ("fc1", "emb"):
            np.testing.assert_allclose(np.array(r[name]["params"][k]), np.array(r["single"]["params"][k]), atol=1e-5)
    # fc1 kernel (embed, mlp): mlp split 4-way over `model`; embed split 8-way over `fsdp`.
    assert r["single"]["fc1_shard_bytes"] == r["single"]["fc1_bytes"]
    assert r["dp2_mp4"]["fc1_shard_bytes"] == r["dp2_mp4"]["fc1_bytes"] // 4
    assert r["fsdp8"]["fc1_shard_bytes"] == r["fsdp8"]["fc1_bytes"] // 8
    assert r["dp2_mp4"]["emb_shard_shape"] == [128, 32] and r["fsdp8"]["emb_shard_shape"] == [512, 4]


def test_plan_compiles_on_a_fake_mesh_without_allocating():
    # The suite's XLA flags (LLVM at -O0: the plan only compiles), to which `vim plan` adds its device count.
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "XLA_FLAGS": TEST_XLA_FLAGS}
    out = subprocess.run(
        [sys.executable, "-m", "vim.cli", "plan", "--preset", "tiny", "--mesh", "2x4", "--batch", "16"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    plan = json.loads(out.stdout[out.stdout.index("{") :])
    assert plan["devices"] == 8 and plan["mesh"] == {"data": 1, "fsdp": 2, "model": 4}
    assert plan["tokens_per_step"] == 16 * 64
    gib = plan["per_device_gib"]
    full_params_gib = plan["parameters"] * 4 / 2**30
    assert gib["params"] < full_params_gib / 4  # weights really are split over fsdp × model
    assert gib["optimizer_state"] > gib["params"] and gib["xla_temporaries_activations"] > 0
    assert plan["flops_per_step"] > 0


PLAN_MESHES = textwrap.dedent("""
    import json
    from vim import config as config_lib
    from vim.parti.plan import parse_mesh, plan

    out = {}
    for mesh, remat in (("2x4", False), ("8x1", False), ("2x4", True)):
        cfg = config_lib.preset("tiny", "parti")
        small = dict(width=32, encoder_layers=1, decoder_layers=1, heads=4, head_dim=8, mlp_dim=64, remat=remat)
        cfg.parti = config_lib.PartiConfig(**small)
        out[f"{mesh}_{remat}"] = plan(cfg, parse_mesh(mesh), 16)
    print(json.dumps(out))
""")


def test_plan_splits_heads_over_the_model_axis_and_counts_the_recomputed_forward():
    """Splitting the model 4 ways must not add matmul work (the fused q/k/v kernel once made every
    device project all heads), and remat shows up as recomputed forward matmuls."""
    out = subprocess.run(
        [sys.executable, "-c", PLAN_MESHES], capture_output=True, text=True, env=fake_devices_env(8), timeout=600
    )
    assert out.returncode == 0, out.stderr[-3000:]
    plans = json.loads(out.stdout.strip().splitlines()[-1])
    split, unsplit, remat = (plans[k]["matmul_flops_per_step"] for k in ("2x4_False", "8x1_False", "2x4_True"))
    assert sum(split.values()) == pytest.approx(sum(unsplit.values()), rel=0.01), (split, unsplit)
    assert split["unattributed"] < 0.25 * sum(split.values())  # attention dots that lost their names
    assert split["recompute"] == 0 and remat["forward"] == pytest.approx(split["forward"])
    assert remat["backward"] == pytest.approx(split["backward"], rel=0.01)
    # Remat recomputes the blocks' forward (the logits layer, here most of the forward, is not in a
    # block), except what only feeds a residual sum (the output projections).
    assert 0.2 < plans["2x4_True"]["recomputed_share_of_forward"] < 1.0


def test_init_from_an_exported_part(small_cfg, encoded, small_bundle, tmp_path):
    part = tmp_path / "part"  # the bundle's generator, every weight shifted: far from any random init
    shutil.copytree(small_bundle / "parti", part)
    with np.load(part / PARAMS_FILE) as stored:
        np.savez(part / PARAMS_FILE, **{name: stored[name] + 0.5 for name in stored.files})
    cfg = parti_cfg(small_cfg, num_steps=2, checkpoint_every=2, eval_every=2, learning_rate=1e-9)
    cfg.parti = read_config(part).parti
    cfg.train.init_from = str(part)
    train_and_evaluate(cfg, tmp_path / "started", encoded)
    task = PartiTask(cfg)
    ckpt = Checkpointer(tmp_path / "started" / "checkpoints", use_async=False)
    state, _, step = ckpt.restore(jax.eval_shape(task.init_state, jax.random.key_data(jax.random.key(0))))
    ckpt.close()
    assert step == 2
    with np.load(part / PARAMS_FILE) as stored:
        for weights in ("params", "ema"):
            started = flatten(state[weights])
            assert set(started) == set(stored.files)
            for name, value in started.items():  # two steps at a rate of 1e-9 move nothing measurable
                np.testing.assert_allclose(np.asarray(value), stored[name], atol=1e-6)

    no_weights = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, init_from=str(tmp_path)))
    with pytest.raises(config_lib.ConfigError, match=r"holds no params\.npz"):
        train_and_evaluate(no_weights, tmp_path / "a", encoded)
    other = dataclasses.replace(cfg, parti=dataclasses.replace(cfg.parti, decoder_layers=2))
    with pytest.raises(config_lib.ConfigError, match="does not hold this model's parameters: lacks"):
        train_and_evaluate(other, tmp_path / "b", encoded)
    record = json.loads((part / TRAINED_ON).read_text())
    record["tokenizer"] |= {"fingerprint": "0" * 64, "codes": "1" * 64}  # another tokenizer's codes
    (part / TRAINED_ON).write_text(json.dumps(record))
    with pytest.raises(config_lib.ConfigError, match="was trained on other parts: tokenizer"):
        train_and_evaluate(cfg, tmp_path / "c", encoded)
