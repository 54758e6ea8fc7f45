"""A shape view that votes for codes of any color (issue 17 study, fifteenth session).

The bundled generator is a product of two caption views: A (the caption without its shape words) knows the
color, B (without its color words) knows the shape. Codes are color-specific, so B's mass for "a cross arm
here" sits on red, blue, green... cross codes and A's on yellow codes: their product has nothing to agree on
for a yellow cross. Here B's vote is spread over codes whose patches cover the same pixels, whatever their
color: each code's mean coverage mask (8×8, from the rendered objects of training images) gives a kernel
K(k, k') = exp(−mean((m_k − m_k')²) / (2σ²)), and a token is drawn from

    softmax(g_A + α · log(K · softmax(g_B)) + (1 − α) · g_B)

with g_A, g_B each view's logits guided against the empty caption. Training images only; no model changes.

    S=docs/results/faithfulness-scaling
    python $S/kernel.py masks --train 4000                        # -> runs/code_masks.npz
    python $S/kernel.py draw --alpha 1 --sigma 0.1 -n 300 -c 4     # test captions from 1,000 on
"""

import argparse
import json
import time

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from selfscore import view_rows

from vim.bundle import load_bundle
from vim.parti.sample import choose, guide, settings_arrays
from vim.world.captions import parse_caption
from vim.world.dataset import make_example
from vim.world.parser import ATTRIBUTES, match_spec, parse_image
from vim.world.render import coverage

BUNDLE = "checkpoints/shapes-tiny"
MASKS = "runs/code_masks.npz"


def masks(args: argparse.Namespace) -> None:
    """Each code's mean coverage mask over the training patches the encoder gives it ([V, 64]) and its count."""
    bundle = load_bundle(BUNDLE)
    world = bundle.parti_cfg.data.world
    grid = bundle.parti_cfg.parti.image_grid
    side = world.resolution // grid
    vocab = bundle.tokenizer_cfg.tokenizer.codebook_size
    encode = nnx.jit(lambda m, x: m.encode(x))
    total, count = np.zeros((vocab, side * side)), np.zeros(vocab)
    start = time.time()
    for first in range(args.offset, args.offset + args.train, 256):
        examples = [make_example(world, "train", i) for i in range(first, first + 256)]
        codes = np.asarray(encode(bundle.tokenizer, np.stack([e["image"] for e in examples]) / np.float32(255)))
        codes = codes.reshape(len(examples), -1)
        for ex, row in zip(examples, codes, strict=True):
            cover = np.zeros((world.resolution, world.resolution))
            for o in json.loads(ex["scene"])["objects"]:
                cover = np.maximum(cover, coverage(o["shape"], o["size"], o["x"], o["y"], world.resolution))
            patches = cover.reshape(grid, side, grid, side).transpose(0, 2, 1, 3).reshape(grid * grid, -1)
            np.add.at(total, row, patches)
            np.add.at(count, row, 1)
        print(first, f"{time.time() - start:.0f} s", flush=True)
    np.savez(MASKS, mask=total / np.maximum(count, 1)[:, None], count=count)
    print(f"codes used {int((count > 0).sum())} of {vocab}")


def kernel(sigma: float, min_count: int) -> np.ndarray:
    d = np.load(MASKS)
    m, known = d["mask"], d["count"] >= min_count
    dist = np.mean((m[:, None, :] - m[None, :, :]) ** 2, axis=-1)
    k = np.exp(-dist / (2 * sigma**2))
    k[~known, :] = 0
    k[:, ~known] = 0
    k[np.arange(len(k)), np.arange(len(k))] = 1.0  # a code never seen votes for itself only
    return k.astype(np.float32)


def draw(args: argparse.Namespace) -> None:
    bundle = load_bundle(BUNDLE)
    from vim.generate import Generator

    gen = Generator(bundle, batch_size=16)
    reranker = bundle.reranker()
    world, sample = bundle.parti_cfg.data.world, bundle.parti_cfg.sample
    settings = settings_arrays(sample)
    pdef, pstate = nnx.split(bundle.parti)
    tdef, tstate = nnx.split(bundle.tokenizer)
    grid = bundle.parti_cfg.parti.image_grid
    k_vv = jnp.asarray(kernel(args.sigma, args.min_count))
    scales = jnp.asarray([args.cfg or sample.cfg_scale] * 2)

    @jax.jit
    def run(pstate, tstate, text_ids, seeds_b, alpha):
        model = nnx.merge(pdef, pstate)
        b = text_ids.shape[0]
        e, mask, cache, keys_b = view_rows(model, text_ids, seeds_b)

        def body(i, carry):
            token_r, cache, codes_bn = carry
            logits_rv, cache = model.decode_step(token_r, i, cache, mask)
            logits_ebv = logits_rv.reshape(e + 1, b, -1)
            g_ebv = guide(logits_ebv[:e], logits_ebv[e], scales[:, None, None])
            spread_bv = jnp.log(jax.nn.softmax(g_ebv[1], axis=-1) @ k_vv + 1e-30)
            mixed_bv = g_ebv[0] + alpha * spread_bv + (1 - alpha) * g_ebv[1]
            code_b = choose(mixed_bv, jax.vmap(lambda k: jax.random.fold_in(k, i))(keys_b), settings)
            return jnp.tile(code_b, e + 1), cache, codes_bn.at[:, i].set(code_b)

        init = (jnp.full(((e + 1) * b,), model.bos_id, jnp.int32), cache, jnp.zeros((b, grid * grid), jnp.int32))
        _, _, codes = jax.lax.fori_loop(0, grid * grid, body, init)
        pixels = nnx.merge(tdef, tstate).decode(codes.reshape(-1, grid, grid))
        return jnp.round(pixels * 255).astype(jnp.uint8)

    examples = [make_example(world, "test", i) for i in range(args.first, args.first + args.n)]
    exact, heldout, attrs, scores, images_all, captions = [], [], [], [], [], []
    start = time.time()
    for k, ex in enumerate(examples):
        caption = ex["caption"].decode() if isinstance(ex["caption"], bytes) else ex["caption"]
        ids, _ = gen.encode([caption] * args.c)
        seeds = np.arange(args.c, dtype=np.uint32) + (args.first + k) * 16  # selfscore.py's first seeds
        images = np.asarray(run(pstate, tstate, ids, seeds, jnp.float32(args.alpha)))
        spec = parse_caption(caption)
        verdicts = [match_spec(parse_image(im), spec) for im in images]
        exact.append([v["exact"] for v in verdicts])
        attrs.append([[v[a] for a in ATTRIBUTES] for v in verdicts])
        scores.append(reranker.scores(images, [caption]))
        heldout.append(ex["heldout"])
        captions.append(caption)
        if args.save:
            images_all.append(images)
        if k % 100 == 0:
            print(k, f"{time.time() - start:.0f} s", flush=True)
    exact, heldout, attrs, scores = np.array(exact), np.array(heldout), np.array(attrs), np.array(scores)
    kept = exact[np.arange(len(exact)), scores.argmax(1)]
    result = {
        "alpha": args.alpha,
        "sigma": args.sigma,
        "cfg": float(scales[0]),
        "captions": args.n,
        "candidates": args.c,
        "heldout_captions": int(heldout.sum()),
        "per_sample_exact_heldout": round(100 * float(exact[heldout].mean()), 1),
        "per_sample_exact_seen": round(100 * float(exact[~heldout].mean()), 1),
        "heldout_attrs": dict(zip(ATTRIBUTES, np.round(100 * attrs[heldout].mean((0, 1)), 1).tolist(), strict=True)),
        "seen_attrs": dict(zip(ATTRIBUTES, np.round(100 * attrs[~heldout].mean((0, 1)), 1).tolist(), strict=True)),
        "scorer_pick_heldout": round(100 * float(kept[heldout].mean()), 1),
        "scorer_pick_seen": round(100 * float(kept[~heldout].mean()), 1),
        "some_exact_heldout": round(100 * float(exact[heldout].any(1).mean()), 1),
    }
    print(json.dumps(result), flush=True)
    with open(args.out, "a") as f:
        f.write(json.dumps(result) + "\n")
    if args.save:
        np.savez(args.save, images=np.array(images_all), exact=exact, heldout=heldout, captions=np.array(captions))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("masks")
    m.add_argument("--train", type=int, default=4096)
    m.add_argument("--offset", type=int, default=500_000_000, help="training indices far from the test runs'")
    d = sub.add_parser("draw")
    d.add_argument("--alpha", type=float, default=1.0, help="0 = the bundle's sampler")
    d.add_argument("--sigma", type=float, default=0.1)
    d.add_argument("--min-count", type=int, default=5, help="codes seen fewer times vote only for themselves")
    d.add_argument("--cfg", type=float, default=0.0, help="0 = the bundle's scale")
    d.add_argument("--first", type=int, default=1000)
    d.add_argument("-n", type=int, default=300)
    d.add_argument("-c", type=int, default=4, help="candidates per caption")
    d.add_argument("--out", default="/tmp/kernel.jsonl")
    d.add_argument("--save", default="")
    args = p.parse_args()
    {"masks": masks, "draw": draw}[args.cmd](args)


if __name__ == "__main__":
    main()
