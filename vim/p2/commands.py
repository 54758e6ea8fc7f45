"""PartiPrompts commands: draw a run, judge two runs side by side, score the judgements.

vim p2 run --out runs/p2/tiny --category Animals --limit 20 -n 4
vim p2 compare runs/p2/A runs/p2/B -o compare.html
vim p2 score compare.json
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path


def cmd_p2_run(args: argparse.Namespace) -> None:
    from vim import distributed
    from vim.bundle import load_bundle
    from vim.generate import MAX_IMAGES_PER_PROMPT, Generator, check_bound, check_sample_flags, sample_settings
    from vim.p2.prompts import load_prompts, select
    from vim.p2.run import run_p2

    check_sample_flags(args)
    check_bound("-n", args.n, 1, MAX_IMAGES_PER_PROMPT)
    prompts = select(load_prompts(args.prompts_file), args.category, args.challenge, args.match, args.limit)
    if not prompts:
        raise ValueError("no P2 prompt matches these filters")
    if args.n < 1:
        raise ValueError(f"-n must be ≥ 1, got {args.n}")
    generator = Generator(load_bundle(args.checkpoint), batch_size=args.batch_size)
    totals = run_p2(
        generator,
        args.out,
        prompts,
        args.n,
        sample_settings(generator.bundle.parti_cfg.sample, vars(args), reranking=False),
        seed=args.seed,
        fid_ref=args.fid_ref,
        fid_weights=args.fid_weights,
    )
    if distributed.is_primary():  # the others' images are in these totals too
        print(json.dumps(totals))
        print(f"report: {Path(args.out) / 'index.html'}")


def cmd_p2_compare(args: argparse.Namespace) -> None:
    from vim.p2.compare import write_compare

    count = write_compare(args.run_a, args.run_b, args.output, seed=args.seed)
    print(f"wrote {args.output}: {count} prompts to judge")


def cmd_p2_score(args: argparse.Namespace) -> None:
    from vim.p2.compare import score

    result = score(args.judgements)
    for key, r in result.items():
        if isinstance(r, dict):
            a, b, tie = (100 * r[k] for k in ("A", "B", "tie"))
            print(f"{key:40s} n={r['n']:4d}  A {a:5.1f} %  B {b:5.1f} %  tie {tie:5.1f} %")
    if args.output:
        Path(args.output).write_text(json.dumps(result, indent=2) + "\n")


def register(sub: argparse._SubParsersAction, add: Callable[..., argparse.ArgumentParser]) -> None:
    p = add(
        "p2",
        "run",
        cmd_p2_run,
        "generate images for P2 prompts; resumable; writes index.html",
        config=False,
        sampling=True,
    )
    p.add_argument("--out", required=True, help="run folder, e.g. runs/p2/NAME")
    p.add_argument("--category", help="only this category")
    p.add_argument("--challenge", help="only this challenge aspect")
    p.add_argument("--match", help="only prompts containing this text")
    p.add_argument("--limit", type=int, help="at most this many prompts")
    p.add_argument("-n", type=int, default=4, help="images per prompt")
    p.add_argument("--prompts-file", help="another PartiPrompts.tsv (default: partiprompts/ in this repo)")
    p.add_argument("--fid-ref", help="reference image folder or statistics .npz: also report FID")
    p.add_argument("--fid-weights", help="Inception weights for FID (default: found or converted once)")
    p = add("p2", "compare", cmd_p2_compare, "write a page to judge two runs side by side", config=False)
    p.add_argument("run_a")
    p.add_argument("run_b")
    p.add_argument("-o", "--output", default="compare.html")
    p.add_argument("--seed", type=int, default=0, help="seeds the left/right order")
    p = add("p2", "score", cmd_p2_score, "win rates from judgements saved by the compare page", config=False)
    p.add_argument("judgements", help="the JSON file saved from the compare page")
    p.add_argument("-o", "--output", help="also write the rates as JSON")
