"""The emoji card's picture: per prompt, the real emoji (left, framed) and the bundle's samples beside it;
the last rows ask for held-out (person, skin tone) pairs, whose real image training never saw.

    python -m experiments.emoji_grid -o checkpoints/emoji-tiny/samples.png --checkpoint checkpoints/emoji-tiny

Samples at the bundle's recommended settings, seeds 0…n-1, reranked (best n of 4n) where it has a scorer.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from PIL import Image, ImageDraw

from vim.bundle import load_bundle
from vim.data.locations import imported_dir
from vim.data.pipeline import open_split
from vim.generate import Generator, draw

SEEN = ("a red apple", "a unicorn", "a rocket", "a teddy bear", "a grinning face", "a ghost")
TEMPLATE = "a 3D emoji of {}"
HELDOUT_ROWS = 3
LABEL, GAP = 16, 4


def real_images(data, captions: list[str]) -> dict[str, np.ndarray]:
    """The first train or test image whose caption is each of `captions`."""
    found: dict[str, np.ndarray] = {}
    for split in ("train", "test"):
        source = open_split(data, split)
        for i in range(len(source)):
            caption = source[i]["caption"].decode()
            if caption in captions and caption not in found:
                found[caption] = np.asarray(source[i]["image"])
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", required=True)
    parser.add_argument("--checkpoint", required=True, help="an emoji bundle")
    parser.add_argument("-n", type=int, default=4, help="samples per prompt")
    args = parser.parse_args()
    bundle = load_bundle(args.checkpoint)
    data = bundle.parti_cfg.data
    captions_file = imported_dir(data.dataset.removeprefix("imported/"), data.data_dir) / "eval_captions.json"
    heldout = [e["caption"] for e in json.loads(captions_file.read_text()) if e["kind"] == "heldout"]
    prompts = [TEMPLATE.format(s) for s in SEEN] + heldout[:HELDOUT_ROWS]
    reals = real_images(data, prompts)
    generator, reranker = Generator(bundle, batch_size=4 * args.n), bundle.reranker()
    side = bundle.tokenizer_cfg.tokenizer.image_size
    sheet = Image.new("RGB", ((args.n + 1) * (side + GAP) + GAP, len(prompts) * (side + LABEL + GAP)), "white")
    pen = ImageDraw.Draw(sheet)
    for r, prompt in enumerate(prompts):
        candidates = 4 * args.n if reranker is not None else args.n
        drawn = draw(generator, prompt, args.n, 0, bundle.parti_cfg.sample, candidates, reranker)
        y = r * (side + LABEL + GAP)
        pen.text((GAP, y + 2), prompt + ("  (held out)" if r >= len(SEEN) else ""), fill="black")
        if prompt in reals:
            sheet.paste(Image.fromarray(reals[prompt]), (GAP, y + LABEL))
            pen.rectangle((GAP - 1, y + LABEL - 1, GAP + side, y + LABEL + side), outline=(40, 120, 220))
        for j, image in enumerate(drawn.images):
            sheet.paste(Image.fromarray(image), ((j + 1) * (side + GAP) + GAP, y + LABEL))
    sheet.save(args.output, optimize=True)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
