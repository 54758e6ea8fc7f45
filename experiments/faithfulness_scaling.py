"""Faithfulness and validation loss of Parti runs against training compute, from their checkpoints; and
what held-out color–shape pairs need. Results go to docs/results/faithfulness-scaling/ (its README.md tells
what each one showed). Run from the repository root:

    # evaluate checkpoints (appends to results.jsonl; points already there are skipped)
    python -m experiments.faithfulness_scaling eval --tokenizer checkpoints/shapes-tiny/tokenizer \
        --run small=runs/p-small --run tiny=runs/p-tiny --steps 250,500,1000,2000,4000,8000,10000 -n 500
    # a sampling sweep (CFG scale, temperature, top-k) at one step of one run
    python -m experiments.faithfulness_scaling eval --tokenizer checkpoints/shapes-tiny/tokenizer \
        --run tiny=runs/p-tiny --steps 10000 -n 500 --scales 1,1.5,2,3,4 --temperatures 1,0.7 --top-ks 0,16
    # what a run draws for held-out color–shape pairs (the shape in another color, the color as another shape?)
    python -m experiments.faithfulness_scaling heldout --tokenizer checkpoints/shapes-tiny/tokenizer \
        --run tiny=runs/p-tiny --steps 10000 -n 200
    # how two-group captions of seen pairs fail, from images saved by `vim eval faithfulness --images DIR`
    python -m experiments.faithfulness_scaling failures --images DIR/cfg1.5
    # do held-out pairs need image codes that training never uses? where do their codes come from?
    python -m experiments.faithfulness_scaling codes --tokenizer checkpoints/shapes-tiny/tokenizer
    # is the tokenizer's code space additive in color and shape? does a generator score codes through it?
    python -m experiments.faithfulness_scaling additive --checkpoint runs/bundle-45k   # a one-view generator
    # the table (table.md) and, with matplotlib installed, the plot (scaling.png) from results.jsonl
    python -m experiments.faithfulness_scaling report > docs/results/faithfulness-scaling/table.md

Each point is one checkpoint's EMA weights: validation nats per image token over the first 512
validation examples, and `vim.metrics.faithfulness` rates (the parser on pixels) over the first n test
captions, one sample per caption, drawn by `vim.generate.Generator`. Training compute per point is
6·N·T·images (N parameters, T = text + image tokens per example), the usual forward+backward estimate.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import jax
import numpy as np

from vim.bundle import Bundle
from vim.config import Config, SampleConfig, from_dict
from vim.data.pipeline import make_batches
from vim.data.text import PAD_ID, TextTokenizer
from vim.generate import Generator, draw_images
from vim.metrics.faithfulness import faithfulness_table
from vim.parti.train import PartiTask
from vim.sharding import global_batch, make_mesh
from vim.tokenizer.infer import load_tokenizer
from vim.training.checkpoint import Checkpointer

HERE = Path(__file__).resolve().parents[1] / "docs" / "results" / "faithfulness-scaling"  # where results go
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
    path = HERE / "heldout.json"
    out = json.loads(path.read_text()) if path.is_file() else {}  # earlier runs' rows are kept
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
    path.write_text(json.dumps(out, indent=2) + "\n")


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
    print(json.dumps({"captions": total, **{k: round(100 * v / max(total, 1), 1) for k, v in counts.items()}}))


def codes(args: argparse.Namespace) -> None:
    """Do held-out pairs need codes the training images never use, and where do their codes come from? For
    each 8×8 patch an object covers (> 10 %): how often its code occurs in the first `--train` training
    images, and whether it occurs there on objects of the same color, of the same shape, both or neither."""
    from flax import nnx

    from vim.world.dataset import make_example
    from vim.world.render import coverage

    tokenizer, cfg = load_tokenizer(args.tokenizer)
    world, grid = cfg.data.world, cfg.tokenizer.image_size // cfg.tokenizer.patch_size
    encode = nnx.jit(lambda m, x: m.encode(x))

    def object_patches(split: str, n: int) -> tuple[np.ndarray, list[tuple[int, str, str]]]:
        """All codes of the first n images, and (code, color, shape) of every patch an object covers."""
        examples = [make_example(world, split, i) for i in range(n)]
        out = [
            np.asarray(encode(tokenizer, np.stack([e["image"] for e in examples[s : s + 256]]) / np.float32(255)))
            for s in range(0, n, 256)
        ]
        codes_ni = np.concatenate(out).reshape(n, -1)
        patches = []
        for ex, row in zip(examples, codes_ni, strict=True):
            for o in json.loads(ex["scene"])["objects"]:
                cover = coverage(o["shape"], o["size"], o["x"], o["y"], world.resolution)
                cover = cover.reshape(grid, world.resolution // grid, grid, -1).mean((1, 3)).ravel()
                patches += [(int(row[p]), o["color"], o["shape"]) for p in np.nonzero(cover > 0.1)[0]]
        return codes_ni, patches

    train_codes, train_patches = object_patches("train", args.train)
    frequency = np.bincount(train_codes.ravel(), minlength=cfg.tokenizer.codebook_size)
    colors_of, shapes_of = defaultdict(set), defaultdict(set)
    for code, color, shape in train_patches:
        colors_of[code].add(color)
        shapes_of[code].add(shape)
    _, test_patches = object_patches("test", 2000)
    rows_out = []
    for heldout in (True, False):
        rows = [p for p in test_patches if (f"{p[1]} {p[2]}" in world.heldout_pairs) == heldout]
        c = np.array([frequency[code] for code, _, _ in rows])
        color = np.array([col in colors_of[code] for code, col, _ in rows])
        shape = np.array([sh in shapes_of[code] for code, _, sh in rows])
        rows_out.append(
            {
                "objects": "held-out pairs" if heldout else "seen pairs",
                "patches": len(c),
                "code never in the training images, %": round(100 * float((c == 0).mean()), 2),
                "code in < 50 of them, %": round(100 * float((c < 50).mean()), 2),
                "median occurrences": float(np.median(c)),
                "code on training objects of the same color and of the same shape, %": round(
                    100 * float((color & shape).mean()), 1
                ),
                "of the same color only, %": round(100 * float((color & ~shape).mean()), 1),
                "of the same shape only, %": round(100 * float((~color & shape).mean()), 1),
                "of neither, %": round(100 * float((~color & ~shape).mean()), 1),
            }
        )
        print(json.dumps(rows_out[-1]), flush=True)
    (HERE / "codes.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows_out))


def additive(args: argparse.Namespace) -> None:
    """Is the tokenizer's code space additive in color and shape? Each color–shape pair is rendered as one
    object (both sizes, 4 places, 4 backgrounds), encoded to the l2-normalized lookup vectors, and the
    vectors of every object patch fitted over the seen pairs as color(c, patch) + shape(s, patch). For the
    held-out pairs that fit is the only guess (no held-out vector enters it): its nearest codes, decoded,
    are parsed. Were a generator to compose in this space, it would draw that share of held-out pairs."""
    import jax.numpy as jnp
    from flax import nnx

    from vim.tokenizer.model import l2_normalize
    from vim.world.parser import parse_image
    from vim.world.render import coverage, render
    from vim.world.scene import (
        BACKGROUND_DIRECTIONS,
        BACKGROUND_TONES,
        COLORS,
        SHAPES,
        SIZES,
        Background,
        CaptionSpec,
        Group,
        Scene,
        SceneObject,
    )

    bundle = None
    if args.checkpoint:  # checked before the tokenizer part, which takes minutes
        from vim.bundle import load_bundle

        bundle = load_bundle(args.checkpoint)
        if bundle.parti_cfg.parti.text_views:
            raise SystemExit(
                f"{args.checkpoint}: its generator reads two caption views (parti.text_views); the head fit "
                "needs a one-view generator. Give another --checkpoint, or --checkpoint '' for the tokenizer only."
            )

    tokenizer, cfg = load_tokenizer(args.tokenizer)
    world, grid = cfg.data.world, cfg.tokenizer.image_size // cfg.tokenizer.patch_size
    rng = np.random.default_rng(0)
    backgrounds = [
        Background(BACKGROUND_TONES[a], BACKGROUND_TONES[b], BACKGROUND_DIRECTIONS[d], int(seed))
        for a, b, d, seed in zip(
            *(
                rng.integers(n, size=4)
                for n in (len(BACKGROUND_TONES), len(BACKGROUND_TONES), len(BACKGROUND_DIRECTIONS), 2**31)
            ),
            strict=True,
        )
    ]
    places = [(0.5, 0.5), (0.3125, 0.375), (0.6875, 0.625), (0.5625, 0.3125)]
    colors, shapes = list(COLORS), list(SHAPES)
    heldout = {tuple(p.split()) for p in world.heldout_pairs}
    encode_latents = nnx.jit(lambda m, x: l2_normalize(m.encode_latents(x)))
    codebook = np.asarray(l2_normalize(tokenizer.codebook_kc[...]))
    decode = nnx.jit(lambda m, c: m.decode(c))
    counts = {"seen": [0, 0, 0], "held-out": [0, 0, 0]}  # objects, pair drawn from the fit, patches' codes equal
    for size, bg, (x, y) in itertools.product(SIZES, backgrounds, places):
        scenes = {
            (c, s): Scene(CaptionSpec((Group(1, size, c, s),)), (SceneObject(s, c, size, x, y),), bg)
            for c in colors
            for s in shapes
        }
        images = np.stack([render(sc, world.resolution) for sc in scenes.values()])
        z = np.asarray(encode_latents(tokenizer, images / np.float32(255))).reshape(
            len(colors), len(shapes), grid * grid, -1
        )
        true_codes = np.argmax(z @ codebook.T, -1)
        mask = np.zeros(grid * grid, bool)
        for s in shapes:
            cover = coverage(s, size, x, y, world.resolution).reshape(grid, world.resolution // grid, grid, -1)
            mask |= cover.mean((1, 3)).ravel() > 0.1
        # least squares z[c, s] ≈ a[c] + b[s] per patch over the seen pairs (one-hot design, shared by patches)
        seen = [(i, j) for i, c in enumerate(colors) for j, s in enumerate(shapes) if (c, s) not in heldout]
        design = np.zeros((len(seen), len(colors) + len(shapes)))
        for r, (i, j) in enumerate(seen):
            design[r, i] = design[r, len(colors) + j] = 1
        target = np.stack([z[i, j] for i, j in seen]).reshape(len(seen), -1)
        coef = np.linalg.lstsq(design, target, rcond=None)[0].reshape(len(colors) + len(shapes), grid * grid, -1)
        for i, c in enumerate(colors):
            for j, s in enumerate(shapes):
                guess = coef[i] + coef[len(colors) + j]
                codes = np.where(mask, np.argmax(guess @ codebook.T, -1), true_codes[i, j])
                pixels = decode(tokenizer, jnp.asarray(codes.reshape(1, grid, grid)))
                objects = parse_image(np.asarray(jnp.round(pixels[0] * 255)).astype(np.uint8))
                key = "held-out" if (c, s) in heldout else "seen"
                counts[key][0] += 1
                counts[key][1] += any(o.color == c and o.shape == s for o in objects)
                counts[key][2] += float(np.mean(codes[mask] == true_codes[i, j][mask]))
    rows = [
        {
            "pairs": key,
            "objects": n,
            "pair drawn from the additive guess, %": round(100 * drawn / n, 1),
            "object patches whose guessed code is the encoder's, %": round(100 * equal / n, 1),
        }
        for key, (n, drawn, equal) in counts.items()
    ]
    print("\n".join(json.dumps(r) for r in rows))
    head = head_in_code_space(bundle, args.checkpoint, codebook) if bundle is not None else None
    print(json.dumps(head))
    (HERE / "additive.json").write_text(
        json.dumps({"tokenizer": args.tokenizer, "rows": rows, "generator_head": head}, indent=2) + "\n"
    )


def head_in_code_space(bundle: Bundle, checkpoint: str, codebook_kc: np.ndarray) -> dict:
    """Does a bundle's generator score codes through the tokenizer's code space? Its logits kernel [D, K]
    fitted by least squares as P·codebookᵀ (rank code_dim): the kernel's variance that fit explains, and the
    teacher-forced validation loss with the fitted kernel in place of the learned one (512 examples)."""
    import jax.numpy as jnp
    from flax import nnx

    from vim.world.dataset import make_example

    examples = [make_example(bundle.parti_cfg.data.world, "validation", i) for i in range(512)]
    images = np.stack([e["image"] for e in examples]) / np.float32(255)
    codes = np.asarray(nnx.jit(lambda m, x: m.encode(x))(bundle.tokenizer, images)).reshape(len(examples), -1)
    ids = jnp.asarray(bundle.text.encode([e["caption"] for e in examples], bundle.parti_cfg.parti.text_length).ids)
    features = np.asarray(nnx.jit(lambda m, i, c: m.features(i, i != PAD_ID, c))(bundle.parti, ids, jnp.asarray(codes)))
    features, targets = features.reshape(-1, features.shape[-1]), codes.reshape(-1)
    kernel, bias = np.asarray(bundle.parti.logits.kernel[...]), np.asarray(bundle.parti.logits.bias[...])
    fit = np.linalg.lstsq(codebook_kc, kernel.T, rcond=None)[0]  # [C, D]: kernelᵀ ≈ codebook · fit

    def nats(logits: np.ndarray) -> float:
        logits = logits - logits.max(-1, keepdims=True)
        log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
        return round(float(-log_probs[np.arange(len(targets)), targets].mean()), 4)

    centered = kernel.T - kernel.T.mean(0)
    return {
        "checkpoint": checkpoint,
        "kernel variance in the code space, %": round(
            100 * (1 - float(((kernel.T - codebook_kc @ fit) ** 2).sum() / (centered**2).sum())), 1
        ),
        "validation nats/token, learned kernel": nats(features @ kernel + bias),
        "validation nats/token, kernel fitted in the code space": nats(features @ (codebook_kc @ fit).T + bias),
    }


def validation_nll(cfg, evaluate_step, state) -> float:
    mesh = make_mesh(cfg.mesh)
    losses = []
    with jax.set_mesh(mesh):
        batches = make_batches(cfg, "validation", shuffle=False, num_epochs=1)
        for _, local in zip(range(VALIDATION_EXAMPLES // cfg.data.batch_size), batches, strict=False):
            losses.append(float(evaluate_step(state, global_batch(local, mesh))["nll"]))
    return float(np.mean(losses))


def report(_: argparse.Namespace) -> None:
    """The table of every point (stdout) and, where matplotlib is installed, the curves (scaling.png)."""
    rows = [json.loads(line) for line in RESULTS.read_text().splitlines() if line.strip()]
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
    try:
        import matplotlib
    except ImportError:
        print(f"matplotlib is not installed: {HERE / 'scaling.png'} left as it is", file=sys.stderr)
        return
    plot(rows, matplotlib)


def plot(rows: list[dict], matplotlib) -> None:
    """scaling.png: loss and exact match against images seen (CFG 1, T 1), and exact match against CFG."""
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
    a = sub.add_parser("additive")
    a.add_argument("--tokenizer", default="checkpoints/shapes-tiny/tokenizer")
    a.add_argument(
        "--checkpoint",
        default="",
        help="a bundle with a one-view generator whose logits head to fit in the code space ('' = tokenizer only)",
    )
    a.set_defaults(fn=additive)
    sub.add_parser("report").set_defaults(fn=report)
    args = parser.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
