"""Text faithfulness on the shapes world: generate for held-out test captions, parse the pixels back
into a scene, and count how often the image shows exactly what the caption says.

    vim eval faithfulness --scales 1,2,3,5 -n 500

Per-attribute rates (count, shape, color, size, relation) come from `vim.world.parser.match_spec`;
`exact` needs all of them. Test captions include color–shape pairs never seen in training
(`heldout`), reported separately.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from vim.config import SampleConfig, WorldConfig
from vim.generate import Generator
from vim.world.dataset import make_example
from vim.world.parser import ATTRIBUTES, match_caption


def evaluate_scale(
    generator: Generator,
    examples: Sequence[dict],
    sample: SampleConfig,
    seed: int = 0,
    candidates: int = 1,
    reranker: Any | None = None,
) -> Iterator[tuple[str, float]]:
    """(name, value) pairs for one sampling setting: exact and per-attribute match rates.

    With `candidates` C > 1, C images are drawn per caption (seeds seed + i·C + c) and the one the
    `reranker` scores highest is judged.
    """
    captions = [ex["caption"] for ex in examples]
    if candidates > 1:
        if reranker is None:
            raise ValueError("reranking needs a scorer: this checkpoint has no scorer/ folder")
        repeated = [c for c in captions for _ in range(candidates)]
        drawn = generator(repeated, [seed + i for i in range(len(repeated))], sample)["images"]
        best, _ = reranker.rerank(drawn, captions, 1)
        images = drawn.reshape(len(captions), candidates, *drawn.shape[1:])[np.arange(len(captions)), best[:, 0]]
    else:
        images = generator(captions, [seed + i for i in range(len(captions))], sample)["images"]
    matches = [match_caption(image, caption) for image, caption in zip(images, captions, strict=True)]
    heldout = np.array([ex["heldout"] for ex in examples])
    exact = np.array([m["exact"] for m in matches], float)
    yield "exact", float(exact.mean())
    for attribute in ATTRIBUTES:
        yield attribute, float(np.mean([m[attribute] for m in matches]))
    yield "exact_heldout_pairs", float(exact[heldout].mean()) if heldout.any() else float("nan")
    yield "exact_seen_pairs", float(exact[~heldout].mean()) if (~heldout).any() else float("nan")


def faithfulness_table(
    generator: Generator,
    world: WorldConfig,
    scales: Sequence[float],
    n: int,
    sample: SampleConfig | None = None,
    seed: int = 0,
    candidates: int = 1,
    reranker: Any | None = None,
) -> dict:
    """Rates per CFG scale over the first n test captions; `best` is the scale with the highest exact rate.

    With `candidates` > 1 each row is the best-of-C by the reranker (see `evaluate_scale`).
    """
    sample = sample or SampleConfig()
    examples = [make_example(world, "test", i) for i in range(n)]
    rows = []
    for scale in scales:
        setting = dataclasses.replace(sample, cfg_scale=float(scale))
        values = evaluate_scale(generator, examples, setting, seed, candidates, reranker)
        rows.append({"cfg_scale": float(scale), **dict(values)})
    best = max(rows, key=lambda r: r["exact"])
    return {
        "split": "test",
        "examples": n,
        "candidates": candidates,
        "heldout_examples": int(sum(ex["heldout"] for ex in examples)),
        "sampling": dataclasses.asdict(sample),
        "seed": seed,
        "rows": rows,
        "best": best,
    }


def markdown(table: dict) -> str:
    cols = ["exact", *ATTRIBUTES, "exact_heldout_pairs", "exact_seen_pairs"]
    lines = [
        "| CFG scale | " + " | ".join(c.replace("_", " ") for c in cols) + " |",
        "|---" * (len(cols) + 1) + "|",
    ]
    for row in table["rows"]:
        lines.append(f"| {row['cfg_scale']:g} | " + " | ".join(f"{100 * row[c]:.1f} %" for c in cols) + " |")
    return "\n".join(lines)
