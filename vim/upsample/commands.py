"""CLI glue for the super-resolution upsampler, registered into `vim` by `register(sub, add)` (vim/cli).

vim train-upsampler --preset tiny --data-dir data --tokenizer runs/tok --workdir runs/upsampler
vim export-upsampler --workdir runs/upsampler -o checkpoints/shapes-tiny/upsampler
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable


def cmd_train_upsampler(args: argparse.Namespace) -> None:
    from vim.config import from_args
    from vim.upsample.train import train_and_evaluate

    result = train_and_evaluate(from_args(args), args.workdir, args.tokenizer, args.stop_at)
    print(json.dumps(result, indent=2))


def cmd_export_upsampler(args: argparse.Namespace) -> None:
    from vim.upsample.train import export_upsampler

    print(f"upsampler exported to {export_upsampler(args.workdir, args.output)}")


def register(sub: argparse._SubParsersAction, add: Callable[..., argparse.ArgumentParser]) -> None:
    """Add train-upsampler and export-upsampler to the `vim` parser (`add` is build_parser's helper)."""
    p = add(
        sub,
        "train-upsampler",
        cmd_train_upsampler,
        "train the ×2 super-resolution net on tokenizer reconstructions → high-res renders; report PSNR vs bicubic",
    )
    p.add_argument("--tokenizer", required=True, help="tokenizer workdir whose reconstructions are the inputs")
    p.add_argument("--workdir", required=True, help="run folder: configs, cached pairs, checkpoints, metrics")
    p.add_argument("--stop-at", type=int, default=None, help="stop this invocation at this step (resumable)")
    p = add(sub, "export-upsampler", cmd_export_upsampler, "write a trained upsampler as a bundle part", config=False)
    p.add_argument("--workdir", required=True, help="upsampler run folder")
    p.add_argument("-o", "--output", required=True, help="folder, e.g. <bundle>/upsampler")
