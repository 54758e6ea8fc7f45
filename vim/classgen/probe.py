"""`vim eval probe`: the linear probe of the paper's representation learning (after iGPT) — a block's output
averaged over image positions, a linear softmax classifier fitted on the train split (optax Adam on
standardized features, full batch; raw pixels in the dual), top-1 on the test split — compared in the same
run with the same probe on the tokenizer encoder's latents (averaged over positions) and on raw pixels.

The Transformer is given the null class, so the class token carries no label into the features. Targets are
the run's classes and, where the label scheme names them (`attributes(example) -> dict[name, id]`), more
attributes of each image (the shapes world: shape, color, size, the region of the object).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from vim.classgen.data import label_of, scheme, split_examples
from vim.classgen.infer import ClassGenerator


def probe_targets(generator: ClassGenerator, split: str, n: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """n labeled images of a split and their targets {"class": ids, attribute: ids, …}."""
    cfg = generator.cfg
    source, _ = split_examples(cfg, split)
    attributes = getattr(scheme(cfg.classgen.labels), "attributes", None) if cfg.classgen.labels else None
    images, targets = [], {}
    for i in range(len(source)):
        if len(images) == n:
            break
        example = source[i]
        label = label_of(cfg, example, generator.classes)
        if label is None:
            continue
        images.append(np.asarray(example["image"]))
        found = {"class": label, **(attributes(example) if attributes else {})}
        for name, value in found.items():
            targets.setdefault(name, []).append(value)
    if len(images) < n:
        raise ValueError(f"the {split} split has {len(images)} labeled images, fewer than the {n} asked for")
    return np.stack(images), {k: np.asarray(v, np.int32) for k, v in targets.items()}


def features(generator: ClassGenerator, images: np.ndarray, batch: int = 64) -> dict[str, np.ndarray]:
    """Per-image features [n, ·]: "layer L" (block L's output averaged over positions, L = 1 … layers),
    "tokenizer" (encoder latents averaged over positions), "pixels" (the image flattened, scaled to [0, 1])."""
    model, tok = generator.model, generator.tokenizer

    @jax.jit
    def one_batch(images_bhwc):
        x = images_bhwc.astype(jnp.float32) / 255.0
        codes_bn = tok.encode(x).reshape(x.shape[0], -1)
        null_b = jnp.full((x.shape[0],), model.null_class, jnp.int32)
        layers = [h.astype(jnp.float32).mean(axis=1) for h in model.hidden_states(null_b, codes_bn)]
        return layers, tok.encode_latents(x).astype(jnp.float32).mean(axis=1)

    layer_parts, latent_parts = [], []
    for start in range(0, len(images), batch):
        layers, latents = one_batch(jnp.asarray(images[start : start + batch]))
        layer_parts.append([np.asarray(h) for h in layers])
        latent_parts.append(np.asarray(latents))
    out = {f"layer {i + 1}": np.concatenate([p[i] for p in layer_parts]) for i in range(len(layer_parts[0]))}
    out["tokenizer"] = np.concatenate(latent_parts)
    out["pixels"] = images.reshape(len(images), -1).astype(np.float32) / 255.0
    return out


def linear_probe(
    train_x: np.ndarray,
    train_y: np.ndarray,
    test_x: np.ndarray,
    test_y: np.ndarray,
    steps: int = 300,
    lr: float = 1e-2,
    l2: float = 1e-4,
) -> dict:
    """Top-1 of a softmax-regression classifier on standardized features (the train split's mean and
    std), loss = cross-entropy + l2·‖w‖², fitted full-batch with optax Adam; train and test top-1.

    Features wider than the train set (raw pixels) are fitted in the dual: by the representer theorem the
    optimum is w = Xᵀα, so logits = X Xᵀ α and ‖w‖² = αᵀ X Xᵀ α — the same linear classifier, at the cost
    of an n × n Gram matrix instead of n × d × classes per step."""
    mean, std = train_x.mean(axis=0), train_x.std(axis=0) + 1e-6
    xs, xt = jnp.asarray((train_x - mean) / std), jnp.asarray((test_x - mean) / std)
    classes = int(max(train_y.max(), test_y.max())) + 1
    ys = jnp.asarray(train_y)
    dual = xs.shape[1] > xs.shape[0]
    if dual:
        gram, test_gram = xs @ xs.T, xt @ xs.T
        xs, xt = gram, test_gram
    params = {"w": jnp.zeros((xs.shape[1], classes)), "b": jnp.zeros((classes,))}
    tx = optax.adam(lr)

    def loss(p):
        logits = xs @ p["w"] + p["b"]
        norm = jnp.sum(p["w"] * (gram @ p["w"])) if dual else jnp.sum(p["w"] ** 2)
        return optax.softmax_cross_entropy_with_integer_labels(logits, ys).mean() + l2 * norm

    @jax.jit
    def fit(params):
        def step(carry, _):
            params, state = carry
            updates, state = tx.update(jax.grad(loss)(params), state, params)
            return (optax.apply_updates(params, updates), state), None

        return jax.lax.scan(step, (params, tx.init(params)), None, length=steps)[0][0]

    params = fit(params)

    def top1(x, y):
        return float(np.mean(np.asarray(jnp.argmax(x @ params["w"] + params["b"], axis=-1)) == y))

    return {"train_top1": top1(xs, train_y), "test_top1": top1(xt, test_y), "classes": classes, "dual": dual}


def probe(generator: ClassGenerator, n_train: int, n_test: int, layer: int | None = None) -> dict[str, Any]:
    """Every target × feature set (all layers, or `layer` alone) → train / test top-1, and per target the
    best layer on the test split."""
    train_images, train_targets = probe_targets(generator, "train", n_train)
    test_images, test_targets = probe_targets(generator, "test", n_test)
    train_f, test_f = features(generator, train_images), features(generator, test_images)
    layers = len(generator.model.blocks)
    if layer is not None and not 1 <= layer <= layers:
        raise ValueError(f"--layer {layer}: the model has layers 1…{layers}")
    keep = [k for k in train_f if not k.startswith("layer ") or layer is None or k == f"layer {layer}"]
    table = {
        target: {k: linear_probe(train_f[k], train_targets[target], test_f[k], test_targets[target]) for k in keep}
        for target in train_targets
    }
    best = {
        target: max((k for k in rows if k.startswith("layer ")), key=lambda k: rows[k]["test_top1"])
        for target, rows in table.items()
    }
    return {"n_train": n_train, "n_test": n_test, "layers": layers, "table": table, "best_layer": best}
