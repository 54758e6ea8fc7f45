"""vim.allocator: entry points on a CPU backend run under tcmalloc, or glibc reuses XLA:CPU's scratch;
`import vim` itself changes nothing in the process."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from vim import allocator

pytestmark = pytest.mark.slow  # subprocesses that each compile a train step: `make test-slow` (CI runs both tiers)

_PROBE = """
import ctypes, json, os, sys
import vim  # noqa: F401  (a library import: changes nothing)
from vim.allocator import tcmalloc_loaded, tune_for_cpu

if os.environ.get("PROBE_ENTRY_POINT"):
    tune_for_cpu()  # what the `vim` command and the benches do first (the test's env may opt out)
steps = int(os.environ.get("PROBE_TRAIN_STEPS", "3"))  # glibc's record needs real steps; the env check does not
if steps:
    import jax
    from parti_train import matched_setup  # bench/parti_train.py: XLA:CPU's scratch for its step is 95 MB

    task, state, batch = matched_setup()
    step = jax.jit(task.train_step, donate_argnums=0)
    for _ in range(steps):
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


def _start_probe(**env: str) -> subprocess.Popen:
    bench = str(Path(__file__).parents[1] / "bench")
    env = {**os.environ, "PYTHONPATH": bench, **env}
    env.pop(allocator.PRELOADED_BY_VIM, None)
    return subprocess.Popen(
        [sys.executable, "-c", _PROBE], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def _finish_probe(probe: subprocess.Popen) -> tuple[dict, str]:
    stdout, stderr = probe.communicate(timeout=600)
    assert probe.returncode == 0, stderr[-3000:]
    return json.loads(stdout.strip().splitlines()[-1]), stderr


def _probe(**env: str) -> tuple[dict, str]:
    return _finish_probe(_start_probe(**env))


def _max_mmap_bytes(malloc_stats: str) -> int:
    return int(re.search(r"max mmap bytes\s*=\s*(\d+)", malloc_stats).group(1))


@linux_only
def test_entry_point_keeps_xla_scratch_out_of_mmap_and_import_vim_changes_nothing():
    # Without the settings glibc maps XLA:CPU's 95 MB per-step scratch afresh every step (~25,000 page
    # faults and tens of ms of kernel time per step); with them it
    # comes from the heap and is reused. Fault counts on this VM also move with load for reasons outside
    # glibc, so the test checks the mechanism: glibc's own record of the largest mmap use.
    # Three processes, glibc's record each process's own. The first compiles the step alone; the other two
    # then start side by side and read it from the session's XLA cache instead of compiling it again each.
    _, entry_point = _probe(VIM_MALLOC="glibc", PROBE_ENTRY_POINT="1")
    probes = [
        _start_probe(VIM_MALLOC="system", PROBE_ENTRY_POINT="1"),
        _start_probe(VIM_MALLOC="glibc"),  # imports vim, never asks for tuning
    ]
    (_, opted_out), (_, library_user) = [_finish_probe(p) for p in probes]
    assert _max_mmap_bytes(entry_point) < 16_000_000, entry_point
    assert _max_mmap_bytes(opted_out) > 90_000_000, opted_out
    assert _max_mmap_bytes(library_user) > 90_000_000, library_user


@linux_only
@needs_tcmalloc
def test_entry_point_reexecutes_under_tcmalloc_that_keeps_freed_pages():
    out, _ = _probe(PROBE_ENTRY_POINT="1", PROBE_TRAIN_STEPS="0")  # what the process runs under, before any step
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


def test_no_tuning_where_jax_uses_a_gpu_or_tpu():
    code = "from vim import allocator\nprint(allocator.cpu_backend_expected(), allocator.tune_for_cpu())"
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", allocator.PRELOADED_BY_VIM, "VIM_MALLOC")}
    for platforms, expected in (("cuda", "False system (not a CPU backend)"), ("tpu,cpu", "False system")):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             env={**env, "JAX_PLATFORMS": platforms})  # fmt: skip
        assert out.stdout.strip().startswith(expected), out.stdout
    cpu = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**env, "JAX_PLATFORMS": "cpu", "VIM_MALLOC": "glibc"})  # fmt: skip
    assert cpu.stdout.strip() == "True glibc settings"


def test_import_vim_loads_no_allocator_code():
    code = "import sys, vim\nprint('vim.allocator' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


def test_vim_command_tunes_but_python_callers_do_not(monkeypatch):
    import vim.cli

    calls = []
    monkeypatch.setattr(vim.cli, "tune_for_cpu", lambda: calls.append(1))
    monkeypatch.setattr(sys, "argv", ["vim", "world", "parse", "/nonexistent.png"])
    assert vim.cli.main() == 2  # the `vim` command: re-exec first, then the (failing) command
    assert calls == [1]
    assert vim.cli.main(["world", "parse", "/nonexistent.png"]) == 2  # called from Python: no re-exec
    assert calls == [1]
