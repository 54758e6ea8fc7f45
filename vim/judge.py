"""Judging a generator on any captioned dataset: FID of its samples against the dataset's images, and
R-precision by a *judge* scorer (one trained on its own, never used for reranking).

    vim eval generation --checkpoint checkpoints/emoji-tiny --judge runs/emoji/judge -n 2000 -o gen.json

The prompts are the captions of the split's distinct images (`vim.tokenizer.infer.unique_images`: a dataset
that repeats an image under several captions gives each image once, with its first caption), in a seeded
order, repeated when n is larger. R-precision: each sample's own caption scored against R − 1 captions of
other images drawn at random; the share of samples whose own caption scores highest (CLIP-R-Precision,
Park et al. 2021, with vim's scorer as the judge), with its standard error.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

R_CAPTIONS = 32  # the own caption + 31 others


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def prompt_set(source: Sequence[dict], images: Sequence[int], n: int, seed: int = 0) -> tuple[list[str], list[int]]:
    """n prompts (the captions of `images`, indices into `source`, in a seeded order, cycled) and each one's
    image index."""
    order = np.random.default_rng(seed).permutation(len(images))
    chosen = [images[order[k % len(images)]] for k in range(n)]
    return [_text(source[i]["caption"]) for i in chosen], chosen


def r_precision(
    image_vectors_nd: np.ndarray,
    text_vectors_cd: np.ndarray,
    own_n: np.ndarray,
    group_c: np.ndarray,
    r: int = R_CAPTIONS,
    seed: int = 0,
) -> tuple[float, float]:
    """(share, standard error) of samples whose own caption scores highest among itself and r − 1 captions of
    other images. Sample k's own caption is row own_n[k] of the unit-vector table `text_vectors_cd`;
    distractors are drawn from the rows of another group (`group_c`: rows with equal text share one)."""
    rng = np.random.default_rng(seed)
    hits = np.zeros(len(own_n), bool)
    for k, own in enumerate(own_n):
        others = np.flatnonzero(group_c != group_c[own])
        if len(others) < r - 1:
            raise ValueError(f"R-precision at R = {r} needs {r - 1} captions of other images; there are {len(others)}")
        rows = np.concatenate([[own], rng.choice(others, r - 1, replace=False)])
        scores_r = text_vectors_cd[rows] @ image_vectors_nd[k]
        hits[k] = scores_r[0] > scores_r[1:].max()
    share = float(hits.mean())
    return share, math.sqrt(share * (1 - share) / len(hits))


def generation_report(
    draw: Callable[[list[str]], np.ndarray],
    source: Sequence[dict],
    judge: Any,
    n: int,
    seed: int = 0,
    fid: bool = True,
) -> Iterator[tuple[str, Any]]:
    """(name, value) pairs: n samples drawn for the split's captions (`prompt_set`), their FID against every
    distinct image of the split, and the judge's R-precision."""
    from vim.metrics import features as features_lib
    from vim.metrics import fid as fid_lib
    from vim.tokenizer.infer import unique_images

    distinct = [i for _, i in unique_images([source])]
    prompts, image_of = prompt_set(source, distinct, n, seed)
    # Found before drawing: missing Inception weights must not cost the samples' minutes.
    extractor = features_lib.Extractor() if fid else None
    yield "samples", n
    yield "distinct_images", len(distinct)
    images = draw(prompts)
    if fid:
        real = np.stack([source[i]["image"] for i in distinct])
        real_stats = features_lib.compute_statistics(real, extractor=extractor, progress=False)
        drawn_stats = features_lib.compute_statistics(images, extractor=extractor, progress=False)
        yield "fid", float(fid_lib.fid_from_statistics(drawn_stats, real_stats))
    if judge is not None:
        # One row per distinct image (its caption); rows of equal text share a group and are never distractors.
        table = [_text(source[i]["caption"]) for i in distinct]
        group_c = np.unique(np.asarray(table), return_inverse=True)[1]
        row_of_image = {i: c for c, i in enumerate(distinct)}
        own_n = np.asarray([row_of_image[i] for i in image_of])
        text_cd = judge.embed_text(table)
        share, error = r_precision(judge.embed_images(images), text_cd, own_n, group_c, seed=seed)
        yield f"r_precision_{R_CAPTIONS}", share
        yield f"r_precision_{R_CAPTIONS}_stderr", error
        real_nd = judge.embed_images(np.stack([source[i]["image"] for i in image_of]))
        share, error = r_precision(real_nd, text_cd, own_n, group_c, seed=seed)
        yield f"r_precision_{R_CAPTIONS}_real_images", share  # the judge's own ceiling on the same captions
        yield f"r_precision_{R_CAPTIONS}_real_images_stderr", error


@dataclasses.dataclass(frozen=True)
class BundleDraws:
    """What the `vim eval` commands that judge a bundle's samples share, made from their common flags."""

    bundle: Any  # vim.bundle.Bundle
    data: Any  # its DataConfig, with --data-dir applied
    sample: Any  # the SampleConfig drawn with (the bundle's recommendation, then the flags)
    draw: Callable[[list[str]], np.ndarray]  # prompts → one uint8 image each (best of --candidates)
    judge: Any  # a vim.rerank.score.Reranker trained apart from the bundle's, or None


def bundle_draws(args: argparse.Namespace, min_n: int, max_n: int) -> BundleDraws:
    """Check the sampling, -n and --candidates flags, then load the bundle, its scorer for reranking and the
    judge."""
    from vim.bundle import load_bundle
    from vim.generate import MAX_CANDIDATES, Generator, check_bound, check_sample_flags, draw_images, sample_settings
    from vim.rerank.score import Reranker

    check_sample_flags(args)
    check_bound("--candidates", args.candidates, 1, MAX_CANDIDATES)
    check_bound("-n", args.n, min_n, max_n)
    bundle = load_bundle(args.checkpoint)
    data = bundle.parti_cfg.data
    if args.data_dir:
        data.data_dir = args.data_dir
    reranker = None
    if args.candidates > 1 and (reranker := bundle.reranker()) is None:
        raise ValueError(f"{bundle.path} has no scorer/ folder, so --candidates cannot rerank")
    sample = sample_settings(bundle.parti_cfg.sample, vars(args), args.candidates > 1)
    generator = Generator(bundle, batch_size=args.batch_size)

    def draw(prompts: list[str]) -> np.ndarray:
        return draw_images(generator, prompts, sample, args.seed, args.candidates, reranker)

    judge = Reranker(args.judge) if args.judge else None
    return BundleDraws(bundle, data, sample, draw, judge)


def report_out(report: dict[str, Any], pairs: Iterable[tuple[str, Any]], output: str | None) -> None:
    """Print each (name, value) as it comes and add it to `report`; write the report to `output` as JSON,
    or print it whole when there is none."""
    from vim.training.checkpoint import dump_json

    for name, value in pairs:
        report[name] = value
        print(f"{name}: {value:.4g}" if isinstance(value, float) else f"{name}: {value}", flush=True)
    if output:
        dump_json(Path(output), report)
        print(f"wrote {output}")
    else:
        print(json.dumps(report))


def cmd_eval_generation(args: argparse.Namespace) -> None:
    from vim.data.pipeline import open_split

    run = bundle_draws(args, 2, 100_000)
    report = {"checkpoint": str(run.bundle.path), "dataset": run.data.dataset, "split": args.split}
    report |= {"judge": args.judge, "candidates": args.candidates}
    report["settings"] = {"cfg": run.sample.cfg_scale, "temperature": run.sample.temperature}
    source = open_split(run.data, args.split)
    report_out(report, generation_report(run.draw, source, run.judge, args.n, args.seed, not args.no_fid), args.output)


def register(sub: argparse._SubParsersAction, add: Callable[..., argparse.ArgumentParser]) -> None:
    p = add(
        "eval",
        "generation",
        cmd_eval_generation,
        "draw for a dataset's captions; FID against its images and a judge scorer's R-precision",
        config=False,
        sampling=True,
    )
    p.add_argument("-n", type=int, default=2000, help="samples (one per caption of the split's distinct images)")
    p.add_argument("--split", default="train", help="the split whose captions are drawn and whose images are real")
    p.add_argument("--judge", help="a scorer trained apart from the bundle's (workdir or export); omit to skip")
    p.add_argument("--candidates", type=int, default=1, help="judge the bundle scorer's best of this many")
    p.add_argument("--no-fid", action="store_true", help="skip FID")
    p.add_argument("--data-dir", help="root folder of datasets (default: the bundle's config)")
    p.add_argument("-o", "--output", help="also write the report as JSON")
