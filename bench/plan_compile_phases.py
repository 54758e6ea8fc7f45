"""Where a `vim plan` compile spends its time: tracing, lowering and XLA's compile of the Parti train step,
in wall seconds and in this process's CPU seconds (on a shared machine the wall clock mostly measures
the load; the CPU seconds are the work). Prints one JSON object.

    XLA_FLAGS=--xla_force_host_platform_device_count=1024 JAX_PLATFORMS=cpu nice -n 19 \
        python bench/plan_compile_phases.py parti-20b 1x64x16 8192 parti.encoder_layers=1 parti.decoder_layers=1
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time

import jax

from vim.config import MeshConfig, apply_overrides, preset
from vim.parti.train import PartiTask
from vim.sharding import batch_sharding, make_mesh
from vim.training.checkpoint import abstract_like


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(name: str, mesh_text: str, batch: int, overrides: list[str]) -> dict:
    d, f, m = (int(v) for v in mesh_text.split("x"))
    cfg = apply_overrides(preset(name, "parti"), [f"mesh.data={d}", f"mesh.fsdp={f}", f"mesh.model={m}", *overrides])
    wall, cpu = [time.perf_counter()], [cpu_seconds()]

    def mark() -> None:
        wall.append(time.perf_counter())
        cpu.append(cpu_seconds())

    mesh = make_mesh(MeshConfig(data=d, fsdp=f, model=m), jax.devices()[: d * f * m])
    task = PartiTask(cfg)
    with jax.set_mesh(mesh):
        abstract = jax.eval_shape(task.init_state, jax.random.key_data(jax.random.key(0)))
        shardings = task.shardings(abstract, mesh)
        bsh = batch_sharding(mesh)
        batch_in = {
            k: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=bsh) for k, s in task.batch_shapes(batch).items()
        }
        step = jax.jit(
            task.train_step, in_shardings=(shardings, bsh), out_shardings=(shardings, None), donate_argnums=0
        )
        traced = step.trace(abstract_like(abstract, shardings), batch_in)
        mark()
        lowered = traced.lower()
        mark()
        compiled = lowered.compile()
        mark()
    memory = compiled.memory_analysis()
    phases = ("setup_and_trace", "lower", "compile")
    return {
        "preset": name,
        "mesh": mesh_text,
        "overrides": overrides,
        "wall_s": {p: round(wall[i + 1] - wall[i], 1) for i, p in enumerate(phases)},
        "cpu_s": {p: round(cpu[i + 1] - cpu[i], 1) for i, p in enumerate(phases)},
        "load_average_1min": os.getloadavg()[0],
        "xla_temporaries_gib": memory.temp_size_in_bytes / 2**30,
        "xla_arguments_gib": memory.argument_size_in_bytes / 2**30,
        "flops_per_device": (compiled.cost_analysis() or {}).get("flops"),
        "hlo_chars": len(compiled.as_text()),
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:])))
