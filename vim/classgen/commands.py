"""Class-conditional / unconditional image Transformer commands (the ViT-VQGAN paper's stage 2).

vim train-classgen --preset tiny --tokenizer checkpoints/shapes-tiny/tokenizer --workdir runs/classgen/tiny
vim generate --class "red circle" --checkpoint runs/classgen/tiny -n 8     # or --unconditional
vim eval classgen --checkpoint runs/classgen/tiny -n 2048
vim eval probe --checkpoint runs/classgen/tiny --layer 2
vim export-classgen runs/classgen/tiny checkpoints/classgen-tiny
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

from vim.config import from_args


def cmd_train_classgen(args: argparse.Namespace) -> None:
    from vim.classgen.train import train_and_evaluate

    result = train_and_evaluate(from_args(args), args.workdir, args.tokenizer)
    print(json.dumps(result, indent=2))


def sample_config(base, args: argparse.Namespace):
    """The run's sampling settings with the command line's --cfg / --temperature / --top-k / --top-p."""
    from vim.generate import given_sampling

    return dataclasses.replace(base, **given_sampling(args))


def load(args: argparse.Namespace):
    """The model --checkpoint names: a classgen run, an exported part, or a bundle with a classgen/ part (drawing
    with the bundle's tokenizer); without --checkpoint, the default bundle's part."""
    from vim.bundle import default_bundle
    from vim.classgen.infer import load_classgen

    folder = Path(args.checkpoint) if args.checkpoint else default_bundle()
    tokenizer = getattr(args, "tokenizer", None)
    if (folder / "classgen").is_dir() and (folder / "tokenizer").is_dir():  # a bundle
        return load_classgen(folder / "classgen", tokenizer or folder / "tokenizer")
    if not args.checkpoint:
        raise ValueError(
            f"the default bundle {folder} has no classgen/ part: give --checkpoint (a classgen run folder, an "
            "exported classgen part or a bundle with one)"
        )
    return load_classgen(folder, tokenizer)


def cmd_generate_class(args: argparse.Namespace) -> None:
    """`vim generate --class NAME|ID` / `--unconditional`: PNGs (+ JSON sidecar each) of one class."""
    import numpy as np
    from PIL import Image

    from vim.bundle import default_bundle
    from vim.files import save_image, write_text

    if args.prompts or args.file:
        raise ValueError("--class / --unconditional draw images of a class: give no prompts with them")
    if not 1 <= args.n <= 1024:
        raise ValueError(f"-n must be 1..1024, got {args.n}")
    generator = load(args)
    unconditional = args.class_name is None
    label = generator.null_class if unconditional else generator.class_id(args.class_name)
    name = generator.class_name(label)
    sample = sample_config(generator.cfg.sample, args)
    seeds = np.arange(args.seed, args.seed + args.n, dtype=np.uint32)
    images = generator.images(generator.codes(np.full(args.n, label, np.int32), seeds, sample, args.batch_size))
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    stem = name.replace(" ", "_")
    for image, seed in zip(images, seeds, strict=True):
        save_image(Image.fromarray(image), out / f"{stem}_{seed}.png")
        record = generator.image_record(label, seed, sample, str(args.checkpoint or default_bundle()))
        write_text(out / f"{stem}_{seed}.json", json.dumps(record, indent=2) + "\n")
    print(f"wrote {len(images)} images of {name!r} (PNG + JSON sidecar each) to {out}")


def cmd_eval_classgen(args: argparse.Namespace) -> None:
    from PIL import Image

    from vim.classgen.evaluate import evaluate
    from vim.files import save_image, write_text

    if args.n < 10:
        raise ValueError(f"-n must be ≥ 10 (the Inception Score's 10 splits), got {args.n}")
    generator = load(args)
    sample = sample_config(generator.cfg.sample, args)
    result, images = evaluate(
        generator, args.n, sample, args.seed, args.split, fid=not args.no_fid, unconditional=args.unconditional
    )
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        write_text(Path(args.json), text + "\n")
    if args.grid:
        save_image(Image.fromarray(class_grid(images, len(generator.classes), args.grid_columns)), Path(args.grid))


def class_grid(images, num_classes: int, columns: int):
    """A row per class (images were drawn cycling through the classes) of `columns` samples."""
    import numpy as np

    c = max(num_classes, 1)
    rows = [np.concatenate(list(images[k::c][:columns]), axis=1) for k in range(min(c, len(images)))]
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0))) for r in rows]
    return np.concatenate(rows, axis=0)


def cmd_eval_probe(args: argparse.Namespace) -> None:
    from vim.classgen.probe import probe
    from vim.files import write_text

    result = probe(load(args), args.n_train, args.n_test, args.layer)
    for target, rows in result["table"].items():
        print(
            f"{target}: "
            + ", ".join(f"{k} {v['test_top1']:.3f}" for k, v in rows.items())
            + f"  (best layer: {result['best_layer'][target]})"
        )
    if args.json:
        write_text(Path(args.json), json.dumps(result, indent=2) + "\n")


def cmd_export_classgen(args: argparse.Namespace) -> None:
    from vim.classgen.infer import export_classgen
    from vim.generate import given_sampling

    print(f"exported to {export_classgen(args.workdir, args.out, given_sampling(args))}")


def add_class_flags(sub: argparse._SubParsersAction) -> None:
    """`vim generate` grows --class / --unconditional (and --tokenizer): with either, it draws from a
    class-conditional model instead of the bundle's text-to-image one."""
    p = sub.choices["generate"]
    text_to_image = p.get_default("fn")
    p.add_argument("--class", dest="class_name", help="draw this class (name or id) of a classgen model")
    p.add_argument("--unconditional", action="store_true", help="draw unconditional images of a classgen model")
    p.add_argument("--tokenizer", help="with --class: the tokenizer (default: the one the model was trained on)")

    def generate(args: argparse.Namespace) -> None:
        if args.class_name is None and not args.unconditional:
            return text_to_image(args)
        return cmd_generate_class(args)

    p.set_defaults(fn=generate)


def register(sub: argparse._SubParsersAction, add: Callable[..., argparse.ArgumentParser]) -> None:
    p = add(
        sub,
        "train-classgen",
        cmd_train_classgen,
        "train the class-conditional (or, with classgen.num_classes=0, unconditional) image Transformer",
    )
    p.set_defaults(stage="classgen")
    p.add_argument("--tokenizer", required=True, help="tokenizer workdir or bundle part whose codes it models")
    p.add_argument("--workdir", required=True, help="run folder: config, codes, checkpoints, metrics, samples")
    add_class_flags(sub)

    p = add(
        "eval",
        "classgen",
        cmd_eval_classgen,
        "class read-back accuracy, FID and IS of a classgen model's samples",
        config=False,
        sampling=True,
    )
    p.add_argument("-n", type=int, default=2048, help="samples, cycling through the classes")
    p.add_argument("--split", default="test", help="real images for FID")
    p.add_argument("--no-fid", action="store_true", help="skip FID / IS (read-back accuracy only)")
    p.add_argument("--unconditional", action="store_true", help="draw with the null class")
    p.add_argument("--tokenizer", help="default: the tokenizer the model was trained on")
    p.add_argument("--json", help="also write the result here")
    p.add_argument("--grid", help="write a PNG grid here: a row per class")
    p.add_argument("--grid-columns", type=int, default=8, help="samples per row of --grid")

    p = add(
        "eval",
        "probe",
        cmd_eval_probe,
        "linear probe of a classgen model's layers vs tokenizer and pixels",
        config=False,
    )
    p.add_argument("--checkpoint", required=True, help="classgen run folder or exported part")
    p.add_argument("--layer", type=int, help="probe this block (1-based) alone; default: every block")
    p.add_argument("--n-train", type=int, default=2000, help="train-split images the probe is fitted on")
    p.add_argument("--n-test", type=int, default=1000, help="test-split images it is scored on")
    p.add_argument("--tokenizer", help="default: the tokenizer the model was trained on")
    p.add_argument("--json", help="also write the table here")

    p = add(sub, "export-classgen", cmd_export_classgen, "a classgen run's EMA weights as a part", config=False)
    p.add_argument("workdir", help="classgen run folder")
    p.add_argument("out", help="folder for config.json, params.npz, trained_on.json, classes.json")
    p.add_argument("--cfg", type=float, help="recommended CFG scale, written to the part (default: the run's)")
    p.add_argument("--temperature", type=float, help="recommended temperature (default: the run's)")
    p.add_argument("--top-k", type=int, help="recommended top-k (default: the run's)")
    p.add_argument("--top-p", type=float, help="recommended top-p (default: the run's)")
