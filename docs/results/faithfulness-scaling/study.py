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
from collections import defaultdict
from pathlib import Path

import jax
import numpy as np

from vim.bundle import Bundle
from vim.config import Config, SampleConfig, from_dict
from vim.data.pipeline import make_batches
from vim.data.text import PAD_ID, TextTokenizer
from vim.generate import Generator, draw_images
from vim.metrics.faithfulness import faithfulness_table, match_rates
from vim.parti.train import PartiTask
from vim.sharding import global_batch, make_mesh
from vim.tokenizer.infer import load_tokenizer
from vim.training.checkpoint import Checkpointer

HERE = Path(__file__).parent
RESULTS = HERE / "results.jsonl"
VALIDATION_EXAMPLES = 512


def heldout_pair_drawn(images: np.ndarray, examples: list[dict], heldout_pairs: tuple[str, ...]) -> float:
    """Share of the held-out examples whose image has, for every held-out color–shape pair the caption
    names, an object of that color and shape (the parser's reading; other attributes may be wrong)."""
    from vim.world.captions import parse_caption
    from vim.world.parser import parse_image

    drawn = [
        all(
            any(o.color == g.color and o.shape == g.shape for o in parse_image(image))
            for g in parse_caption(ex["caption"]).groups
            if f"{g.color} {g.shape}" in heldout_pairs
        )
        for image, ex in zip(images, examples, strict=True)
        if ex["heldout"]
    ]
    return float(np.mean(drawn)) if drawn else float("nan")


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
    print(json.dumps({"captions": total, **{k: round(100 * v / total, 1) for k, v in counts.items()}}))


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


def prefix(args: argparse.Namespace) -> None:
    """Does the generator fail to *start* a held-out pair, or to *draw* it? For held-out test captions,
    the first m image tokens are forced to the rendered image's codes and the rest sampled (CFG and
    temperature of the bundle): m = 0; m = up to the first patch of the first held-out object; m = through
    that object's first row of patches; m = through the whole object (the tokenizer's round trip bounds
    it). Exact match and the pair drawn on one object, by the parser."""
    import jax.numpy as jnp
    from flax import nnx

    from vim.bundle import load_bundle
    from vim.parti.sample import choose, empty_text, guide, settings_arrays
    from vim.world.dataset import make_example
    from vim.world.render import coverage

    bundle = load_bundle(args.checkpoint)
    world, sample = bundle.parti_cfg.data.world, bundle.parti_cfg.sample
    grid = bundle.parti_cfg.parti.image_grid
    examples = [ex for ex in (make_example(world, "test", i) for i in range(6 * args.n)) if ex["heldout"]][: args.n]
    images = np.stack([ex["image"] for ex in examples])
    true_codes = np.asarray(nnx.jit(lambda m, x: m.encode(x))(bundle.tokenizer, images / np.float32(255))).reshape(
        len(examples), -1
    )
    starts, first_rows, whole = [], [], []
    for ex in examples:
        patches = []
        for o in json.loads(ex["scene"])["objects"]:
            if f"{o['color']} {o['shape']}" in world.heldout_pairs:
                cover = coverage(o["shape"], o["size"], o["x"], o["y"], world.resolution)
                cover = cover.reshape(grid, world.resolution // grid, grid, -1).mean((1, 3))
                patches.append(np.argwhere(cover > 0.1))
        first = min(patches, key=lambda p: tuple(p.min(0)))  # the held-out object that starts first in raster order
        row = first[:, 0].min()
        starts.append(int(row * grid + first[first[:, 0] == row][:, 1].min()))
        first_rows.append(int(row * grid + first[first[:, 0] == row][:, 1].max() + 1))
        last = first[:, 0].max()
        whole.append(int(last * grid + first[first[:, 0] == last][:, 1].max() + 1))
    text = bundle.text.encode([ex["caption"] for ex in examples], bundle.parti_cfg.parti.text_length).ids
    settings = settings_arrays(sample)
    model = bundle.parti

    @jax.jit
    def forced(ids_bt, forced_bn, m_b, seeds_b):
        b, t = ids_bt.shape
        ids_bt = jnp.concatenate([ids_bt, jnp.broadcast_to(jnp.asarray(empty_text(t)), (b, t))])
        mask_bt = ids_bt != PAD_ID
        cache = model.init_cache(model.encode_text(ids_bt, mask_bt))
        keys_b = jax.vmap(jax.random.key)(seeds_b)

        def body(i, carry):
            token_b, cache, codes_bn = carry
            logits_bv, cache = model.decode_step(token_b, i, cache, mask_bt)
            logits_bv = guide(logits_bv[:b], logits_bv[b:], settings["cfg_scale"])
            code_b = choose(logits_bv, jax.vmap(lambda k: jax.random.fold_in(k, i))(keys_b), settings)
            code_b = jnp.where(i < m_b, forced_bn[:, i], code_b)
            return jnp.concatenate([code_b, code_b]), cache, codes_bn.at[:, i].set(code_b)

        bos_b = jnp.full((2 * b,), model.bos_id, jnp.int32)
        return jax.lax.fori_loop(0, grid * grid, body, (bos_b, cache, jnp.zeros((b, grid * grid), jnp.int32)))[2]

    decode = nnx.jit(lambda m, c: m.decode(c))
    out = {
        "checkpoint": args.checkpoint,
        "captions": len(examples),
        "cfg_scale": sample.cfg_scale,
        "temperature": sample.temperature,
        "seeds": args.seeds,
    }
    for name, m in (
        ("nothing forced", np.zeros(len(examples), int)),
        ("up to the held-out object", np.array(starts)),
        ("through its first patch row", np.array(first_rows)),
        ("through the whole object", np.array(whole)),
    ):
        images = []
        for seed in range(args.seeds):
            for s in range(0, len(examples), 64):
                sl = slice(s, s + 64)
                codes = forced(text[sl], true_codes[sl], m[sl], np.arange(s, s + len(text[sl])) + 1000 * seed)
                pixels = np.asarray(jnp.round(decode(bundle.tokenizer, codes.reshape(-1, grid, grid)) * 255))
                images.append(pixels.astype(np.uint8))
        images, shown = np.concatenate(images), examples * args.seeds
        out[name] = {
            "tokens forced (mean)": float(m.mean()),
            "exact %": round(100 * dict(match_rates(images, shown))["exact"], 1),
            "held-out pair drawn %": round(100 * heldout_pair_drawn(images, shown, world.heldout_pairs), 1),
        }
        print(name, json.dumps(out[name]), flush=True)
    record = json.loads((HERE / "prefix.json").read_text()) if (HERE / "prefix.json").is_file() else {}
    record[args.checkpoint] = out
    (HERE / "prefix.json").write_text(json.dumps(record, indent=2) + "\n")


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
    head = head_in_code_space(args.checkpoint, codebook)
    print(json.dumps(head))
    (HERE / "additive.json").write_text(
        json.dumps({"tokenizer": args.tokenizer, "rows": rows, "generator_head": head}, indent=2) + "\n"
    )


def head_in_code_space(checkpoint: str, codebook_kc: np.ndarray) -> dict:
    """Does a bundle's generator score codes through the tokenizer's code space? Its logits kernel [D, K]
    fitted by least squares as P·codebookᵀ (rank code_dim): the kernel's variance that fit explains, and the
    teacher-forced validation loss with the fitted kernel in place of the learned one (512 examples)."""
    import jax.numpy as jnp
    from flax import nnx

    from vim.bundle import load_bundle
    from vim.world.dataset import make_example

    bundle = load_bundle(checkpoint)
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
    a = sub.add_parser("additive")
    a.add_argument("--tokenizer", default="checkpoints/shapes-tiny/tokenizer")
    a.add_argument("--checkpoint", default="checkpoints/shapes-tiny", help="a bundle whose generator head to fit")
    a.set_defaults(fn=additive)
    x = sub.add_parser("prefix")
    x.add_argument("--checkpoint", default="checkpoints/shapes-tiny", help="a bundle")
    x.add_argument("-n", type=int, default=200, help="held-out test captions")
    x.add_argument("--seeds", type=int, default=2, help="samples per caption and setting")
    x.set_defaults(fn=prefix)
    sub.add_parser("report").set_defaults(fn=report)
    args = parser.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
