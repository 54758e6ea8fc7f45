"""Process-wide glibc malloc settings that keep XLA:CPU from re-faulting its scratch memory every step.

XLA:CPU allocates one scratch buffer per executable run (95 MB for the Parti bench step) from a
worker thread. glibc serves a request that large from a fresh mmap and unmaps it on free, so every
step the kernel zero-fills and maps ~23,000 pages: ~40 ms of system time per 90 ms step on two cores.
With one arena, no mmap and a high trim threshold, the freed buffer stays in the heap and is reused.

Applied on `import vim` (see vim/__init__.py). It must run before JAX's worker threads first
allocate, so import vim before running any JAX computation. VIM_GLIBC_MALLOC_DEFAULTS=1 opts out.
"""

from __future__ import annotations

import ctypes
import os
import platform

_M_TRIM_THRESHOLD, _M_MMAP_MAX, _M_ARENA_MAX = -1, -4, -8
TRIM_THRESHOLD_BYTES = 1 << 30  # freed memory at the heap top is returned to the OS only beyond 1 GiB


def keep_freed_memory() -> bool:
    """Set the malloc options above; True if they were applied (glibc on Linux, not opted out)."""
    if os.environ.get("VIM_GLIBC_MALLOC_DEFAULTS") == "1" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    applied = [mallopt(_M_ARENA_MAX, 1), mallopt(_M_MMAP_MAX, 0), mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)]
    return all(applied)
