"""The `vim` command: logging, the multi-process join and error messages here; every stage registers its
own subcommands (`register(sub, add)` in vim/<stage>/commands.py, the bundle's in vim/cli/commands.py).

vim data build shapes --preset tiny
vim train-tokenizer --preset tiny --workdir runs/tok
vim generate "a red circle" -n 4
vim --help                             # every command; vim COMMAND --help for its flags
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import logging
import os
import sys
from collections.abc import Callable, Sequence

from vim import config as config_lib
from vim.allocator import tune_for_cpu

# Modules whose `register(sub, add)` adds commands, in the order `vim --help` lists them.
COMMAND_MODULES = (
    "vim.cli.commands",  # config show, generate, export, eval faithfulness
    "vim.world.commands",  # data build, world check / parse
    "vim.data.commands",  # data text-tokenizer / preview / import
    "vim.tokenizer.commands",  # train-tokenizer, reconstruct, tokenize, eval tokenizer
    "vim.parti.commands",  # encode-dataset, train-parti, plan
    "vim.classgen.commands",  # train-classgen, generate --class, eval classgen, eval probe
    "vim.rerank.commands",  # train-scorer, export-scorer, eval-scorer
    "vim.upsample.commands",  # train-upsampler, export-upsampler, eval-upsampler
    "vim.metrics.commands",  # fid, fid-stats, kid, is
    "vim.judge",  # eval generation
    "vim.p2.commands",  # p2 run / compare / score
    "vim.demo.commands",  # demo
)
# Datasets add commands of their own (the emoji's `vim eval emoji`) as entry points of this group
# (pyproject.toml): a `register(sub, add)` like the modules above.
COMMANDS_GROUP = "vim.commands"
# Command groups (`vim GROUP COMMAND`), which any module may add to.
GROUPS = {
    "config": "inspect configs",
    "data": "datasets: build, import, preview, text tokenizer",
    "world": "the embedded shapes world: parser checks",
    "eval": "evaluations of a bundle or a run",
    "p2": "the PartiPrompts benchmark: runs, reports, side-by-side judging",
}


def add_config_args(p: argparse.ArgumentParser) -> None:
    """--preset, --set FIELD=VALUE and --data-dir: what `vim.config.from_args` reads."""
    p.add_argument("--preset", default="default", help=f"named config: {', '.join(config_lib.PRESETS)}")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a config field, e.g. --set data.batch_size=32 (repeatable)",
    )
    p.add_argument("--data-dir", help="root folder of datasets (same as --set data.data_dir=...)")


def add_sample_args(p: argparse.ArgumentParser) -> None:
    """The bundle and sampling flags of drawing commands (read by `vim.generate.sample_settings`)."""
    what = "default: the bundle's recommended setting"
    p.add_argument("--checkpoint", help="bundle folder (default: $VIM_CHECKPOINT or checkpoints/shapes-tiny)")
    p.add_argument("--cfg", type=float, help=f"classifier-free guidance scale ({what})")
    p.add_argument("--temperature", type=float, help=f"0 = greedy ({what})")
    p.add_argument("--top-k", type=int, help=f"0 = off ({what})")
    p.add_argument("--top-p", type=float, help=f"1 = off ({what})")
    p.add_argument(
        "--candidate-scales",
        help="with --candidates C: C / S seeds, each drawn at these S comma-separated CFG scales, all reranked "
        f"('' = every candidate at --cfg; {what})",
    )
    p.add_argument("--seed", type=int, default=0, help="image j of prompt i uses seed + i·n + j")
    p.add_argument("--batch-size", type=int, default=16, help="images per compiled batch")


# Commands that run as several processes (hosts) when asked to; the others refuse multi-process settings.
# The train-* commands shard every step over all processes' devices; generate, p2 run and eval faithfulness
# split their prompts, encode-dataset and eval tokenizer their batches, each process on its own devices.
MULTIPROCESS_COMMANDS = (
    "train-tokenizer",
    "train-parti",
    "train-scorer",
    "train-upsampler",
    "encode-dataset",
    "generate",
    "p2 run",
    "eval faithfulness",
    "eval tokenizer",
)


def _add_multiprocess_args(parser: argparse.ArgumentParser) -> None:
    from vim import distributed as d

    group = parser.add_argument_group(
        "multi-process runs (every process gets the same command; SLURM/Open MPI/TPU-pod launches are detected)"
    )
    group.add_argument("--coordinator", metavar="HOST:PORT", help=f"process 0's address (or ${d.ENV_COORDINATOR})")
    group.add_argument("--num-processes", type=int, metavar="N", help=f"processes in the run (${d.ENV_NUM_PROCESSES})")
    group.add_argument("--process-id", type=int, metavar="I", help=f"this process, 0…N-1 (${d.ENV_PROCESS_ID})")
    group.add_argument(
        "--heartbeat-timeout",
        type=int,
        metavar="S",
        help=f"a peer silent this long is dead and the run stops (${d.ENV_HEARTBEAT}; "
        f"default {d.DEFAULT_HEARTBEAT_SECONDS})",
    )
    group.add_argument(
        "--join-timeout",
        type=int,
        metavar="S",
        help=f"the run stops when not every process has joined within this many seconds (${d.ENV_JOIN}; "
        f"default {d.DEFAULT_JOIN_SECONDS})",
    )


def join_processes(args: argparse.Namespace) -> str | None:
    """Start the multi-process runtime when this command runs as several processes (before any JAX work)."""
    from vim import distributed

    command = " ".join([args.command, *([args.sub] if getattr(args, "sub", None) else [])])
    if command in MULTIPROCESS_COMMANDS:
        return distributed.initialize(
            args.coordinator, args.num_processes, args.process_id, args.heartbeat_timeout, args.join_timeout
        )
    count = args.num_processes or int(os.environ.get(distributed.ENV_NUM_PROCESSES) or 1)
    launcher = distributed.detected_cluster()
    if count > 1 or launcher:
        raise ValueError(
            f"vim {command} runs as one process, but {launcher or f'{count} processes'} asked for several; "
            f"multi-process commands: {', '.join(MULTIPROCESS_COMMANDS)}"
        )
    return None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vim", description="Autoregressive text-to-image toolkit (ViT-VQGAN + Parti)."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    _add_multiprocess_args(parser)
    sub = parser.add_subparsers(dest="command", required=True)
    groups = {
        name: sub.add_parser(name, help=text).add_subparsers(dest="sub", required=True) for name, text in GROUPS.items()
    }

    def add(
        group: argparse._SubParsersAction | str,
        name: str,
        fn: Callable,
        help_text: str,
        config: bool = True,
        sampling: bool = False,
    ) -> argparse.ArgumentParser:
        """A command `name` running `fn(args)` in `group` (the top level, or a GROUPS name), with the config
        flags (`config`) and the bundle and sampling flags (`sampling`)."""
        p = (groups[group] if isinstance(group, str) else group).add_parser(name, help=help_text, description=help_text)
        p.set_defaults(fn=fn)
        if config:
            add_config_args(p)
        if sampling:
            add_sample_args(p)
        return p

    for module in COMMAND_MODULES:
        importlib.import_module(module).register(sub, add)
    for entry in importlib.metadata.entry_points(group=COMMANDS_GROUP):  # a dataset's own commands
        entry.load()(sub, add)
    return parser


NARRATORS = ("absl", "jax")  # orbax/tfds narrate every step through absl; JAX its backend search ("tpu")


def _not_narration(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.WARNING or record.name.split(".")[0] not in NARRATORS


def setup_logging(verbose: bool) -> None:
    """vim's INFO lines on stderr; absl's and JAX's only from WARNING up unless verbose (-v: everything)."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if not verbose:
        for handler in logging.getLogger().handlers:
            handler.addFilter(_not_narration)


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:  # the `vim` command itself (not a call from Python): CPU malloc tuning (vim/allocator.py)
        tune_for_cpu()
    args = build_parser().parse_args(argv)
    args.argv = list(argv) if argv is not None else sys.argv[1:]
    setup_logging(args.verbose)
    try:
        join_processes(args)
        args.fn(args)
    except (config_lib.ConfigError, OSError, ValueError) as e:  # OSError: unwritable or full disks, missing files
        print(f"vim: error: {e}", file=sys.stderr)
        return 2
    except RuntimeError as e:
        from vim.distributed import DistributedError, peer_failure
        from vim.training.checkpoint import CorruptCheckpointError, NonFiniteStateError
        from vim.training.loop import CheckpointWriteError, TrainingAborted

        known = CheckpointWriteError | CorruptCheckpointError | NonFiniteStateError | TrainingAborted | DistributedError
        if (reason := peer_failure(e)) is not None:
            print(f"vim: error: {reason}", file=sys.stderr, flush=True)
            os._exit(3)  # not JAX's exit-time barrier: the peers it would wait for are gone
        if not isinstance(e, known):
            raise
        print(f"vim: error: {e}", file=sys.stderr)
        return 2
    return 0
