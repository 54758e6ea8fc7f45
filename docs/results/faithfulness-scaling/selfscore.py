"""Picking among candidates, and drawing them, for held-out pairs (issue 17 study, twelfth session).

`draw` samples C candidates per caption with the bundle (its CFG scale for both caption views unless
`sA,sB` gives each view its own: sA for the view without shape words, sB for the one without color words;
`T=` a temperature) and keeps, for each candidate, its codes' log-likelihood under each view, the empty
caption and the guided mix, the scorer's score, the parser's verdict per attribute, and the images.
`analyse` compares choosing by the scorer with choosing by the generator's own likelihoods (PMI); `contrast`
with the scorer's preference of the caption over its near misses (one group's shape or color changed);
`marginal` with adding, per group, the scorer's best score over the group's other colors (shows the shape?)
and other shapes (shows the color?). Captions are test examples from `first` on: the card's
`vim eval faithfulness -n 1000` uses 0..999, so nothing here is tuned on them.

    S=docs/results/faithfulness-scaling
    python $S/selfscore.py draw 1000 400 16 /tmp/ss.npz                  # CFG 1.5 both views, T 0.5
    python $S/selfscore.py draw 1000 300 16 /tmp/ss_v.npz 1.5,2.5 heldout  # held-out captions only
    python $S/selfscore.py draw 1000 300 16 /tmp/ss_t.npz 2,2 T=0.7
    python $S/selfscore.py analyse /tmp/ss.npz    # also: contrast, marginal (need a draw with images)
    python $S/selfscore.py rescore /tmp/ss.npz runs/scorer-a runs/scorer-b   # draws with images
    python $S/selfscore.py mix /tmp/ss.npz:0:8 /tmp/ss_t.npz:8:16            # pooled guidance scales
    python $S/selfscore.py misses /tmp/ss_t.npz $S/scorer_misses.png          # what the scorer keeps instead
"""

import dataclasses
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from vim.bundle import load_bundle
from vim.data.text import PAD_ID
from vim.parti.sample import choose, empty_text, expert_rows, guide, settings_arrays
from vim.world.captions import parse_caption
from vim.world.dataset import make_example
from vim.world.parser import ATTRIBUTES, match_spec, parse_image


def view_rows(model, text_ids, seeds_b):
    """The sampler's start for [B, E, T] caption views: E view rows per caption then the empty caption's,
    their padding mask, the encoded text's cache and one key per caption. Returns (E, mask, cache, keys)."""
    b, t = text_ids.shape[0], text_ids.shape[-1]
    rows_rt, e = expert_rows(text_ids)
    rows_rt = jnp.concatenate([rows_rt, jnp.broadcast_to(jnp.asarray(empty_text(t)), (b, t))])
    mask = rows_rt != PAD_ID
    return e, mask, model.init_cache(model.encode_text(rows_rt, mask)), jax.vmap(jax.random.key)(seeds_b)


def draw(
    first: int,
    count: int,
    candidates: int,
    out: str,
    view_scales: str = "",
    heldout_only: bool = False,
    temperature: float | None = None,
) -> None:
    """`view_scales` "sA,sB": each view guided at its own scale (default: the bundle's CFG scale for both)."""
    bundle = load_bundle("checkpoints/shapes-tiny")
    from vim.generate import Generator

    gen = Generator(bundle, batch_size=16)
    reranker = bundle.reranker()
    world, sample = bundle.parti_cfg.data.world, bundle.parti_cfg.sample
    if temperature is not None:
        sample = dataclasses.replace(sample, temperature=temperature)
    settings = settings_arrays(sample)
    pdef, pstate = nnx.split(bundle.parti)
    tdef, tstate = nnx.split(bundle.tokenizer)
    grid = bundle.parti_cfg.parti.image_grid

    @jax.jit
    def run(pstate, tstate, text_ids, seeds_b):
        model = nnx.merge(pdef, pstate)
        b = text_ids.shape[0]
        e, mask, cache, keys_b = view_rows(model, text_ids, seeds_b)

        def body(i, carry):
            token_r, cache, codes_bn, lp_eb = carry
            logits_rv, cache = model.decode_step(token_r, i, cache, mask)
            logits_ebv = logits_rv.reshape(e + 1, b, -1)
            guided_bv = jnp.sum(guide(logits_ebv[:e], logits_ebv[e], scales_e[:, None, None]), axis=0)
            code_b = choose(guided_bv, jax.vmap(lambda k: jax.random.fold_in(k, i))(keys_b), settings)
            logp_ebv = jax.nn.log_softmax(jnp.concatenate([logits_ebv, guided_bv[None]]), axis=-1)
            lp_eb = lp_eb + jnp.take_along_axis(logp_ebv, code_b[None, :, None], axis=-1)[..., 0]
            return jnp.tile(code_b, e + 1), cache, codes_bn.at[:, i].set(code_b), lp_eb

        init = (
            jnp.full(((e + 1) * b,), model.bos_id, jnp.int32),
            cache,
            jnp.zeros((b, grid * grid), jnp.int32),
            jnp.zeros((e + 2, b)),
        )
        _, _, codes, lp = jax.lax.fori_loop(0, grid * grid, body, init)
        pixels = nnx.merge(tdef, tstate).decode(codes.reshape(-1, grid, grid))
        return jnp.round(pixels * 255).astype(jnp.uint8), lp

    scales_e = jnp.asarray([float(x) for x in view_scales.split(",")] if view_scales else [sample.cfg_scale] * 2)
    examples = [make_example(world, "test", i) for i in range(first, first + count)]
    examples = [ex for ex in examples if ex["heldout"] or not heldout_only]
    lps, scores, exact, heldout, attrs, drawn, captions = [], [], [], [], [], [], []
    start = time.time()
    for k, ex in enumerate(examples):
        caption = ex["caption"].decode() if isinstance(ex["caption"], bytes) else ex["caption"]
        ids, _ = gen.encode([caption] * candidates)
        seeds = np.arange(candidates, dtype=np.uint32) + (first + k) * candidates
        images, lp = run(pstate, tstate, ids, seeds)
        images = np.asarray(images)
        spec = parse_caption(caption)
        verdicts = [match_spec(parse_image(im), spec) for im in images]
        exact.append([v["exact"] for v in verdicts])
        attrs.append([[v[a] for a in ATTRIBUTES] for v in verdicts])
        scores.append(reranker.scores(images, [caption]))
        lps.append(np.asarray(lp).T)  # [C, E + 2]: view rows, empty caption, guided
        heldout.append(ex["heldout"])
        drawn.append(images)
        captions.append(caption)
        if k % 50 == 0:
            print(k, f"{time.time() - start:.0f} s", flush=True)
    np.savez(
        out,
        lp=np.array(lps),
        scores=np.array(scores),
        exact=np.array(exact),
        heldout=np.array(heldout),
        attrs=np.array(attrs),
        images=np.array(drawn),
        captions=np.array(captions),
    )


def rates(hits: np.ndarray, heldout: np.ndarray) -> str:
    """'held-out 0.422 seen 1.000' (a part with no captions is left out)."""
    return " ".join(
        f"{name} {hits[rows].mean():.3f}" for name, rows in (("held-out", heldout), ("seen", ~heldout)) if rows.any()
    )


def analyse(path: str) -> None:
    d = np.load(path)
    lp, scores, exact, heldout = d["lp"], d["scores"], d["exact"].astype(float), d["heldout"]
    views, empty, guided = lp[..., :-2], lp[..., -2], lp[..., -1]
    pmi = views.sum(-1) - views.shape[-1] * empty
    print(f"captions {len(exact)} (held-out {heldout.sum()}), candidates {exact.shape[1]}")
    print(f"oracle (any candidate exact): {rates(exact.max(1), heldout)}")
    print(f"first candidate: {rates(exact[:, 0], heldout)}")

    def pick(rule, name):
        best = np.argmax(rule, axis=1)
        got = exact[np.arange(len(exact)), best]
        print(f"{name:28s} {rates(got, heldout)}")

    if "attrs" in d:
        a = d["attrs"].astype(float)
        for name, rows in (("held-out", heldout), ("seen", ~heldout)):
            if rows.any():
                per_attr = {k: round(float(v), 3) for k, v in zip(ATTRIBUTES, a[rows].mean((0, 1)), strict=True)}
                print(f"{name} per-attribute (all candidates): {per_attr}")
    pick(scores, "scorer")
    pick(pmi, "pmi (views - empty)")
    pick(views.sum(-1), "log p(views)")
    pick(guided, "log p guided")
    pick(views.min(-1) - empty, "min view pmi")
    z = lambda x: (x - x.mean(1, keepdims=True)) / (x.std(1, keepdims=True) + 1e-6)  # noqa: E731
    for w in (0.25, 0.5, 1.0, 2.0):
        pick(z(scores) + w * z(pmi), f"z(scorer) + {w} z(pmi)")
        pick(scores + w * 0.01 * pmi, f"scorer + {w * 0.01} pmi")


def group_edits(caption: str) -> list[tuple[list[str], list[str]]]:
    """Per "color shape" group of the caption, in place: (the caption with each other color, with each other
    shape), keeping the caption's wording and the noun's number."""
    import re

    from vim.world.captions import SHAPE_WORDS
    from vim.world.scene import COLORS, SHAPES

    noun_shape = {w: s for s, syn in SHAPE_WORDS.items() for pair in syn for w in pair}
    plural = {w for syn in SHAPE_WORDS.values() for pair in syn for w in pair[1:]}
    nouns = "|".join(sorted(noun_shape, key=len, reverse=True))
    groups = []
    for m in re.finditer(rf"\b({'|'.join(COLORS)}) ({nouns})\b", caption):
        color, noun = m.group(1), m.group(2)
        words = [SHAPE_WORDS[s][0][1 if noun in plural else 0] for s in SHAPES if s != noun_shape[noun]]
        before, after = caption[: m.start()], caption[m.end() :]
        other_colors = [f"{before}{c} {noun}{after}" for c in COLORS if c != color]
        other_shapes = [f"{before}{color} {w}{after}" for w in words]
        groups.append((other_colors, other_shapes))
    return groups


def near_misses(caption: str) -> list[str]:
    """The caption with one group's shape word, or its color word, replaced (each other value), in place."""
    return [c for other_colors, other_shapes in group_edits(caption) for c in other_shapes + other_colors]


def contrast(path: str) -> None:
    """Candidates chosen by how much better the scorer likes the caption than its near misses."""
    d = np.load(path)
    exact, heldout, images, captions = d["exact"].astype(float), d["heldout"], d["images"], d["captions"]
    reranker = load_bundle("checkpoints/shapes-tiny").reranker()
    scale = float(reranker.model.logit_scale())
    rules = {"scorer": [], "softmax vs near misses": [], "margin vs best near miss": [], "mix 0.5": []}
    for imgs, caption in zip(images, captions, strict=True):
        texts = [str(caption), *near_misses(str(caption))]
        sims = reranker.embed_images(imgs) @ reranker.embed_text(texts).T  # [C, 1 + K]
        logp = scale * sims[:, 0] - jax.nn.logsumexp(scale * sims, axis=1)
        rules["scorer"].append(sims[:, 0])
        rules["softmax vs near misses"].append(np.asarray(logp))
        rules["margin vs best near miss"].append(sims[:, 0] - sims[:, 1:].max(1))
        rules["mix 0.5"].append(sims[:, 0] + 0.5 * (sims[:, 0] - sims[:, 1:].max(1)))
    print(f"logit scale {scale:.1f}; oracle (any candidate exact): {rates(exact.max(1), heldout)}")
    for name, rule in rules.items():
        got = exact[np.arange(len(exact)), np.argmax(np.array(rule), axis=1)]
        print(f"{name:28s} {rates(got, heldout)}")


def marginal(path: str) -> None:
    """Candidates chosen by the scorer plus, per group, its best score over the group's other colors (does it
    show the shape?) and over its other shapes (does it show the color?)."""
    d = np.load(path)
    exact, heldout, images, captions = d["exact"].astype(float), d["heldout"], d["images"], d["captions"]
    reranker = load_bundle("checkpoints/shapes-tiny").reranker()
    parts = {"full": [], "shape": [], "color": []}
    for imgs, caption in zip(images, captions, strict=True):
        caption = str(caption)
        emb = reranker.embed_images(imgs)
        full = emb @ reranker.embed_text([caption])[0]
        shape_terms, color_terms = [], []
        for any_color, any_shape in group_edits(caption):
            shape_terms.append((emb @ reranker.embed_text(any_color).T).max(1))
            color_terms.append((emb @ reranker.embed_text(any_shape).T).max(1))
        parts["full"].append(full)
        parts["shape"].append(np.min(shape_terms, 0) if shape_terms else np.zeros_like(full))
        parts["color"].append(np.min(color_terms, 0) if color_terms else np.zeros_like(full))
    full, shape, color = (np.array(parts[k]) for k in ("full", "shape", "color"))
    print(f"oracle (any candidate exact): {rates(exact.max(1), heldout)}")
    rules = {
        "full": full,
        "shape": shape,
        "color": color,
        "full+shape": full + shape,
        "full+0.5shape": full + 0.5 * shape,
        "full+shape+color": full + shape + color,
        "full+0.5(shape+color)": full + 0.5 * (shape + color),
        "shape+color": shape + color,
    }
    for name, rule in rules.items():
        got = exact[np.arange(len(exact)), np.argmax(rule, axis=1)]
        print(f"{name:24s} {rates(got, heldout)}")


def rescore(paths: list[str], scorers: list[str]) -> None:
    """Each draw's candidates re-ranked by each scorer (and by the sum of their per-caption z-scores)."""
    from vim.rerank.score import Reranker

    for path in paths:
        d = np.load(path)
        images, captions, exact, heldout = d["images"], d["captions"], d["exact"], d["heldout"]
        print(f"{path}: oracle {rates(exact.any(1), heldout)}")
        scores = []
        for scorer in scorers:
            reranker = Reranker(scorer)
            scores.append(np.stack([reranker.scores(im, [str(c)]) for im, c in zip(images, captions, strict=True)]))
            print(f"  {scorer:40s} {rates(exact[np.arange(len(exact)), scores[-1].argmax(1)], heldout)}")
        if len(scores) > 1:
            z = sum((s - s.mean(1, keepdims=True)) / s.std() for s in scores)
            print(f"  {'sum of z-scores':40s} {rates(exact[np.arange(len(exact)), z.argmax(1)], heldout)}")


def misses(path: str, out: str, rows: int = 12) -> None:
    """A PNG of the first `rows` held-out captions where some candidate is exact but the scorer keeps one that
    is not: the kept image (left) beside the exact candidate the scorer likes best (right)."""
    from PIL import Image

    d = np.load(path)
    exact, heldout, scores, images = d["exact"], d["heldout"], d["scores"], d["images"]
    pick = scores.argmax(1)
    lost = [p for p in range(len(exact)) if heldout[p] and exact[p].any() and not exact[p, pick[p]]]
    could = int((heldout & exact.any(1)).sum())
    print(f"{len(lost)} of {could} held-out captions with an exact candidate keep another")
    pairs = []
    for p in lost[:rows]:
        best_exact = np.flatnonzero(exact[p])[scores[p, exact[p]].argmax()]
        print(f"{d['captions'][p]} | kept {scores[p, pick[p]]:.3f}, exact {scores[p, best_exact]:.3f}")
        pairs.append(np.concatenate([images[p, pick[p]], images[p, best_exact]], 1))
    grid = np.concatenate(pairs, 0)
    Image.fromarray(grid).resize((grid.shape[1] * 2, grid.shape[0] * 2), Image.NEAREST).save(out)


def mix(specs: list[str]) -> None:
    """Candidates pooled from draws of the same captions at different guidance: each spec PATH:FIRST:STOP
    takes candidates FIRST..STOP−1 of that draw (give them disjoint ranges: draws share seeds by index)."""
    parts = [(np.load(path), slice(int(a), int(b))) for path, a, b in (s.rsplit(":", 2) for s in specs)]
    for d, _ in parts[1:]:
        if not (d["captions"] == parts[0][0]["captions"]).all():
            raise ValueError("the draws hold different captions")
    exact = np.concatenate([d["exact"][:, sl] for d, sl in parts], 1)
    scores = np.concatenate([d["scores"][:, sl] for d, sl in parts], 1)
    heldout = parts[0][0]["heldout"]
    print(f"{len(specs)} draws, {exact.shape[1]} candidates; oracle {rates(exact.any(1), heldout)}")
    print(f"scorer's pick {rates(exact[np.arange(len(exact)), scores.argmax(1)], heldout)}")


if __name__ == "__main__":
    if sys.argv[1] == "draw":
        temperature = next((float(a[2:]) for a in sys.argv[7:] if a.startswith("T=")), None)
        first, count, candidates, out, scales = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), *sys.argv[5:7]
        draw(first, count, candidates, out, scales, "heldout" in sys.argv[7:], temperature)
    elif sys.argv[1] == "marginal":
        marginal(sys.argv[2])
    elif sys.argv[1] == "contrast":
        contrast(sys.argv[2])
    elif sys.argv[1] == "rescore":  # rescore DRAW[,DRAW...] SCORER [SCORER...]
        rescore(sys.argv[2].split(","), sys.argv[3:])
    elif sys.argv[1] == "mix":  # mix PATH:FIRST:STOP ...
        mix(sys.argv[2:])
    elif sys.argv[1] == "misses":  # misses DRAW OUT.png
        misses(sys.argv[2], sys.argv[3])
    else:
        analyse(sys.argv[2])
