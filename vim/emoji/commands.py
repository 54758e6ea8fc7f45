"""Emoji commands: `vim eval emoji` (held-out person/skin-tone pairs: vim/emoji/evaluate.py)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path


def cmd_eval_emoji(args: argparse.Namespace) -> None:
    from vim.bundle import load_bundle
    from vim.data.locations import imported_dir
    from vim.data.pipeline import open_split
    from vim.emoji.evaluate import heldout_report
    from vim.generate import MAX_CANDIDATES, Generator, check_bound, check_sample_flags, draw_images, sample_settings
    from vim.rerank.score import Reranker
    from vim.training.checkpoint import dump_json

    check_sample_flags(args)
    check_bound("--candidates", args.candidates, 1, MAX_CANDIDATES)
    check_bound("-n", args.n, 1, 1_000)
    bundle = load_bundle(args.checkpoint)
    data = bundle.parti_cfg.data
    if args.data_dir:
        data.data_dir = args.data_dir
    if data.dataset != "imported/emoji":
        raise ValueError(f"{bundle.path} was trained on {data.dataset!r}, not imported/emoji")
    captions_file = imported_dir(data.dataset.removeprefix("imported/"), data.data_dir) / "eval_captions.json"
    if not captions_file.is_file():
        raise FileNotFoundError(f"no {captions_file}: build the dataset with `vim data build emoji`")
    reranker = None
    if args.candidates > 1 and (reranker := bundle.reranker()) is None:
        raise ValueError(f"{bundle.path} has no scorer/ folder, so --candidates cannot rerank")
    sample = sample_settings(bundle.parti_cfg.sample, vars(args), args.candidates > 1)
    generator = Generator(bundle, batch_size=args.batch_size)

    def draw(prompts: list[str]):
        return draw_images(generator, prompts, sample, args.seed, args.candidates, reranker)

    report = {"checkpoint": str(bundle.path), "judge": args.judge, "per_caption": args.n, "candidates": args.candidates}
    report["settings"] = {"cfg": sample.cfg_scale, "temperature": sample.temperature}
    judge = Reranker(args.judge) if args.judge else None
    eval_captions = json.loads(captions_file.read_text())
    train, test = open_split(data, "train"), open_split(data, "test")
    for name, value in heldout_report(draw, train, test, eval_captions, judge, args.n):
        report[name] = value
        print(f"{name}: {value:.4g}" if isinstance(value, float) else f"{name}: {value}", flush=True)
    if args.output:
        dump_json(Path(args.output), report)
        print(f"wrote {args.output}")


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
