"""CLI glue for the reranking scorer, registered into `vim` by `register(sub, add)` (vim/cli).

vim train-scorer --preset tiny --data-dir data --workdir runs/scorer [--set scorer.embed_dim=64]
vim export-scorer --workdir runs/scorer -o checkpoints/shapes-tiny/scorer
vim eval-scorer --checkpoint runs/scorer --preset tiny --data-dir data   # retrieval, hard negatives, color swaps
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable


def cmd_train_scorer(args: argparse.Namespace) -> None:
    from vim.config import from_args
    from vim.rerank.train import train_and_evaluate

    result = train_and_evaluate(from_args(args), args.workdir, stop_at=args.stop_at)
    print(json.dumps(result, indent=2))


def cmd_export_scorer(args: argparse.Namespace) -> None:
    from vim.rerank.score import export_scorer

    print(f"scorer exported to {export_scorer(args.workdir, args.output)}")


def cmd_eval_scorer(args: argparse.Namespace) -> None:
    from vim.config import from_args
    from vim.rerank.score import evaluate_split

    result = evaluate_split(args.checkpoint, from_args(args).data, args.split, args.limit, negatives=True)
    print(json.dumps(result, indent=2))


def register(sub: argparse._SubParsersAction, add: Callable[..., argparse.ArgumentParser]) -> None:
    """Add train-scorer, export-scorer and eval-scorer to the `vim` parser (`add` is build_parser's helper)."""
    p = add(sub, "train-scorer", cmd_train_scorer, "train the contrastive image–text scorer used to rerank samples")
    p.add_argument("--workdir", required=True, help="run folder (architecture: --set scorer.FIELD=VALUE)")
    p.add_argument("--stop-at", type=int, default=None, help="stop this invocation at this step (resumable)")
    p = add(sub, "export-scorer", cmd_export_scorer, "write a trained scorer as a bundle part", config=False)
    p.add_argument("--workdir", required=True, help="scorer run folder")
    p.add_argument("-o", "--output", required=True, help="folder, e.g. <bundle>/scorer")
    p = add(
        sub,
        "eval-scorer",
        cmd_eval_scorer,
        "retrieval accuracy (1 of 8, 1 of 32), hard-negative and color-swap accuracy on a dataset split",
    )
    p.add_argument("--checkpoint", required=True, help="scorer workdir or exported folder")
    p.add_argument("--split", default="validation")
    p.add_argument("--limit", type=int, default=None, help="at most this many examples")
