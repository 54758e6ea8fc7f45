"""Emoji commands: `vim eval emoji` (held-out person/skin-tone pairs: vim/emoji/evaluate.py)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable


def cmd_eval_emoji(args: argparse.Namespace) -> None:
    from vim.data.locations import imported_dir
    from vim.data.pipeline import open_split
    from vim.emoji.evaluate import heldout_report
    from vim.judge import bundle_draws, report_out

    run = bundle_draws(args, 1, 1_000)
    if run.data.dataset != "imported/emoji":
        raise ValueError(f"{run.bundle.path} was trained on {run.data.dataset!r}, not imported/emoji")
    captions_file = imported_dir(run.data.dataset.removeprefix("imported/"), run.data.data_dir) / "eval_captions.json"
    if not captions_file.is_file():
        raise FileNotFoundError(f"no {captions_file}: build the dataset with `vim data build emoji`")
    report = {"checkpoint": str(run.bundle.path), "judge": args.judge, "per_caption": args.n}
    report |= {
        "candidates": args.candidates,
        "settings": {"cfg": run.sample.cfg_scale, "temperature": run.sample.temperature},
    }
    eval_captions = json.loads(captions_file.read_text())
    train, test = open_split(run.data, "train"), open_split(run.data, "test")
    report_out(report, heldout_report(run.draw, train, test, eval_captions, run.judge, args.n), args.output)


def register(sub: argparse._SubParsersAction, add: Callable[..., argparse.ArgumentParser]) -> None:
    p = add(
        "eval",
        "emoji",
        cmd_eval_emoji,
        "held-out (person, skin tone) pairs of an emoji bundle: tone read from the pixels, person by a judge",
        config=False,
        sampling=True,
    )
    p.add_argument("-n", type=int, default=4, help="samples per evaluation caption")
    p.add_argument("--judge", help="a scorer trained apart from the bundle's (workdir or export); omit to skip")
    p.add_argument("--candidates", type=int, default=1, help="judge the bundle scorer's best of this many")
    p.add_argument("--data-dir", help="root folder of datasets (default: the bundle's config)")
    p.add_argument("-o", "--output", help="also write the report as JSON")
