"""The README's picture: a row of the bundle's images per prompt, each with the scene parser's verdict as a
bar under it (green: the image shows everything the prompt asks for, red: it does not).

    python -m experiments.readme_samples -o docs/samples.png [--checkpoint checkpoints/shapes-tiny]

One sample per image at the bundle's recommended settings, seeds 0…n-1, upsampled by the bundle's
upsampler when it has one.
"""

from __future__ import annotations

import argparse

import numpy as np
from PIL import Image, ImageDraw

from vim.bundle import load_bundle
from vim.generate import Generator, draw
from vim.world.parser import match_caption

PROMPTS = (
    "a red circle",
    "two green stars",
    "a star to the left of a heart",
    "three small squares, all blue",
    "a big yellow triangle in the top left corner",
    "two purple crosses below a white heart",
)
BAR, LABEL = 6, 18  # pixels: the verdict bar under each image, the prompt's text row above each row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", required=True)
    parser.add_argument("--checkpoint", help="bundle folder (default: the bundled one)")
    parser.add_argument("-n", type=int, default=6, help="images per prompt")
    args = parser.parse_args()
    bundle = load_bundle(args.checkpoint)
    generator, upsampler = Generator(bundle, batch_size=args.n), bundle.upsampler()
    rows = []
    for prompt in PROMPTS:
        drawn = draw(generator, prompt, args.n, 0, bundle.parti_cfg.sample)
        verdicts = [match_caption(image, prompt)["exact"] for image in drawn.images]
        images = upsampler(drawn.images) if upsampler is not None else drawn.images
        side = images.shape[1]
        row = Image.new("RGB", (args.n * (side + 4), LABEL + side + BAR + 4), "white")
        ImageDraw.Draw(row).text((2, 3), prompt, fill="black")
        for j, (image, exact) in enumerate(zip(images, verdicts, strict=True)):
            x = j * (side + 4)
            row.paste(Image.fromarray(image), (x, LABEL))
            bar = np.zeros((BAR, side, 3), np.uint8) + np.array([40, 170, 60] if exact else [200, 40, 40], np.uint8)
            row.paste(Image.fromarray(bar), (x, LABEL + side))
        rows.append(row)
    sheet = Image.new("RGB", (rows[0].width, sum(r.height for r in rows)), "white")
    for i, row in enumerate(rows):
        sheet.paste(row, (0, i * row.height))
    sheet.save(args.output, optimize=True)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
