"""Scale plan: compile a generator's train step (Parti's, or the class-conditional Transformer's) for a big
mesh on abstract inputs and report what XLA says.

    vim plan --preset parti-20b --mesh 16x16          # fsdp × model (or data×fsdp×model)
    vim plan --preset vim-large --mesh 8x4            # a classgen preset compiles classgen's step

Nothing is allocated: parameters and batches are ShapeDtypeStructs with target shardings, and the
mesh is made of fake CPU devices (the command re-runs itself with enough of them).
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from vim import hlo
from vim.config import Config, MeshConfig
from vim.sharding import batch_sharding, make_mesh
from vim.training.checkpoint import abstract_like

MAX_PLAN_BATCH = 2**20  # global batch of a plan (--batch)
MAX_PLAN_DEVICES = 16_384  # a plan runs on that many fake CPU devices; beyond the largest pods it means a typo


def parse_mesh(text: str) -> MeshConfig:
    """ "FSDPxMODEL" or "DATAxFSDPxMODEL" → MeshConfig."""
    try:
        sizes = [int(v) for v in text.lower().split("x")]
    except ValueError:
        raise ValueError(f"--mesh {text!r}: expected sizes like 16x16 or 4x16x4") from None
    if any(size < 1 for size in sizes) or math.prod(sizes) > MAX_PLAN_DEVICES:
        raise ValueError(f"--mesh {text!r}: sizes must be ≥ 1 and name at most {MAX_PLAN_DEVICES} devices in all")
    if len(sizes) == 2:
        return MeshConfig(data=1, fsdp=sizes[0], model=sizes[1])
    if len(sizes) == 3:
        return MeshConfig(data=sizes[0], fsdp=sizes[1], model=sizes[2])
    raise ValueError(f"--mesh {text!r}: give 2 (fsdp×model) or 3 (data×fsdp×model) sizes")


def _per_device_bytes(tree, shardings) -> int:
    total = 0
    for leaf, sharding in zip(jax.tree.leaves(tree), jax.tree.leaves(shardings), strict=True):
        shard = sharding.shard_shape(leaf.shape)
        total += math.prod(shard) * jnp.dtype(leaf.dtype).itemsize
    return total


def plan(cfg: Config, mesh_cfg: MeshConfig, batch_size: int | None = None, task: Any | None = None) -> dict:
    """Compile the train step of `task` (a PartiTask, the default, or a task of its interface with
    `batch_shapes`, such as ClassGenTask) for `mesh_cfg` (needs that many devices); report memory and FLOPs."""
    from vim.parti.train import PartiTask

    n = mesh_cfg.data * mesh_cfg.fsdp * mesh_cfg.model
    mesh = make_mesh(mesh_cfg, jax.devices()[:n])
    batch = batch_size or cfg.data.batch_size
    task = PartiTask(cfg) if task is None else task
    tokens = task.pc.image_grid**2
    with jax.set_mesh(mesh):
        abstract = jax.eval_shape(task.init_state, jax.random.key_data(jax.random.key(0)))
        shardings = task.shardings(abstract, mesh)
        bsh = batch_sharding(mesh)
        batch_in = {
            name: jax.ShapeDtypeStruct(shape.shape, shape.dtype, sharding=bsh)
            for name, shape in task.batch_shapes(batch).items()
        }
        step = jax.jit(
            task.train_step, in_shardings=(shardings, bsh), out_shardings=(shardings, None), donate_argnums=0
        )
        start = time.perf_counter()
        compiled = step.lower(abstract_like(abstract, shardings), batch_in).compile()
        compile_seconds = time.perf_counter() - start
    text = compiled.as_text()
    matmul = matmul_flops(text)
    memory = compiled.memory_analysis()
    cost = compiled.cost_analysis() or {}
    flops = float(cost.get("flops", float("nan")))
    params = sum(int(np.prod(x.shape)) for x in jax.tree.leaves(abstract["params"]))
    gib = 2**30
    per_device = {
        "params": _per_device_bytes(abstract["params"], shardings["params"]) / gib,
        "ema": _per_device_bytes(abstract["ema"], shardings["ema"]) / gib,
        "optimizer_state": _per_device_bytes(abstract["opt_state"], shardings["opt_state"]) / gib,
        "xla_arguments": memory.argument_size_in_bytes / gib,
        "xla_temporaries_activations": memory.temp_size_in_bytes / gib,
        "xla_outputs": memory.output_size_in_bytes / gib,
    }
    # What one device holds during the step: the state (donated, so updated in place) and the
    # step's temporaries (activations, their recomputation, gradients and their microbatch sum).
    state_and_temps = ("params", "ema", "optimizer_state", "xla_temporaries_activations")
    per_device["total"] = sum(per_device[k] for k in state_and_temps)
    return {
        "preset": cfg.name,
        "task": type(task).__name__,
        "mesh": {"data": mesh_cfg.data, "fsdp": mesh_cfg.fsdp, "model": mesh_cfg.model},
        "devices": n,
        "parameters": params,
        "global_batch": batch,
        "tokens_per_step": batch * tokens,
        "optimizer": cfg.train.optimizer,
        "shard_update": cfg.train.shard_update,
        "microbatches": cfg.train.microbatches,
        "sequences_per_device_per_microbatch": batch / cfg.train.microbatches / (mesh_cfg.data * mesh_cfg.fsdp),
        "remat": task.pc.remat,
        "logits_chunk": task.pc.logits_chunk,
        "per_device_gib": per_device,
        # XLA counts a loop's body once: the microbatch scan's body (nearly all of the step) is scaled by
        # its trip count here; the logits' chunk loop inside it stays counted once per microbatch.
        "flops_per_step_per_device": flops * cfg.train.microbatches,
        "flops_per_step": flops * cfg.train.microbatches * n,
        "model_flops_per_step_6nd": 6.0 * params * batch * tokens,
        # Matmul FLOPs of the compiled program, every loop body times its trip count: the forward pass,
        # its recomputation in the backward pass (remat, logits chunks) and the backward pass proper.
        "matmul_flops_per_step": {k: v * n for k, v in matmul.items()},
        "recomputed_share_of_forward": matmul["recompute"] / matmul["forward"] if matmul["forward"] else 0.0,
        # Bytes XLA's cost analysis says the step reads and writes (one device; the microbatch loop's body
        # times its trip count, as for the FLOPs): XLA:CPU's fusions, an accelerator fuses differently.
        "hbm_bytes_per_step_per_device": float(cost.get("bytes accessed", float("nan"))) * cfg.train.microbatches,
        # Every collective of the compiled program, one device's view, merged by kind, group size and span
        # (`vim.hlo.collectives`: loop bodies times their trip counts; the bytes a ring sends).
        "collectives": hlo.summarize(hlo.collectives(text, n)),
        "compile_wall_seconds": round(compile_seconds),
    }


def matmul_flops(hlo_text: str) -> dict[str, float]:
    """Per-device matmul FLOPs of a compiled (SPMD-partitioned) HLO module, by pass.

    XLA's cost analysis counts a loop body once; here each body counts its known trip count times
    (microbatches, logit chunks), and a conditional's branches all count (the remat one has a single
    branch with matmuls): `vim.hlo.walk`. A dot is "recompute" when JAX's name stack puts it in the
    forward of a rematerialized function inside the backward pass (the remat conditional's branch, a
    `jax.checkpoint`), "backward" under any other transpose, else "forward"; "unattributed" when the
    compiler dropped the name.
    """
    totals = {"forward": 0.0, "recompute": 0.0, "backward": 0.0, "unattributed": 0.0}
    for line, times, shapes in hlo.walk(hlo_text):
        defined = hlo.INSTRUCTION.match(line)
        if " dot(" in line and defined:
            lhs = shapes[re.search(r" dot\(%([\w.\-]+),", line).group(1)]
            contracted = re.search(r"lhs_contracting_dims=\{([\d,]*)\}", line).group(1)
            flops = 2.0 * math.prod(shapes[defined.group(1)])
            flops *= math.prod(lhs[int(i)] for i in contracted.split(",") if i)
            totals[_matmul_pass(line)] += flops * times
    return totals


def _matmul_pass(dot_line: str) -> str:
    op_name = re.search(r'op_name="([^"]*)"', dot_line)
    if op_name is None:  # XLA:CPU's YNNPACK fusions drop the metadata of some (attention) dots
        return "unattributed"
    path = op_name.group(1)
    if "rematted_computation" in path:
        return "recompute"
    remat_branch = re.split(r"/cond/branch_\d+_fun/", path)
    if len(remat_branch) > 1 and "transpose(" in remat_branch[0]:
        return "backward" if remat_branch[-1].startswith("transpose(") else "recompute"
    return "backward" if "transpose(" in path else "forward"


def run_with_fake_devices(argv: list[str], count: int) -> int:
    """Re-run this command in a process that sees `count` fake CPU devices."""
    env = {
        **os.environ,
        "XLA_FLAGS": f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={count}",
        "JAX_PLATFORMS": "cpu",
        "VIM_PLAN_CHILD": "1",
    }
    return subprocess.run([sys.executable, "-m", "vim.cli", *argv], env=env).returncode
