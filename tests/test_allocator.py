"""vim.allocator: XLA:CPU's per-run scratch buffer is reused instead of re-mapped (no page faults)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

_PROBE = """
import json, resource, sys
if sys.argv[1] == "vim":
    import vim  # noqa: F401  (applies the malloc settings before JAX starts its threads)
import jax, jax.numpy as jnp

@jax.jit
def f(x):  # ~100 MB of intermediates, more than glibc would ever serve from an arena
    ys = [jnp.sin(x * i) for i in range(6)]
    return sum(y.sum() for y in ys)

x = jnp.ones((4096, 1024))
f(x).block_until_ready()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    f(x).block_until_ready()
print(json.dumps({"faults_per_run": (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 5}))
"""


def _faults(mode: str, **env: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, mode], capture_output=True, text=True, check=True, env={**os.environ, **env}
    )
    return json.loads(out.stdout.strip().splitlines()[-1])["faults_per_run"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc settings")
def test_import_vim_stops_xla_scratch_page_faults():
    with_vim = _faults("vim")
    opted_out = _faults("vim", VIM_GLIBC_MALLOC_DEFAULTS="1")
    # Without the settings each run maps its scratch afresh: thousands of 4 KiB faults.
    assert opted_out > 5_000, opted_out
    assert with_vim < 500, with_vim
