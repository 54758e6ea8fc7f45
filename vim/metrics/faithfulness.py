"""Text faithfulness on the shapes world: parse images drawn for test captions back into scenes, and count
how often an image shows exactly what its caption says. The images come from the caller (`draw`, e.g.
`vim.generate.draw_images` bound to a generator): this module judges pixels and imports no model.

    vim eval faithfulness --scales 1,2,3,5 -n 500 --fid-images 2000
    vim eval faithfulness --split natural -n 1000      # the natural-prompt test set ("a red circle")

Per-attribute rates (count, shape, color, size, relation) come from `vim.world.parser.match_spec`;
`exact` needs all of them. Test captions include color–shape pairs never seen in training
(`heldout`), reported separately; seen-pair exact rates are also split by caption kind (one object,
one group, two groups in a relation), which shows where attribute binding fails. An attribute a
caption does not ask for ("a red circle": size, place) counts as met in the per-attribute rates (an
image cannot contradict it), as a one-group caption's relation always did; `seen_<attribute>_asked`
is the rate over the seen-pair captions that ask for it. World FID compares
images drawn for the first test captions (at the best scale) with the rendered test images of the same
captions, on vim's Inception features.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from vim.config import SampleConfig, WorldConfig, to_dict
from vim.world.captions import parse_caption
from vim.world.dataset import make_example
from vim.world.parser import ATTRIBUTES, match_spec, parse_image
from vim.world.scene import CaptionSpec

# What a caption asks for, by how hard it is to bind: one object at a place; one group of 2–3 alike
# objects; two groups in a relation (each group's color, shape and size must land on its own objects).
CAPTION_KINDS = ("one_object", "one_group", "two_groups")


def caption_kind(spec: CaptionSpec) -> str:
    """Which of CAPTION_KINDS a parsed caption is."""
    if len(spec.groups) == 2:
        return "two_groups"
    if len(spec.groups) == 1:
        return "one_object" if spec.groups[0].count == 1 else "one_group"
    raise ValueError(f"a caption of {len(spec.groups)} groups has no kind in {CAPTION_KINDS}")


def _rate(hits: np.ndarray, where: np.ndarray) -> float:
    return float(hits[where].mean()) if where.any() else float("nan")


def match_rates(images: np.ndarray, examples: Sequence[dict]) -> Iterator[tuple[str, float]]:
    """(name, value) pairs: exact and per-attribute match rates of images against their examples' captions,
    exact on held-out and on seen color–shape pairs, per-attribute rates on seen pairs, and exact on seen
    pairs per caption kind."""
    specs = [parse_caption(ex["caption"]) for ex in examples]
    matches = [match_spec(parse_image(image), spec) for image, spec in zip(images, specs, strict=True)]
    heldout = np.array([ex["heldout"] for ex in examples], bool)
    exact = np.array([m["exact"] for m in matches], float)
    hits = {attribute: np.array([m[attribute] is not False for m in matches], float) for attribute in ATTRIBUTES}
    asked = {attribute: np.array([m[attribute] is not None for m in matches], bool) for attribute in ATTRIBUTES}
    yield "exact", float(exact.mean())
    for attribute in ATTRIBUTES:
        yield attribute, float(hits[attribute].mean())
    yield "exact_heldout_pairs", _rate(exact, heldout)
    yield "exact_seen_pairs", _rate(exact, ~heldout)
    for attribute in ATTRIBUTES:  # the per-attribute targets are on seen pairs
        yield f"seen_{attribute}", _rate(hits[attribute], ~heldout)
    for attribute in ATTRIBUTES:
        yield f"seen_{attribute}_asked", _rate(hits[attribute], ~heldout & asked[attribute])
    kinds = np.array([caption_kind(spec) for spec in specs])
    for kind in CAPTION_KINDS:
        yield f"exact_seen_{kind}", _rate(exact, ~heldout & (kinds == kind))


def world_fid(images: np.ndarray, world: WorldConfig, extractor: Any | None = None) -> float:
    """vim's FID between `images` (drawn for test captions 0..n−1) and the rendered test images 0..n−1.

    The rendered side's statistics are cached per world, count and Inception weights.
    """
    from vim.metrics import features as features_lib
    from vim.metrics import fid as fid_lib
    from vim.metrics.weights import cache_dir

    extractor = extractor or features_lib.Extractor()
    n = len(images)
    # Split sizes do not change test example i (a pure function of seed, split and i): not in the key.
    # Nor does the training captions' register.
    scene_settings = {
        k: v for k, v in dataclasses.asdict(world).items() if not k.startswith("num_") and k != "natural_captions"
    }
    digest = hashlib.sha256(json.dumps(scene_settings, sort_keys=True).encode()).hexdigest()[:10]
    cached = cache_dir() / f"world-test-{digest}-{n}-{extractor.info.to_dict()['sha256']}.npz"
    if cached.is_file():
        rendered = features_lib.load_statistics(cached)
    else:
        batches = (
            np.stack([make_example(world, "test", i)["image"] for i in range(start, min(start + 64, n))])
            for start in range(0, n, 64)
        )
        rendered = features_lib.compute_statistics(batches, num_images=n, extractor=extractor)
        features_lib.save_statistics(rendered, cached)
    generated = features_lib.compute_statistics(images, extractor=extractor)
    return fid_lib.fid_from_statistics(generated, rendered)


def faithfulness_table(
    draw: Callable[[Sequence[str], SampleConfig], np.ndarray],
    world: WorldConfig,
    scales: Sequence[float],
    n: int,
    sample: SampleConfig | None = None,
    seed: int = 0,
    candidates: int = 1,
    fid_images: int = 0,
    extractor: Any | None = None,
    split: str = "test",
) -> dict:
    """Rates per CFG scale over the first n captions of `split` ("test", or "natural": the natural-prompt
    test set); `best` is the scale with the highest exact rate.

    `draw(captions, sample)` returns one uint8 image per caption; `seed` and `candidates` are how it draws
    (recorded in the table). With `fid_images` > 0, `fid` is the world FID of that many images drawn at
    the best scale (test split only: its rendered images are the reference).
    """
    if split not in ("test", "natural"):
        raise ValueError(f"faithfulness is measured on the 'test' or 'natural' split, not {split!r}")
    if fid_images > 0 and split != "test":
        raise ValueError("world FID compares with the rendered test split: use --fid-images 0 with --split natural")
    sample = sample or SampleConfig()
    examples = [make_example(world, split, i) for i in range(max(n, fid_images))]
    rows, drawn = [], {}
    for scale in scales:
        setting = dataclasses.replace(sample, cfg_scale=float(scale))
        images = draw([ex["caption"] for ex in examples[:n]], setting)
        rows.append({"cfg_scale": float(scale), **dict(match_rates(images, examples[:n]))})
        drawn[float(scale)] = images
    best = max(rows, key=lambda r: r["exact"])
    table = {
        "split": split,
        "examples": n,
        "candidates": candidates,
        "heldout_examples": int(sum(ex["heldout"] for ex in examples[:n])),
        "sampling": to_dict(sample),
        "seed": seed,
        "rows": rows,
        "best": best,
    }
    if fid_images > 0:
        images = drawn[best["cfg_scale"]]
        if len(images) < fid_images:
            setting = dataclasses.replace(sample, cfg_scale=best["cfg_scale"])
            captions = [ex["caption"] for ex in examples[:fid_images]]
            images = draw(captions, setting)
        value = world_fid(images[:fid_images], world, extractor)
        table["fid"] = {"value": value, "cfg_scale": best["cfg_scale"], "images": fid_images}
    return table


def markdown(table: dict) -> str:
    """The rows as a Markdown table (and the world FID line when measured)."""
    kinds = [f"exact_seen_{k}" for k in CAPTION_KINDS]

    def rows(headers: list[str], cols: list[str]) -> list[str]:
        lines = ["| CFG scale | " + " | ".join(headers) + " |", "|---" * (len(cols) + 1) + "|"]
        for row in table["rows"]:
            lines.append(f"| {row['cfg_scale']:g} | " + " | ".join(f"{100 * row[c]:.1f} %" for c in cols) + " |")
        return lines

    cols = ["exact", *ATTRIBUTES, "exact_heldout_pairs", "exact_seen_pairs", *kinds]
    lines = rows([c.replace("_", " ") for c in cols], cols)
    lines += ["", *rows([f"seen pairs: {a}" for a in ATTRIBUTES], [f"seen_{a}" for a in ATTRIBUTES])]
    lines += ["", *rows([f"seen pairs that ask: {a}" for a in ATTRIBUTES], [f"seen_{a}_asked" for a in ATTRIBUTES])]
    if "fid" in table:
        fid = table["fid"]
        lines.append(f"\nWorld FID ({fid['images']} drawn at CFG {fid['cfg_scale']:g} vs rendered): {fid['value']:.2f}")
    return "\n".join(lines)
