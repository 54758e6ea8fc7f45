"""How well the scene parser recovers rendered ground truth (it must be near-perfect to judge models)."""

from __future__ import annotations

from vim.config import WorldConfig
from vim.world.dataset import make_example
from vim.world.parser import ATTRIBUTES, match_spec, parse_image, scene_recovered
from vim.world.scene import Scene


def parser_accuracy(world: WorldConfig, split: str = "validation", n: int = 2000) -> dict:
    """Exact-scene accuracy against ground truth objects, and caption-match rates, over n examples."""
    exact = caption_exact = 0
    per_attribute = dict.fromkeys(ATTRIBUTES, 0)
    failures = []
    for i in range(n):
        ex = make_example(world, split, i)
        scene = Scene.from_json(ex["scene"])
        objects = parse_image(ex["image"])
        ok = scene_recovered(objects, scene)
        match = match_spec(objects, scene.spec)
        exact += ok
        caption_exact += match["exact"]
        for k in ATTRIBUTES:
            per_attribute[k] += match[k] is not False  # an attribute the caption does not ask for is met
        if not ok and len(failures) < 10:
            failures.append({"index": i, "caption": ex["caption"]})
    return {
        "split": split,
        "examples": n,
        "exact_scene_accuracy": exact / n,
        "caption_match_accuracy": caption_exact / n,
        "per_attribute": {k: v / n for k, v in per_attribute.items()},
        "failures": failures,
    }
