"""Process-wide malloc choices for XLA:CPU, which allocates heavily from its worker threads.

Two problems with glibc's defaults, both measured on the Parti bench step (bench/parti_train.py):

- XLA:CPU allocates one scratch buffer per executable run (95 MB there) from a worker thread. glibc
  serves a request that large from a fresh mmap and unmaps it on free, so every step the kernel
  zero-fills ~23,000 pages: ~40 ms of system time per 90 ms step on two cores. `keep_freed_memory`
  sets one arena, no mmap and a high trim threshold, so the buffer is reused.
- That single arena makes the runtime's many small allocations contend on one lock (~270 context
  switches and ~7 % of CPU time in malloc per step). tcmalloc (Debian `libtcmalloc-minimal4`, which
  `make` installs where it can) has per-thread caches and keeps freed pages: the step ran 69-71 →
  61-66 ms. A library cannot swap the allocator of a running process, so `reexec_with_tcmalloc`
  re-runs the same command with the library in LD_PRELOAD.

Both are process-wide, so nothing happens on `import vim`: only entry points that own their process
(the `vim` command, the benches, the test runner) call `tune_for_cpu` first, and it does nothing where
JAX will run on a GPU or TPU (the problems above are XLA:CPU's).

VIM_MALLOC picks: `tcmalloc` (default: preload it when installed, else the glibc settings), `glibc`
(the glibc settings only) or `system` (leave malloc alone). The glibc settings only take effect when
vim is imported before JAX's worker threads first allocate.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import pkgutil
import sys
import warnings
from pathlib import Path

_M_TRIM_THRESHOLD, _M_MMAP_MAX, _M_ARENA_MAX = -1, -4, -8
TRIM_THRESHOLD_BYTES = 1 << 30  # freed memory at the heap top is returned to the OS only beyond 1 GiB
TCMALLOC_FILES = ("libtcmalloc_minimal.so.4", "libtcmalloc.so.4")
LIBRARY_DIRS = ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib")
CHOICES = ("tcmalloc", "glibc", "system")
PRELOADED_BY_VIM = "VIM_MALLOC_PRELOADED"  # set on the re-executed process: the library vim added to LD_PRELOAD
ACCELERATOR_MODULES = ("jax_cuda13_plugin", "jax_cuda12_plugin", "jax_rocm7_plugin", "jax_rocm_plugin", "libtpu")


def choice() -> str:
    value = os.environ.get("VIM_MALLOC", "tcmalloc")
    if value not in CHOICES:
        warnings.warn(f"VIM_MALLOC={value!r} is not one of {', '.join(CHOICES)}; using tcmalloc", stacklevel=2)
        return "tcmalloc"
    return value


def tcmalloc_loaded() -> bool:
    """True if this process runs with tcmalloc mapped (preloaded)."""
    try:
        return "libtcmalloc" in Path("/proc/self/maps").read_text()
    except OSError:
        return False


def find_tcmalloc() -> str | None:
    """Path of an installed tcmalloc shared library, or None."""
    for directory in LIBRARY_DIRS:
        for name in TCMALLOC_FILES:
            path = Path(directory) / name
            if path.is_file():
                return str(path)
    return None


def _is_glibc() -> bool:
    try:  # a confstr, not platform.libc_ver(): that reads the interpreter binary, ~5 ms of every `import vim`
        return (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    except (AttributeError, ValueError, OSError):  # not POSIX, or no such name here
        return False


def in_use() -> str:
    """What this process allocates with: "tcmalloc", "glibc settings" or "system"."""
    if tcmalloc_loaded():
        return "tcmalloc"
    return "glibc settings" if choice() != "system" and _is_glibc() else "system"


def keep_freed_memory() -> bool:
    """Set the glibc malloc options above; True if they were applied (glibc on Linux, wanted, no tcmalloc)."""
    if choice() == "system" or not _is_glibc() or tcmalloc_loaded():
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    applied = [mallopt(_M_ARENA_MAX, 1), mallopt(_M_MMAP_MAX, 0), mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)]
    return all(applied)


def reexec_with_tcmalloc() -> None:
    """Re-run this process's command with tcmalloc preloaded, if installed and wanted; else return.

    For entry points only, before any work: the process image is replaced (same pid, same argv).
    Runs at most once per command: the re-executed process carries PRELOADED_BY_VIM.
    """
    if choice() != "tcmalloc" or PRELOADED_BY_VIM in os.environ or tcmalloc_loaded() or not sys.orig_argv:
        return
    library = find_tcmalloc()
    if library is None:
        return
    preload = " ".join(p for p in (library, os.environ.get("LD_PRELOAD", "")) if p)
    # Release rate 0: like the glibc settings, keep freed pages instead of returning them to the OS,
    # where XLA:CPU's next step would fault them back in (5,000-10,000 faults per bench step otherwise).
    env = {"TCMALLOC_RELEASE_RATE": "0", **os.environ, "LD_PRELOAD": preload, PRELOADED_BY_VIM: library}
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], env)
    except OSError:
        return  # keep running as we are: only slower


def environ_without_vim_preload() -> dict[str, str]:
    """This process's environment minus what `reexec_with_tcmalloc` added (for child processes that
    must run as they would without vim, like a benchmark's peer)."""
    env = dict(os.environ)
    added = env.pop(PRELOADED_BY_VIM, None)
    if added:
        rest = [p for p in env.get("LD_PRELOAD", "").split() if p != added]
        if rest:
            env["LD_PRELOAD"] = " ".join(rest)
        else:
            env.pop("LD_PRELOAD", None)
    return env


def cpu_backend_expected() -> bool:
    """Whether JAX will compute on its CPU backend here, decided without starting JAX (whose threads must
    not have allocated before the malloc settings): JAX_PLATFORMS when set, else whether a GPU/TPU
    plugin is installed (JAX prefers one when present)."""
    platforms = os.environ.get("JAX_PLATFORMS") or os.environ.get("JAX_PLATFORM_NAME") or ""
    if platforms.strip():
        return platforms.split(",")[0].strip().lower() == "cpu"
    if any(importlib.util.find_spec(name) is not None for name in ACCELERATOR_MODULES):
        return False
    namespace = importlib.util.find_spec("jax_plugins")  # PJRT plugins (xla_cuda12, …) register here
    if namespace is not None and namespace.submodule_search_locations:
        return not any(m.name != "cpu" for m in pkgutil.iter_modules(namespace.submodule_search_locations))
    return True


def tune_for_cpu() -> str:
    """For entry points that own their process, before any work: on a CPU backend run under tcmalloc
    (re-executing the command, when installed and wanted) or else apply the glibc settings; on a
    GPU/TPU backend do nothing. Returns what the process allocates with afterwards."""
    if not cpu_backend_expected():
        return "system (not a CPU backend)"
    reexec_with_tcmalloc()  # returns when tcmalloc is unwanted, missing or already loaded
    keep_freed_memory()
    return in_use()
