"""Training at scale: microbatches with gradient accumulation, chunked cross-entropy,
Adafactor, remat that holds after compilation, and the config checks around them."""

import dataclasses
import json
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from vim import config as config_lib
from vim.parti.model import Parti
from vim.parti.train import PartiTask
from vim.training.checkpoint import Checkpointer
from vim.training.loop import fit
from vim.training.optim import make_optimizer

from .conftest import fake_devices_env

SMALL_PARTI = dict(width=32, encoder_layers=1, decoder_layers=2, heads=2, head_dim=16, mlp_dim=64, image_vocab_size=96)


def small_task(parti: dict | None = None, **train) -> PartiTask:
    cfg = config_lib.preset("tiny", "parti")
    cfg.parti = config_lib.PartiConfig(**{**SMALL_PARTI, **(parti or {})})
    cfg.train = dataclasses.replace(cfg.train, warmup_steps=1, progress=False, **train)
    return PartiTask(cfg)


def random_batch(seed: int = 0, batch: int = 8) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "codes": rng.integers(0, 64, (batch, 64)).astype(np.int32),
        "text_ids": rng.integers(4, 500, (batch, 32)).astype(np.int32),
    }


def two_steps(task: PartiTask) -> tuple[dict, dict]:
    """Two train steps on one batch (the first has learning rate 0 under warm-up)."""
    state = jax.jit(task.init_state)(jax.random.key_data(jax.random.key(0)))
    step = jax.jit(task.train_step)
    for _ in range(2):
        state, metrics = step(state, random_batch())
    return state, metrics


def max_difference(a, b) -> float:
    return max(float(jnp.max(jnp.abs(x - y))) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True))


def test_microbatched_update_equals_the_one_batch_update():
    whole, whole_metrics = two_steps(small_task(microbatches=1))
    split, split_metrics = two_steps(small_task(microbatches=4))
    assert max_difference(whole["params"], split["params"]) < 1e-5
    assert max_difference(whole["opt_state"], split["opt_state"]) < 1e-5
    assert abs(float(whole_metrics["loss"]) - float(split_metrics["loss"])) < 1e-5
    assert float(whole_metrics["accuracy"]) == pytest.approx(float(split_metrics["accuracy"]))
    first = jax.jit(small_task().init_state)(jax.random.key_data(jax.random.key(0)))
    assert max_difference(whole["params"], first["params"]) > 1e-4  # the steps did move the params


def test_microbatches_must_divide_the_batch_and_other_tasks_refuse_them(tmp_path):
    task = small_task(microbatches=3)
    state = jax.jit(task.init_state)(jax.random.key_data(jax.random.key(0)))
    with pytest.raises(config_lib.ConfigError, match=r"train\.microbatches=3"):
        jax.jit(task.train_step)(state, random_batch())
    cfg = config_lib.preset("tiny")
    cfg.train.microbatches = 2
    with pytest.raises(config_lib.ConfigError, match=r"train\.microbatches=2: object trains on whole batches"):
        fit(cfg, tmp_path / "run", object(), train_batches=lambda: None)


SHARDED_MICROBATCHES = textwrap.dedent("""
    import json, dataclasses
    import jax, numpy as np
    from vim import config as config_lib
    from vim.parti.train import PartiTask
    from vim.sharding import batch_sharding, make_mesh
    from tests.test_scale import random_batch, small_task
    assert jax.device_count() == 8, jax.devices()
    mesh = make_mesh(config_lib.MeshConfig(data=2, fsdp=2, model=2))
    params = {}
    for microbatches in (1, 2):
        task = small_task(microbatches=microbatches)
        with jax.set_mesh(mesh):
            abstract = jax.eval_shape(task.init_state, jax.random.key_data(jax.random.key(0)))
            shardings = task.shardings(abstract, mesh)
            state = jax.jit(task.init_state, out_shardings=shardings)(jax.random.key_data(jax.random.key(0)))
            step = jax.jit(task.train_step, in_shardings=(shardings, batch_sharding(mesh)),
                           out_shardings=(shardings, None))
            batch = jax.device_put(random_batch(), batch_sharding(mesh))
            for _ in range(2):
                state, metrics = step(state, batch)
        params[microbatches] = jax.device_get(state["params"])
        kernel = state["params"]["decoder"][0]["mlp"]["fc1"]["kernel"]
        sharded = not kernel.sharding.is_fully_replicated
    difference = max(float(np.max(np.abs(a - b))) for a, b in
                     zip(jax.tree.leaves(params[1]), jax.tree.leaves(params[2])))
    print(json.dumps({"difference": difference, "sharded": sharded}))
""")


@pytest.mark.slow
def test_microbatches_on_8_fake_devices_equal_the_one_batch_update():
    out = subprocess.run(
        [sys.executable, "-c", SHARDED_MICROBATCHES],
        capture_output=True,
        text=True,
        env=fake_devices_env(8),
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["sharded"] and result["difference"] < 1e-5


class ListBatches:
    """A resumable iterator over fixed random batches (state: the next index)."""

    def __init__(self):
        self.index = 0

    def __next__(self) -> dict:
        self.index += 1
        return random_batch(seed=self.index)

    def get_state(self) -> bytes:
        return json.dumps({"index": self.index}).encode()

    def set_state(self, state: bytes) -> None:
        self.index = json.loads(state)["index"]


def test_microbatched_training_resumes_bit_exact(tmp_path):
    task = small_task(microbatches=2, num_steps=2, checkpoint_every=1, ema_decay=0.9)
    cfg = task.cfg
    cfg.mesh = config_lib.MeshConfig()
    fit(cfg, tmp_path / "straight", task, ListBatches, shardings_fn=task.shardings)
    fit(cfg, tmp_path / "resumed", task, ListBatches, shardings_fn=task.shardings, stop_at=1)
    fit(cfg, tmp_path / "resumed", task, ListBatches, shardings_fn=task.shardings)
    abstract = jax.eval_shape(task.init_state, jax.random.key_data(jax.random.key(0)))
    states = [
        Checkpointer(tmp_path / run / "checkpoints", use_async=False).restore(abstract)
        for run in ("straight", "resumed")
    ]
    (a, _, step_a), (b, _, step_b) = states
    assert step_a == step_b == 2
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_chunked_cross_entropy_equals_the_full_one_and_never_holds_all_logits():
    params = jax.jit(small_task().init_state)(jax.random.key_data(jax.random.key(0)))["params"]
    batch = {k: jnp.asarray(v) for k, v in random_batch().items()}
    key = jax.random.key(3)
    results = {}
    for chunk in (0, 16):
        task = small_task({"logits_chunk": chunk})
        compiled = jax.jit(jax.value_and_grad(task.loss, has_aux=True)).lower(params, batch, key).compile()
        results[chunk] = (*compiled(params, batch, key), compiled.as_text())
    ((loss_a, aux_a), grads_a, text_a), ((loss_b, aux_b), grads_b, text_b) = results[0], results[16]
    assert abs(float(loss_a) - float(loss_b)) < 1e-5 and float(aux_a["accuracy"]) == float(aux_b["accuracy"])
    assert max_difference(grads_a, grads_b) < 1e-6
    all_logits = "f32[8,64,96]"  # [B, N, V]: the full logits
    assert all_logits in text_a and all_logits not in text_b
    with pytest.raises(config_lib.ConfigError, match=r"parti\.logits_chunk=24 must divide the 64"):
        small_task({"logits_chunk": 24}).loss(params, batch, None)


def test_adafactor_trains_the_tiny_model_with_factored_state():
    task = small_task(optimizer="adafactor", learning_rate=1e-2)
    state = jax.jit(task.init_state)(jax.random.key_data(jax.random.key(0)))
    step = jax.jit(task.train_step)
    losses = []
    for _ in range(30):
        state, metrics = step(state, random_batch())
        losses.append(float(metrics["loss"]))
    assert losses[-1] < 0.5 * losses[0], losses
    # Second moments of a [256, 512] matrix: a row and a column vector (AdamW: two full slots).
    params = {"w": jnp.zeros((256, 512))}
    sizes = {}
    for name in ("adafactor", "adamw"):
        tx = make_optimizer(config_lib.TrainConfig(optimizer=name))
        sizes[name] = sum(x.nbytes for x in jax.tree.leaves(tx.init(params)))
    assert sizes["adamw"] >= 2 * params["w"].nbytes
    assert sizes["adafactor"] < 0.6 * params["w"].nbytes  # the bf16 first moment and two vectors
    with pytest.raises(config_lib.ConfigError, match=r"train\.optimizer='adam'"):
        make_optimizer(config_lib.TrainConfig(optimizer="adam"))


def test_paper_presets_train_with_adafactor_microbatches_and_chunks():
    for name in ("parti-350m", "parti-20b"):
        cfg = config_lib.preset(name, "parti")
        assert cfg.train.optimizer == "adafactor" and cfg.train.microbatches > 1 and cfg.parti.logits_chunk > 0
        assert cfg.data.batch_size % cfg.train.microbatches == 0
    tiny = config_lib.preset("tiny", "parti")
    assert (tiny.train.optimizer, tiny.train.microbatches, tiny.parti.logits_chunk) == ("adamw", 1, 0)


def test_remat_holds_after_compilation():
    """Same gradients; activation memory no longer grows with depth; the recomputed forward is counted."""
    results = {}
    for remat in (False, True):
        for layers in (1, 5):
            pc = dataclasses.replace(config_lib.PartiConfig(**SMALL_PARTI), decoder_layers=layers, remat=remat)
            graphdef, params = nnx.split(Parti(pc, rngs=nnx.Rngs(0)))
            batch = {k: jnp.asarray(v) for k, v in random_batch(batch=32).items()}

            def loss(params, batch, graphdef=graphdef):
                logits = nnx.merge(graphdef, params)(batch["text_ids"], batch["text_ids"] != 0, batch["codes"])
                return jnp.mean(jax.nn.logsumexp(logits, -1))

            grad = jax.jit(jax.grad(loss))
            compiled = grad.lower(params, batch).compile()
            results[remat, layers] = (
                compiled.memory_analysis().temp_size_in_bytes,
                compiled.cost_analysis()["flops"],
                grad(params, batch) if layers == 1 else None,
            )
    assert max_difference(results[False, 1][2], results[True, 1][2]) < 1e-6
    growth = {remat: results[remat, 5][0] - results[remat, 1][0] for remat in (False, True)}
    assert growth[True] < 0.25 * growth[False], growth
    assert results[True, 5][1] > 1.2 * results[False, 5][1]


def test_a_run_saved_before_a_field_existed_resumes(tmp_path):
    cfg = config_lib.preset("tiny", "parti")
    saved = config_lib.to_dict(cfg)
    del saved["train"]["microbatches"], saved["parti"]["logits_chunk"]
    (tmp_path / config_lib.CONFIG_FILE).write_text(json.dumps(saved))
    config_lib.save_or_check(cfg, tmp_path)  # the missing fields read as their defaults
    cfg.train.microbatches = 2
    with pytest.raises(config_lib.ConfigError, match=r"train\.microbatches: run has 1, requested 2"):
        config_lib.save_or_check(cfg, tmp_path)


SHARDED_UPDATE = textwrap.dedent("""
    import json, tempfile
    import jax, numpy as np
    from vim import config as config_lib, hlo
    from vim.sharding import batch_sharding, make_mesh
    from vim.training.checkpoint import Checkpointer, abstract_like
    from tests.test_scale import random_batch, small_task
    mesh = make_mesh(config_lib.MeshConfig(data=2, fsdp=2, model=2))
    data_groups = sorted(sorted(g) for g in mesh.device_ids.reshape(2, -1).T.tolist())
    out, states = {}, {}
    with jax.set_mesh(mesh):
        for shard in (False, True):
            task = small_task({"decoder_layers": 1}, shard_update=shard)
            abstract = jax.eval_shape(task.init_state, jax.random.key_data(jax.random.key(0)))
            shardings = task.shardings(abstract, mesh)
            init = jax.jit(task.init_state, out_shardings=shardings)
            batches = [jax.device_put(random_batch(i), batch_sharding(mesh)) for i in range(5)]
            step = jax.jit(task.train_step, in_shardings=(shardings, batch_sharding(mesh)),
                           out_shardings=(shardings, None), donate_argnums=0)
            compiled = step.lower(abstract_like(abstract, shardings), batches[0]).compile()
            state, losses = init(jax.random.key_data(jax.random.key(0))), []
            for batch in batches:
                state, metrics = compiled(state, batch)
                losses.append(float(metrics["loss"]))
            states[shard] = jax.device_get(state)
            over_data = {}
            for c in hlo.collectives(compiled.as_text(), 8):
                groups = hlo.device_groups_of(c)
                if groups == data_groups:
                    over_data[c["kind"]] = over_data.get(c["kind"], 0) + c["bytes"] * c["times"]
            opt = state["opt_state"]
            out[shard] = {"losses": losses, "over_data": over_data,
                          "opt_bytes": sum(x.addressable_shards[0].data.nbytes for x in jax.tree.leaves(opt))}
            if shard:  # resume: one step, a checkpoint, a restore into the sharded layout, the rest
                with tempfile.TemporaryDirectory() as folder:
                    state = init(jax.random.key_data(jax.random.key(0)))
                    state, _ = compiled(state, batches[0])
                    ckpt = Checkpointer(folder, use_async=False)
                    ckpt.save(1, state, None)
                    ckpt.close()
                    state, _, _ = Checkpointer(folder, use_async=False).restore(abstract_like(abstract, shardings))
                    for batch in batches[1:]:
                        state, _ = compiled(state, batch)
                out["resumed_equal"] = all(np.array_equal(a, b) for a, b in
                                           zip(jax.tree.leaves(jax.device_get(state)), jax.tree.leaves(states[True])))
    out["loss_difference"] = max(abs(a - b) for a, b in zip(out[False]["losses"], out[True]["losses"]))
    params = [jax.tree.leaves(states[shard]["params"]) for shard in (False, True)]
    out["weight_difference"] = max(float(np.max(np.abs(a - b))) for a, b in zip(*params))
    print(json.dumps(out))
""")


@pytest.mark.slow
def test_sharded_update_on_8_fake_devices_equals_the_replicated_one():
    """Data 2 × fsdp 2 × model 2, 5 AdamW steps at the tiny preset's learning rate: the same losses and
    weights; the state a device keeps halves; the data replicas' all-reduce of the gradients becomes a
    reduce-scatter and an all-gather of the weights; a checkpoint of the sharded state resumes bit-exact."""
    out = subprocess.run(
        [sys.executable, "-c", SHARDED_UPDATE], capture_output=True, text=True, env=fake_devices_env(8), timeout=600
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    replicated, sharded = result["false"], result["true"]
    assert result["loss_difference"] < 1e-6 and result["weight_difference"] < 1e-6, result
    assert sharded["opt_bytes"] * 2 <= replicated["opt_bytes"] * 1.01, result  # scalars stay whole
    assert "reduce-scatter" not in replicated["over_data"] and replicated["over_data"]["all-reduce"] > 10_000
    assert sharded["over_data"]["reduce-scatter"] > 0 and sharded["over_data"]["all-gather"] > 0, result
    assert sharded["over_data"].get("all-reduce", 0) < 0.01 * replicated["over_data"]["all-reduce"], result
    assert result["resumed_equal"]
