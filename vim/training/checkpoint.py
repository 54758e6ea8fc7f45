"""Checkpoints with orbax: asynchronous saves, keep-last-N, only finalized steps ever restored.

A checkpoint holds the whole train state (params, optimizer state, EMA, RNG, step, counters and any
model extras such as the discriminator) plus the input pipeline's iterator state, so a resumed run
continues bit for bit.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import orbax.checkpoint as ocp

from vim import distributed
from vim.files import write_text
from vim.training.optim import all_finite

log = logging.getLogger(__name__)


class NonFiniteStateError(RuntimeError):
    """Refused to checkpoint a state holding NaN/inf."""


class CorruptCheckpointError(RuntimeError):
    """No checkpoint in the directory could be restored intact; the message lists what was wrong."""


@jax.jit
def fingerprints(state: Any) -> Any:
    """One uint32 per array: Σ bits(x)_i · (2i + 1) mod 2³². Any single flipped bit changes it."""

    def one(x: jax.Array) -> jax.Array:
        if x.dtype.itemsize == 4:
            bits = jax.lax.bitcast_convert_type(x, jnp.uint32)
        elif x.dtype.itemsize == 2:
            bits = jax.lax.bitcast_convert_type(x, jnp.uint16).astype(jnp.uint32)
        else:
            bits = x.astype(jnp.uint32)
        weights = jnp.arange(bits.size, dtype=jnp.uint32).reshape(bits.shape) * 2 + 1
        return jnp.sum(bits * weights, dtype=jnp.uint32)

    return jax.tree.map(one, state)


# One compiled program: leaf by leaf, a sharded state ran one small collective program per array, and on
# 8 fake CPU devices those sometimes deadlocked in XLA:CPU's rendezvous.
_state_is_finite = jax.jit(all_finite)


def _fingerprint_dict(state: Any) -> dict[str, int]:
    leaves = jax.tree_util.tree_flatten_with_path(jax.device_get(fingerprints(state)))[0]
    return {jax.tree_util.keystr(path): int(v) for path, v in leaves}


class Checkpointer:
    def __init__(self, directory: str | os.PathLike, keep: int = 3, use_async: bool = True):
        self.directory = Path(directory).absolute()
        self.manager = ocp.CheckpointManager(
            self.directory,
            options=ocp.CheckpointManagerOptions(max_to_keep=keep, enable_async_checkpointing=use_async, create=True),
            item_names=("state", "data"),
        )

    def latest_step(self) -> int | None:
        return self.manager.latest_step()

    def all_steps(self) -> list[int]:
        return list(self.manager.all_steps())

    def agreed_latest_step(self) -> int | None:
        """The newest finished step as process 0 sees it, the same on every process (a collective)."""
        if distributed.process_count() == 1:
            return self.latest_step()
        return json.loads(distributed.gather_text(json.dumps(self.latest_step()))[0])

    def save(self, step: int, state: Any, data_state: bytes | None) -> None:
        """Start an asynchronous save; a state with non-finite values is never written."""
        if not bool(jax.device_get(_state_is_finite(state))):
            raise NonFiniteStateError(f"step {step}: the train state holds NaN/inf; not checkpointing it")
        iterator = data_state.decode() if data_state is not None else None
        data = {
            "iterator": iterator,
            "fingerprints": _fingerprint_dict(state),  # checked on restore: bit rot is never loaded silently
        }
        if distributed.process_count() > 1:  # each process reads its own slice of the data: keep every position
            data["iterators"] = distributed.gather_text(json.dumps(iterator))
            data["iterator"] = json.loads(data["iterators"][0])
        self.manager.save(
            step, args=ocp.args.Composite(state=ocp.args.StandardSave(state), data=ocp.args.JsonSave(data))
        )

    def restore(
        self, abstract_state: Any, step: int | None = None, iterator_template: bytes | None = None, data: bool = True
    ) -> tuple[Any, bytes | None, int]:
        """Restore `step`, or the newest finalized checkpoint that is intact, into `abstract_state`'s
        shapes/shardings. A damaged newest checkpoint (missing or unreadable files, or arrays whose
        fingerprints differ from those saved) is skipped with a warning naming what was wrong; when
        none is intact, CorruptCheckpointError says why for each.

        The data position returned is this process's. A checkpoint written by another number of processes
        gives the same global batch position, built on `iterator_template` (a fresh iterator's state of
        this process); `data=False` skips the position (weights only)."""
        steps = [step] if step is not None else sorted(self.all_steps(), reverse=True)
        several = distributed.process_count() > 1
        if several:  # every process tries the same steps in the same order, as process 0 lists them
            steps = json.loads(distributed.gather_text(json.dumps(steps))[0])
        if not steps:
            raise FileNotFoundError(f"no finished checkpoint in {self.directory}")
        problems = []
        for candidate in steps:
            try:
                state, saved, error = *self._restore_step(abstract_state, candidate), None
            except Exception as e:  # orbax/tensorstore raise many types for damaged files
                error = e
            if several and not distributed.all_ok(error is None) and error is None:
                error = distributed.DistributedError("another process could not restore it")
            if error is None:
                iterator = _own_iterator(saved, iterator_template) if data else None
                return state, iterator.encode() if iterator is not None else None, candidate
            problem = f"step {candidate}: {type(error).__name__}: {str(error)[:300]}"
            problems.append(problem)
            if step is None and candidate != steps[-1]:
                log.warning("checkpoint %s is damaged (%s); falling back to an older one", candidate, problem)
        raise CorruptCheckpointError(f"no intact checkpoint in {self.directory}: " + "; ".join(problems))

    def _restore_step(self, abstract_state: Any, step: int) -> tuple[Any, dict]:
        # Arrays without a target sharding land on this process's first device, whatever mesh saved them.
        local = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
        abstract_state = jax.tree.map(
            lambda x: (
                x
                if getattr(x, "sharding", None) is not None
                else jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=local)
            ),
            abstract_state,
        )
        restored = self.manager.restore(
            step, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract_state), data=ocp.args.JsonRestore())
        )
        saved = restored["data"].get("fingerprints")
        if saved is not None:
            actual = _fingerprint_dict(restored["state"])
            bad = sorted(k for k in saved.keys() | actual.keys() if saved.get(k) != actual.get(k))
            if bad:
                raise ValueError(f"{len(bad)} array(s) differ from what was saved, e.g. {bad[:3]}")
        return restored["state"], restored["data"]

    def close(self) -> None:
        self.manager.wait_until_finished()
        self.manager.close()


def _own_iterator(data: dict, template: bytes | None) -> str | None:
    """This process's data position from a checkpoint's `data` item (see Checkpointer.restore)."""
    saved = [json.loads(s) for s in data["iterators"]] if "iterators" in data else [data["iterator"]]
    count, index = distributed.process_count(), distributed.process_index()
    if len(saved) == count or saved[0] is None:
        return saved[index] if len(saved) == count else None
    # Every process reads its slice of the same global batches (vim.data.pipeline.ProcessSlice), so a
    # position is a count of global batches, whatever the number of processes that reached it.
    old, new = json.loads(saved[0]), json.loads(template) if template is not None else None
    if new is None or old["worker_count"] or new["worker_count"]:
        raise distributed.DistributedError(
            f"the checkpoint was written by {len(saved)} process(es), this run has {count}: its data position "
            "carries over only for in-process loading (data.num_workers=0)"
        )
    records = (old["last_seen_indices"]["0"] + 1) * len(saved)  # k global batches of B records, all processes'
    if records % count:
        raise distributed.DistributedError(f"{records} records read so far do not split over {count} processes")
    new["last_seen_indices"] = {"0": records // count - 1}
    return json.dumps(new)


def restore_latest(workdir: str | os.PathLike, task: Any) -> tuple[Any, int]:
    """A task's whole train state from the newest intact checkpoint in `<workdir>/checkpoints`, and its step."""
    abstract = jax.eval_shape(task.init_state, jax.random.key_data(jax.random.key(0)))
    ckpt = Checkpointer(Path(workdir) / "checkpoints", use_async=False)
    try:
        state, _, step = ckpt.restore(abstract, data=False)
    finally:
        ckpt.close()
    return state, step


def abstract_like(tree: Any, shardings: Any) -> Any:
    """ShapeDtypeStructs with target shardings: what a restore should produce."""
    return jax.tree.map(lambda x, s: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=s), tree, shardings)


def dump_json(path: Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2) + "\n")  # through a temporary file renamed into place
