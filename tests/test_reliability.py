"""Fault injection beyond kill -9 (bench/kill_resume.py) and damaged checkpoints (test_training_core.py):
resharding a checkpoint onto other meshes, folders of every kind of bad file through data import and FID,
and non-finite batches in a real training run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

# ---------------------------------------------------------------------------------------- resharding

# Saved by a real `fit` of a tiny Parti on an 8-device mesh with every axis > 1, so weights are split
# over fsdp and model. Checkpointer.save is wrapped to dump exactly what it was handed: the witness the
# restores are compared with does not itself come from a restore.
RESHARD_SAVE = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    import jax, numpy as np
    from vim import config as config_lib
    from vim.parti.train import PartiTask
    from vim.training import checkpoint, loop
    from tests.test_reliability import reshard_cfg, SyntheticCodes
    assert jax.device_count() == 8, jax.devices()
    workdir = Path(sys.argv[1])
    cfg = reshard_cfg(config_lib.MeshConfig(data=2, fsdp=2, model=2))
    original = checkpoint.Checkpointer.save
    def save(self, step, state, data_state):
        flat = jax.tree_util.tree_flatten_with_path(jax.device_get(state))[0]
        np.savez(workdir / f"saved_{step}.npz", **{jax.tree_util.keystr(p): v for p, v in flat})
        shards = {jax.tree_util.keystr(p): [str(x.sharding.spec), list(x.addressable_shards[0].data.shape)]
                  for p, x in jax.tree_util.tree_flatten_with_path(state)[0]}
        (workdir / f"layout_{step}.json").write_text(json.dumps(shards))
        return original(self, step, state, data_state)
    checkpoint.Checkpointer.save = save
    task = PartiTask(cfg)
    result = loop.fit(cfg, workdir / "run", task, lambda: SyntheticCodes(cfg), shardings_fn=task.shardings)
    print(json.dumps({"step": result["step"]}))
""")

RESHARD_RESTORE = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    import jax, numpy as np
    from vim import config as config_lib
    from vim.parti.train import PartiTask
    from vim.sharding import make_mesh
    from vim.training.checkpoint import Checkpointer, abstract_like
    from tests.test_reliability import reshard_cfg
    workdir = Path(sys.argv[1])
    task = PartiTask(reshard_cfg(config_lib.MeshConfig()))
    abstract = jax.eval_shape(task.init_state, jax.random.key_data(jax.random.key(0)))
    targets = {
        "fsdp4_model2": make_mesh(config_lib.MeshConfig(data=1, fsdp=4, model=2)),
        "one_device": make_mesh(config_lib.MeshConfig(data=1, fsdp=1, model=1), devices=jax.devices()[:1]),
    }
    out = {}
    for name, mesh in targets.items():
        shardings = task.shardings(abstract, mesh)
        ckpt = Checkpointer(workdir / "run" / "checkpoints", use_async=False)
        state, data_state, step = ckpt.restore(abstract_like(abstract, shardings))
        ckpt.close()
        saved = np.load(workdir / f"saved_{step}.npz")
        leaves = jax.tree_util.tree_flatten_with_path(state)[0]
        wanted = jax.tree.leaves(shardings)
        out[name] = {
            "step": step,
            "leaves": len(leaves),
            "saved_leaves": len(saved.files),
            "unequal": [jax.tree_util.keystr(p) for p, x in leaves
                        if not np.array_equal(np.asarray(x), saved[jax.tree_util.keystr(p)])],
            "wrong_sharding": [jax.tree_util.keystr(p) for (p, x), s in zip(leaves, wanted) if x.sharding != s],
            "devices": sorted({d.id for x in jax.tree.leaves(state) for d in x.sharding.device_set}),
            "shards": {jax.tree_util.keystr(p): [str(x.sharding.spec), list(x.addressable_shards[0].data.shape)]
                       for p, x in leaves},
            "split": [jax.tree_util.keystr(p) for p, x in leaves if x.addressable_shards[0].data.shape != x.shape],
            "data_state": data_state.decode() if data_state is not None else None,
        }
    print(json.dumps(out))
""")


def reshard_cfg(mesh):
    """A tiny Parti (heads and MLP divisible by 2 and widths by 4, so every mesh here splits them)."""
    from vim import config as config_lib

    cfg = config_lib.tiny()
    cfg.parti = config_lib.PartiConfig(
        width=32, encoder_layers=1, decoder_layers=1, heads=2, head_dim=16, mlp_dim=64, image_vocab_size=32
    )
    cfg.train = config_lib.TrainConfig(
        num_steps=3, warmup_steps=1, checkpoint_every=3, eval_every=100, progress=False, keep_checkpoints=2
    )
    cfg.data.batch_size = 8
    cfg.mesh = mesh
    cfg.log_every = 1
    return cfg


class SyntheticCodes:
    """Random (text, codes) batches with a resumable position: a stand-in for the encoded dataset."""

    def __init__(self, cfg):
        self.cfg, self.position = cfg, 0

    def __next__(self) -> dict:
        rng = np.random.default_rng(self.position)
        self.position += 1
        b, pc = self.cfg.data.batch_size, self.cfg.parti
        text = rng.integers(1, pc.text_vocab_size, (b, pc.text_length), dtype=np.int32)
        return {
            "codes": rng.integers(0, pc.image_vocab_size, (b, pc.image_grid**2), dtype=np.int32),
            "text_ids": text,
            "text_mask": text != 0,
        }

    def get_state(self) -> bytes:
        return json.dumps({"position": self.position}).encode()

    def set_state(self, state: bytes) -> None:
        self.position = json.loads(state)["position"]


def _eight_devices(script: str, *args: str) -> dict:
    env = {
        **os.environ,
        "XLA_FLAGS": "--xla_force_host_platform_device_count=8",
        "JAX_PLATFORMS": "cpu",
        "PYTHONPATH": str(Path(__file__).parents[1]),
    }
    out = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-4000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_checkpoint_from_8_devices_restores_onto_4x2_and_1_device(tmp_path):
    assert _eight_devices(RESHARD_SAVE, str(tmp_path)) == {"step": 3}
    saved_layout = json.loads((tmp_path / "layout_3.json").read_text())
    # The save really was partitioned: some weights split over model, some over fsdp.
    specs = [spec for spec, _ in saved_layout.values()]
    assert any("model" in s for s in specs) and any("fsdp" in s for s in specs)

    restored = _eight_devices(RESHARD_RESTORE, str(tmp_path))
    for name, r in restored.items():
        assert r["step"] == 3, name
        assert r["leaves"] == r["saved_leaves"] == len(saved_layout), name
        assert r["unequal"] == [], name
        assert r["wrong_sharding"] == [], name
        assert r["data_state"] == json.dumps({"position": 3}), name
    assert restored["one_device"]["devices"] == [0]
    assert restored["fsdp4_model2"]["devices"] == list(range(8))
    # A different layout, not the saved one in disguise: fsdp now splits embed dims 4 ways, not 2.
    changed = [k for k, (spec, shape) in restored["fsdp4_model2"]["shards"].items() if saved_layout[k][1] != shape]
    assert changed, "the 4×2 restore has exactly the saved shard shapes"
    assert restored["one_device"]["split"] == [] and restored["fsdp4_model2"]["split"]
