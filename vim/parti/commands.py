"""Generator commands: cache a dataset's codes, train Parti, plan a sharded run.

vim encode-dataset --tokenizer runs/tok
vim train-parti --preset tiny --tokenizer runs/tok --workdir runs/parti
vim plan --preset parti-20b --mesh 16x16      # compile a step on fake devices: memory and FLOPs
vim plan --preset vim-base --mesh 4x2         # the class-conditional Transformer's step (or --stage classgen)
vim plan --auto --preset parti-350m --devices 64 --chip h100   # search the plans, rank them for a chip
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable

from vim.config import GENERATOR_STAGES, from_args, generator_stage


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

    from vim.parti.plan import MAX_PLAN_BATCH, MAX_PLAN_DEVICES, parse_mesh, plan, run_with_fake_devices

    if args.batch is not None and not 1 <= args.batch <= MAX_PLAN_BATCH:
        raise ValueError(f"--batch must be 1..{MAX_PLAN_BATCH}, got {args.batch}")
    args.stage = generator_stage(args.preset, args.stage)  # the preset's schedule and sizes for that stage
    if args.auto and args.stage != "parti":
        raise ValueError(f"--auto searches Parti's plans only; plan {args.stage} with --mesh")
    if args.auto:
        if args.devices is None or not 1 <= args.devices <= MAX_PLAN_DEVICES or args.chip is None:
            raise ValueError(f"--auto needs --devices (1..{MAX_PLAN_DEVICES}) and --chip")
        if not 1 <= args.jobs <= 64:
            raise ValueError(f"--jobs must be 1..64, got {args.jobs}")
        return cmd_plan_auto(args)
    if args.mesh is None:
        raise ValueError("give --mesh, or --auto --devices N --chip NAME to search the meshes")
    mesh = parse_mesh(args.mesh)
    needed = mesh.data * mesh.fsdp * mesh.model
    if not os.environ.get("VIM_PLAN_CHILD"):
        import jax

        if jax.device_count() < needed:
            raise SystemExit(run_with_fake_devices(args.argv, needed))
    cfg = from_args(args)
    if args.stage == "classgen":
        from vim.classgen.train import ClassGenTask

        result = plan(cfg, mesh, args.batch, ClassGenTask(cfg))
    else:
        result = plan(cfg, mesh, args.batch)
    print(json.dumps(result, indent=2))


def cmd_plan_auto(args: argparse.Namespace) -> None:
    from pathlib import Path

    from vim.chips import chip
    from vim.files import write_text
    from vim.parti.plan_auto import default_cache, parse_space, search

    target = chip(args.chip)  # an unknown name fails before anything compiles
    record = search(
        args.preset,
        args.overrides,
        args.devices,
        target,
        batch=args.batch,
        space=parse_space(args.space),
        cache=Path(args.cache) if args.cache else default_cache(),
        jobs=args.jobs,
        depth_proxy=args.depth_proxy,
    )
    if args.json:
        write_text(Path(args.json), json.dumps(record, indent=2) + "\n")
    print(record["table"])
    unstable = [k for k, v in record["stability"].items() if not v["same_winner"]]
    print(
        f"\n{record['candidates']} candidates ({record['pruned']} over the memory bound, not compiled; "
        f"{record['compiled']} programs, compiled or cached), {record['wall_seconds']} s; "
        f"estimated step times on {args.chip} "
        "(published peak figures; not measured on the chip). Winner unchanged with each chip figure at ±20 %: "
        + ("yes" if not unstable else "no, it changes at " + ", ".join(unstable))
    )
    if record["winner"] is None:
        raise SystemExit(f"no candidate fits {args.chip}'s memory")
    print(f"winner: vim train-parti --preset {args.preset} {record['winner']}")


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
    p.add_argument(
        "--stage",
        choices=GENERATOR_STAGES,
        help="the generator whose step to compile (default: the one the preset is sized for; parti for tiny)",
    )
    p.add_argument("--mesh", help="FSDPxMODEL (e.g. 16x16) or DATAxFSDPxMODEL")
    p.add_argument("--batch", type=int, default=None, help="global batch (default: the preset's)")
    p.add_argument("--auto", action="store_true", help="search meshes, remat, microbatches, optimizer, sharded update")
    p.add_argument("--devices", type=int, help="--auto: the number of devices to plan for")
    p.add_argument("--chip", help="--auto: rank for this chip (h100, h200, tpu-v4, tpu-v5e, tpu-v5p)")
    p.add_argument("--space", action="append", default=[], help="--auto: narrow a choice, e.g. mesh=2x2x2,1x4x2")
    p.add_argument("--cache", help="--auto: compiled reports' folder (default ~/.cache/vim/plan)")
    p.add_argument("--jobs", type=int, default=2, help="--auto: compiling processes at once")
    p.add_argument(
        "--depth-proxy",
        action="store_true",
        help="--auto: compile 1+1, 2+1, 1+2 blocks per candidate and extrapolate to the preset's depth",
    )
    p.add_argument("--json", help="--auto: also write the whole record (every report, the ranking) here")
