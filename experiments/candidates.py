"""Choosing among a bundle's candidates: how often some candidate is exact (what a perfect chooser could
keep) against what the scorer keeps, other scorers on the same candidates, pools of guidance scales, and the
images the scorer loses. Run from the repository root:

    python -m experiments.candidates draw --first 1000 -n 400 -c 16 --out runs/cand.npz     # the bundle's settings
    python -m experiments.candidates draw --first 1000 -n 300 -c 16 --out runs/cand_cfg2.npz --cfg 2 --heldout
    python -m experiments.candidates draw --first 1000 -n 300 -c 16 --out runs/cand_t07.npz --cfg 2 --temperature 0.7
    python -m experiments.candidates analyse runs/cand.npz
    python -m experiments.candidates rescore runs/cand.npz,runs/cand_cfg2.npz checkpoints/shapes-tiny/scorer runs/sc
    python -m experiments.candidates mix runs/cand.npz:0:8 runs/cand_cfg2.npz:8:16      # 8 at one scale + 8 at another
    python -m experiments.candidates misses runs/cand_cfg2.npz docs/results/faithfulness-scaling/scorer_misses.png

`draw` takes test captions from index `--first` on (the card's `vim eval faithfulness -n 1000` uses 0..999,
so from 1,000 on nothing is tuned on them) and draws C candidates per caption with `vim.generate.Generator`:
the k-th caption drawn gets seeds (first + k)·C + j, j < C, so with `--first 0` the candidates are those of
`vim eval faithfulness --candidates C` (held-out-only draws use other seeds than full ones). It keeps, per
candidate, the image, the parser's verdict per attribute and the bundle scorer's score, in an .npz file.
Results of these analyses are in docs/results/faithfulness-scaling/ ("Held-out pairs with 16 candidates",
"Choosing among candidates, once more").
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np

from vim.bundle import load_bundle
from vim.generate import Generator
from vim.world.captions import parse_caption
from vim.world.dataset import make_example
from vim.world.parser import ATTRIBUTES, match_spec, parse_image

BUNDLE = "checkpoints/shapes-tiny"


def draw(args: argparse.Namespace) -> None:
    bundle = load_bundle(args.checkpoint)
    generator = Generator(bundle, batch_size=args.batch)
    reranker = bundle.reranker()
    if reranker is None:
        raise SystemExit(f"{args.checkpoint} has no scorer/ folder")
    world, sample = bundle.parti_cfg.data.world, bundle.parti_cfg.sample
    sample = dataclasses.replace(
        sample,
        cfg_scale=args.cfg if args.cfg is not None else sample.cfg_scale,
        temperature=args.temperature if args.temperature is not None else sample.temperature,
        candidate_cfg_scales=(),
    )
    examples = [make_example(world, "test", i) for i in range(args.first, args.first + args.n)]
    examples = [ex for ex in examples if ex["heldout"] or not args.heldout]
    c = args.c
    images, exact, attrs, scores = [], [], [], []
    start = time.time()
    per_call = max(1, args.batch // c)  # captions per Generator call
    for s in range(0, len(examples), per_call):
        chunk = examples[s : s + per_call]
        captions = [str(ex["caption"]) for ex in chunk]
        seeds = [(args.first + s + k) * c + j for k in range(len(chunk)) for j in range(c)]
        drawn = generator([cap for cap in captions for _ in range(c)], seeds, sample)["images"]
        drawn = drawn.reshape(len(chunk), c, *drawn.shape[1:])
        for caption, candidates in zip(captions, drawn, strict=True):
            spec = parse_caption(caption)
            verdicts = [match_spec(parse_image(im), spec) for im in candidates]
            exact.append([bool(v["exact"]) for v in verdicts])
            attrs.append([[bool(v[a]) for a in ATTRIBUTES] for v in verdicts])
            scores.append(reranker.scores(candidates, [caption]))
            images.append(candidates)
        print(f"{s + len(chunk)} of {len(examples)} captions, {time.time() - start:.0f} s", flush=True)
    np.savez(
        args.out,
        images=np.array(images),
        exact=np.array(exact),
        attrs=np.array(attrs),
        scores=np.array(scores),
        heldout=np.array([bool(ex["heldout"]) for ex in examples]),
        captions=np.array([str(ex["caption"]) for ex in examples]),
        cfg_scale=sample.cfg_scale,
        temperature=sample.temperature,
    )
    print(f"wrote {args.out}")


def rates(hits: np.ndarray, heldout: np.ndarray) -> str:
    """'held-out 0.422 seen 1.000' (a part with no captions is left out)."""
    return " ".join(
        f"{name} {hits[rows].mean():.3f}" for name, rows in (("held-out", heldout), ("seen", ~heldout)) if rows.any()
    )


def analyse(args: argparse.Namespace) -> None:
    """What any candidate, the first one and the scorer's pick get right, and the per-attribute rates."""
    d = np.load(args.draw)
    scores, exact, heldout = d["scores"], d["exact"].astype(float), d["heldout"]
    print(f"captions {len(exact)} (held-out {heldout.sum()}), candidates {exact.shape[1]}")
    print(f"oracle (any candidate exact): {rates(exact.max(1), heldout)}")
    print(f"first candidate: {rates(exact[:, 0], heldout)}")
    print(f"scorer's pick: {rates(exact[np.arange(len(exact)), scores.argmax(1)], heldout)}")
    a = d["attrs"].astype(float)
    for name, rows in (("held-out", heldout), ("seen", ~heldout)):
        if rows.any():
            per_attr = {k: round(float(v), 3) for k, v in zip(ATTRIBUTES, a[rows].mean((0, 1)), strict=True)}
            print(f"{name} per-attribute (all candidates): {per_attr}")


def rescore(args: argparse.Namespace) -> None:
    """Each draw's candidates re-ranked by each scorer (and by the sum of their per-caption z-scores)."""
    from vim.rerank.score import Reranker

    for path in args.draws.split(","):
        d = np.load(path)
        images, captions, exact, heldout = d["images"], d["captions"], d["exact"], d["heldout"]
        print(f"{path}: oracle {rates(exact.any(1), heldout)}")
        scores = []
        for scorer in args.scorers:
            reranker = Reranker(scorer)
            scores.append(np.stack([reranker.scores(im, [str(c)]) for im, c in zip(images, captions, strict=True)]))
            print(f"  {scorer:40s} {rates(exact[np.arange(len(exact)), scores[-1].argmax(1)], heldout)}")
        if len(scores) > 1:
            z = sum((s - s.mean(1, keepdims=True)) / s.std() for s in scores)
            print(f"  {'sum of z-scores':40s} {rates(exact[np.arange(len(exact)), z.argmax(1)], heldout)}")


def misses(args: argparse.Namespace) -> None:
    """A PNG of the first `--rows` held-out captions where some candidate is exact but the scorer keeps one
    that is not: the kept image (left) beside the exact candidate the scorer likes best (right), 2× enlarged."""
    from PIL import Image

    d = np.load(args.draw)
    exact, heldout, scores, images = d["exact"], d["heldout"], d["scores"], d["images"]
    pick = scores.argmax(1)
    lost = [p for p in range(len(exact)) if heldout[p] and exact[p].any() and not exact[p, pick[p]]]
    could = int((heldout & exact.any(1)).sum())
    print(f"{len(lost)} of {could} held-out captions with an exact candidate keep another")
    if not lost:
        return
    pairs = []
    for p in lost[: args.rows]:
        best_exact = np.flatnonzero(exact[p])[scores[p, exact[p]].argmax()]
        print(f"{d['captions'][p]} | kept {scores[p, pick[p]]:.3f}, exact {scores[p, best_exact]:.3f}")
        pairs.append(np.concatenate([images[p, pick[p]], images[p, best_exact]], 1))
    grid = np.concatenate(pairs, 0)
    Image.fromarray(grid).resize((grid.shape[1] * 2, grid.shape[0] * 2), Image.NEAREST).save(args.png)
    print(f"wrote {args.png}")


def mix(args: argparse.Namespace) -> None:
    """Candidates pooled from draws of the same captions at different guidance: each spec PATH:FIRST:STOP
    takes candidates FIRST..STOP−1 of that draw (give them disjoint ranges: draws share seeds by index)."""
    parts = [(np.load(path), slice(int(a), int(b))) for path, a, b in (s.rsplit(":", 2) for s in args.specs)]
    for d, _ in parts[1:]:
        if not (d["captions"] == parts[0][0]["captions"]).all():
            raise SystemExit("the draws hold different captions")
    exact = np.concatenate([d["exact"][:, sl] for d, sl in parts], 1)
    scores = np.concatenate([d["scores"][:, sl] for d, sl in parts], 1)
    heldout = parts[0][0]["heldout"]
    print(f"{len(parts)} draws, {exact.shape[1]} candidates; oracle {rates(exact.any(1), heldout)}")
    print(f"scorer's pick {rates(exact[np.arange(len(exact)), scores.argmax(1)], heldout)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("draw", help="draw C candidates per test caption and judge them")
    d.add_argument("--checkpoint", default=BUNDLE, help="a bundle with a scorer")
    d.add_argument("--first", type=int, default=1000, help="first test caption index")
    d.add_argument("-n", type=int, default=300, help="test captions (before --heldout keeps the held-out ones)")
    d.add_argument("-c", type=int, default=16, help="candidates per caption")
    d.add_argument("--cfg", type=float, default=None, help="CFG scale (default: the bundle's)")
    d.add_argument("--temperature", type=float, default=None, help="default: the bundle's")
    d.add_argument("--heldout", action="store_true", help="only captions that name a held-out pair")
    d.add_argument("--batch", type=int, default=64, help="images per Generator batch")
    d.add_argument("--out", required=True, help="the .npz file to write")
    d.set_defaults(fn=draw)
    a = sub.add_parser("analyse", help="oracle, first candidate, the scorer's pick, per-attribute rates")
    a.add_argument("draw")
    a.set_defaults(fn=analyse)
    r = sub.add_parser("rescore", help="the same candidates chosen by other scorers")
    r.add_argument("draws", help="DRAW[,DRAW...]")
    r.add_argument("scorers", nargs="+", help="scorer folders (a bundle's scorer/ or an exported scorer)")
    r.set_defaults(fn=rescore)
    m = sub.add_parser("mix", help="pools of candidates from draws at different guidance")
    m.add_argument("specs", nargs="+", help="PATH:FIRST:STOP")
    m.set_defaults(fn=mix)
    x = sub.add_parser("misses", help="a PNG of exact candidates the scorer did not keep")
    x.add_argument("draw")
    x.add_argument("png")
    x.add_argument("--rows", type=int, default=12)
    x.set_defaults(fn=misses)
    args = parser.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
