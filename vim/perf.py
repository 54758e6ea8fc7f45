"""Throughput yardsticks shared by the benchmarks."""

from __future__ import annotations

import platform
import time

import jax
import jax.numpy as jnp


def cpu_model() -> str:
    """The CPU's model name as `lscpu` prints it (benches write it beside every CPU result)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def matmul_peak_flops(n: int = 2048, reps: int = 10, dtype: jnp.dtype = jnp.float32) -> float:
    """This machine's achieved FLOP/s on a large square matmul: the denominator of MFU here.

    The CPU benches use f32 at n = 2048; bench/gpu.py uses bf16 at n = 8192 (what a GPU's tensor cores run).
    """
    a = jnp.ones((n, n), dtype)
    f = jax.jit(lambda x: x @ x)
    f(a).block_until_ready()
    start = time.perf_counter()
    for _ in range(reps):
        out = f(a)
    out.block_until_ready()
    return 2 * n**3 * reps / (time.perf_counter() - start)
