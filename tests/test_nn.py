"""vim/nn.py: the shared matmul (custom weight-gradient rule) and attention equal JAX's own."""

from __future__ import annotations

import dataclasses
import importlib
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from vim import config as config_lib
from vim.nn import attention, attention_bhtk, layer_norm, matmul, row_major_dot_general


@pytest.mark.parametrize("x_shape", [(6, 5), (2, 3, 5)])
def test_matmul_value_and_gradients_equal_jnp_dot(x_shape):
    kx, kw, kg = jax.random.split(jax.random.key(0), 3)
    x, w = jax.random.normal(kx, x_shape), jax.random.normal(kw, (5, 4))
    g = jax.random.normal(kg, (*x_shape[:-1], 4))
    ours, ours_vjp = jax.vjp(matmul, x, w)
    ref, ref_vjp = jax.vjp(jnp.dot, x, w)
    np.testing.assert_allclose(ours, ref, rtol=1e-6)
    for a, b in zip(ours_vjp(g), ref_vjp(g), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_matmul_with_several_output_dims_equals_einsum():
    """A fused kernel [D, n, H·K] is contracted unmerged (so a sharded H·K stays sharded)."""
    kx, kw, kg = jax.random.split(jax.random.key(0), 3)
    x, w, g = jax.random.normal(kx, (2, 3, 5)), jax.random.normal(kw, (5, 3, 4)), jax.random.normal(kg, (2, 3, 3, 4))
    ours, ours_vjp = jax.vjp(matmul, x, w)
    ref, ref_vjp = jax.vjp(lambda x, w: jnp.einsum("bsd,dni->bsni", x, w), x, w)
    np.testing.assert_allclose(ours, ref, rtol=1e-6)
    for a, b in zip(ours_vjp(g), ref_vjp(g), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_linear_with_row_major_dot_general_equals_the_default_linear():
    default = nnx.Linear(5, 3, rngs=nnx.Rngs(0))
    ours = nnx.Linear(5, 3, dot_general=row_major_dot_general, rngs=nnx.Rngs(0))
    x = jax.random.normal(jax.random.key(1), (2, 4, 5))

    def grads(layer):
        return nnx.grad(lambda m: jnp.sum(jnp.sin(m(x))))(layer)

    np.testing.assert_allclose(ours(x), default(x), rtol=1e-6)
    np.testing.assert_allclose(grads(ours).kernel[...], grads(default).kernel[...], rtol=1e-5, atol=1e-6)


def test_row_major_dot_general_refuses_other_contractions():
    x, w = jnp.ones((3, 4)), jnp.ones((3, 5))
    with pytest.raises(ValueError, match="handles x @ w only"):
        row_major_dot_general(x, w, (((0,), (0,)), ((), ())))


def test_attention_equals_jax_dot_product_attention_with_and_without_mask():
    kq, kk, kv = jax.random.split(jax.random.key(2), 3)
    q = jax.random.normal(kq, (2, 5, 3, 4))  # [B, T, H, K]
    k, v = jax.random.normal(kk, (2, 7, 3, 4)), jax.random.normal(kv, (2, 7, 3, 4))
    mask = jnp.arange(7)[None, None, None, :] < jnp.array([7, 2])[:, None, None, None]  # 2nd example: 2 keys
    np.testing.assert_allclose(attention(q, k, v), jax.nn.dot_product_attention(q, k, v), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        attention(q, k, v, mask), jax.nn.dot_product_attention(q, k, v, mask=mask), rtol=1e-5, atol=1e-6
    )
    # Masked keys get no weight: changing them changes nothing.
    v2 = v.at[1, 2:].set(100.0)
    np.testing.assert_allclose(attention(q, k, v2, mask)[1], attention(q, k, v, mask)[1], rtol=1e-6)


def test_attention_gradients_equal_those_of_jax_dot_product_attention():
    kq, kk, kv, kg = jax.random.split(jax.random.key(3), 4)
    q = jax.random.normal(kq, (2, 5, 3, 4))
    k, v = jax.random.normal(kk, (2, 7, 3, 4)), jax.random.normal(kv, (2, 7, 3, 4))
    causal = jnp.tril(jnp.ones((5, 7), bool), k=2)[None, None]
    mask = causal & (jnp.arange(7) < jnp.array([7, 4])[:, None])[:, None, None]  # 2nd example: 4 keys
    g = jax.random.normal(kg, q.shape)
    _, ours = jax.vjp(lambda q, k, v: attention(q, k, v, mask), q, k, v)
    _, reference = jax.vjp(lambda q, k, v: jax.nn.dot_product_attention(q, k, v, mask=mask), q, k, v)
    for got, want in zip(ours(g), reference(g), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_the_library_path_parti_takes_on_gpus_equals_the_written_path():
    kq, kk, kv, kg = jax.random.split(jax.random.key(4), 4)
    q = jax.random.normal(kq, (2, 3, 5, 4))  # heads-major [B, H, T, K]
    k, v = jax.random.normal(kk, (2, 3, 7, 4)), jax.random.normal(kv, (2, 3, 7, 4))
    causal = jnp.tril(jnp.ones((5, 7), bool), k=2)[None, None]
    mask = causal & (jnp.arange(7) < jnp.array([7, 4])[:, None])[:, None, None]  # 2nd example: 4 keys
    g = jax.random.normal(kg, q.shape)
    outs = {}
    for impl in ("written", "library"):
        out, vjp = jax.vjp(lambda q, k, v, impl=impl: attention_bhtk(q, k, v, mask, implementation=impl), q, k, v)
        outs[impl] = (out, *vjp(g))
    for got, want in zip(outs["library"], outs["written"], strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="choose one of"):
        attention_bhtk(q, k, v, mask, implementation="flash")


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
def test_layer_norm_value_and_gradients_equal_autodiff_of_the_formula(dtype):
    def reference(x, scale, bias):
        x32 = x.astype(jnp.float32)
        mean = x32.mean(-1, keepdims=True)
        var = jnp.square(x32 - mean).mean(-1, keepdims=True)
        return ((x32 - mean) * jax.lax.rsqrt(var + 1e-6) * scale + bias).astype(x.dtype)

    k = jax.random.split(jax.random.key(0), 4)
    x = (jax.random.normal(k[0], (3, 5, 32)) * 3 + 1).astype(dtype)
    scale, bias = jax.random.normal(k[1], (32,)), jax.random.normal(k[2], (32,))
    g = jax.random.normal(k[3], x.shape).astype(dtype)
    out, vjp = jax.vjp(layer_norm, x, scale, bias)
    ref_out, ref_vjp = jax.vjp(reference, x, scale, bias)
    tol = 1e-5 if dtype == jnp.float32 else 2e-2
    np.testing.assert_allclose(np.float32(out), np.float32(ref_out), atol=tol, rtol=tol)
    assert out.dtype == dtype
    for got, want in zip(vjp(g), ref_vjp(g), strict=True):
        assert got.dtype == want.dtype
        np.testing.assert_allclose(np.float32(got), np.float32(want), atol=tol * 10, rtol=tol)


@pytest.mark.parametrize(
    ("module", "section", "field"),
    [("vim.parti.model:Parti", "parti", "parti.compute_dtype"),
     ("vim.tokenizer.model:ViTVQGAN", "tokenizer", "tokenizer.compute_dtype")],
)  # fmt: skip
def test_an_unknown_compute_dtype_fails_instead_of_training_in_float32(module, section, field):
    path, name = module.split(":")
    cls = getattr(importlib.import_module(path), name)
    cfg = getattr(config_lib.preset("tiny"), section)
    with pytest.raises(ValueError, match=re.escape(f"{field}='bf16' is not a compute dtype")):
        nnx.eval_shape(lambda: cls(dataclasses.replace(cfg, compute_dtype="bf16"), rngs=nnx.Rngs(0)))
    nnx.eval_shape(lambda: cls(dataclasses.replace(cfg, compute_dtype="bfloat16"), rngs=nnx.Rngs(0)))  # known: fine


_NO_MESH = """
import jax, jax.numpy as jnp
from flax import nnx
from vim.config import MeshConfig, PartiConfig
from vim.parti.model import Parti
from vim.sharding import make_mesh
cfg = PartiConfig(width=32, encoder_layers=1, decoder_layers=1, heads=2, head_dim=16, mlp_dim=64,
                  text_vocab_size=64, text_length=8, image_vocab_size=48, image_grid=2)
model = Parti(cfg, rngs=nnx.Rngs(0))
ids, codes = jnp.ones((2, 8), jnp.int32), jnp.ones((2, 4), jnp.int32)
with jax.set_mesh(make_mesh(MeshConfig(data=-1))):
    print("with a mesh:", model(ids, ids > 0, codes).shape)
try:
    model(ids, ids > 0, codes)
except RuntimeError as e:
    print("without:", e)
"""


def test_a_missing_mesh_fails_on_several_devices_and_is_harmless_on_one():
    import subprocess
    import sys

    from tests.conftest import fake_devices_env

    out = subprocess.run([sys.executable, "-c", _NO_MESH], capture_output=True, text=True, env=fake_devices_env(2))
    assert "with a mesh: (2, 4, 48)" in out.stdout, out.stderr[-2000:]
    assert "without: vim.sharding.constrain" in out.stdout and "outside jax.set_mesh on 2 devices" in out.stdout
    from vim.sharding import constrain

    x = jnp.ones((2, 3))
    assert constrain(x, ("batch", None)) is x  # one device, no mesh: nothing to shard
