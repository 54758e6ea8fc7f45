"""A PNG grid of examples with their captions (`vim data preview`)."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from vim.files import save_image


def caption_grid(
    images: Sequence[np.ndarray], captions: Sequence[str], *, columns: int = 4, cell: int = 192, text_lines: int = 4
) -> Image.Image:
    """Images (uint8 HWC) scaled to `cell` px, each with its wrapped caption underneath."""
    font = ImageFont.load_default(size=12)
    line_h = 14
    rows = -(-len(images) // columns)
    width, height = columns * cell, rows * (cell + text_lines * line_h + 6)
    sheet = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for i, (img, caption) in enumerate(zip(images, captions, strict=True)):
        col, row = i % columns, i // columns
        x, y = col * cell, row * (cell + text_lines * line_h + 6)
        sheet.paste(Image.fromarray(img).resize((cell, cell), Image.Resampling.NEAREST), (x, y))
        lines = textwrap.wrap(caption, width=cell // 7)[:text_lines]
        for k, line in enumerate(lines):
            draw.text((x + 3, y + cell + 2 + k * line_h), line, fill=(0, 0, 0), font=font)
    return sheet


def write_preview(examples: Sequence[dict], output: str | os.PathLike, columns: int = 4) -> Path:
    captions = [e["caption"].decode() if isinstance(e["caption"], bytes) else str(e["caption"]) for e in examples]
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(caption_grid([np.asarray(e["image"]) for e in examples], captions, columns=columns), path)
    return path
