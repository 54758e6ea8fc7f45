"""Faithfulness and validation loss of Parti runs against training compute, from their checkpoints.

    # evaluate checkpoints (appends to results.jsonl; points already there are skipped)
    python docs/results/faithfulness-scaling/study.py eval --tokenizer runs/tok-bundled \
        --run small=runs/p-small --run tiny=runs/p-tiny --steps 250,500,1000,2000,4000,8000,10000 -n 500
    # a sampling sweep (CFG scale, temperature, top-k) at one step of one run
    python docs/results/faithfulness-scaling/study.py eval --tokenizer runs/tok-bundled --run tiny=runs/p-tiny \
        --steps 10000 -n 500 --scales 1,1.5,2,3,4 --temperatures 1,0.7 --top-ks 0,16
    # what a run draws for held-out color–shape pairs (the shape in another color, the color as another shape?)
    python docs/results/faithfulness-scaling/study.py heldout --tokenizer runs/tok-bundled --run tiny=runs/p-tiny \
        --steps 10000 -n 200
    # how two-group captions of seen pairs fail, from images saved by `vim eval faithfulness --images DIR`
    python docs/results/faithfulness-scaling/study.py failures --images DIR/cfg1.5
    # do held-out pairs need image codes that training never uses?
    python docs/results/faithfulness-scaling/study.py codes --tokenizer checkpoints/shapes-tiny/tokenizer
    # the table (README.md's) and the plot (scaling.png) from results.jsonl; needs matplotlib
    python docs/results/faithfulness-scaling/study.py report

Each point is one checkpoint's EMA weights: validation nats per image token over the first 512
validation examples, and `vim.metrics.faithfulness` rates (the parser on pixels) over the first n test
captions, one sample per caption. Training compute per point is 6·N·T·images (N parameters, T = text +
image tokens per example), the usual forward+backward estimate.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import time
from pathlib import Path

import jax
import numpy as np

from vim.bundle import Bundle
from vim.config import Config, SampleConfig, from_dict
from vim.data.pipeline import make_batches
from vim.data.text import TextTokenizer
from vim.generate import Generator, draw_images
from vim.metrics.faithfulness import faithfulness_table
from vim.parti.train import PartiTask
from vim.sharding import global_batch, make_mesh
from vim.tokenizer.infer import load_tokenizer
from vim.training.checkpoint import Checkpointer

HERE = Path(__file__).parent
RESULTS = HERE / "results.jsonl"
VALIDATION_EXAMPLES = 512


def done_keys() -> set[tuple]:
    if not RESULTS.is_file():
        return set()
    rows = [json.loads(line) for line in RESULTS.read_text().splitlines() if line.strip()]
    return {(r["run"], r["step"], r["cfg_scale"], r["temperature"], r["top_k"], r["n"]) for r in rows}


def evaluate(args: argparse.Namespace) -> None:
    tokenizer, tok_cfg = load_tokenizer(args.tokenizer)
    done = done_keys()
    settings = list(
        itertools.product(
            [float(s) for s in args.scales.split(",")],
            [float(t) for t in args.temperatures.split(",")],
            [int(k) for k in args.top_ks.split(",")],
        )
    )
    for name, workdir in (r.split("=", 1) for r in args.run):
        ckpt = Checkpointer(Path(workdir) / "checkpoints", use_async=False)
        available = set(ckpt.all_steps())
        ckpt.close()
        for step in (int(s) for s in args.steps.split(",")):
            todo = [s for s in settings if (name, step, *s, args.n) not in done]
            if not todo:
                continue
            if step not in available:
                print(f"{name}: no checkpoint at step {step}; skipped")
                continue
            start = time.perf_counter()
            generator, cfg, task, state = restore_run(tokenizer, tok_cfg, Path(workdir), step)
            nll = validation_nll(cfg, jax.jit(task.eval_step), state)
            params = sum(x.size for x in jax.tree.leaves(state["params"]))
            tokens = cfg.parti.text_length + cfg.parti.image_grid**2
            for scale, temperature, top_k in todo:
                sample = SampleConfig(cfg_scale=scale, temperature=temperature, top_k=top_k)
                table = faithfulness_table(
                    functools.partial(draw_images, generator), cfg.data.world, [scale], args.n, sample
                )
                row = {
                    "run": name,
                    "parameters": int(params),
                    "step": step,
                    "images_seen": step * cfg.data.batch_size,
                    "train_flops": 6.0 * params * tokens * step * cfg.data.batch_size,
                    "val_nats_per_token": nll,
                    "n": args.n,
                    "cfg_scale": scale,
                    "temperature": temperature,
                    "top_k": top_k,
                    **{k: v for k, v in table["rows"][0].items() if k != "cfg_scale"},
                }
                with RESULTS.open("a") as f:
                    f.write(json.dumps(row) + "\n")
                print(
                    f"{name} step {step} cfg {scale:g} T {temperature:g} top-k {top_k}: nll {nll:.4f} "
                    f"exact {row['exact']:.3f} seen {row['exact_seen_pairs']:.3f} "
                    f"held-out {row['exact_heldout_pairs']:.3f} seen two-group {row['exact_seen_two_groups']:.3f} "
                    f"({time.perf_counter() - start:.0f} s)",
                    flush=True,
                )


def restore_run(tokenizer, tok_cfg, workdir: Path, step: int) -> tuple[Generator, Config, PartiTask, dict]:
    """A run's checkpoint at `step`: a Generator of its EMA weights, its config, its task, its train state."""
    cfg = from_dict(json.loads((workdir / "config.json").read_text()))
    task = PartiTask(cfg, tokenizer=tokenizer)
    abstract = jax.eval_shape(task.init_state, jax.random.key_data(jax.random.key(0)))
    ckpt = Checkpointer(workdir / "checkpoints", use_async=False)
    state, _, _ = ckpt.restore(abstract, step)
    ckpt.close()
    text = TextTokenizer(cfg.text.model_path)
    bundle = Bundle(workdir, tokenizer, tok_cfg, task.model(state["ema"]), cfg, text, {})
    return Generator(bundle, batch_size=64), cfg, task, state


def heldout(args: argparse.Namespace) -> None:
    """For each group of a test caption that names a held-out pair: is its color there, its shape, both?"""
    from vim.world.captions import parse_caption
    from vim.world.dataset import make_example
    from vim.world.parser import parse_image

    tokenizer, tok_cfg = load_tokenizer(args.tokenizer)
    out = {}
    for name, workdir in (r.split("=", 1) for r in args.run):
        for step in (int(s) for s in args.steps.split(",")):
            generator, cfg, _, _ = restore_run(tokenizer, tok_cfg, Path(workdir), step)
            pairs = set(cfg.data.world.heldout_pairs)
            examples = [
                ex for ex in (make_example(cfg.data.world, "test", i) for i in range(4 * args.n)) if ex["heldout"]
            ]
            examples = examples[: args.n]
            images = generator([ex["caption"] for ex in examples], list(range(len(examples))), SampleConfig())["images"]
            counts = {"groups": 0, "color_drawn": 0, "shape_drawn": 0, "both_on_one_object": 0}
            instead: dict[str, int] = {}
            for ex, image in zip(examples, images, strict=True):
                objects = parse_image(image)
                for g in parse_caption(ex["caption"]).groups:
                    if f"{g.color} {g.shape}" not in pairs:
                        continue
                    counts["groups"] += 1
                    counts["color_drawn"] += any(o.color == g.color for o in objects)
                    counts["shape_drawn"] += any(o.shape == g.shape for o in objects)
                    counts["both_on_one_object"] += any(o.color == g.color and o.shape == g.shape for o in objects)
                    for o in objects:
                        if (o.color == g.color) != (o.shape == g.shape):
                            key = f"{g.color} {g.shape} -> {o.color} {o.shape}"
                            instead[key] = instead.get(key, 0) + 1
            top = dict(sorted(instead.items(), key=lambda kv: -kv[1])[:12])
            out[f"{name}@{step}"] = {**counts, "drawn_instead_top": top}
            print(name, step, json.dumps(out[f"{name}@{step}"]), flush=True)
    (HERE / "heldout.json").write_text(json.dumps(out, indent=2) + "\n")


FAILURES = (
    "exact",
    "right objects, wrong places",
    "every attribute drawn, on the wrong objects",
    "an attribute missing or extra",
)


def failures(args: argparse.Namespace) -> None:
    """How images drawn for seen-pair two-group captions fail (from `vim eval faithfulness --images DIR`)."""
    from vim.config import WorldConfig
    from vim.data.image_files import read_image
    from vim.metrics.faithfulness import caption_kind
    from vim.world.captions import parse_caption
    from vim.world.dataset import make_example
    from vim.world.parser import match_spec, parse_image

    world, counts = WorldConfig(), dict.fromkeys(FAILURES, 0)
    for i in range(args.n):
        ex = make_example(world, "test", i)
        spec = parse_caption(ex["caption"])
        if ex["heldout"] or caption_kind(spec) != "two_groups":
            continue
        objects = parse_image(np.asarray(read_image(Path(args.images) / f"{i:05d}.png")[0]))
        match = match_spec(objects, spec)
        if match["exact"]:
            counts["exact"] += 1
        elif sorted((o.size, o.color, o.shape) for o in objects) == spec.expanded():
            counts["right objects, wrong places"] += 1
        elif all(match[a] for a in ("count", "shape", "color", "size")):
            counts["every attribute drawn, on the wrong objects"] += 1
        else:
            counts["an attribute missing or extra"] += 1
    total = sum(counts.values())
    print(json.dumps({"captions": total, **{k: round(100 * v / total, 1) for k, v in counts.items()}}))


def codes(args: argparse.Namespace) -> None:
    """Do held-out pairs need codes the training images never use? For each 8×8 patch an object covers
    (> 10 %) in the first 2,000 test images: how often its code occurs in the first `--train` training images."""
    from flax import nnx

    from vim.world.dataset import make_example
    from vim.world.render import coverage

    tokenizer, cfg = load_tokenizer(args.tokenizer)
    world, grid = cfg.data.world, cfg.tokenizer.image_size // cfg.tokenizer.patch_size
    encode = nnx.jit(lambda m, x: m.encode(x))

    def tokens(split: str, n: int) -> tuple[list[dict], np.ndarray]:
        examples = [make_example(world, split, i) for i in range(n)]
        out = [
            np.asarray(encode(tokenizer, np.stack([e["image"] for e in examples[s : s + 256]]) / np.float32(255)))
            for s in range(0, n, 256)
        ]
        return examples, np.concatenate(out).reshape(n, -1)

    frequency = np.bincount(tokens("train", args.train)[1].ravel(), minlength=cfg.tokenizer.codebook_size)
    seen: dict[bool, list[int]] = {True: [], False: []}
    for ex, row in zip(*tokens("test", 2000), strict=True):
        for o in json.loads(ex["scene"])["objects"]:
            patches = coverage(o["shape"], o["size"], o["x"], o["y"], world.resolution)
            patches = patches.reshape(grid, world.resolution // grid, grid, -1).mean((1, 3)).ravel()
            heldout = f"{o['color']} {o['shape']}" in world.heldout_pairs
            seen[heldout] += [int(frequency[row[p]]) for p in np.nonzero(patches > 0.1)[0]]
    for heldout, counts in seen.items():
        c = np.array(counts)
        print(
            json.dumps(
                {
                    "objects": "held-out pairs" if heldout else "seen pairs",
                    "patches": len(c),
                    "code never in the training images, %": round(100 * float((c == 0).mean()), 2),
                    "code in < 50 of them, %": round(100 * float((c < 50).mean()), 2),
                    "median occurrences": float(np.median(c)),
                }
            )
        )


def validation_nll(cfg, evaluate_step, state) -> float:
    mesh = make_mesh(cfg.mesh)
    losses = []
    with jax.set_mesh(mesh):
        batches = make_batches(cfg, "validation", shuffle=False, num_epochs=1)
        for _, local in zip(range(VALIDATION_EXAMPLES // cfg.data.batch_size), batches, strict=False):
            losses.append(float(evaluate_step(state, global_batch(local, mesh))["nll"]))
    return float(np.mean(losses))


def report(_: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(line) for line in RESULTS.read_text().splitlines() if line.strip()]
    default = [r for r in rows if r["cfg_scale"] == 1.0 and r["temperature"] == 1.0 and r["top_k"] == 0]
    runs = sorted({r["run"] for r in default}, key=lambda n: min(r["parameters"] for r in default if r["run"] == n))
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for name in runs:
        pts = sorted((r for r in default if r["run"] == name), key=lambda r: r["step"])
        label = f"{name} ({pts[0]['parameters'] / 1e6:.1f} M)"
        x = [r["images_seen"] for r in pts]
        axes[0].plot(x, [r["val_nats_per_token"] for r in pts], "o-", label=label)
        axes[1].plot(x, [100 * r["exact_seen_pairs"] for r in pts], "o-", label=label + ", seen pairs")
        axes[1].plot(x, [100 * r["exact_heldout_pairs"] for r in pts], "s--", label=label + ", held-out pairs")
    for name in runs:
        final = max(r["step"] for r in rows if r["run"] == name)
        for temperature, style in ((1.0, "o-"), (0.7, "s--")):
            pts = [
                r for r in rows if (r["run"], r["step"], r["temperature"], r["top_k"]) == (name, final, temperature, 0)
            ]
            first_per_scale = {r["cfg_scale"]: r for r in reversed(pts)}
            pts = sorted(first_per_scale.values(), key=lambda r: r["cfg_scale"])
            scales, exact = [r["cfg_scale"] for r in pts], [100 * r["exact"] for r in pts]
            axes[2].plot(scales, exact, style, label=f"{name}, step {final}, temperature {temperature:g}")
    axes[0].set(xscale="log", xlabel="training images seen (never repeated)", ylabel="validation nats / image token")
    axes[1].set(
        xscale="log", xlabel="training images seen (never repeated)", ylabel="exact scene match, % (1 sample, CFG 1)"
    )
    axes[2].set(xlabel="CFG scale", ylabel="exact scene match, % (1 sample)")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(HERE / "scaling.png", dpi=110)
    cols = ["exact", "count", "shape", "color", "size", "relation", "exact_seen_pairs", "exact_heldout_pairs"]
    cols += ["exact_seen_one_object", "exact_seen_one_group", "exact_seen_two_groups"]  # rows from 2026-11-30 on
    print("| run | params | step | images seen | PFLOP | CFG | T | top-k | val nats/token | " + " | ".join(cols) + " |")
    print("|---" * (9 + len(cols)) + "|")
    for r in sorted(rows, key=lambda r: (r["parameters"], r["step"], r["cfg_scale"], -r["temperature"], r["top_k"])):
        print(
            f"| {r['run']} | {r['parameters'] / 1e6:.1f} M | {r['step']:,} | {r['images_seen']:,} | "
            f"{r['train_flops'] / 1e15:.2f} | {r['cfg_scale']:g} | {r['temperature']:g} | {r['top_k']} | "
            f"{r['val_nats_per_token']:.3f} | "
            + " | ".join(f"{100 * r[c]:.1f}" if c in r else "–" for c in cols)
            + " |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    e = sub.add_parser("eval")
    e.add_argument("--tokenizer", required=True, help="the tokenizer the runs trained on (workdir or bundle part)")
    e.add_argument("--run", action="append", required=True, help="NAME=WORKDIR, repeatable")
    e.add_argument("--steps", required=True, help="comma-separated checkpoint steps")
    e.add_argument("-n", type=int, default=500, help="test captions per point")
    e.add_argument("--scales", default="1")
    e.add_argument("--temperatures", default="1")
    e.add_argument("--top-ks", default="0")
    e.set_defaults(fn=evaluate)
    h = sub.add_parser("heldout")
    h.add_argument("--tokenizer", required=True)
    h.add_argument("--run", action="append", required=True, help="NAME=WORKDIR, repeatable")
    h.add_argument("--steps", required=True)
    h.add_argument("-n", type=int, default=200, help="held-out test captions")
    h.set_defaults(fn=heldout)
    f = sub.add_parser("failures")
    f.add_argument("--images", required=True, help="a cfg<scale> folder written by vim eval faithfulness --images")
    f.add_argument("-n", type=int, default=1000, help="test captions the folder holds")
    f.set_defaults(fn=failures)
    c = sub.add_parser("codes")
    c.add_argument("--tokenizer", required=True)
    c.add_argument("--train", type=int, default=20000, help="training images to count codes in")
    c.set_defaults(fn=codes)
    sub.add_parser("report").set_defaults(fn=report)
    args = parser.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
