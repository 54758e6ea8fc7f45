"""A product of two experts for held-out color–shape pairs (issue 17 study): the fine-tune that made the
bundled generator (vim samples such a model with `parti.caption_views`; `vim train-parti` trains one).

The generator scores every image token as l(caption without its shape words) + l(caption without its color
words): one network, two rows per caption. Neither row ever sees a color next to a shape, so neither can
learn "yellow is never a cross"; the product is what is trained (cross-entropy of the sum), so each row
only has to score what the other leaves open. Unconditional = both rows on the empty caption.

    git worktree add ../b78k 5b1e52e   # the bundle before this fine-tune replaced its generator (2026-12-01)
    python poe.py train --steps 4000 --workdir runs/poe --checkpoint ../b78k/checkpoints/shapes-tiny
    python poe.py eval --params runs/poe/params_4000.pkl -n 500   # CFG and temperature of the bundle
    python poe.py eval -n 500 --plain --checkpoint ../b78k/checkpoints/shapes-tiny   # the step-78,000 generator
    python poe.py eval --params runs/poe/params_4000.pkl -n 1000 --cfg 2 --candidates 16 --save-candidates c.npz
    python poe.py rescore c.npz --scorer runs/scorer-10k         # the same candidates kept by another scorer
    python poe.py export --params runs/poe/params_4000.pkl --out checkpoints/shapes-tiny   # bundle it
"""

from __future__ import annotations

import argparse
import json
import pickle
import queue
import threading
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from study import heldout_pair_drawn  # this folder's study.py

from vim.bundle import load_bundle
from vim.data.text import PAD_ID
from vim.metrics.faithfulness import match_rates
from vim.parti.sample import choose, empty_text, guide, settings_arrays
from vim.rerank.score import Reranker
from vim.tokenizer.model import l2_normalize
from vim.training.weights import PARAMS_FILE, save_params
from vim.world.captions import attribute_views, parse_caption
from vim.world.dataset import make_example
from vim.world.parser import match_spec, parse_image


def halves(captions: list[str]) -> tuple[list[str], list[str]]:
    """(captions without shape words, captions without color words)."""
    no_shape, no_color = zip(*map(attribute_views, captions), strict=True) if captions else ((), ())
    return list(no_shape), list(no_color)


def scores(model, code_w_dc: jax.Array, codebook_kc: jax.Array, features_bnd: jax.Array) -> jax.Array:
    """The model's logits plus a term shared by all codes through their code vectors: features·W·codebookᵀ."""
    shared_bnk = (features_bnd.astype(jnp.float32) @ code_w_dc) @ codebook_kc.T
    return model.logits(features_bnd).astype(jnp.float32) + shared_bnk


def kept_candidates(reranker, images: np.ndarray, captions: list[str], c: int) -> dict[str, np.ndarray]:
    """Each caption's kept candidate [P] (of its C in consecutive rows of `images`) by the scorer's similarity
    to the full caption ("full", what `Reranker.rerank` keeps), to its two views summed, and to all three."""
    image_pce = reranker.embed_images(images).reshape(len(captions), c, -1)  # embedded once for every view
    no_shape, no_color = halves(captions)
    sims = {
        name: np.einsum("pce,pe->pc", image_pce, reranker.embed_text(views))
        for name, views in (("full", captions), ("no_shape", no_shape), ("no_color", no_color))
    }
    return {
        "full": np.argmax(sims["full"], axis=1),
        "views": np.argmax(sims["no_shape"] + sims["no_color"], axis=1),
        "full+views": np.argmax(sims["full"] + sims["no_shape"] + sims["no_color"], axis=1),
    }


def kept_rates(exact_nc: np.ndarray, heldout: np.ndarray, kept: dict[str, np.ndarray]) -> dict[str, float]:
    """Exact % on seen and held-out captions of the candidates each way of keeping keeps."""
    out = {}
    for name, best in kept.items():
        hit = exact_nc[np.arange(len(exact_nc)), best]
        out[f"rerank {name}: seen %"] = round(100 * hit[~heldout].mean(), 1)
        out[f"rerank {name}: held-out %"] = round(100 * hit[heldout].mean(), 1)
    return out


def train(args: argparse.Namespace) -> None:
    bundle = load_bundle(args.checkpoint)
    world, pc = bundle.parti_cfg.data.world, bundle.parti_cfg.parti
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    graphdef, state = nnx.split(bundle.parti)
    codebook_kc = l2_normalize(bundle.tokenizer.codebook_kc[...])
    params = {"parti": state, "code_w": jnp.zeros((pc.width, codebook_kc.shape[1]))}
    if args.resume:
        saved = pickle.loads(Path(args.resume).read_bytes())
        saved = saved if "parti" in saved else {"parti": saved}
        params["parti"].replace_by_pure_dict(jax.tree.map(jnp.asarray, saved["parti"]))
        params["code_w"] = jnp.asarray(saved.get("code_w", params["code_w"]))
    schedule = optax.warmup_constant_schedule(0.0, args.lr, 200) if not args.resume else args.lr
    tx = optax.chain(optax.clip_by_global_norm(1.0), optax.adamw(schedule, b1=0.9, b2=0.95, weight_decay=1e-4))
    if not args.code_head:
        tx = optax.multi_transform({"on": tx, "off": optax.set_to_zero()}, {"parti": "on", "code_w": "off"})
    opt_state = tx.init(params)
    encode = nnx.jit(lambda m, x: m.encode(x))
    empty = empty_text(pc.text_length)

    def batches():  # rendered on a thread while the step runs; indices far past any other run's
        rng = np.random.default_rng(args.seed)
        for step in range(args.start, args.steps):
            base = 900_000_000 + step * args.batch
            ex = [make_example(world, "train", base + i) for i in range(args.batch)]
            a, b = halves([e["caption"] for e in ex])
            ids_a, ids_b = (bundle.text.encode(t, pc.text_length).ids for t in (a, b))
            drop = rng.random(args.batch) < pc.caption_dropout
            ids_a[drop], ids_b[drop] = empty, empty
            yield np.stack([e["image"] for e in ex]), ids_a, ids_b

    q: queue.Queue = queue.Queue(maxsize=4)
    threading.Thread(target=lambda: [q.put(x) for x in batches()] + [q.put(None)], daemon=True).start()

    def loss_fn(params, ids_a, ids_b, codes):
        model = nnx.merge(graphdef, params["parti"])
        ids = jnp.concatenate([ids_a, ids_b])
        features = model.features(ids, ids != PAD_ID, jnp.concatenate([codes, codes]))
        logits = scores(model, params["code_w"], codebook_kc, features)
        b = codes.shape[0]
        nll = optax.softmax_cross_entropy_with_integer_labels(logits[:b] + logits[b:], codes)
        return nll.mean()

    @jax.jit
    def step_fn(params, opt_state, ids_a, ids_b, codes):
        loss, grads = jax.value_and_grad(loss_fn)(params, ids_a, ids_b, codes)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    start, losses, step = time.perf_counter(), [], args.start
    while (item := q.get()) is not None:
        images, ids_a, ids_b = item
        codes = np.asarray(encode(bundle.tokenizer, images / np.float32(255))).reshape(len(images), -1)
        params, opt_state, loss = step_fn(params, opt_state, ids_a, ids_b, codes)
        losses.append(float(loss))
        step += 1
        if step % 100 == 0:
            print(
                json.dumps(
                    {
                        "step": step,
                        "loss": round(float(np.mean(losses[-100:])), 4),
                        "seconds": round(time.perf_counter() - start),
                    }
                ),
                flush=True,
            )
        if step % args.save_every == 0 or step == args.steps:
            (workdir / f"params_{step}.pkl").write_bytes(
                pickle.dumps(
                    {
                        "parti": jax.tree.map(np.asarray, params["parti"].to_pure_dict()),
                        "code_w": np.asarray(params["code_w"]),
                    }
                )
            )


def evaluate(args: argparse.Namespace) -> None:
    bundle = load_bundle(args.checkpoint)
    world, pc, grid = bundle.parti_cfg.data.world, bundle.parti_cfg.parti, bundle.parti_cfg.parti.image_grid
    model = bundle.parti
    codebook_kc = l2_normalize(bundle.tokenizer.codebook_kc[...])
    code_w = jnp.zeros((pc.width, codebook_kc.shape[1]))
    if args.params:
        saved = pickle.loads(Path(args.params).read_bytes())
        saved = saved if "parti" in saved else {"parti": saved}
        graphdef, state = nnx.split(model)
        state.replace_by_pure_dict(jax.tree.map(jnp.asarray, saved["parti"]))
        model = nnx.merge(graphdef, state)
        code_w = jnp.asarray(saved.get("code_w", code_w))
    settings = settings_arrays(bundle.parti_cfg.sample)
    settings["cfg_scale"] = jnp.float32(args.cfg)
    shape_scale = jnp.float32(args.cfg if args.cfg_shape is None else args.cfg_shape)
    examples = [make_example(world, "test", i) for i in range(args.n)]
    captions = [e["caption"] for e in examples]
    drawn_captions = [c for c in captions for _ in range(args.candidates)]  # caption i's candidates together
    a, b = halves(drawn_captions)
    rows = [drawn_captions, drawn_captions] if args.plain else [a, b]
    ids_a, ids_b = (bundle.text.encode(r, pc.text_length).ids for r in rows)

    @jax.jit
    def draw(ids_a_bt, ids_b_bt, seeds_b):
        b, t = ids_a_bt.shape
        text = jnp.concatenate([ids_a_bt, ids_b_bt, jnp.broadcast_to(jnp.asarray(empty_text(t)), (b, t))])
        mask = text != PAD_ID
        cache = model.init_cache(model.encode_text(text, mask))
        keys_b = jax.vmap(jax.random.key)(seeds_b)

        def body(i, carry):
            token_b, cache, codes_bn = carry
            features_b1d, cache = model.decode_step_features(jnp.concatenate([token_b] * 3), i, cache, mask)
            lg = scores(model, code_w, codebook_kc, features_b1d[:, 0])
            if args.plain:
                logits = guide(lg[:b], lg[2 * b :], settings["cfg_scale"])
            else:  # each row guided against the empty caption: lA + lB + (sA − 1)(lA − lU) + (sB − 1)(lB − lU)
                logits = guide(lg[:b], lg[2 * b :], settings["cfg_scale"]) + guide(
                    lg[b : 2 * b], lg[2 * b :], shape_scale
                )
            code_b = choose(logits, jax.vmap(lambda k: jax.random.fold_in(k, i))(keys_b), settings)
            return code_b, cache, codes_bn.at[:, i].set(code_b)

        bos = jnp.full((b,), model.bos_id, jnp.int32)
        return jax.lax.fori_loop(0, grid * grid, body, (bos, cache, jnp.zeros((b, grid * grid), jnp.int32)))[2]

    decode = nnx.jit(lambda m, c: m.decode(c))
    images, total = [], len(drawn_captions)
    for s in range(0, total, 50):
        seeds = np.arange(s, min(s + 50, total), dtype=np.uint32) + 1000 * args.seed
        codes = draw(ids_a[s : s + 50], ids_b[s : s + 50], seeds)
        pixels = decode(bundle.tokenizer, codes.reshape(-1, grid, grid))
        images.append(np.asarray(jnp.round(pixels * 255)).astype(np.uint8))
    images = np.concatenate(images)
    oracle = None
    if args.candidates > 1:  # the scorer's best of each caption's candidates, on the full caption
        specs = [parse_caption(c) for c in drawn_captions]
        exact_nc = np.array([match_spec(parse_image(im), sp)["exact"] for im, sp in zip(images, specs, strict=True)])
        heldout = np.array([e["heldout"] for e in examples])
        exact_nc = exact_nc.reshape(args.n, args.candidates)
        oracle = exact_nc.any(axis=1)  # a diagnostic, not a sampler setting
        if args.save_candidates:
            np.savez_compressed(args.save_candidates, images=images, exact=exact_nc, heldout=heldout)
        reranker = Reranker(args.scorer) if args.scorer else bundle.reranker()
        variants = kept_candidates(reranker, images, captions, args.candidates)
        best = variants.pop("full")  # the other two are reported below
        images = images.reshape(args.n, args.candidates, *images.shape[1:])[np.arange(args.n), best]
    rates = dict(match_rates(images, examples))
    out = {
        "params": args.params or "bundle",
        "plain": args.plain,
        "n": args.n,
        "cfg": args.cfg,
        "cfg_shape_row": None if args.plain else float(shape_scale),
        "temperature": float(settings["temperature"]),
        "seed": args.seed,
        "candidates": args.candidates,
    }
    out |= {
        "seen %": round(100 * rates["exact_seen_pairs"], 1),
        "held-out %": round(100 * rates["exact_heldout_pairs"], 1),
        "pair drawn %": round(100 * heldout_pair_drawn(images, examples, world.heldout_pairs), 1),
        "exact %": round(100 * rates["exact"], 1),
    }
    if oracle is not None:  # some candidate is exact (what a perfect scorer would keep)
        out["any candidate exact: seen %"] = round(100 * oracle[~heldout].mean(), 1)
        out["any candidate exact: held-out %"] = round(100 * oracle[heldout].mean(), 1)
        out |= kept_rates(exact_nc, heldout, variants)  # the same candidates kept by other uses of the scorer
    print(json.dumps(out), flush=True)
    with open(Path(__file__).parent / "poe.jsonl", "a") as f:
        f.write(json.dumps(out) + "\n")


def rescore(args: argparse.Namespace) -> None:
    """Keep the best of saved candidates (`eval --save-candidates`) by another scorer."""
    saved = np.load(args.candidates)
    images, exact_nc, heldout = saved["images"], saved["exact"], saved["heldout"]
    n, c = exact_nc.shape
    world = load_bundle(args.checkpoint).parti_cfg.data.world
    captions = [make_example(world, "test", i)["caption"] for i in range(n)]
    reranker = Reranker(args.scorer)
    out = {"candidates": args.candidates, "scorer": args.scorer, "n": n, "per caption": c}
    out |= kept_rates(exact_nc, heldout, kept_candidates(reranker, images, captions, c))
    print(json.dumps(out), flush=True)


def export(args: argparse.Namespace) -> None:
    """Put a fine-tune's generator weights into a bundle, with parti.caption_views on in its config, so
    `vim generate`, `vim eval faithfulness` and the demo sample it as a product of the two views."""
    out = Path(args.out) / "parti"
    saved = pickle.loads(Path(args.params).read_bytes())
    saved = saved if "parti" in saved else {"parti": saved}
    if np.any(np.asarray(saved.get("code_w", 0.0))):
        raise ValueError(f"{args.params} has a trained shared code-vector term, which vim's Parti does not hold")
    state = nnx.state(load_bundle(args.out).parti)
    state.replace_by_pure_dict(jax.tree.map(jnp.asarray, saved["parti"]))  # refuses a tree of another shape
    save_params(nnx.to_pure_dict(state), out / PARAMS_FILE)
    config = json.loads((out / "config.json").read_text())
    config["parti"]["caption_views"] = True
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    print(f"wrote {out / PARAMS_FILE} (from {args.params}) and parti.caption_views=true in {out / 'config.json'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train")
    t.add_argument("--checkpoint", default="checkpoints/shapes-tiny")
    t.add_argument("--workdir", required=True)
    t.add_argument("--steps", type=int, default=4000)
    t.add_argument("--start", type=int, default=0, help="with --resume: the step its params are from")
    t.add_argument("--resume", default="", help="a params_<step>.pkl to continue from (optimizer restarts)")
    t.add_argument("--batch", type=int, default=32)
    t.add_argument("--lr", type=float, default=3e-4)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--save-every", type=int, default=500)
    t.add_argument("--code-head", action="store_true", help="also train W of the shared term (zero at the start)")
    t.set_defaults(fn=train)
    e = sub.add_parser("eval")
    e.add_argument("--checkpoint", default="checkpoints/shapes-tiny")
    e.add_argument("--params", default="")
    e.add_argument("--plain", action="store_true", help="the full caption in both rows (the bundle as it samples)")
    e.add_argument("-n", type=int, default=500)
    e.add_argument("--cfg", type=float, default=1.5)
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--cfg-shape", type=float, default=None, help="scale of the shape row (the color-free caption)")
    e.add_argument("--candidates", type=int, default=1, help="draw C per caption, keep the scorer's best")
    e.add_argument("--save-candidates", default="", help="with --candidates: an .npz of every candidate drawn")
    e.add_argument("--scorer", default="", help="rerank with this scorer instead of the bundle's")
    e.set_defaults(fn=evaluate)
    r = sub.add_parser("rescore")
    r.add_argument("candidates", help="an .npz of eval --save-candidates")
    r.add_argument("--scorer", required=True)
    r.add_argument("--checkpoint", default="checkpoints/shapes-tiny")
    r.set_defaults(fn=rescore)
    x = sub.add_parser("export")
    x.add_argument("--params", required=True, help="a params_<step>.pkl of train")
    x.add_argument("--out", default="checkpoints/shapes-tiny", help="the bundle whose parti/ weights it replaces")
    x.set_defaults(fn=export)
    args = parser.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
