"""vim.allocator: tcmalloc preloaded by vim's entry points; otherwise glibc reuses XLA:CPU's scratch."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from vim import allocator

_PROBE = """
import ctypes, json, os, sys
import vim  # noqa: F401  (first: the malloc settings must precede JAX's threads; the test's env may opt out)
from vim.allocator import reexec_with_tcmalloc, tcmalloc_loaded
if os.environ.get("PROBE_REEXEC"):
    reexec_with_tcmalloc()
import jax
from parti_train import matched_setup  # bench/parti_train.py: XLA:CPU's scratch for its step is 95 MB

task, state, batch = matched_setup()
step = jax.jit(task.train_step, donate_argnums=0)
for _ in range(3):
    state, _ = step(state, batch)
jax.block_until_ready(state)
print(json.dumps({"tcmalloc": tcmalloc_loaded(), "release_rate": os.environ.get("TCMALLOC_RELEASE_RATE")}))
sys.stdout.flush()
if not tcmalloc_loaded():
    ctypes.CDLL(None).malloc_stats()  # glibc's totals, on stderr
"""

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc and LD_PRELOAD")
needs_tcmalloc = pytest.mark.skipif(
    allocator.find_tcmalloc() is None, reason="libtcmalloc-minimal4 not installed (`make malloc` installs it)"
)


def _probe(**env: str) -> tuple[dict, str]:
    bench = str(Path(__file__).parents[1] / "bench")
    env = {**os.environ, "PYTHONPATH": bench, **env}
    env.pop(allocator.PRELOADED_BY_VIM, None)
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1]), out.stderr


def _max_mmap_bytes(malloc_stats: str) -> int:
    return int(re.search(r"max mmap bytes\s*=\s*(\d+)", malloc_stats).group(1))


@linux_only
def test_import_vim_keeps_xla_scratch_out_of_mmap():
    # Without the settings glibc maps XLA:CPU's 95 MB per-step scratch afresh every step (~25,000 page
    # faults and ~40 ms of kernel time per step, bench/results/parti_train_2026-11-29c.txt); with them it
    # comes from the heap and is reused. Fault counts on this VM also move with load for reasons outside
    # glibc, so the test checks the mechanism: glibc's own record of the largest mmap use.
    _, with_vim = _probe(VIM_MALLOC="glibc")
    _, opted_out = _probe(VIM_MALLOC="system")
    assert _max_mmap_bytes(opted_out) > 90_000_000, opted_out
    assert _max_mmap_bytes(with_vim) < 16_000_000, with_vim


@linux_only
@needs_tcmalloc
def test_entry_point_reexecutes_under_tcmalloc_that_keeps_freed_pages():
    out, _ = _probe(PROBE_REEXEC="1")
    assert out == {"tcmalloc": True, "release_rate": "0"}


@linux_only
@needs_tcmalloc
def test_reexec_keeps_pid_and_argv_and_runs_once():
    code = (
        "import json, os, sys\n"
        "from vim.allocator import reexec_with_tcmalloc, tcmalloc_loaded, environ_without_vim_preload\n"
        "print('start', flush=True)\n"
        "reexec_with_tcmalloc()\n"
        "reexec_with_tcmalloc()  # already preloaded: returns\n"
        "child = environ_without_vim_preload()\n"
        "print(json.dumps({'pid': os.getpid(), 'argv': sys.argv[1:], 'tcmalloc': tcmalloc_loaded(),\n"
        "                  'child_preload': child.get('LD_PRELOAD')}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", allocator.PRELOADED_BY_VIM, "VIM_MALLOC")}
    env["LD_PRELOAD"] = ""  # the user's (empty) preload: children get none, not vim's
    proc = subprocess.Popen([sys.executable, "-c", code, "a b", "c"], stdout=subprocess.PIPE, text=True, env=env)
    stdout, _ = proc.communicate(timeout=120)
    lines = stdout.strip().splitlines()
    assert lines.count("start") == 2  # the command ran twice: before and after the re-exec, not more
    out = json.loads(lines[-1])
    assert out == {"pid": proc.pid, "argv": ["a b", "c"], "tcmalloc": True, "child_preload": None}


@linux_only
@needs_tcmalloc
def test_opt_out_and_unknown_choice():
    code = "from vim import allocator\nallocator.reexec_with_tcmalloc()\nprint(allocator.tcmalloc_loaded())"
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", allocator.PRELOADED_BY_VIM)}

    def run(choice: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env={**env, "VIM_MALLOC": choice}
        )

    assert run("glibc").stdout.strip() == "False"
    out = run("tc")
    assert out.stdout.strip() == "True"
    assert "VIM_MALLOC='tc' is not one of tcmalloc, glibc, system; using tcmalloc" in out.stderr


def test_vim_command_reexecutes_but_python_callers_do_not(monkeypatch):
    import vim.cli

    calls = []
    monkeypatch.setattr(vim.cli, "reexec_with_tcmalloc", lambda: calls.append(1))
    monkeypatch.setattr(sys, "argv", ["vim", "world", "parse", "/nonexistent.png"])
    assert vim.cli.main() == 2  # the `vim` command: re-exec first, then the (failing) command
    assert calls == [1]
    assert vim.cli.main(["world", "parse", "/nonexistent.png"]) == 2  # called from Python: no re-exec
    assert calls == [1]
