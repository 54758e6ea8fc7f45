"""Editing on the shapes world, judged by the scene parser: redraw one group of a rendered scene for a
caption that changes it, or complete a scene from its top half, and check the result from its pixels.

    vim eval editing -n 200                     # one sample per case
    vim eval editing -n 100 --candidates 16     # the scorer's best of 16

Edit cases are test scenes of two groups in a relation (none with a held-out color–shape pair). The region
of one group is masked: the token box of its objects grown by one token (a case is skipped when that
box would touch the other group). The caption asks for the same scene with that group changed: another
color, another shape, or both, cycling; half of the cases ask for a held-out pair (never in training),
reported apart. Scores per case:

- `edit_exact`: the parser finds exactly what the new caption asks for (`vim.world.parser.match_spec`);
- `kept`: every object of the input whose box lies outside the mask is found again, same shape, color
  and size, within 1.5 pixels of its place, and no object appears outside the mask;
- `psnr_outside` / `psnr_outside_roundtrip`: PSNR over the pixels outside the mask against the input,
  of the edit and of the tokenizer's own round trip (decode of encode), which bounds what an edit can
  keep: the tokenizer decodes each patch from all codes, so redrawn tokens move the kept pixels a little.

Completion cases are the first test scenes (held-out half included, as in `vim eval faithfulness`):
the top half of the token rows is kept, the rest drawn for the scene's own caption, and the whole image
is judged. Rates come with their standard error sqrt(p(1 − p) / n), PSNRs with std / sqrt(n).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence

import numpy as np

from vim.config import SampleConfig, WorldConfig, to_dict
from vim.edit import grow, pixel_mask
from vim.world.captions import make_caption
from vim.world.dataset import make_example
from vim.world.parser import ParsedObject, match_spec, parse_image
from vim.world.scene import COLORS, SHAPES, SIZES, Group, Scene

CHANGES = ("color", "shape", "both")
TOLERANCE = 1.5 / 64  # of the image side, as `vim.world.parser.scene_recovered`

# draw(captions, codes [B, N], masks [B, N], sample) → one uint8 image per caption, the masked tokens redrawn.
Drawer = Callable[[Sequence[str], np.ndarray, np.ndarray, SampleConfig], np.ndarray]


def token_box(objects: Sequence, grid: int, resolution: int) -> np.ndarray:
    """bool [grid, grid]: the tokens any pixel of the objects' boxes falls in."""
    mask = np.zeros((grid, grid), bool)
    patch = resolution // grid
    for o in objects:
        half = SIZES[o.size] / 2 * resolution
        x0, x1 = o.x * resolution - half, o.x * resolution + half
        y0, y1 = o.y * resolution - half, o.y * resolution + half
        c0, c1 = int(x0 // patch), math.ceil(x1 / patch)
        r0, r1 = int(y0 // patch), math.ceil(y1 / patch)
        mask[max(r0, 0) : min(r1, grid), max(c0, 0) : min(c1, grid)] = True
    return mask


def changed_group(group: Group, kept: Group, change: str, heldout: bool, world: WorldConfig, rng) -> Group | None:
    """`group` with its color, shape or both changed (`heldout`: to a held-out pair; the change is then
    whatever that pair differs in), still told apart from the kept group; None when no such group exists."""
    held = {tuple(p.split(" ")) for p in world.heldout_pairs}
    if heldout:
        options = [(c, s) for c, s in sorted(held) if (c, s) != (group.color, group.shape)]
    else:
        colors = [c for c in COLORS if c != group.color] if change != "shape" else [group.color]
        shapes = [s for s in SHAPES if s != group.shape] if change != "color" else [group.shape]
        options = [(c, s) for c in colors for s in shapes if (c, s) not in held]
    options = [(c, s) for c, s in options if (group.size, c, s) != kept.description]
    if not options:
        return None
    color, shape = options[int(rng.integers(len(options)))]
    return Group(group.count, group.size, color, shape)


def change_of(old: Group, new: Group) -> str:
    return {(True, False): "color", (False, True): "shape"}.get(
        (old.color != new.color, old.shape != new.shape), "both"
    )


def edit_cases(world: WorldConfig, n: int, grid: int) -> list[dict]:
    """The first n edit cases (see the module's doc): input image, token mask, new caption and spec."""
    cases, index = [], 0
    while len(cases) < n:
        ex = make_example(world, "test", index)
        index += 1
        scene = Scene.from_json(ex["scene"])
        if ex["heldout"] or len(scene.spec.groups) != 2:
            continue
        k = len(cases)
        rng = np.random.default_rng([world.seed, 46, index])
        for edited in ((k % 2, 1 - k % 2), (1 - k % 2, k % 2)):
            which, other = edited
            group, kept = scene.spec.groups[which], scene.spec.groups[other]
            mine = [o for o in scene.objects if group.admits(o.size, o.color, o.shape)]
            theirs = [o for o in scene.objects if kept.admits(o.size, o.color, o.shape)]
            mask = grow(token_box(mine, grid, world.resolution))
            if (mask & token_box(theirs, grid, world.resolution)).any():
                continue
            heldout = k % 2 == 1
            new = changed_group(group, kept, CHANGES[(k // 2) % 3], heldout, world, rng)
            if new is None:
                continue
            groups = tuple(new if i == which else g for i, g in enumerate(scene.spec.groups))
            spec = dataclasses.replace(scene.spec, groups=groups)
            cases.append(
                {
                    "test_index": index - 1,
                    "image": ex["image"],
                    "mask": mask,
                    "caption": make_caption(spec, rng),
                    "spec": spec,
                    "heldout": heldout,
                    "change": change_of(group, new),
                }
            )
            break
    return cases


def completion_cases(world: WorldConfig, n: int, grid: int) -> list[dict]:
    """The first n test scenes with the bottom half of the token rows masked, for their own captions."""
    mask = np.zeros((grid, grid), bool)
    mask[grid // 2 :] = True
    cases = []
    for index in range(n):
        ex = make_example(world, "test", index)
        spec = Scene.from_json(ex["scene"]).spec
        cases.append(
            {"test_index": index, "image": ex["image"], "mask": mask, "caption": ex["caption"], "spec": spec}
            | {"heldout": ex["heldout"], "change": "completion"}
        )
    return cases


def outside(o: ParsedObject, mask_gg: np.ndarray, resolution: int) -> bool:
    """Does the object's box stay clear of every masked token?"""
    return not (token_box([o], mask_gg.shape[0], resolution) & mask_gg).any()


def kept_unchanged(
    before: Sequence[ParsedObject], after: Sequence[ParsedObject], mask_gg: np.ndarray, resolution: int
) -> bool:
    """Are the objects outside the mask the same before and after (attributes, and place within TOLERANCE)?"""
    remaining = [o for o in after if outside(o, mask_gg, resolution)]
    for o in (o for o in before if outside(o, mask_gg, resolution)):
        hit = next(
            (
                t
                for t in remaining
                if (t.shape, t.color, t.size) == (o.shape, o.color, o.size)
                and abs(t.x - o.x) <= TOLERANCE
                and abs(t.y - o.y) <= TOLERANCE
            ),
            None,
        )
        if hit is None:
            return False
        remaining.remove(hit)
    return not remaining


def psnr_outside(a: np.ndarray, b: np.ndarray, masks_bgg: np.ndarray) -> np.ndarray:
    """Per-image PSNR in dB of uint8 images [B, S, S, 3] over the pixels outside their token masks [B, g, g]
    (the floor of `vim.metrics.pixels.psnr`: identical pixels give 100 dB)."""
    keep_bss1 = ~np.stack([pixel_mask(m, a.shape[1]) for m in masks_bgg])[..., None]
    diff = (a.astype(np.float64) - b.astype(np.float64)) / 255.0
    mse = (diff**2 * keep_bss1).sum(axis=(1, 2, 3)) / np.maximum(keep_bss1.sum(axis=(1, 2, 3)) * a.shape[-1], 1)
    return 10 * np.log10(1.0 / np.maximum(mse, 1e-10))


def rate(values: np.ndarray) -> dict[str, float | int]:
    """Mean of 0/1 outcomes with its standard error and count (nan over no cases)."""
    n = len(values)
    if n == 0:
        return {"rate": float("nan"), "se": float("nan"), "n": 0}
    p = float(np.mean(values))
    return {"rate": p, "se": math.sqrt(p * (1 - p) / n), "n": n}


def mean(values: np.ndarray) -> dict[str, float | int]:
    """Mean with its standard error (std / sqrt(n)) and count."""
    n = len(values)
    se = float(np.std(values, ddof=1) / math.sqrt(n)) if n > 1 else float("nan")
    return {"mean": float(np.mean(values)) if n else float("nan"), "se": se, "n": n}


def judge(cases: Sequence[dict], images: np.ndarray, roundtrips: np.ndarray) -> dict:
    """Rates and PSNRs of drawn `images` for `cases` (seen and held-out pairs apart, and per change)."""
    exact, kept = [], []
    for case, image in zip(cases, images, strict=True):
        after = parse_image(image)
        exact.append(match_spec(after, case["spec"])["exact"])
        kept.append(kept_unchanged(parse_image(case["image"]), after, case["mask"], image.shape[0]))
    exact, kept = np.array(exact, float), np.array(kept, float)
    inputs = np.stack([c["image"] for c in cases])
    masks = np.stack([c["mask"] for c in cases])
    edited_db, roundtrip_db = psnr_outside(images, inputs, masks), psnr_outside(roundtrips, inputs, masks)
    heldout = np.array([c["heldout"] for c in cases], bool)
    changes = np.array([c["change"] for c in cases])
    result = {
        "exact_seen_pairs": rate(exact[~heldout]),
        "exact_heldout_pairs": rate(exact[heldout]),
        "kept_unchanged": rate(kept),
        "psnr_outside_db": mean(edited_db),
        "psnr_outside_roundtrip_db": mean(roundtrip_db),
        "psnr_outside_gap_db": mean(roundtrip_db - edited_db),  # paired: how much the edit loses beyond the round trip
    }
    for change in dict.fromkeys(changes):
        result[f"exact_seen_{change}"] = rate(exact[~heldout & (changes == change)])
    return result


def editing_table(
    draw: Drawer,
    roundtrip: Callable[[np.ndarray], np.ndarray],
    world: WorldConfig,
    grid: int,
    n: int,
    sample: SampleConfig,
    completions: int | None = None,
    seed: int = 0,
    candidates: int = 1,
) -> dict:
    """Edit and completion scores over the first n (and `completions`, default n) cases. `draw` draws the
    edits (seed and candidates say how, recorded), `roundtrip` decodes the encoding of uint8 images."""
    table = {"sampling": to_dict(sample), "seed": seed, "candidates": candidates}
    for task, cases in (
        ("edit", edit_cases(world, n, grid)),
        ("completion", completion_cases(world, n if completions is None else completions, grid)),
    ):
        if not cases:
            continue
        inputs = np.stack([c["image"] for c in cases])
        masks = np.stack([c["mask"].reshape(-1) for c in cases])
        images = draw([c["caption"] for c in cases], inputs, masks, sample)
        table[task] = {"cases": len(cases), **judge(cases, images, roundtrip(inputs))}
    return table


def markdown(table: dict) -> str:
    """One row per task: exact (seen, held-out), kept, PSNR outside the mask vs the round trip, ± 1 s.e."""

    def pct(x: dict) -> str:
        return f"{100 * x['rate']:.1f} ± {100 * x['se']:.1f} % (n={x['n']})"

    def db(x: dict) -> str:
        return f"{x['mean']:.2f} ± {x['se']:.2f}"

    lines = [
        f"candidates: {table['candidates']}, CFG {table['sampling']['cfg_scale']:g}, "
        f"temperature {table['sampling']['temperature']:g}",
        "",
        "| task | exact, seen pairs | exact, held-out pairs | kept unchanged | PSNR outside mask (dB) "
        "| round trip (dB) | gap (dB) |",
        "|---|---|---|---|---|---|---|",
    ]
    for task in ("edit", "completion"):
        if task in table:
            r = table[task]
            lines.append(
                f"| {task} | {pct(r['exact_seen_pairs'])} | {pct(r['exact_heldout_pairs'])} "
                f"| {pct(r['kept_unchanged'])} | {db(r['psnr_outside_db'])} "
                f"| {db(r['psnr_outside_roundtrip_db'])} | {db(r['psnr_outside_gap_db'])} |"
            )
    if "edit" in table:
        per = [f"{c}: {pct(table['edit'][f'exact_seen_{c}'])}" for c in CHANGES if f"exact_seen_{c}" in table["edit"]]
        lines += ["", "Edit exact on seen pairs by change: " + "; ".join(per)]
    return "\n".join(lines)
