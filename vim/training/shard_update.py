"""The sharded weight update (train.shard_update), after "Automatic Cross-Replica Sharding of Weight Update
in Data-Parallel Training" (Xu et al., 2020).

With a data axis of size R, every replica holds the whole optimizer state and applies the same update to
the same weights: R copies of the state and R times the update's work. Sharded instead:

- each optimizer-state leaf (and the gradient sum of a microbatched step) gets the data axis added to one
  of its dims, so a device holds 1/R of it;
- the gradients, whose data-parallel sum was an all-reduce, are constrained to that sharding: the sum
  becomes a reduce-scatter (half the bytes of the all-reduce) and each device updates its shard;
- the updated weights are constrained back to their rules' sharding (`vim.sharding.RULES`): an
  all-gather, so the forward and backward passes see the weights exactly as without the option.

Only layouts change, not the arithmetic (the gradient sums are ordered differently, so results agree to
float rounding). With the option off, or no data axis, nothing here runs and the program is unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from vim.sharding import axes_taken, logical_spec
from vim.training.optim import accumulate_gradients

DATA_AXIS = "data"


def _axes(entry: str | Sequence[str] | None) -> tuple[str, ...]:
    if entry is None:
        return ()
    return (entry,) if isinstance(entry, str) else tuple(entry)


def with_data_axis(spec: P, shape: Sequence[int], axis_sizes: Mapping[str, int], axis: str = DATA_AXIS) -> P:
    """`spec` with `axis` added to the dim of `shape` whose per-device shard is the largest that `axis`
    divides; `spec` unchanged when no dim divides (scalars, small vectors stay replicated) or `axis` is
    already used or of size 1.

    The axis goes after those already on that dim (("fsdp", "data")): a device's data shard is then a
    contiguous piece of its fsdp shard, so gathering over `axis` alone rebuilds the rules' layout."""
    size = axis_sizes.get(axis, 1)
    entries = [*spec, *(None,) * (len(shape) - len(spec))]
    if size == 1 or any(axis in _axes(e) for e in entries):
        return spec
    best, best_shard = None, 0
    for dim, (length, entry) in enumerate(zip(shape, entries, strict=True)):
        shard = length // math.prod(axis_sizes[a] for a in _axes(entry))
        if shard % size == 0 and shard > best_shard:
            best, best_shard = dim, shard
    if best is None:
        return spec
    entries[best] = (*_axes(entries[best]), axis)
    return P(*entries)


def _is_spec(x: Any) -> bool:
    return isinstance(x, P)


def update_specs(param_specs: Any, params: Any) -> Any | None:
    """Per-parameter PartitionSpecs of the sharded update under the current mesh (inside `jax.set_mesh`),
    or None when there is nothing to shard (no mesh, or a data axis of size 1)."""
    mesh = jax.sharding.get_abstract_mesh()
    if mesh.empty or mesh.shape.get(DATA_AXIS, 1) == 1:
        return None
    return jax.tree.map(
        lambda spec, x: with_data_axis(spec, x.shape, mesh.shape), param_specs, params, is_leaf=_is_spec
    )


def shard_optimizer_state(shardings: dict, abstract_state: dict, mesh: jax.sharding.Mesh) -> dict:
    """A train state's shardings with every optimizer-state leaf also split over the data axis (the
    state a device keeps between steps); params, EMA and the rest as they were."""
    opt = jax.tree.map(
        lambda s, x: NamedSharding(mesh, with_data_axis(s.spec, x.shape, mesh.shape)),
        shardings["opt_state"],
        abstract_state["opt_state"],
    )
    return {**shardings, "opt_state": opt}


def reduce_scattered_gradients(
    loss_fn: Callable[[Any, dict], tuple[jax.Array, dict]],
    params: Any,
    batch: dict,
    microbatches: int,
    param_specs: Any,
    update_specs: Any,
) -> tuple[tuple[jax.Array, dict], Any]:
    """`accumulate_gradients(loss_fn, params, batch, microbatches, param_specs)` for a batch-mean loss,
    with the data replicas' gradient sum a reduce-scatter onto `update_specs` instead of an all-reduce.

    Each data replica's gradient is kept apart: the batch is viewed as [replicas, rows / replicas, …] and
    the gradient mapped over replicas (`jax.vmap` with the data axis on the mapped dim), so nothing is
    summed across replicas yet. Then a `shard_map` over every mesh axis sums them with `psum_scatter`.
    Letting the partitioner sum them (a sharding constraint alone) gives the same numbers, but
    XLA:CPU lowers that as an all-reduce and a slice (accelerator compilers fuse the two into a
    reduce-scatter; CPU's does not), and `vim plan` reads the program as compiled. A shard_map manual
    over the data axis alone, around the whole gradient, crashed XLA's partitioner on meshes with
    fsdp and model both over 1 (an embedding gather inside it).

    Not for a model whose backward pass branches on its gradients (Parti's remat: a conditional whose
    predicate reads the output gradient): under `vmap` that predicate is per replica, and JAX turns
    the conditional into a select that runs both branches, so nothing is recomputed late and the
    activations stay live (parti-350m on 8 devices: 14.9 GiB of temporaries instead of 4.3). Such a
    model passes `update_specs` to `accumulate_gradients` instead: the same numbers, summed by the
    partitioner (an all-reduce and a slice on XLA:CPU, a reduce-scatter once an accelerator compiler
    fuses them).
    """
    mesh = jax.sharding.get_abstract_mesh()
    replicas = mesh.shape[DATA_AXIS]
    rows = jax.tree.map(lambda x: x.reshape(replicas, x.shape[0] // replicas, *x.shape[1:]), batch)
    rows = jax.tree.map(lambda x: jax.lax.with_sharding_constraint(x, P(DATA_AXIS, _others(batch_axes()))), rows)

    def one_replica(rows: dict) -> tuple[tuple[jax.Array, dict], Any]:
        return accumulate_gradients(loss_fn, params, rows, microbatches, param_specs)

    with axes_taken(DATA_AXIS):
        (loss, aux), grads = jax.vmap(one_replica, spmd_axis_name=DATA_AXIS)(rows)
    stacked = jax.tree.map(lambda s: P(DATA_AXIS, *s), param_specs, is_leaf=_is_spec)

    def scatter(g: jax.Array, update_spec: P) -> jax.Array:
        for dim, entry in enumerate(update_spec):
            if DATA_AXIS in _axes(entry):  # this device's piece of its own shard (dim 0 is the replica)
                return jax.lax.psum_scatter(g[0], DATA_AXIS, scatter_dimension=dim, tiled=True) / replicas
        return jax.lax.psum(g[0], DATA_AXIS) / replicas  # too small to split: summed whole

    grads = jax.shard_map(
        lambda g: jax.tree.map(scatter, g, update_specs, is_leaf=_is_spec),
        in_specs=(stacked,),
        out_specs=update_specs,
        check_vma=False,
    )(grads)
    return jax.tree.map(lambda x: jnp.mean(x, axis=0), (loss, aux)), grads


def batch_axes() -> tuple[str, ...]:
    """The mesh axes a batch's leading dim is split over (`vim.sharding.RULES["batch"]`)."""
    return _axes(logical_spec(["batch"])[0])


def _others(axes: tuple[str, ...]) -> tuple[str, ...] | None:
    rest = tuple(a for a in axes if a != DATA_AXIS)
    return rest or None
