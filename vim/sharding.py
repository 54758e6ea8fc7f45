"""Device mesh and the one table that maps logical axis names to mesh axes.

Every array that is sharded names its dims logically (`batch`, `embed`, `mlp`, `heads`, `vocab`, …);
`RULES` decides which mesh axis (`data`, `fsdp`, `model`) each name is split over.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Sequence

import jax
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from vim.config import MeshConfig

MESH_AXES = ("data", "fsdp", "model")
RULES: dict[str, str | tuple[str, ...] | None] = {
    "batch": ("data", "fsdp"),
    "length": None,
    "embed": "fsdp",  # parameters' model dim: FSDP shards weights along it
    "act_embed": None,  # activations' model dim: whole on every device (the batch carries the split)
    "mlp": "model",
    "heads": "model",
    "kv": None,
    "vocab": "model",
}


def make_mesh(cfg: MeshConfig, devices: Sequence[jax.Device] | None = None) -> jax.sharding.Mesh:
    """Mesh of shape (data, fsdp, model); one -1 entry takes the remaining devices."""
    devices = list(devices if devices is not None else jax.devices())
    shape = [cfg.data, cfg.fsdp, cfg.model]
    if shape.count(-1) > 1:
        raise ValueError(f"mesh: at most one axis may be -1, got {shape}")
    known = 1
    for s in shape:
        known *= s if s != -1 else 1
    if -1 in shape:
        if len(devices) % known:
            raise ValueError(f"mesh: {len(devices)} devices do not split into {shape}")
        shape[shape.index(-1)] = len(devices) // known
    total = shape[0] * shape[1] * shape[2]
    if total != len(devices):
        raise ValueError(f"mesh {dict(zip(MESH_AXES, shape, strict=True))} needs {total} devices, have {len(devices)}")
    # Auto axes: GSPMD propagates shardings from the constraints we set (as pjit did), rather than
    # every op carrying an explicit sharding type.
    return jax.make_mesh(
        tuple(shape), MESH_AXES, devices=devices, axis_types=(jax.sharding.AxisType.Auto,) * len(MESH_AXES)
    )


def logical_spec(names: Sequence[str | None]) -> P:
    """PartitionSpec for logically named dims, e.g. ("batch", "length", "embed")."""
    for n in names:
        if n is not None and n not in RULES:
            raise KeyError(f"logical axis {n!r} has no rule in vim.sharding.RULES")
    return P(*(RULES[n] if n is not None else None for n in names))


def batch_sharding(mesh: jax.sharding.Mesh) -> NamedSharding:
    """Leading (batch) dim split over data × fsdp; the rest replicated."""
    return NamedSharding(mesh, logical_spec(["batch"]))


def padded_rows(n: int, batch_size: int, smallest: int = 1) -> int:
    """Rows a compiled program takes for n ≥ 1 inputs: batch_size for n ≥ batch_size, else the smallest
    smallest·2^k ≥ n (capped at batch_size). Few inputs are not padded to a full batch, yet at most
    log2(batch_size / smallest) + 1 shapes compile; a power-of-two multiple of a device count stays one."""
    if n < 1 or smallest < 1 or batch_size < smallest:
        raise ValueError(f"padded_rows needs n ≥ 1 and 1 ≤ smallest ≤ batch_size, got {n}, {smallest}, {batch_size}")
    rows = smallest
    while rows < min(n, batch_size):
        rows *= 2
    return min(rows, batch_size)


def replicated(mesh: jax.sharding.Mesh) -> NamedSharding:
    return NamedSharding(mesh, P())


def global_batch(local: dict, mesh: jax.sharding.Mesh) -> dict:
    """This process's numpy batch → global jax arrays sharded over the batch axes (non-numeric keys dropped)."""
    sharding = batch_sharding(mesh)
    return {
        k: jax.make_array_from_process_local_data(sharding, v)
        for k, v in local.items()
        if getattr(v, "dtype", None) is not None and v.dtype.kind in "biuf"
    }


def constrain(x: jax.Array, names: Sequence[str | None]) -> jax.Array:
    """Pin an activation's sharding by logical dim names (inside jit under `jax.set_mesh`).

    Without a mesh on a single device there is nothing to shard and x is returned as it is (a notebook, a
    test). With several devices a missing mesh is an entry point's bug, which would otherwise run
    unsharded (slow, or out of memory) without a word: it raises.
    """
    mesh = jax.sharding.get_abstract_mesh()
    if mesh.empty:
        if jax.device_count() > 1:
            raise RuntimeError(
                f"vim.sharding.constrain{tuple(names)} ran outside jax.set_mesh on {jax.device_count()} devices: "
                "set a mesh around the call (vim.sharding.make_mesh), as vim's entry points do"
            )
        return x
    spec = logical_spec(names)
    if taken := _TAKEN.get():
        spec = P(*(_without(entry, taken) for entry in spec))
    return jax.lax.with_sharding_constraint(x, spec)


# Mesh axes that a `jax.vmap(..., spmd_axis_name=...)` around the code being traced already splits its
# mapped dim over (`axes_taken`); `constrain` leaves them out of the dims it names.
_TAKEN: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar("vim_axes_taken", default=frozenset())


@contextlib.contextmanager
def axes_taken(*axes: str) -> Iterator[None]:
    """Trace code inside `jax.vmap(f, spmd_axis_name=axes)`: its activations' logical dims keep their
    rules minus `axes`, which the mapped dim holds (a mesh axis may split only one dim)."""
    token = _TAKEN.set(_TAKEN.get() | set(axes))
    try:
        yield
    finally:
        _TAKEN.reset(token)


def _without(entry: str | tuple[str, ...] | None, axes: set[str]) -> str | tuple[str, ...] | None:
    kept = tuple(a for a in ((entry,) if isinstance(entry, str) else entry or ()) if a not in axes)
    return kept or None


def param_specs(abstract_state) -> dict:
    """PartitionSpecs for an nnx State whose Params carry `logical_axes` metadata, as a pure dict."""
    from flax import nnx

    def spec(v):
        axes = v.get_metadata().get("logical_axes") if isinstance(v, nnx.Variable) else None
        return logical_spec(axes) if axes is not None else P()

    specs = jax.tree.map(spec, abstract_state, is_leaf=lambda x: isinstance(x, nnx.Variable))
    return nnx.to_pure_dict(specs) if hasattr(specs, "flat_state") else specs
