"""Side by side for test captions 0..n-1: the rendered scene, then each generator's image with the scene
parser's verdict as a bar under it (green: the image shows exactly what the caption says, red: it does not).

    python -m experiments.generator_grid runs/tokloss-gen-control1000/images12/cfg1.5 \
        runs/tokloss-gen-whole/images12/cfg1.5 -o docs/results/tokenizer-whole-loss/generator.png

The image folders are `vim eval faithfulness --images DIR` output (DIR/cfg<scale>/<caption i>.png).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from vim.config import WorldConfig
from vim.data.image_files import read_image
from vim.world.dataset import make_example
from vim.world.parser import match_caption

SCALE, BAR = 2, 6  # pixels: each 64² image drawn at 128², a verdict bar of 6 rows under it


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", help="image folders, one column each after the rendered scene")
    parser.add_argument("-o", "--output", required=True)
    args = parser.parse_args()
    folders = [Path(f) for f in args.folders]
    count = len(list(folders[0].glob("*.png")))
    world = WorldConfig()
    rows = []
    for i in range(count):
        example = make_example(world, "test", i)
        caption = example["caption"]
        cells = [np.pad(example["image"], ((0, BAR), (0, 0), (0, 0)), constant_values=255)]
        for folder in folders:
            image = np.asarray(read_image(folder / f"{i:05d}.png")[0])
            bar = np.zeros((BAR, image.shape[1], 3), np.uint8)
            bar[...] = (40, 170, 60) if match_caption(image, caption)["exact"] else (200, 40, 40)
            cells.append(np.concatenate([image, bar]))
        gap = np.full((cells[0].shape[0], 4, 3), 255, np.uint8)
        rows.append(np.concatenate([c for cell in cells for c in (cell, gap)][:-1], axis=1))
        print(f"row {i + 1}: {caption}")
    grid = np.concatenate([r for row in rows for r in (row, np.full((4, row.shape[1], 3), 255, np.uint8))][:-1])
    Image.fromarray(grid).resize((grid.shape[1] * SCALE, grid.shape[0] * SCALE), Image.NEAREST).save(args.output)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
