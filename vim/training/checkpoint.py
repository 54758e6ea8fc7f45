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
import orbax.checkpoint as ocp

from vim.training.optim import all_finite

log = logging.getLogger(__name__)


class NonFiniteStateError(RuntimeError):
    """Refused to checkpoint a state holding NaN/inf."""


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

    def save(self, step: int, state: Any, data_state: bytes | None) -> None:
        """Start an asynchronous save; a state with non-finite values is never written."""
        if not bool(jax.device_get(all_finite(state))):
            raise NonFiniteStateError(f"step {step}: the train state holds NaN/inf; not checkpointing it")
        data = {"iterator": data_state.decode() if data_state is not None else None}
        self.manager.save(
            step, args=ocp.args.Composite(state=ocp.args.StandardSave(state), data=ocp.args.JsonSave(data))
        )

    def restore(self, abstract_state: Any, step: int | None = None) -> tuple[Any, bytes | None, int]:
        """Restore `step` (default: latest finalized) into the shapes/shardings of `abstract_state`."""
        step = self.latest_step() if step is None else step
        if step is None:
            raise FileNotFoundError(f"no finished checkpoint in {self.directory}")
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
        iterator = restored["data"]["iterator"]
        return restored["state"], iterator.encode() if iterator is not None else None, step

    def close(self) -> None:
        self.manager.wait_until_finished()
        self.manager.close()


def abstract_like(tree: Any, shardings: Any) -> Any:
    """ShapeDtypeStructs with target shardings: what a restore should produce."""
    return jax.tree.map(lambda x, s: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=s), tree, shardings)


def dump_json(path: Path, obj: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(obj, indent=2) + "\n")
    tmp.replace(path)
