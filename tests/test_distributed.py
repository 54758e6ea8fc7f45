"""Two jax.distributed processes on 127.0.0.1 train Parti with per-process data sharding and end with the
same parameters as one process stepping on the same global batches."""

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np

from vim import config as config_lib

from .conftest import TEST_XLA_FLAGS
from .test_parti import parti_cfg

STEPS = 3
SCRIPT = textwrap.dedent(
    """
    import json, sys
    import jax
    import numpy as np
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    cfg_json, encoded, port, pid, nproc, out = sys.argv[1:7]
    pid, nproc = int(pid), int(nproc)
    if nproc > 1:
        jax.distributed.initialize(coordinator_address=f"127.0.0.1:{port}", num_processes=nproc, process_id=pid)
    from vim import config as config_lib
    from vim.parti.data import code_batches
    from vim.parti.train import PartiTask
    from vim.sharding import batch_sharding, global_batch, make_mesh
    cfg = config_lib.from_dict(json.loads(cfg_json))
    mesh = make_mesh(config_lib.MeshConfig(data=-1))
    assert mesh.devices.size == nproc
    task = PartiTask(cfg)
    if nproc > 1:   # each process reads only its shard
        iters = [code_batches(cfg, encoded, "train", process_index=pid, process_count=nproc)]
    else:           # the reference reads both shards and stacks them in process order
        iters = [code_batches(cfg, encoded, "train", process_index=i, process_count=2) for i in range(2)]
    with jax.set_mesh(mesh):
        abstract = jax.eval_shape(task.init_state, jax.random.key_data(jax.random.key(0)))
        shardings = task.shardings(abstract, mesh)
        state = jax.jit(task.init_state, out_shardings=shardings)(jax.random.key_data(jax.random.key(0)))
        step = jax.jit(task.train_step, in_shardings=(shardings, batch_sharding(mesh)), out_shardings=(shardings, None))
        losses = []
        for _ in range(STEPS_HERE):
            parts = [next(it) for it in iters]
            local = {k: np.concatenate([p[k] for p in parts]) for k in ("codes", "text_ids")}
            state, metrics = step(state, global_batch(local, mesh))
            losses.append(float(metrics["loss"]))
    leaves = [np.asarray(x.addressable_data(0)) for x in jax.tree.leaves(state["params"])]
    if pid == 0:
        np.savez(out, *leaves, losses=np.array(losses))
""".replace("STEPS_HERE", str(STEPS))
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_match_one(small_cfg, encoded, tmp_path):
    cfg = parti_cfg(small_cfg)
    cfg.data.batch_size = 8
    cfg_json = json.dumps(config_lib.to_dict(cfg))
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "XLA_FLAGS": TEST_XLA_FLAGS}
    port = _free_port()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SCRIPT, cfg_json, str(encoded), str(port), str(i), "2", str(tmp_path / "two.npz")],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err[-3000:]
    one = subprocess.run(
        [sys.executable, "-c", SCRIPT, cfg_json, str(encoded), "0", "0", "1", str(tmp_path / "one.npz")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert one.returncode == 0, one.stderr[-3000:]
    two, ref = np.load(tmp_path / "two.npz"), np.load(tmp_path / "one.npz")
    np.testing.assert_allclose(two["losses"], ref["losses"], atol=1e-5)
    keys = [k for k in ref.files if k != "losses"]
    assert len(keys) > 10
    for k in keys:
        np.testing.assert_allclose(two[k], ref[k], atol=1e-5)


def test_peer_failure_sees_a_failed_collective_behind_a_checkpoint_error(monkeypatch):
    """A peer killed while a checkpoint gathers across processes surfaces as a CheckpointWriteError raised
    from JAX's error; the survivor must still say a peer failed (and take the no-barrier exit)."""
    import jax

    from vim.distributed import peer_failure
    from vim.training.loop import CheckpointWriteError

    gloo = jax.errors.JaxRuntimeError("UNKNOWN: Gloo AllGather failed: Connection reset by peer")
    wrapped = CheckpointWriteError("could not write the checkpoint of step 4")
    wrapped.__cause__ = gloo
    assert peer_failure(wrapped) is None  # one process: nothing to blame
    monkeypatch.setattr(jax, "process_count", lambda: 2)
    assert "a collective with the other processes failed" in peer_failure(wrapped)
    assert "Gloo AllGather failed" in peer_failure(gloo)
    assert peer_failure(CheckpointWriteError("disk full")) is None
