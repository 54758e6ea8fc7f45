"""Several processes (hosts) running one `vim` command: start-up, agreement between them, failure bounds.

The `vim` command calls `initialize` before any JAX computation. Its settings come from, first found:
the global flags `--coordinator HOST:PORT --num-processes N --process-id I`; the environment variables
VIM_COORDINATOR / VIM_NUM_PROCESSES / VIM_PROCESS_ID; a multi-process cluster launch JAX bootstraps from
by itself (a SLURM step, Open MPI, a Cloud TPU pod), where `jax.distributed.initialize()` is called with
no arguments. With none of these the process runs alone and nothing here does anything collective.

A peer that dies is noticed by JAX's coordination service within the heartbeat timeout; the survivors
are then ended by it with an error saying that another task died, instead of waiting in a collective.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

log = logging.getLogger(__name__)
T = TypeVar("T")

ENV_COORDINATOR, ENV_NUM_PROCESSES, ENV_PROCESS_ID = "VIM_COORDINATOR", "VIM_NUM_PROCESSES", "VIM_PROCESS_ID"
ENV_HEARTBEAT, ENV_JOIN = "VIM_HEARTBEAT_TIMEOUT", "VIM_JOIN_TIMEOUT"
# A dead peer is declared after this many seconds without heartbeats. Short enough that a survivor ends
# well within two minutes; long enough that a host busy compiling still beats in time.
DEFAULT_HEARTBEAT_SECONDS = 45
# At start-up a process waits this long for all its peers to join; one that died before joining would
# otherwise hold the others for JAX's default of 300 s. Within the two minutes a survivor may take to end.
DEFAULT_JOIN_SECONDS = 90
# At exit a process waits this long for its peers at JAX's shutdown barrier (they may be dead).
SHUTDOWN_SECONDS = 20


class DistributedError(RuntimeError):
    """Processes of one run disagree (config, checkpoint) or a peer failed; the message says which."""


def detected_cluster() -> str | None:
    """The multi-process launch JAX can read its settings from here, or None (a plain single process).

    Only launches of more than one process count, so e.g. a one-task SLURM job runs alone without waiting
    for peers that will never come.
    """
    env = os.environ
    if "SLURM_JOB_ID" in env and "SLURM_PROCID" in env and int(env.get("SLURM_STEP_NUM_TASKS", "1")) > 1:
        return "SLURM"
    if "OMPI_MCA_orte_hnp_uri" in env and int(env.get("OMPI_COMM_WORLD_SIZE", "1")) > 1:
        return "Open MPI"
    hosts = env.get("TPU_WORKER_HOSTNAMES") or env.get("TPU_PROCESS_ADDRESSES") or ""
    if "," in hosts or env.get("MEGASCALE_COORDINATOR_ADDRESS"):
        return "Cloud TPU pod"
    return None


def _setting(flag_value: Any, env_name: str, flag: str, kind: type) -> Any:
    value = flag_value if flag_value is not None else os.environ.get(env_name)
    if value is None or value == "":
        return None
    try:
        return kind(value)
    except ValueError:
        raise ValueError(f"{flag} / ${env_name}: expected {kind.__name__}, got {value!r}") from None


def initialize(
    coordinator: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    heartbeat_timeout: int | None = None,
    join_timeout: int | None = None,
) -> str | None:
    """Join the run's other processes if this is a multi-process launch; returns how it was configured
    ("flags or environment", a cluster's name) or None when the process runs alone. Call it before any
    JAX computation. When not every process has joined within `join_timeout` seconds, JAX ends this
    process (a peer died or was never started)."""
    coordinator = _setting(coordinator, ENV_COORDINATOR, "--coordinator", str)
    num_processes = _setting(num_processes, ENV_NUM_PROCESSES, "--num-processes", int)
    process_id = _setting(process_id, ENV_PROCESS_ID, "--process-id", int)
    heartbeat = _setting(heartbeat_timeout, ENV_HEARTBEAT, "--heartbeat-timeout", int) or DEFAULT_HEARTBEAT_SECONDS
    join = _setting(join_timeout, ENV_JOIN, "--join-timeout", int) or DEFAULT_JOIN_SECONDS
    given = {"--coordinator": coordinator, "--num-processes": num_processes, "--process-id": process_id}
    if any(v is not None for v in given.values()):
        missing = [k for k, v in given.items() if v is None]
        if missing:
            raise ValueError(f"multi-process settings incomplete: {', '.join(missing)} missing (flag or $VIM_…)")
        if num_processes < 1 or not 0 <= process_id < num_processes:
            raise ValueError(f"--process-id={process_id} must lie in [0, --num-processes={num_processes})")
        if num_processes == 1:
            return None
        source = "flags or environment"
    else:
        source = detected_cluster()
        if source is None:
            return None
    import jax

    # Cross-process collectives of the CPU backend go through gloo (XLA:CPU has no other transport);
    # accelerators keep their own (NCCL, ICI).
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    # JAX aborts the process when the wait runs out, so this line is what says what it waited for.
    log.info("waiting up to %d s (--join-timeout) for every process of the run to join (%s)", join, source)
    jax.distributed.initialize(
        coordinator_address=coordinator,
        num_processes=num_processes,
        process_id=process_id,
        initialization_timeout=join,
        heartbeat_timeout_seconds=heartbeat,
        shutdown_timeout_seconds=SHUTDOWN_SECONDS,
    )
    log.info(
        "process %d of %d (%s), %d of %d devices here",
        jax.process_index(),
        jax.process_count(),
        source,
        jax.local_device_count(),
        jax.device_count(),
    )
    return source


def process_count() -> int:
    import jax

    return jax.process_count()


def process_index() -> int:
    import jax

    return jax.process_index()


def is_primary() -> bool:
    """Process 0 writes what exists once per run (logs, TensorBoard, sample grids, summaries)."""
    import jax

    return jax.process_index() == 0


def gather_text(text: str) -> list[str]:
    """Every process's `text`, in process order. A collective: every process must call it."""
    import jax
    from jax.experimental import multihost_utils

    if jax.process_count() == 1:
        return [text]
    data = np.frombuffer(text.encode(), np.uint8)
    lengths = np.asarray(multihost_utils.process_allgather(np.array([data.size], np.int64))).reshape(-1)
    padded = np.zeros(int(lengths.max()), np.uint8)
    padded[: data.size] = data
    rows = np.asarray(multihost_utils.process_allgather(padded))
    return [bytes(row[:n]).decode() for row, n in zip(rows, lengths, strict=True)]


def all_ok(ok: bool) -> bool:
    """True when `ok` holds on every process (a collective)."""
    return all(flag == "1" for flag in gather_text("1" if ok else "0"))


def check_same_config(cfg: Any) -> None:
    """Refuse to start when the processes resolved different configs, naming the fields and values.

    Every process raises the same error, before any step, instead of some hanging in a collective."""
    from vim.config import ConfigError, differences, to_dict

    if process_count() == 1:
        return
    configs = [json.loads(t) for t in gather_text(json.dumps(to_dict(cfg), sort_keys=True))]
    problems = []
    for i, other in enumerate(configs[1:], start=1):
        for field in differences(configs[0], other):
            problems.append(
                f"{field}: process 0 has {_lookup(configs[0], field)!r}, process {i} has {_lookup(other, field)!r}"
            )
    if problems:
        raise ConfigError("the processes of this run were started with different configs: " + "; ".join(problems))


def _lookup(config: dict, dotted: str) -> Any:
    node: Any = config
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def on_primary(action: Callable[[], T], what: str) -> T | None:
    """Run `action` on process 0 only; if it fails there, every process fails (the others with an error
    naming `what` and process 0's error), so none is left waiting in the next collective."""
    if process_count() == 1:
        return action()
    result, error = None, None
    if is_primary():
        try:
            result = action()
        except Exception as e:
            error = e
    reported = gather_text(f"{type(error).__name__}: {error}" if error is not None else "")[0]
    if error is not None:
        raise error
    if reported:
        raise DistributedError(f"{what} failed on process 0: {reported}")
    return result


def my_share(items: Sequence[T]) -> list[T]:
    """This process's part of a job every process lists alike: items i, i + n, i + 2n, … for process i of n
    (all of them when it runs alone). Each item is then done by exactly one process."""
    return list(items[process_index() :: process_count()])


def my_block(count: int) -> range:
    """This process's contiguous part of `count` items that every process lists alike: process i of n gets
    the i-th of n nearly equal consecutive blocks (all of them when it runs alone). Concatenating the
    processes' results in process order (`gather_rows`) gives the items' order."""
    n, i = process_count(), process_index()
    return range(count * i // n, count * (i + 1) // n)


def gather_rows(rows: np.ndarray) -> np.ndarray:
    """Every process's `rows` (same trailing shape and dtype, any number of rows) concatenated in process
    order. A collective: every process must call it."""
    import jax
    from jax.experimental import multihost_utils

    if jax.process_count() == 1:
        return rows
    counts = np.asarray(multihost_utils.process_allgather(np.array([len(rows)], np.int64))).reshape(-1)
    padded = np.zeros((int(counts.max()), *rows.shape[1:]), rows.dtype)
    padded[: len(rows)] = rows
    gathered = np.asarray(multihost_utils.process_allgather(padded))
    return np.concatenate([part[:n] for part, n in zip(gathered, counts, strict=True)])


def finish_shares(action: Callable[[], str], what: str) -> list[str]:
    """Run this process's share of a split job (`action`, returning text to pass on), then wait for every
    process's. Returns each process's text in process order. If `action` failed on any process, every
    process fails (the others naming the process and its error), so none is left waiting in a later
    collective and nothing is written from an incomplete job. A collective: every process must call it."""
    if process_count() == 1:
        return [action()]
    text, error = "", None
    try:
        text = action()
    except Exception as e:
        error = e
    report = {"ok": error is None, "text": text if error is None else f"{type(error).__name__}: {error}"}
    reports = [json.loads(r) for r in gather_text(json.dumps(report))]
    if error is not None:
        raise error
    failed = [f"process {i}: {r['text']}" for i, r in enumerate(reports) if not r["ok"]]
    if failed:
        raise DistributedError(f"{what} failed on " + "; ".join(failed))
    return [r["text"] for r in reports]


def peer_failure(error: BaseException) -> str | None:
    """A one-line explanation when `error`, or an error it was raised from (a checkpoint write that
    gathers across processes), is a failed cross-process collective (a peer died or was killed, or its
    host became unreachable), else None."""
    import sys

    jax = sys.modules.get("jax")
    if jax is None or jax.process_count() == 1:
        return None
    while error is not None and not isinstance(error, jax.errors.JaxRuntimeError):
        error = error.__cause__
    if error is None:
        return None
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return (
        f"process {jax.process_index()} of {jax.process_count()}: a collective with the other processes failed, "
        f"most likely because one of them died or its host became unreachable ({first[:300]}). This process "
        "stops too; restart every process with the same command to resume from the last checkpoint"
    )
