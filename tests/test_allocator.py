"""vim.allocator: XLA:CPU's per-run scratch buffer is reused instead of re-mapped (no page faults)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

_PROBE = """
import json, resource
import vim  # noqa: F401  (first: the malloc settings must precede JAX's threads; the test's env may opt out)
import jax
from parti_train import matched_setup  # bench/parti_train.py: XLA:CPU's scratch for its step is 95 MB

task, state, batch = matched_setup()
step = jax.jit(task.train_step, donate_argnums=0)
for _ in range(2):
    state, _ = step(state, batch)
jax.block_until_ready(state)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    state, _ = step(state, batch)
jax.block_until_ready(state)
print(json.dumps({"faults_per_run": (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 5}))
"""


def _faults(**env: str) -> float:
    bench = str(Path(__file__).parents[1] / "bench")
    env = {**os.environ, "PYTHONPATH": bench, **env}
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])["faults_per_run"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc settings")
def test_import_vim_stops_xla_scratch_page_faults():
    with_vim = _faults()
    opted_out = _faults(VIM_GLIBC_MALLOC_DEFAULTS="1")
    # Without the settings each step maps its 95 MB scratch afresh: ~25,000 4 KiB faults. With them
    # the scratch is reused: 0 here on a quiet machine, up to ~5,000 (~19 MB re-touched) on this VM
    # in some runs, for a reason outside glibc (strace shows no mmap, munmap or madvise in the loop).
    assert opted_out > 15_000, opted_out
    assert with_vim < opted_out / 3, (with_vim, opted_out)
