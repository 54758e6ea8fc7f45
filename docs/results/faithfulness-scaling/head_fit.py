"""Issue 17 study: can a head that scores codes through a shared map of the tokenizer's code vectors do
the bundled generator's job? Its features are frozen (teacher-forced); heads are trained by cross-entropy
on 1,024 validation images and scored (nats per token) on 512 more, and on 1,024 test images split into
the patches of seen-pair objects and of held-out-pair objects. The learned table head is the reference.

    python head_fit.py
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from vim.bundle import load_bundle
from vim.data.text import PAD_ID
from vim.tokenizer.model import l2_normalize
from vim.world.dataset import make_example
from vim.world.render import coverage

BUNDLE = "checkpoints/shapes-tiny"


def features_and_codes(bundle, split: str, n: int) -> tuple[list[dict], np.ndarray, np.ndarray]:
    """Examples, the generator's teacher-forced features [n·N, D] and the true codes [n·N]."""
    examples = [make_example(bundle.parti_cfg.data.world, split, i) for i in range(n)]
    encode = nnx.jit(lambda m, x: m.encode(x))
    features = nnx.jit(lambda m, i, c: m.features(i, i != PAD_ID, c))
    feats, codes = [], []
    for s in range(0, n, 256):
        chunk = examples[s : s + 256]
        c = encode(bundle.tokenizer, np.stack([e["image"] for e in chunk]) / np.float32(255)).reshape(len(chunk), -1)
        ids = jnp.asarray(bundle.text.encode([e["caption"] for e in chunk], bundle.parti_cfg.parti.text_length).ids)
        feats.append(np.asarray(features(bundle.parti, ids, c)))
        codes.append(np.asarray(c))
    feats_nd = np.concatenate(feats)
    return examples, feats_nd.reshape(-1, feats_nd.shape[-1]), np.concatenate(codes).reshape(-1)


def object_masks(examples: list[dict], world, grid: int) -> tuple[np.ndarray, np.ndarray]:
    """Per token: covered (> 10 %) by a seen-pair object only, and by a held-out-pair object."""
    heldout, seen = np.zeros((len(examples), grid * grid), bool), np.zeros((len(examples), grid * grid), bool)
    for i, ex in enumerate(examples):
        for o in json.loads(ex["scene"])["objects"]:
            cover = coverage(o["shape"], o["size"], o["x"], o["y"], world.resolution)
            cover = cover.reshape(grid, world.resolution // grid, grid, -1).mean((1, 3)).ravel() > 0.1
            if f"{o['color']} {o['shape']}" in world.heldout_pairs:
                heldout[i] |= cover
            else:
                seen[i] |= cover
    return seen.ravel() & ~heldout.ravel(), heldout.ravel()


def nats(logits: np.ndarray, targets: np.ndarray, where: np.ndarray | None = None) -> float:
    nll = -np.asarray(jax.nn.log_softmax(jnp.asarray(logits)))[np.arange(len(targets)), targets]
    return round(float(nll.mean() if where is None else nll[where].mean()), 3)


def code_space_head(codebook_kc: jax.Array, width: int, hidden: int, key: jax.Array) -> dict:
    """Output embedding of code c = W0·v_c (+ W2·gelu(W1·v_c + b1) when hidden > 0), and a bias per code."""
    k0, k1, k2 = jax.random.split(key, 3)
    k, c = codebook_kc.shape
    head = {"bias": jnp.zeros(k), "w0": jax.random.normal(k0, (c, width)) * 0.1}
    if hidden:
        head |= {
            "w1": jax.random.normal(k1, (c, hidden)) / np.sqrt(c),
            "b1": jnp.zeros(hidden),
            "w2": jax.random.normal(k2, (hidden, width)) / np.sqrt(hidden) * 0.1,
        }
    return head


def head_logits(head: dict, codebook_kc: jax.Array, features_md: jax.Array) -> jax.Array:
    embed_kd = codebook_kc @ head["w0"]
    if "w1" in head:
        embed_kd = embed_kd + jax.nn.gelu(codebook_kc @ head["w1"] + head["b1"]) @ head["w2"]
    return features_md @ embed_kd.T + head["bias"]


def main() -> None:
    bundle = load_bundle(BUNDLE)
    grid = bundle.parti_cfg.parti.image_grid
    _, feats, codes = features_and_codes(bundle, "validation", 1536)
    train_m = 1024 * grid * grid
    test_examples, test_feats, test_codes = features_and_codes(bundle, "test", 1024)
    seen_patch, heldout_patch = object_masks(test_examples, bundle.parti_cfg.data.world, grid)
    codebook_kc = l2_normalize(bundle.tokenizer.codebook_kc[...])
    kernel, bias = np.asarray(bundle.parti.logits.kernel[...]), np.asarray(bundle.parti.logits.bias[...])

    rows = []

    def report(name: str, logits_fn) -> None:
        test_logits = logits_fn(test_feats)
        rows.append(
            {
                "head": name,
                "validation nats": nats(logits_fn(feats[train_m:]), codes[train_m:]),
                "test, seen-pair object patches": nats(test_logits, test_codes, seen_patch),
                "test, held-out-pair object patches": nats(test_logits, test_codes, heldout_patch),
            }
        )
        print(json.dumps(rows[-1]), flush=True)

    report("learned table (the bundle)", lambda f: f @ kernel + bias)
    for hidden in (0, 4096):
        head = code_space_head(codebook_kc, feats.shape[1], hidden, jax.random.key(0))
        tx = optax.adam(3e-3)

        def loss_fn(head, f, t):
            return optax.softmax_cross_entropy_with_integer_labels(head_logits(head, codebook_kc, f), t).mean()

        @jax.jit
        def step(head, opt_state, f, t, tx=tx, loss_fn=loss_fn):
            grads = jax.grad(loss_fn)(head, f, t)
            updates, opt_state = tx.update(grads, opt_state, head)
            return optax.apply_updates(head, updates), opt_state

        opt_state, rng, start = tx.init(head), np.random.default_rng(0), time.perf_counter()
        for _ in range(1500):
            batch = rng.integers(0, train_m, 4096)
            head, opt_state = step(head, opt_state, jnp.asarray(feats[batch]), jnp.asarray(codes[batch]))
        name = "linear in the code vector" if not hidden else f"MLP of the code vector ({hidden} hidden)"
        report(
            f"{name}, {time.perf_counter() - start:.0f} s",
            lambda f, head=head: np.asarray(head_logits(head, codebook_kc, f)),
        )

    (Path(__file__).parent / "head_fit.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


if __name__ == "__main__":
    main()
