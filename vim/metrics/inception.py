"""InceptionV3 as used for FID and IS, in Flax NNX (NHWC).

FID numbers are only comparable when they come from one exact network: the TensorFlow graph
`inception-2015-12-05` that the original FID and IS code used. pytorch-fid, torch-fidelity and clean-fid all
port that graph rather than torchvision's InceptionV3, and it differs from torchvision's in three places this
module copies:

- the 3×3 average pools of the A, C and first E blocks divide by the number of real (unpadded) pixels;
- the pool branch of the last E block (Mixed_7c) is a 3×3 *max* pool;
- BatchNorm has no learned scale and eps = 1e-3; here it is folded into a per-channel scale and shift.

Input: float images of 299×299 scaled to (x − 128) / 128 (what clean-fid feeds the TorchScript network).
Output: the 2,048-d average-pooled features, and for IS the 1,008-way logits `pool @ W` without the bias,
as in the original IS code (and torch-fidelity's `logits_unbiased`).

Parameters are named as in torchvision/pytorch-fid (`Mixed_6b.branch7x7_2`), each conv with `kernel`
(HWIO), `scale` and `shift`; `vim.metrics.weights` converts the published checkpoints to that layout.
"""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

INPUT_SIZE = 299
POOL_DIM = 2048
NUM_LOGITS = 1008

# Mixed blocks in order, with the block kind; the conv names inside each kind are in BRANCHES.
BLOCKS: tuple[tuple[str, str], ...] = (
    ("Mixed_5b", "A"),
    ("Mixed_5c", "A"),
    ("Mixed_5d", "A"),
    ("Mixed_6a", "B"),
    ("Mixed_6b", "C"),
    ("Mixed_6c", "C"),
    ("Mixed_6d", "C"),
    ("Mixed_6e", "C"),
    ("Mixed_7a", "D"),
    ("Mixed_7b", "E"),
    ("Mixed_7c", "E"),
)
STEM: tuple[str, ...] = ("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "Conv2d_3b_1x1", "Conv2d_4a_3x3")
BRANCHES: dict[str, tuple[str, ...]] = {
    "A": (
        "branch1x1",
        "branch5x5_1",
        "branch5x5_2",
        "branch3x3dbl_1",
        "branch3x3dbl_2",
        "branch3x3dbl_3",
        "branch_pool",
    ),
    "B": ("branch3x3", "branch3x3dbl_1", "branch3x3dbl_2", "branch3x3dbl_3"),
    "C": (
        "branch1x1",
        "branch7x7_1",
        "branch7x7_2",
        "branch7x7_3",
        "branch7x7dbl_1",
        "branch7x7dbl_2",
        "branch7x7dbl_3",
        "branch7x7dbl_4",
        "branch7x7dbl_5",
        "branch_pool",
    ),
    "D": ("branch3x3_1", "branch3x3_2", "branch7x7x3_1", "branch7x7x3_2", "branch7x7x3_3", "branch7x7x3_4"),
    "E": (
        "branch1x1",
        "branch3x3_1",
        "branch3x3_2a",
        "branch3x3_2b",
        "branch3x3dbl_1",
        "branch3x3dbl_2",
        "branch3x3dbl_3a",
        "branch3x3dbl_3b",
        "branch_pool",
    ),
}


def conv_names() -> list[str]:
    """Every conv layer's name, e.g. 'Conv2d_1a_3x3' or 'Mixed_7c.branch_pool', in network order."""
    return list(STEM) + [f"{block}.{branch}" for block, kind in BLOCKS for branch in BRANCHES[kind]]


def weight_shapes() -> dict[str, tuple[int, ...]]:
    """Every parameter's shape (kernels HWIO), from the published architecture: checks a checkpoint fits."""
    convs: dict[str, tuple[int, int, int, int]] = {
        "Conv2d_1a_3x3": (3, 3, 3, 32),
        "Conv2d_2a_3x3": (3, 3, 32, 32),
        "Conv2d_2b_3x3": (3, 3, 32, 64),
        "Conv2d_3b_1x1": (1, 1, 64, 80),
        "Conv2d_4a_3x3": (3, 3, 80, 192),
    }
    a_blocks = {"Mixed_5b": (192, 32), "Mixed_5c": (256, 64), "Mixed_5d": (288, 64)}
    for block, (cin, pool_features) in a_blocks.items():
        spec = {"branch1x1": (1, 1, cin, 64), "branch5x5_1": (1, 1, cin, 48), "branch5x5_2": (5, 5, 48, 64)}
        spec |= {"branch3x3dbl_1": (1, 1, cin, 64), "branch3x3dbl_2": (3, 3, 64, 96), "branch3x3dbl_3": (3, 3, 96, 96)}
        spec |= {"branch_pool": (1, 1, cin, pool_features)}
        convs |= {f"{block}.{k}": v for k, v in spec.items()}
    spec = {"branch3x3": (3, 3, 288, 384), "branch3x3dbl_1": (1, 1, 288, 64), "branch3x3dbl_2": (3, 3, 64, 96)}
    convs |= {f"Mixed_6a.{k}": v for k, v in (spec | {"branch3x3dbl_3": (3, 3, 96, 96)}).items()}
    for block, c7 in {"Mixed_6b": 128, "Mixed_6c": 160, "Mixed_6d": 160, "Mixed_6e": 192}.items():
        spec = {"branch1x1": (1, 1, 768, 192), "branch7x7_1": (1, 1, 768, c7), "branch7x7_2": (1, 7, c7, c7)}
        spec |= {"branch7x7_3": (7, 1, c7, 192), "branch7x7dbl_1": (1, 1, 768, c7), "branch7x7dbl_2": (7, 1, c7, c7)}
        spec |= {"branch7x7dbl_3": (1, 7, c7, c7), "branch7x7dbl_4": (7, 1, c7, c7), "branch7x7dbl_5": (1, 7, c7, 192)}
        convs |= {f"{block}.{k}": v for k, v in (spec | {"branch_pool": (1, 1, 768, 192)}).items()}
    spec = {"branch3x3_1": (1, 1, 768, 192), "branch3x3_2": (3, 3, 192, 320), "branch7x7x3_1": (1, 1, 768, 192)}
    spec |= {"branch7x7x3_2": (1, 7, 192, 192), "branch7x7x3_3": (7, 1, 192, 192), "branch7x7x3_4": (3, 3, 192, 192)}
    convs |= {f"Mixed_7a.{k}": v for k, v in spec.items()}
    for block, cin in {"Mixed_7b": 1280, "Mixed_7c": 2048}.items():
        spec = {"branch1x1": (1, 1, cin, 320), "branch3x3_1": (1, 1, cin, 384), "branch3x3_2a": (1, 3, 384, 384)}
        spec |= {"branch3x3_2b": (3, 1, 384, 384), "branch3x3dbl_1": (1, 1, cin, 448)}
        spec |= {"branch3x3dbl_2": (3, 3, 448, 384), "branch3x3dbl_3a": (1, 3, 384, 384)}
        spec |= {"branch3x3dbl_3b": (3, 1, 384, 384), "branch_pool": (1, 1, cin, 192)}
        convs |= {f"{block}.{k}": v for k, v in spec.items()}
    shapes: dict[str, tuple[int, ...]] = {}
    for name in conv_names():
        shapes |= {f"{name}.kernel": convs[name], f"{name}.scale": convs[name][3:], f"{name}.shift": convs[name][3:]}
    return shapes


class ConvBN(nnx.Module):
    """Conv without bias, inference BatchNorm as scale/shift, ReLU: the only layer type of the network.

    `same` pads odd kernels by k // 2 per side (all stride-1 convs in the blocks); otherwise no padding,
    as in the TF graph's VALID convs of the stem and the stride-2 reductions.
    """

    def __init__(self, weights: Mapping[str, np.ndarray], name: str, stride: int = 1, same: bool = True):
        kernel = np.asarray(weights[f"{name}.kernel"], np.float32)
        self.kernel = nnx.Param(jnp.asarray(kernel))
        self.scale = nnx.Param(jnp.asarray(weights[f"{name}.scale"], jnp.float32))
        self.shift = nnx.Param(jnp.asarray(weights[f"{name}.shift"], jnp.float32))
        kh, kw = kernel.shape[:2]
        self.stride = stride
        self.padding = ((kh // 2, kh // 2), (kw // 2, kw // 2)) if same else ((0, 0), (0, 0))

    def __call__(self, x: jax.Array) -> jax.Array:
        y = jax.lax.conv_general_dilated(
            x,
            self.kernel[...],
            (self.stride, self.stride),
            self.padding,
            dimension_numbers=("NHWC", "HWIO", "NHWC"),
            precision=jax.lax.Precision.HIGHEST,
        )
        return jax.nn.relu(y * self.scale[...] + self.shift[...])


def max_pool(x: jax.Array, stride: int, pad: int = 0) -> jax.Array:
    """3×3 max pool (padding never wins: it is -inf)."""
    pads = ((0, 0), (pad, pad), (pad, pad), (0, 0))
    return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 3, 3, 1), (1, stride, stride, 1), pads)


def avg_pool_3x3_exclude_pad(x: jax.Array) -> jax.Array:
    """3×3 stride-1 average over real pixels only (count_include_pad=False), as the FID graph does."""
    pads = ((0, 0), (1, 1), (1, 1), (0, 0))
    window, strides = (1, 3, 3, 1), (1, 1, 1, 1)
    sums = jax.lax.reduce_window(x, 0.0, jax.lax.add, window, strides, pads)
    ones = jnp.ones((1, *x.shape[1:3], 1), x.dtype)
    counts = jax.lax.reduce_window(ones, 0.0, jax.lax.add, window, strides, pads)
    return sums / counts


def _convs(weights: Mapping[str, np.ndarray], block: str, names: tuple[str, ...], strided: tuple[str, ...] = ()):
    """ConvBN layers of one block as an nnx.Dict; the listed branches are the stride-2, unpadded ones."""
    return nnx.Dict(
        {n: ConvBN(weights, f"{block}.{n}", stride=2 if n in strided else 1, same=n not in strided) for n in names}
    )


class InceptionBlock(nnx.Module):
    """One Mixed block of kind A–E; `max_pool_branch` marks the FID graph's last E block (Mixed_7c)."""

    def __init__(self, weights: Mapping[str, np.ndarray], name: str, kind: str):
        self.kind = kind
        self.max_pool_branch = name == "Mixed_7c"
        strided = {"B": ("branch3x3", "branch3x3dbl_3"), "D": ("branch3x3_2", "branch7x7x3_4")}.get(kind, ())
        self.c = _convs(weights, name, BRANCHES[kind], strided)

    def __call__(self, x: jax.Array) -> jax.Array:
        c = self.c
        if self.kind == "A":
            b5 = c["branch5x5_2"](c["branch5x5_1"](x))
            b3 = c["branch3x3dbl_3"](c["branch3x3dbl_2"](c["branch3x3dbl_1"](x)))
            parts = [c["branch1x1"](x), b5, b3, c["branch_pool"](avg_pool_3x3_exclude_pad(x))]
        elif self.kind == "B":
            b3 = c["branch3x3dbl_3"](c["branch3x3dbl_2"](c["branch3x3dbl_1"](x)))
            parts = [c["branch3x3"](x), b3, max_pool(x, stride=2)]
        elif self.kind == "C":
            b7 = c["branch7x7_3"](c["branch7x7_2"](c["branch7x7_1"](x)))
            d = x
            for i in range(1, 6):
                d = c[f"branch7x7dbl_{i}"](d)
            parts = [c["branch1x1"](x), b7, d, c["branch_pool"](avg_pool_3x3_exclude_pad(x))]
        elif self.kind == "D":
            b3 = c["branch3x3_2"](c["branch3x3_1"](x))
            b7 = x
            for i in range(1, 5):
                b7 = c[f"branch7x7x3_{i}"](b7)
            parts = [b3, b7, max_pool(x, stride=2)]
        else:
            a = c["branch3x3_1"](x)
            b = c["branch3x3dbl_2"](c["branch3x3dbl_1"](x))
            pooled = max_pool(x, stride=1, pad=1) if self.max_pool_branch else avg_pool_3x3_exclude_pad(x)
            parts = [
                c["branch1x1"](x),
                c["branch3x3_2a"](a),
                c["branch3x3_2b"](a),
                c["branch3x3dbl_3a"](b),
                c["branch3x3dbl_3b"](b),
                c["branch_pool"](pooled),
            ]
        return jnp.concatenate(parts, axis=-1)


class InceptionV3(nnx.Module):
    """The FID InceptionV3 built from converted weights (see module docstring for the layout).

    `weights` without `fc.kernel` gives a features-only network (enough for FID and KID, not for IS).
    """

    def __init__(self, weights: Mapping[str, np.ndarray]):
        wrong = [
            f"{k} {np.shape(weights[k]) if k in weights else 'missing'} (expected {shape})"
            for k, shape in weight_shapes().items()
            if k not in weights or np.shape(weights[k]) != shape
        ]
        if "fc.kernel" in weights and np.shape(weights["fc.kernel"]) != (POOL_DIM, NUM_LOGITS):
            wrong.append(f"fc.kernel {np.shape(weights['fc.kernel'])} (expected {(POOL_DIM, NUM_LOGITS)})")
        if wrong:
            raise ValueError(f"not FID InceptionV3 weights: {len(wrong)} parameters do not fit, e.g. {wrong[0]}")
        self.stem = nnx.Dict(
            {n: ConvBN(weights, n, stride=2 if n == "Conv2d_1a_3x3" else 1, same=n == "Conv2d_2b_3x3") for n in STEM}
        )
        self.blocks = nnx.List([InceptionBlock(weights, name, kind) for name, kind in BLOCKS])
        self.has_logits = "fc.kernel" in weights
        if self.has_logits:
            self.fc = nnx.Param(jnp.asarray(weights["fc.kernel"], jnp.float32))

    def __call__(self, x: jax.Array) -> jax.Array:
        """(B, 299, 299, 3) inputs scaled to (x − 128) / 128 → (B, 2048) pool features."""
        if x.shape[1:] != (INPUT_SIZE, INPUT_SIZE, 3):
            raise ValueError(f"InceptionV3 expects (B, {INPUT_SIZE}, {INPUT_SIZE}, 3) inputs, got {x.shape}")
        s = self.stem
        x = s["Conv2d_2b_3x3"](s["Conv2d_2a_3x3"](s["Conv2d_1a_3x3"](x)))
        x = max_pool(x, stride=2)
        x = s["Conv2d_4a_3x3"](s["Conv2d_3b_1x1"](x))
        x = max_pool(x, stride=2)
        for block in self.blocks:
            x = block(x)
        return jnp.mean(x, axis=(1, 2))  # the graph's 8×8 average pool over the whole 8×8 map

    def logits(self, pool: jax.Array) -> jax.Array:
        """1,008-way IS logits from pool features: `pool @ W`, no bias (as the original IS code)."""
        if not self.has_logits:
            raise ValueError("these Inception weights have no 1,008-way classifier head (needed for IS)")
        return jnp.dot(pool, self.fc[...], precision=jax.lax.Precision.HIGHEST)


def make_forward(model: InceptionV3, with_logits: bool = False):
    """A jitted `f(images) -> (pool, logits | None)` on float images in [0, 255] of 299×299.

    The model is split once into graph and state so each call is a plain jitted function of arrays
    (no NNX graph traversal per batch); the (x − 128) / 128 scaling runs inside the compiled program.
    """
    graphdef, state = nnx.split(model)
    if with_logits and not model.has_logits:
        raise ValueError("these Inception weights have no 1,008-way classifier head (needed for IS)")

    @jax.jit
    def forward(state, images):
        net = nnx.merge(graphdef, state)
        pool = net((images.astype(jnp.float32) - 128.0) / 128.0)
        return pool, (net.logits(pool) if with_logits else None)

    return lambda images: forward(state, images)
