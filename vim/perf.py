"""Throughput yardsticks shared by the benchmarks."""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp


def matmul_peak_flops(n: int = 2048, reps: int = 10) -> float:
    """This machine's achieved f32 FLOP/s on a large square matmul: the denominator of MFU here."""
    a = jnp.ones((n, n), jnp.float32)
    f = jax.jit(lambda x: x @ x)
    f(a).block_until_ready()
    start = time.perf_counter()
    for _ in range(reps):
        out = f(a)
    out.block_until_ready()
    return 2 * n**3 * reps / (time.perf_counter() - start)
