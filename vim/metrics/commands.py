"""`vim fid`, `vim fid-stats`, `vim kid`, `vim is`: image-quality metrics over folders of images.

    vim fid generated/ real/                 # FID between two folders
    vim fid generated/ --ref real.npz        # against saved reference statistics
    vim fid-stats real/ -o real.npz          # save reference statistics once
    vim kid generated/ real/
    vim is generated/ --weights pt_inception-2015-12-05-6726825d.pth

Each command prints its result as JSON (value, images used, resize mode, weights, skipped files) and
writes it to -o when given. `register(sub, add)` adds them to the `vim` parser.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vim.metrics import features as features_lib
    from vim.metrics import images as images_lib

MODES = ("clean", "legacy_tensorflow")  # = fid.MODES; here so `vim --help` does not import JAX


def _common(p: argparse.ArgumentParser, output_help: str = "also write the result as JSON to this file") -> None:
    p.add_argument("--weights", help="Inception weights: a .pth/.pt (converted once) or a converted .npz")
    p.add_argument("--mode", default="clean", choices=MODES, help="resizing to 299×299 (default: clean)")
    p.add_argument("--batch-size", type=int, default=32, help="images per compiled network call")
    p.add_argument("-n", "--num-images", type=int, help="use only the first N images (sorted) of each folder")
    p.add_argument("-o", "--output", help=output_help)


def _folder(path: str) -> str:
    if not Path(path).is_dir():
        raise FileNotFoundError(f"image folder not found: {path}")
    return path


def _input(path: str, n: int, skipped: list[images_lib.Skipped]) -> dict:
    return {"path": path, "n": n, "skipped": [s.to_dict() for s in skipped]}


def _report(result: dict, output: str | None) -> None:
    for item in result.get("inputs", []):
        for s in item.get("skipped", []):
            print(f"skipped {item['path']}/{s['file']}: {s['reason']}", file=sys.stderr)
    text = json.dumps(result, indent=2)
    print(text)
    if output:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_text(text + "\n")
        print(f"wrote {output}")


def _stats_of(
    path: str, args: argparse.Namespace, extractor: features_lib.Extractor
) -> tuple[features_lib.Statistics, dict]:
    """Statistics of a folder, or read from an .npz (a saved reference)."""
    from vim.metrics import features as features_lib

    if Path(path).is_file() and path.endswith(".npz"):
        stats = features_lib.load_statistics(path)
        return stats, {"path": path, "n": stats.n, "statistics": True, "weights": stats.weights, "mode": stats.mode}
    stats = features_lib.compute_statistics(path, mode=args.mode, num_images=args.num_images, extractor=extractor)
    return stats, _input(path, stats.n, stats.skipped)


def cmd_fid(args: argparse.Namespace) -> None:
    from vim.metrics import features as features_lib
    from vim.metrics import fid as fid_lib

    if (args.dir_b is None) == (args.ref is None):
        raise ValueError("give exactly one of a second folder (vim fid A B) or --ref stats.npz")
    second = args.dir_b or args.ref
    if args.ref:
        features_lib.load_statistics(args.ref)  # fail before the slow part
    elif not second.endswith(".npz"):
        _folder(second)
    _folder(args.dir_a)
    extractor = features_lib.Extractor(args.weights, args.batch_size)
    a, in_a = _stats_of(args.dir_a, args, extractor)
    b, in_b = _stats_of(second, args, extractor)
    value = fid_lib.fid_from_statistics(a, b)
    result = {"metric": "fid", "value": value, "mode": args.mode, "weights": extractor.info.to_dict()}
    _report({**result, "inputs": [in_a, in_b]}, args.output)


def cmd_fid_stats(args: argparse.Namespace) -> None:
    from vim.metrics import features as features_lib

    if not args.output:
        raise ValueError("vim fid-stats: -o stats.npz is required")
    extractor = features_lib.Extractor(args.weights, args.batch_size)
    stats = features_lib.compute_statistics(
        _folder(args.directory), mode=args.mode, num_images=args.num_images, extractor=extractor
    )
    path = features_lib.save_statistics(stats, args.output)
    for s in stats.skipped:
        print(f"skipped {args.directory}/{s.name}: {s.reason}", file=sys.stderr)
    summary = {"statistics": str(path), "mode": args.mode, "weights": stats.weights}
    print(json.dumps({**summary, "inputs": [_input(args.directory, stats.n, stats.skipped)]}, indent=2))


def cmd_kid(args: argparse.Namespace) -> None:
    from vim.metrics import features as features_lib
    from vim.metrics import fid as fid_lib

    extractor = features_lib.Extractor(args.weights, args.batch_size)
    feats = [
        features_lib.compute_features(_folder(d), mode=args.mode, num_images=args.num_images, extractor=extractor)
        for d in (args.dir_a, args.dir_b)
    ]
    a, b = feats
    value = fid_lib.kernel_inception_distance(a.pool, b.pool, args.subsets, args.subset_size, args.seed)
    result = {
        "metric": "kid",
        "value": value,
        "subsets": args.subsets,
        "subset_size": min(args.subset_size, len(a.pool), len(b.pool)),
        "seed": args.seed,
        "mode": args.mode,
        "weights": extractor.info.to_dict(),
        "inputs": [_input(d, f.run.n, f.run.skipped) for d, f in zip((args.dir_a, args.dir_b), feats, strict=True)],
    }
    _report(result, args.output)


def cmd_is(args: argparse.Namespace) -> None:
    from vim.metrics import features as features_lib
    from vim.metrics import fid as fid_lib

    _folder(args.directory)
    extractor = features_lib.Extractor(args.weights, args.batch_size, logits=True)
    feats = features_lib.compute_features(
        args.directory, mode=args.mode, num_images=args.num_images, logits=True, extractor=extractor
    )
    mean, std = fid_lib.inception_score(feats.logits, args.splits)
    result = {
        "metric": "inception_score",
        "value": mean,
        "std": std,
        "splits": args.splits,
        "mode": args.mode,
        "weights": extractor.info.to_dict(),
        "inputs": [_input(args.directory, feats.run.n, feats.run.skipped)],
    }
    _report(result, args.output)


def register(sub: argparse._SubParsersAction, add: Callable[..., argparse.ArgumentParser]) -> None:
    """Add the metric commands to `vim`'s subparsers, using the CLI's `add(group, name, fn, help, config, sampling)`."""
    p = add(sub, "fid", cmd_fid, "FID between two image folders, or a folder and saved statistics", config=False)
    p.add_argument("dir_a", help="image folder (searched recursively)")
    p.add_argument("dir_b", nargs="?", help="second image folder (or a statistics .npz)")
    p.add_argument("--ref", help="reference statistics .npz (from vim fid-stats) instead of a second folder")
    _common(p)
    p = add(sub, "fid-stats", cmd_fid_stats, "save FID reference statistics (mu, sigma) of a folder", config=False)
    p.add_argument("directory", help="image folder (searched recursively)")
    _common(p, output_help="statistics file to write (.npz with mu, sigma, n, weights, mode)")
    p = add(sub, "kid", cmd_kid, "Kernel Inception Distance between two image folders", config=False)
    p.add_argument("dir_a")
    p.add_argument("dir_b")
    p.add_argument("--subsets", type=int, default=100, help="number of random subsets averaged")
    p.add_argument("--subset-size", type=int, default=1000, help="images per subset (capped at the smaller folder)")
    p.add_argument("--seed", type=int, default=0, help="seeds the subsets")
    _common(p)
    p = add(sub, "is", cmd_is, "Inception Score of an image folder (needs weights with the 1,008-way head)", False)
    p.add_argument("directory")
    p.add_argument("--splits", type=int, default=10)
    _common(p)
