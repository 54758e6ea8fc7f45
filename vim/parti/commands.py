"""Generator commands: cache a dataset's codes, train Parti, plan a sharded run.

vim encode-dataset --tokenizer runs/tok
vim train-parti --preset tiny --tokenizer runs/tok --workdir runs/parti
vim plan --preset parti-20b --mesh 16x16      # compile a step on fake devices: memory and FLOPs
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable

from vim.config import from_args


def cmd_encode_dataset(args: argparse.Namespace) -> None:
    from vim import distributed
    from vim.parti.data import encode_dataset

    path = encode_dataset(args.tokenizer)
    if distributed.is_primary():  # the one cache, written by process 0
        print(f"codes cached at {path}")


def cmd_train_parti(args: argparse.Namespace) -> None:
    from vim.parti.train import train_and_evaluate

    result = train_and_evaluate(from_args(args), args.workdir, args.tokenizer)
    print(json.dumps(result, indent=2))


def cmd_plan(args: argparse.Namespace) -> None:
    import os

    from vim.parti.plan import MAX_PLAN_BATCH, parse_mesh, plan, run_with_fake_devices

    if args.batch is not None and not 1 <= args.batch <= MAX_PLAN_BATCH:
        raise ValueError(f"--batch must be 1..{MAX_PLAN_BATCH}, got {args.batch}")
    mesh = parse_mesh(args.mesh)
    needed = mesh.data * mesh.fsdp * mesh.model
    if not os.environ.get("VIM_PLAN_CHILD"):
        import jax

        if jax.device_count() < needed:
            raise SystemExit(run_with_fake_devices(args.argv, needed))
    result = plan(from_args(args), mesh, args.batch)
    print(json.dumps(result, indent=2))


def register(sub: argparse._SubParsersAction, add: Callable[..., argparse.ArgumentParser]) -> None:
    p = add(
        sub,
        "encode-dataset",
        cmd_encode_dataset,
        "cache every example's image codes and caption ids with a trained tokenizer",
        config=False,
    )
    p.add_argument("--tokenizer", required=True, help="tokenizer workdir; codes go to <it>/encoded")
    p = add(
        sub,
        "train-parti",
        cmd_train_parti,
        "train the Parti generator on cached codes (resumes when the workdir has a checkpoint)",
    )
    p.set_defaults(stage="parti")
    p.add_argument("--tokenizer", required=True, help="tokenizer workdir whose codes were cached")
    p.add_argument("--workdir", required=True, help="run folder: config, checkpoints, metrics, samples")

    p = add(sub, "plan", cmd_plan, "compile a train step on a (fake) device mesh; print memory and FLOPs")
    p.set_defaults(stage="parti")
    p.add_argument("--mesh", required=True, help="FSDPxMODEL (e.g. 16x16) or DATAxFSDPxMODEL")
    p.add_argument("--batch", type=int, default=None, help="global batch (default: the preset's)")
