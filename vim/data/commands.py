"""Dataset commands: the caption tokenizer, a preview grid, importing a folder of your own images.

vim data text-tokenizer --preset tiny
vim data preview --preset tiny -o preview.png
vim data import ~/photos --name photos
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from vim.config import MAX_PIXELS, from_args


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
    )
    print(report.summary())
    print(f"use it with --set data.dataset=imported/{args.name}")


def register(sub: argparse._SubParsersAction, add: Callable[..., argparse.ArgumentParser]) -> None:
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
    p.add_argument("directory", help="folder with images and captions.jsonl or captions.tsv")
    p.add_argument("--name", required=True, help="dataset name; use it as data.dataset=imported/NAME")
    p.add_argument("--captions", help="captions file (default: captions.jsonl / captions.tsv in the folder)")
    p.add_argument("--resolution", type=int, default=64, help="output image side (center crop + bicubic)")
    p.add_argument("--max-pixels", type=int, default=MAX_PIXELS, help="skip images larger than this")
