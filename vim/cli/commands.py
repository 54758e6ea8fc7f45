"""The bundle's commands: draw images, write a bundle, judge it on the shapes world; and config show.

vim generate "a red circle" "two green stars" -n 4 [--candidates 16] [--upsample] -o out/
vim edit photo.png "a red circle left of a blue star" --box 8,8,40,40 [--mask m.png | --keep-top-rows 4]
vim export --tokenizer runs/tok --parti runs/parti [--scorer runs/scorer] -o checkpoints/mine --cfg 1.5
vim eval faithfulness [--split natural] [--candidates 16] -n 1000
vim eval editing -n 200 [--candidates 16]
vim config show --preset tiny --set data.batch_size=8
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

from vim.config import from_args, to_dict


def cmd_config_show(args: argparse.Namespace) -> None:
    print(json.dumps(to_dict(from_args(args)), indent=2))


def cmd_generate(args: argparse.Namespace) -> None:
    from vim import distributed
    from vim import generate as g
    from vim.bundle import load_bundle

    prompts = list(args.prompts)
    if args.file:
        prompts += g.read_prompt_file(args.file)
    if not prompts:
        raise ValueError("no prompt given: pass one or more prompts, or --file with one prompt per line")
    if len(prompts) > g.MAX_PROMPTS:
        raise ValueError(f"{len(prompts):,} prompts; the limit is {g.MAX_PROMPTS:,} per command")
    for i, prompt in enumerate(prompts):
        try:
            g.check_prompt(prompt)
        except ValueError as e:
            raise ValueError(f"prompt {i + 1}: {e}") from None
    if args.n < 1:
        raise ValueError(f"-n must be ≥ 1, got {args.n}")
    # Every size is checked before the bundle loads, so a wrong number costs nothing.
    g.check_bound("-n", args.n, 1, g.MAX_IMAGES_PER_PROMPT)
    g.check_bound("--candidates", args.candidates, 0, g.MAX_CANDIDATES)
    g.check_sample_flags(args)
    g.check_seeds(args.seed, len(prompts) * max(args.n, args.candidates or 0))
    bundle = load_bundle(args.checkpoint)
    reranker = upsampler = None
    rerank = args.candidates is not None and args.candidates > args.n
    if rerank and (reranker := bundle.reranker()) is None:
        raise ValueError(f"{bundle.path} has no scorer/ folder, so --candidates cannot rerank")
    if args.upsample and (upsampler := bundle.upsampler()) is None:
        raise ValueError(f"{bundle.path} has no upsampler/ folder, so --upsample cannot run")
    generator = g.Generator(bundle, batch_size=args.batch_size)
    records: list[dict] = []

    def my_images() -> str:  # this process's share of the prompts (all of them when it runs alone)
        records.extend(
            g.write_images(
                args.output,
                prompts,
                args.n,
                args.seed,
                g.sample_settings(bundle.parti_cfg.sample, vars(args), rerank),
                generator,
                candidates=args.candidates,
                reranker=reranker,
                upsampler=upsampler,
            )
        )
        return str(len(records))

    counts = [int(c) for c in distributed.finish_shares(my_images, "vim generate")]
    for r in records:
        if r["text_truncated"]:
            print(f"note: prompt {r['prompt'][:40]!r}… was cut to {generator.text_length} text tokens")
            break
    if len(counts) > 1:
        print(f"process {distributed.process_index()} of {len(counts)} wrote {len(records)} images")
    if distributed.is_primary():
        print(f"wrote {sum(counts)} images (PNG + JSON sidecar each) to {args.output}")


def cmd_edit(args: argparse.Namespace) -> None:
    from vim import edit as e
    from vim import generate as g
    from vim.bundle import load_bundle
    from vim.data.image_files import read_image
    from vim.tokenizer.infer import load_square

    prompt = g.check_prompt(args.prompt)
    given = [
        flag
        for flag, value in (("--mask", args.mask), ("--box", args.box), ("--keep-top-rows", args.keep_top_rows))
        if value is not None
    ]
    if len(given) != 1:
        raise ValueError(
            f"give one of --mask, --box or --keep-top-rows to say what to redraw (got {', '.join(given) or 'none'})"
        )
    g.check_bound("-n", args.n, 1, g.MAX_IMAGES_PER_PROMPT)
    g.check_bound("--candidates", args.candidates, 0, g.MAX_CANDIDATES)
    g.check_sample_flags(args)
    g.check_seeds(args.seed, max(args.n, args.candidates or 0))
    upright, _ = read_image(args.image)  # refuses a file that is not an image before the bundle loads
    if args.box is not None:
        e.parse_box(args.box)
    bundle = load_bundle(args.checkpoint)
    grid = bundle.parti_cfg.parti.image_grid
    if args.mask is not None:
        mask_gg = e.mask_from_file(args.mask, upright.size, grid)
    elif args.box is not None:
        mask_gg = e.box_mask(args.box, upright.size, grid)
    else:
        mask_gg = e.rows_mask(args.keep_top_rows, grid)
    reranker = upsampler = None
    rerank = args.candidates is not None and args.candidates > args.n
    if rerank and (reranker := bundle.reranker()) is None:
        raise ValueError(f"{bundle.path} has no scorer/ folder, so --candidates cannot rerank")
    if args.upsample and (upsampler := bundle.upsampler()) is None:
        raise ValueError(f"{bundle.path} has no upsampler/ folder, so --upsample cannot run")
    image = load_square(args.image, bundle.tokenizer_cfg.tokenizer.image_size)
    generator = g.Generator(bundle, batch_size=args.batch_size)
    records = e.write_edits(
        args.output,
        args.image,
        image,
        mask_gg,
        prompt,
        args.n,
        args.seed,
        g.sample_settings(bundle.parti_cfg.sample, vars(args), rerank),
        generator,
        candidates=args.candidates,
        reranker=reranker,
        upsampler=upsampler,
    )
    drawn = int(mask_gg.sum())
    print(
        f"wrote {len(records)} edits (PNG + JSON sidecar each; {drawn} of {mask_gg.size} tokens redrawn) "
        f"with source.png and mask.png to {args.output}"
    )


def cmd_export(args: argparse.Namespace) -> None:
    from vim.bundle import export_bundle
    from vim.generate import MAX_DEMO_CANDIDATES, check_bound, given_sampling

    check_bound("--candidates", args.candidates, 2, MAX_DEMO_CANDIDATES)
    path = export_bundle(
        args.tokenizer, args.parti, args.output, args.scorer, args.upsampler, given_sampling(args), args.candidates
    )
    print(f"bundle written to {path}")


def cmd_eval_faithfulness(args: argparse.Namespace) -> None:
    from vim import distributed
    from vim.bundle import load_bundle
    from vim.generate import (
        MAX_CANDIDATES,
        Generator,
        check_bound,
        check_sample_flags,
        drawer_for_all_processes,
        sample_settings,
    )
    from vim.metrics.faithfulness import faithfulness_table, markdown
    from vim.training.checkpoint import dump_json

    check_sample_flags(args)
    check_bound("--candidates", args.candidates, 1, MAX_CANDIDATES)
    if args.n < distributed.process_count():
        raise ValueError(f"-n must be at least the number of processes ({distributed.process_count()}), got {args.n}")
    bundle = load_bundle(args.checkpoint)
    recommended = bundle.parti_cfg.sample
    scales = [float(s) for s in args.scales.split(",") if s.strip()] if args.scales else [recommended.cfg_scale]
    if args.candidate_scales and len(scales) > 1:  # every row would draw the same pool
        raise ValueError("--candidate-scales sets the scales of one pooled row: give at most one --scales")
    reranker = None
    if args.candidates > 1 and (reranker := bundle.reranker()) is None:
        raise ValueError(f"{bundle.path} has no scorer/ folder, so --candidates cannot rerank")
    generator = Generator(bundle, batch_size=args.batch_size)
    draw = drawer_for_all_processes(
        generator, args.seed, args.candidates, reranker, args.images, what="vim eval faithfulness"
    )
    # Every process judges the gathered images (the same table on each); process 0 prints and writes it.
    table = faithfulness_table(
        draw,
        bundle.parti_cfg.data.world,
        scales,
        args.n,
        sample_settings(recommended, vars(args), args.candidates > 1),
        seed=args.seed,
        candidates=args.candidates,
        fid_images=args.fid_images if args.fid_images is not None else 2000 * (args.split == "test"),
        split=args.split,
    )
    table["checkpoint"] = str(bundle.path)
    if not distributed.is_primary():
        return
    print(markdown(table))
    if args.output:
        dump_json(Path(args.output), table)
        print(f"wrote {args.output}")


def cmd_eval_editing(args: argparse.Namespace) -> None:
    from vim.bundle import load_bundle
    from vim.generate import MAX_CANDIDATES, Generator, check_bound, check_sample_flags, draw_images, sample_settings
    from vim.metrics.editing import editing_table, markdown
    from vim.training.checkpoint import dump_json

    check_sample_flags(args)
    check_bound("--candidates", args.candidates, 1, MAX_CANDIDATES)
    check_bound("-n", args.n, 1, 100_000)
    check_bound("--completions", args.completions, 0, 100_000)
    bundle = load_bundle(args.checkpoint)
    if not bundle.parti_cfg.data.dataset.startswith("shapes"):
        raise ValueError(f"{bundle.path} was not trained on the shapes world: the editing benchmark parses its scenes")
    reranker = None
    if args.candidates > 1 and (reranker := bundle.reranker()) is None:
        raise ValueError(f"{bundle.path} has no scorer/ folder, so --candidates cannot rerank")
    generator = Generator(bundle, batch_size=args.batch_size)

    def draw(captions, images, masks, sample):
        infill = (generator.encode_images(images), masks)
        return draw_images(generator, captions, sample, args.seed, args.candidates, reranker, infill)

    table = editing_table(
        draw,
        lambda images: generator.decode_codes(generator.encode_images(images)),
        bundle.parti_cfg.data.world,
        generator.grid,
        args.n,
        sample_settings(bundle.parti_cfg.sample, vars(args), args.candidates > 1),
        completions=args.completions,
        seed=args.seed,
        candidates=args.candidates,
    )
    table["checkpoint"] = str(bundle.path)
    print(markdown(table))
    if args.output:
        dump_json(Path(args.output), table)
        print(f"wrote {args.output}")


def register(sub: argparse._SubParsersAction, add: Callable[..., argparse.ArgumentParser]) -> None:
    add("config", "show", cmd_config_show, "print the resolved config as JSON")
    p = add(
        sub,
        "generate",
        cmd_generate,
        "draw images for text prompts (PNG + JSON sidecar each)",
        config=False,
        sampling=True,
    )
    p.add_argument("prompts", nargs="*", help="one or more prompts")
    p.add_argument("--file", help="more prompts, one per line")
    p.add_argument("-n", "--keep", dest="n", type=int, default=4, help="images per prompt (kept after reranking)")
    p.add_argument("--candidates", type=int, help="draw this many per prompt and keep the best -n by the scorer")
    p.add_argument("--upsample", action="store_true", help="apply the bundle's super-resolution network")
    p.add_argument("-o", "--output", default="out", help="output folder")
    p = add(
        sub,
        "edit",
        cmd_edit,
        "redraw a region of an image for a caption, keeping the rest (PNG + JSON sidecar each)",
        config=False,
        sampling=True,
    )
    p.add_argument("image", help="the image to edit (any size: center-cropped and resized as vim reconstruct does)")
    p.add_argument("prompt", help="the caption of the whole edited image")
    p.add_argument("--mask", help="mask image of the same size: white (bright) where the image is redrawn")
    p.add_argument("--box", metavar="X0,Y0,X1,Y1", help="redraw this box (pixels of the image; x1, y1 excluded)")
    p.add_argument(
        "--keep-top-rows", type=int, metavar="N", help="completion: keep the top N rows of tokens, draw the rest"
    )
    p.add_argument("-n", "--keep", dest="n", type=int, default=4, help="edits to keep (after reranking)")
    p.add_argument("--candidates", type=int, help="draw this many edits and keep the best -n by the scorer")
    p.add_argument("--upsample", action="store_true", help="apply the bundle's super-resolution network")
    p.add_argument("-o", "--output", default="out/edit", help="output folder")
    p = add(sub, "export", cmd_export, "write a bundle (EMA weights, configs, text model) for generation", config=False)
    p.add_argument("--tokenizer", required=True, help="tokenizer workdir (or a bundle's tokenizer/ part)")
    p.add_argument("--parti", help="Parti workdir trained on that tokenizer's codes")
    p.add_argument("--cfg", type=float, help="recommended CFG scale, written to the bundle (default: the run's)")
    p.add_argument("--temperature", type=float, help="recommended temperature (default: the run's)")
    p.add_argument("--top-k", type=int, help="recommended top-k (default: the run's)")
    p.add_argument("--top-p", type=float, help="recommended top-p (default: the run's)")
    p.add_argument(
        "--candidates", type=int, help="candidates the demo reranks per request by default (on the card; else 16)"
    )
    p.add_argument("--scorer", help="reranking scorer workdir (vim train-scorer)")
    p.add_argument("--upsampler", help="super-resolution workdir (vim train-upsampler)")
    p.add_argument("-o", "--output", required=True, help="bundle folder")

    p = add(
        "eval",
        "faithfulness",
        cmd_eval_faithfulness,
        "generate for test captions, parse the images, report scene-match per CFG scale",
        config=False,
        sampling=True,
    )
    p.add_argument("--scales", help="comma-separated CFG scales to sweep (default: the bundle's recommended one)")
    p.add_argument("-n", type=int, default=500, help="test captions (half use held-out color-shape pairs)")
    p.add_argument(
        "--split",
        choices=("test", "natural"),
        default="test",
        help="test: captions that name every attribute; natural: the natural-prompt test set ('a red circle')",
    )
    p.add_argument("--candidates", type=int, default=1, help="judge the scorer's best of this many per caption")
    p.add_argument(
        "--fid-images",
        type=int,
        help="world FID: this many images drawn at the best scale vs the rendered test images "
        "(0 = skip; default 2000 on the test split, 0 on the natural one)",
    )
    p.add_argument("-o", "--output", help="also write the table as JSON")
    p.add_argument("--images", metavar="DIR", help="also save the judged images: DIR/cfg<scale>/<test caption i>.png")

    p = add(
        "eval",
        "editing",
        cmd_eval_editing,
        "edit and complete rendered test scenes, parse the results, report edit and keep rates and PSNR",
        config=False,
        sampling=True,
    )
    p.add_argument("-n", type=int, default=200, help="edit cases (two-group test scenes, one group changed)")
    p.add_argument("--completions", type=int, help="completion cases (keep the top half; default: -n)")
    p.add_argument("--candidates", type=int, default=1, help="judge the scorer's best of this many per case")
    p.add_argument("-o", "--output", help="also write the table as JSON")
