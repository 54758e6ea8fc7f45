"""Throughput yardsticks shared by the benchmarks."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time

import jax
import jax.numpy as jnp

from vim import allocator


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


def run_peer(python: str, script: str | os.PathLike, *args: str, with_vims_allocator: bool = False) -> dict:
    """Run a peer's reference bench script and return the JSON object of its last line.

    By default the peer runs as its users run it: without the tcmalloc preload vim's entry points add
    (vim.allocator). `with_vims_allocator=True` gives it the same preload, to show how much of a
    ratio is the allocator.
    """
    env = allocator.environ_without_vim_preload()
    if with_vims_allocator:
        library = os.environ.get(allocator.PRELOADED_BY_VIM)
        if library is None:
            raise ValueError("with_vims_allocator: this process does not run under vim's tcmalloc preload")
        env["LD_PRELOAD"] = " ".join(p for p in (library, env.get("LD_PRELOAD", "")) if p)
    out = subprocess.run([python, str(script), *args], capture_output=True, text=True, check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def peer_runs(python: str, script: str | os.PathLike, *args: str) -> tuple[dict, dict | None]:
    """The peer as its users run it and, when this process runs under vim's tcmalloc, once more under
    the same preload (None otherwise); each printed as it comes."""
    peer = run_peer(python, script, *args)
    print("peer:", json.dumps(peer))
    if not allocator.tcmalloc_loaded():
        return peer, None
    same_malloc = run_peer(python, script, *args, with_vims_allocator=True)
    print("peer under tcmalloc too:", json.dumps(same_malloc))
    return peer, same_malloc
