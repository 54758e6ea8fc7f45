"""The shapes world's commands: check and use its scene parser (`vim data build shapes` builds it).

vim world check -n 2000
vim world parse image.png --caption "a small red circle above two big blue boxes"
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable

from vim.config import from_args

MAX_CHECK_EXAMPLES = 100_000  # world check -n: every example is rendered and parsed, one after another


def cmd_world_check(args: argparse.Namespace) -> None:
    from vim.world.check import parser_accuracy

    if not 1 <= args.n <= MAX_CHECK_EXAMPLES:
        raise ValueError(f"-n must be 1..{MAX_CHECK_EXAMPLES}, got {args.n}")
    cfg = from_args(args)
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


def register(sub: argparse._SubParsersAction, add: Callable[..., argparse.ArgumentParser]) -> None:
    p = add("world", "check", cmd_world_check, "measure the scene parser on freshly rendered examples")
    p.add_argument("--split", default="validation")
    p.add_argument("-n", type=int, default=2000)
    p = add("world", "parse", cmd_world_parse, "list the objects in an image; score it against a caption", config=False)
    p.add_argument("image")
    p.add_argument("--caption", help="caption to check the image against")
