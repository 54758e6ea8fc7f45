"""Dataset commands: build a known dataset, the caption tokenizer, a preview grid, importing your own images.

vim data build shapes --preset tiny
vim data text-tokenizer --preset tiny
vim data preview --preset tiny -o preview.png
vim data import ~/photos --name photos
vim data import ~/pets --name pets --class-folders      # ImageFolder layout: labeled by the class folders
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from vim.config import MAX_PIXELS, from_args

# Datasets vim can build (`vim data build NAME`) register `(cfg, workers, source) -> folder` as an entry
# point of this group (pyproject.toml): the shapes world registers "shapes".
BUILDERS_GROUP = "vim.builders"
MAX_PREVIEW = 1024  # data preview -n: one grid image holds them all


def cmd_data_build(args: argparse.Namespace) -> None:
    from importlib.metadata import entry_points

    builders = {ep.name: ep for ep in entry_points(group=BUILDERS_GROUP)}
    if args.dataset not in builders:
        raise ValueError(
            f"no dataset named {args.dataset!r} to build; vim builds {sorted(builders)}. "
            "For your own images and captions use `vim data import DIR --name NAME`"
        )
    start = time.perf_counter()
    path = builders[args.dataset].load()(from_args(args), workers=args.workers, source=args.source)
    print(f"{args.dataset} ready at {path} ({time.perf_counter() - start:.1f} s)")


def cmd_data_text_tokenizer(args: argparse.Namespace) -> None:
    from vim.data.pipeline import open_split, text_tokenizer_path
    from vim.data.text import TextTokenizer, train_text_tokenizer

    cfg = from_args(args)
    source = open_split(cfg.data, "train")
    captions = (source[i]["caption"].decode() for i in range(len(source)))
    output = args.output or text_tokenizer_path(cfg)
    path = train_text_tokenizer(captions, output, cfg.text.vocab_size, cfg.text.model_type)
    tok = TextTokenizer(path)
    print(f"text tokenizer with {tok.vocab_size} pieces written to {path}")


def cmd_data_preview(args: argparse.Namespace) -> None:
    import dataclasses

    from vim.data.pipeline import DatasetNotReadyError, open_split, stream_factories
    from vim.data.preview import write_preview

    if not 1 <= args.n <= MAX_PREVIEW:
        raise ValueError(f"-n must be 1..{MAX_PREVIEW}, got {args.n}")
    cfg = from_args(args)
    try:
        source = open_split(cfg.data, args.split)
    except DatasetNotReadyError:
        stream = f"{cfg.data.dataset}-stream"  # the same examples, made on demand
        if stream not in stream_factories():
            raise
        print(f"dataset not built yet; drawing the examples from {stream}")
        source = open_split(dataclasses.replace(cfg.data, dataset=stream), args.split)
    examples = [source[i] for i in range(min(args.n, len(source)))]
    print(f"wrote {write_preview(examples, args.output)} ({len(examples)} examples of {args.split})")


def cmd_data_import(args: argparse.Namespace) -> None:
    from vim.data.importer import import_folder

    cfg = from_args(args)
    report = import_folder(
        args.directory,
        args.name,
        cfg.data.data_dir,
        resolution=args.resolution,
        max_pixels=args.max_pixels,
        captions=args.captions,
        allow_outside=args.allow_outside,
        class_folders=args.class_folders,
    )
    print(report.summary())
    print(f"use it with --set data.dataset=imported/{args.name}")


def register(sub: argparse._SubParsersAction, add: Callable[..., argparse.ArgumentParser]) -> None:
    p = add("data", "build", cmd_data_build, "build a dataset vim knows how to make (shapes: the embedded world)")
    p.add_argument("dataset", nargs="?", default="shapes", help="what to build (default: shapes)")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores)")
    p.add_argument(
        "--from", dest="source", metavar="PATH", help="read the source files from here (datasets that have any)"
    )
    p = add(
        "data",
        "text-tokenizer",
        cmd_data_text_tokenizer,
        "train the SentencePiece caption tokenizer on the train split and save it beside the dataset",
    )
    p.add_argument("-o", "--output", help="model file (default: text_tokenizer.model in the dataset folder)")
    p = add("data", "preview", cmd_data_preview, "write a PNG grid of examples with their captions")
    p.add_argument("--split", default="train")
    p.add_argument("-n", type=int, default=16, help="number of examples")
    p.add_argument("-o", "--output", default="preview.png")
    p = add("data", "import", cmd_data_import, "turn a folder of images + captions into a vim dataset")
    p.add_argument(
        "directory", help="folder with images and captions.jsonl or captions.tsv (or class folders: --class-folders)"
    )
    p.add_argument("--name", required=True, help="dataset name; use it as data.dataset=imported/NAME")
    p.add_argument("--captions", help="captions file (default: captions.jsonl / captions.tsv in the folder)")
    p.add_argument("--resolution", type=int, default=64, help="output image side (center crop + bicubic)")
    p.add_argument("--max-pixels", type=int, default=MAX_PIXELS, help="skip images larger than this")
    p.add_argument(
        "--allow-outside",
        action="store_true",
        help="read files the captions name outside DIR (absolute paths, '..'); skipped and listed otherwise",
    )
    p.add_argument(
        "--class-folders",
        action="store_true",
        help="DIR/<class>/<image> (or DIR/<split>/<class>/<image>): a label per image, the class name as caption",
    )
