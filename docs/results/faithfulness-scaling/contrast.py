"""Attribute-contrast guidance (issue 17 study, a sampling experiment on the bundle). For each group of a
caption, the caption with that group's shape changed (each other shape) and with its color changed (each
other color); the logits get
w_shape·(cond − mean shape-negatives) + w_color·(cond − mean color-negatives) per group, on top of CFG.

    python contrast.py 160 '[[0,0],[0.3,0.3],[1,1]]'   # test captions, then [w_shape, w_color] pairs
"""

import json
import re
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from study import heldout_pair_drawn  # this folder's study.py

from vim.bundle import load_bundle
from vim.data.text import PAD_ID
from vim.metrics.faithfulness import match_rates
from vim.parti.sample import choose, empty_text, guide, settings_arrays
from vim.world.captions import SHAPE_WORDS
from vim.world.dataset import make_example
from vim.world.scene import COLORS, SHAPES

bundle = load_bundle("checkpoints/shapes-tiny")
world, sample = bundle.parti_cfg.data.world, bundle.parti_cfg.sample
grid, T = bundle.parti_cfg.parti.image_grid, bundle.parti_cfg.parti.text_length
N = int(sys.argv[1])
settings_list = json.loads(sys.argv[2])
examples = [make_example(world, "test", i) for i in range(N)]
NOUN = {w: s for s, syn in SHAPE_WORDS.items() for pair in syn for w in pair}
PLURAL = {w: w in [p[1] for syn in SHAPE_WORDS.values() for p in syn] for w in NOUN}
NOUNS = "|".join(sorted(NOUN, key=len, reverse=True))
pattern = re.compile(rf"\b({'|'.join(COLORS)}) ({NOUNS})\b")
NNEG = 2 * (len(SHAPES) - 1 + len(COLORS) - 1)


def negatives(caption):
    """[NNEG] captions and kinds: 0 = pad, (g, 1) shape-neg of group g, (g, 2) color-neg."""
    out, kind = [], []
    for g, m in enumerate(pattern.finditer(caption)):
        color, noun = m.group(1), m.group(2)
        for s in SHAPES:
            if s != NOUN[noun]:
                word = SHAPE_WORDS[s][0][1 if PLURAL[noun] else 0]
                out.append(caption[: m.start()] + f"{color} {word}" + caption[m.end() :])
                kind.append(1 + 2 * g)
        for c in COLORS:
            if c != color:
                out.append(caption[: m.start()] + f"{c} {noun}" + caption[m.end() :])
                kind.append(2 + 2 * g)
    while len(out) < NNEG:
        out.append(caption)
        kind.append(0)
    return out, kind


model, settings = bundle.parti, settings_arrays(sample)


@jax.jit
def draw(ids_bt, neg_bkt, kind_bk, seeds_b, w_shape, w_color):
    b, t = ids_bt.shape
    rows = jnp.concatenate([ids_bt, jnp.broadcast_to(jnp.asarray(empty_text(t)), (b, t)), neg_bkt.reshape(-1, t)])
    mask = rows != PAD_ID
    cache = model.init_cache(model.encode_text(rows, mask))
    keys_b = jax.vmap(jax.random.key)(seeds_b)
    k = neg_bkt.shape[1]

    def body(i, carry):
        token_b, cache, codes_bn = carry
        lg, cache = model.decode_step(jnp.concatenate([token_b, token_b, jnp.repeat(token_b, k)]), i, cache, mask)
        cond, unc, neg = lg[:b], lg[b : 2 * b], lg[2 * b :].reshape(b, k, -1)
        out = guide(cond, unc, settings["cfg_scale"])
        for kk, w in [(1, w_shape), (2, w_color), (3, w_shape), (4, w_color)]:
            sel = (kind_bk == kk)[..., None]
            n = jnp.maximum(sel.sum(1), 1)
            mean = (neg * sel).sum(1) / n
            out = out + jnp.where(sel.any(1), w * (cond - mean), 0.0)
        code_b = choose(out, jax.vmap(lambda kk_: jax.random.fold_in(kk_, i))(keys_b), settings)
        return code_b, cache, codes_bn.at[:, i].set(code_b)

    bos = jnp.full((b,), model.bos_id, jnp.int32)
    return jax.lax.fori_loop(0, grid * grid, body, (bos, cache, jnp.zeros((b, grid * grid), jnp.int32)))[2]


decode = nnx.jit(lambda m, c: m.decode(c))
caps = [ex["caption"] for ex in examples]
ids = np.asarray(bundle.text.encode(caps, T).ids)
negs = [negatives(c) for c in caps]
neg_ids = np.stack([np.asarray(bundle.text.encode(n[0], T).ids) for n in negs])
kinds = np.array([n[1] for n in negs])
B = 16
for ws, wc in settings_list:
    t0 = time.time()
    images = []
    for s in range(0, N, B):
        sl = slice(s, s + B)
        codes = draw(ids[sl], neg_ids[sl], kinds[sl], np.arange(s, s + len(caps[sl]), dtype=np.uint32), ws, wc)
        px = np.asarray(jnp.round(decode(bundle.tokenizer, codes.reshape(-1, grid, grid)) * 255)).astype(np.uint8)
        images.append(px)
    images = np.concatenate(images)
    rates = dict(match_rates(images, examples))
    heldout = sum(ex["heldout"] for ex in examples)
    row = {
        "w_shape": ws,
        "w_color": wc,
        "seen": round(100 * rates["exact_seen_pairs"], 1),
        "held-out": round(100 * rates["exact_heldout_pairs"], 1),
        "n": {"seen": len(examples) - heldout, "held-out": heldout},
        "held-out pair drawn": round(100 * heldout_pair_drawn(images, examples, world.heldout_pairs), 1),
    }
    print(json.dumps({**row, "s": round(time.time() - t0)}), flush=True)
    with open(Path(__file__).parent / "contrast.jsonl", "a") as f:
        f.write(json.dumps(row) + "\n")
