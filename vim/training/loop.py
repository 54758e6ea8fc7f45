"""The training loop every vim model shares: resume, sharded jitted steps, NaN guard, eval, logging,
checkpoints. A model plugs in as a `Task` (pure functions over a dict train state).

State layout (all tasks): step, params, opt_state, ema, rng, skipped (total), consecutive_skipped,
plus task extras. Per-step randomness is fold_in(rng, step), so resuming needs nothing else.
A task's train step returns its own metrics (loss terms); `fit` adds what it reads from the state it owns
and the schedule (learning_rate, update_ok, skipped, consecutive_skipped) and steps_per_second.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import jax
import numpy as np
from tqdm import tqdm

from vim import distributed
from vim.config import Config, ConfigError, MeshConfig, save_or_check
from vim.sharding import batch_sharding, global_batch, make_mesh, replicated
from vim.training.checkpoint import Checkpointer, NonFiniteStateError, abstract_like, dump_json
from vim.training.optim import schedule
from vim.training.weights import PARAMS_FILE, read_params
from vim.training.writer import MetricWriter

log = logging.getLogger(__name__)


class TrainingAborted(RuntimeError):
    """Training stopped on purpose (non-finite updates); the message names the step."""


class CheckpointWriteError(RuntimeError):
    """A checkpoint could not be written (disk full, read-only, …); older checkpoints are untouched."""


class Task(Protocol):
    def init_state(self, rng: jax.Array) -> dict: ...
    def train_step(self, state: dict, batch: dict) -> tuple[dict, dict]: ...
    def eval_step(self, state: dict, batch: dict) -> dict: ...
    def summarize_eval(self, outputs: list[dict]) -> dict[str, float]: ...
    def image_grid(self, state: dict, batch: dict) -> np.ndarray | None: ...


class ResumableIterator(Protocol):
    def __next__(self) -> dict: ...
    def get_state(self) -> bytes: ...
    def set_state(self, state: bytes) -> None: ...


def state_shardings(abstract_state: Any, mesh: jax.sharding.Mesh) -> Any:
    """Default: every state array replicated (data parallelism). Sharded models pass their own."""
    return jax.tree.map(lambda _: replicated(mesh), abstract_state)


def fit(
    cfg: Config,
    workdir: str | os.PathLike,
    task: Task,
    train_batches: Callable[[], ResumableIterator],
    eval_batches: Callable[[], Iterator[dict]] | None = None,
    shardings_fn: Callable[[Any, jax.sharding.Mesh], Any] = state_shardings,
    stop_at: int | None = None,
) -> dict:
    """Train `task` to cfg.train.num_steps in `workdir`, resuming from its latest checkpoint.

    `stop_at` ends this invocation early (with a checkpoint) without changing the schedule, which
    depends on num_steps; running again continues from there.
    """
    if not str(workdir).strip():  # Path("") is the current folder: the run would spill into it
        raise ConfigError("--workdir is empty: give the run's folder")
    workdir = Path(workdir)
    tc = cfg.train
    if tc.microbatches != 1 and not getattr(task, "splits_microbatches", False):
        raise ConfigError(f"train.microbatches={tc.microbatches}: {type(task).__name__} trains on whole batches; use 1")
    if tc.shard_update and not getattr(task, "shards_update", False):
        raise ConfigError(f"train.shard_update=true: {type(task).__name__} updates replicated weights; use false")
    distributed.check_same_config(cfg)  # before any step: a mismatch fails on every process, naming fields
    distributed.on_primary(lambda: save_or_check(cfg, workdir), f"checking the config in {workdir}")
    primary = distributed.is_primary()
    mesh = make_mesh(cfg.mesh)  # all processes' devices
    rng = jax.random.key_data(jax.random.key(tc.seed))
    with jax.set_mesh(mesh):
        abstract = jax.eval_shape(task.init_state, rng)
        shardings = shardings_fn(abstract, mesh)
        ckpt = Checkpointer(workdir / "checkpoints", keep=tc.keep_checkpoints)
        batches = train_batches()
        if ckpt.agreed_latest_step() is not None:
            state, data_state, step = ckpt.restore(
                abstract_like(abstract, shardings), iterator_template=batches.get_state()
            )
            if data_state is not None:
                batches.set_state(data_state)
            log.info("resumed %s from step %d", workdir, step)
        else:
            state = jax.jit(task.init_state, out_shardings=shardings)(rng)
            if tc.init_from:
                state = start_from_weights(state, Path(tc.init_from), shardings)
                log.info("started %s from the weights in %s", workdir, tc.init_from)
            step = 0
        writer = MetricWriter(workdir, resume_step=step, primary=primary)
        lr_schedule = schedule(tc)

        def step_and_bookkeeping(state: dict, batch: dict) -> tuple[dict, dict]:
            """The task's step, plus what the loop reads from the state it owns: whether this step's update
            was applied (`vim.training.state.advance` zeroes consecutive_skipped), the skip counts, and the
            learning rate the schedule gives this step."""
            new, metrics = task.train_step(state, batch)
            return new, metrics | {
                "learning_rate": lr_schedule(state["step"]),
                "update_ok": new["consecutive_skipped"] == 0,
                "skipped": new["skipped"],
                "consecutive_skipped": new["consecutive_skipped"],
            }

        train_step = jax.jit(
            step_and_bookkeeping,
            in_shardings=(shardings, batch_sharding(mesh)),
            out_shardings=(shardings, None),
            donate_argnums=0,
        )
        evaluate = jax.jit(task.eval_step)
        summary: dict[str, float] = {}
        bar = tqdm(
            total=tc.num_steps, initial=step, disable=not (tc.progress and primary), unit="step", dynamic_ncols=True
        )
        start, start_step = time.perf_counter(), step
        try:
            end = tc.num_steps if stop_at is None else min(stop_at, tc.num_steps)
            while step < end:
                state, metrics = train_step(state, global_batch(next(batches), mesh))
                step += 1
                metrics = jax.device_get(metrics)
                if not metrics["update_ok"]:
                    log.warning(
                        "step %d: non-finite loss or gradient, update skipped (%d skipped so far)",
                        step,
                        int(metrics["skipped"]),
                    )
                    if tc.nan_policy == "abort" or metrics["consecutive_skipped"] >= tc.max_skipped:
                        raise TrainingAborted(
                            f"step {step}: non-finite loss or gradient "
                            f"({int(metrics['consecutive_skipped'])} in a row); stopping"
                        )
                bar.update(1)
                if step % cfg.log_every == 0 or step == tc.num_steps:
                    rate = (step - start_step) / (time.perf_counter() - start)
                    writer.scalars(step, {**metrics, "steps_per_second": rate})
                    bar.set_postfix(loss=f"{float(metrics['loss']):.4f}")
                if eval_batches is not None and (step % tc.eval_every == 0 or step == tc.num_steps):
                    summary = run_eval(task, evaluate, state, eval_batches, tc.eval_batches, mesh, writer, step)
                if step % tc.checkpoint_every == 0 or step == end:
                    _guarded(ckpt, step, ckpt.save, step, state, batches.get_state())
        finally:
            bar.close()
            try:
                _guarded(ckpt, step, ckpt.close)  # the last save is committed before we return or raise
            finally:
                try:
                    writer.close()
                except OSError as e:  # e.g. a full disk: the checkpoint error above is the one to report
                    log.warning("could not close the metric files in %s: %s", workdir, e)
        result = {"step": step, **summary, "wall_seconds": time.perf_counter() - start}
        if primary:
            dump_json(workdir / "summary.json", result)
        return result


def start_from_weights(state: dict, folder: Path, shardings: dict) -> dict:
    """`state` with its params and EMA replaced by an exported part's weights (train.init_from)."""
    file = folder / PARAMS_FILE
    if not file.is_file():
        raise ConfigError(
            f"train.init_from={str(folder)!r} holds no {PARAMS_FILE}: name an exported part "
            "(a bundle's parti/ or a `vim export` output)"
        )
    try:
        weights = read_params(file, state["params"])
    except ValueError as e:
        raise ConfigError(f"train.init_from: {e}") from None

    def place(tree: dict) -> dict:  # every process holds the whole file: each fills its own shards
        return jax.tree.map(
            lambda a, s: jax.make_array_from_callback(a.shape, s, lambda index: np.asarray(a)[index]),
            tree,
            shardings["params"],
        )

    return {**state, "params": place(weights), "ema": place(weights)}  # two copies: the step donates both


def _image_grid(task: Task, state: dict, batch: dict) -> np.ndarray | None:
    """The task's sample grid. Across processes, the EMA weights and the batch are gathered (a
    collective) and process 0 draws the grid alone on its first device; the others return None."""
    if jax.process_count() == 1:
        return task.image_grid(state, batch)
    from jax.experimental import multihost_utils

    gathered = multihost_utils.process_allgather(
        {"step": state["step"], "ema": state["ema"], "batch": batch}, tiled=True
    )
    if not distributed.is_primary():
        return None
    alone = make_mesh(MeshConfig(data=1, fsdp=1, model=1), jax.local_devices()[:1])
    local = jax.device_put(gathered, replicated(alone))
    with jax.set_mesh(alone):
        return task.image_grid({"step": local["step"], "ema": local["ema"]}, local["batch"])


def _guarded(ckpt: Checkpointer, step: int, action: Callable[..., None], *args: Any) -> None:
    """Run a save/commit; an OS-level failure becomes one clear error naming the folder and what survived."""
    try:
        action(*args)
    except (OSError, RuntimeError, ValueError) as e:
        if isinstance(e, CheckpointWriteError | NonFiniteStateError):
            raise
        try:
            kept = ckpt.latest_step()
        except Exception:  # the folder may be unreadable too
            kept = None
        raise CheckpointWriteError(
            f"could not write the checkpoint of step {step} to {ckpt.directory}: {type(e).__name__}: {e}. "
            f"Checkpoints already there are untouched (latest finished: {kept})."
        ) from e


def run_eval(
    task: Task,
    evaluate: Callable,
    state: dict,
    eval_batches: Callable[[], Iterator[dict]],
    max_batches: int,
    mesh: jax.sharding.Mesh,
    writer: MetricWriter,
    step: int,
) -> dict[str, float]:
    outputs, first = [], None
    for i, local in enumerate(eval_batches()):
        if i >= max_batches:
            break
        batch = global_batch(local, mesh)
        first = first or batch
        outputs.append(jax.device_get(evaluate(state, batch)))
    summary = task.summarize_eval(outputs)
    writer.scalars(step, summary, prefix="eval/")
    if first is not None and (grid := _image_grid(task, state, first)) is not None:
        writer.image(step, getattr(task, "grid_name", "samples"), grid)
    log.info("eval at step %d: %s", step, {k: round(v, 4) for k, v in summary.items()})
    return summary
