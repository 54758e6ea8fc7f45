"""Anti-aliased renderer for world scenes: supersampled coverage masks composited over a gradient."""

from __future__ import annotations

import functools
import math

import numpy as np
from PIL import Image, ImageDraw

from vim.world.scene import COLORS, SIZES, Background, Scene

SUPERSAMPLE = 4


def _normalize(points: list[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    """Stretch a polygon so its bounding box is exactly [-1, 1]²: the box center is the shape center."""
    xs, ys = zip(*points, strict=True)
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    return tuple((2 * (x - x0) / (x1 - x0) - 1, 2 * (y - y0) / (y1 - y0) - 1) for x, y in points)


@functools.cache
def shape_polygon(shape: str) -> tuple[tuple[float, float], ...] | None:
    """Outline of a shape in unit box coordinates (y grows downwards); None for the circle."""
    if shape == "circle":
        return None
    if shape == "square":
        return ((-0.86, -0.86), (0.86, -0.86), (0.86, 0.86), (-0.86, 0.86))
    if shape == "triangle":
        return ((0.0, -1.0), (1.0, 1.0), (-1.0, 1.0))
    if shape == "star":
        pts = []
        for k in range(10):
            r = 1.0 if k % 2 == 0 else 0.42
            a = -math.pi / 2 + k * math.pi / 5
            pts.append((r * math.cos(a), r * math.sin(a)))
        return _normalize(pts)
    if shape == "heart":
        ts = np.linspace(0, 2 * math.pi, 64, endpoint=False)
        pts = [
            (16 * math.sin(t) ** 3, -(13 * math.cos(t) - 5 * math.cos(2 * t) - 2 * math.cos(3 * t) - math.cos(4 * t)))
            for t in ts
        ]
        return _normalize(pts)
    if shape == "cross":
        w = 0.34
        return (
            (-w, -1),
            (w, -1),
            (w, -w),
            (1, -w),
            (1, w),
            (w, w),
            (w, 1),
            (-w, 1),
            (-w, w),
            (-1, w),
            (-1, -w),
            (-w, -w),
        )
    raise ValueError(f"unknown shape {shape!r}")


def coverage(shape: str, size: str, x: float, y: float, resolution: int) -> np.ndarray:
    """Fraction of each pixel covered by the shape, float32 [resolution, resolution]."""
    ss = resolution * SUPERSAMPLE
    half = SIZES[size] / 2 * ss
    cx, cy = x * ss, y * ss
    canvas = Image.new("L", (ss, ss), 0)
    draw = ImageDraw.Draw(canvas)
    poly = shape_polygon(shape)
    if poly is None:
        draw.ellipse((cx - half, cy - half, cx + half, cy + half), fill=255)
    else:
        draw.polygon([(cx + px * half, cy + py * half) for px, py in poly], fill=255)
    small = canvas.resize((resolution, resolution), Image.Resampling.BOX)
    return np.asarray(small, np.float32) / 255.0


def render_background(bg: Background, resolution: int) -> np.ndarray:
    t = (np.arange(resolution, dtype=np.float32) + 0.5) / resolution
    if bg.direction == "vertical":
        w = np.broadcast_to(t[:, None], (resolution, resolution))
    elif bg.direction == "horizontal":
        w = np.broadcast_to(t[None, :], (resolution, resolution))
    else:
        w = (t[:, None] + t[None, :]) / 2
    a = np.asarray(bg.top_left, np.float32)
    b = np.asarray(bg.bottom_right, np.float32)
    img = a * (1 - w[..., None]) + b * w[..., None]
    noise = np.random.default_rng(bg.noise_seed).normal(0, 2.0, (resolution, resolution, 1))
    return img + noise.astype(np.float32)


def render(scene: Scene, resolution: int = 64) -> np.ndarray:
    """Render a scene to uint8 RGB [resolution, resolution, 3]; deterministic given the scene."""
    img = render_background(scene.background, resolution)
    for obj in scene.objects:
        alpha = coverage(obj.shape, obj.size, obj.x, obj.y, resolution)[..., None]
        img = img * (1 - alpha) + np.asarray(COLORS[obj.color], np.float32) * alpha
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)
