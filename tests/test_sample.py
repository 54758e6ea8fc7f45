"""The KV-cached guided sampler against the uncached reference, and the logit filters."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from vim import config as config_lib
from vim.data.text import PAD_ID
from vim.parti.model import Parti
from vim.parti.sample import empty_text, filter_logits, guide, sample_codes, sample_uncached, settings_arrays

TINY = config_lib.PartiConfig(
    width=32,
    encoder_layers=1,
    decoder_layers=2,
    heads=2,
    head_dim=16,
    mlp_dim=64,
    text_vocab_size=64,
    text_length=8,
    image_vocab_size=48,
    image_grid=4,
)


@pytest.fixture(scope="module")
def model():
    m = Parti(TINY, rngs=nnx.Rngs(3))
    # Sharper logits than the init so that greedy and sampled sequences are not all one code.
    m.logits.kernel[...] = m.logits.kernel[...] * 20
    return m


def texts(b: int = 3) -> jax.Array:
    rng = np.random.default_rng(0)
    ids = rng.integers(4, TINY.text_vocab_size, (b, TINY.text_length)).astype(np.int32)
    for i, length in enumerate([8, 5, 2][:b]):  # captions of different lengths in one batch
        ids[i, length:] = PAD_ID
    return jnp.asarray(ids)


def settings(**kw):
    return settings_arrays(config_lib.SampleConfig(**kw))


def test_cached_logits_equal_full_forward_at_every_step():
    model = Parti(TINY, rngs=nnx.Rngs(3))  # init-scale logits, so 1e-5 is well above float32 rounding
    text = texts()
    mask = text != PAD_ID
    codes = jax.random.randint(jax.random.key(1), (3, 16), 0, TINY.image_vocab_size)
    text_btd = nnx.jit(lambda m: m.encode_text(text, mask))(model)  # compiled, not op by op
    inputs = jnp.concatenate([jnp.full((3, 1), model.bos_id), codes[:, :-1]], axis=1)
    full = nnx.jit(lambda m: m.decode(text_btd, mask, inputs))(model)
    cache = model.init_cache(text_btd)
    decode_step = nnx.jit(lambda m, token, i, cache: m.decode_step(token, i, cache, mask))
    for i in range(16):
        step_logits, cache = decode_step(model, inputs[:, i], jnp.int32(i), cache)
        np.testing.assert_allclose(step_logits, full[:, i], atol=1e-5, rtol=0)


def test_greedy_cached_equals_greedy_uncached(model):
    seeds = jnp.arange(3, dtype=jnp.uint32)
    greedy = settings(temperature=0.0, cfg_scale=1.0)
    cached = sample_codes(model, texts(), seeds, greedy, guided=False)
    reference = sample_uncached(model, texts(), seeds, greedy)
    np.testing.assert_array_equal(cached, reference)
    assert len(np.unique(np.asarray(cached))) > 3  # a real sequence, not one repeated code


def test_guidance_scale_one_is_the_conditional_logits():
    cond, uncond = jax.random.normal(jax.random.key(0), (2, 5, 48))
    np.testing.assert_array_equal(guide(cond, uncond, 1.0), cond)
    np.testing.assert_allclose(guide(cond, uncond, 3.0), uncond + 3.0 * (cond - uncond), atol=1e-5)


def test_guided_sampling_at_scale_one_equals_unguided(model):
    seeds = jnp.arange(3, dtype=jnp.uint32) + 7
    a = sample_codes(model, texts(), seeds, settings(cfg_scale=1.0), guided=True)
    b = sample_codes(model, texts(), seeds, settings(cfg_scale=1.0), guided=False)
    np.testing.assert_array_equal(a, b)


def test_top_k_one_is_greedy(model):
    seeds = jnp.arange(3, dtype=jnp.uint32)
    top1 = sample_codes(model, texts(), seeds, settings(temperature=1.0, top_k=1, cfg_scale=2.0))
    greedy = sample_codes(model, texts(), seeds, settings(temperature=0.0, cfg_scale=2.0))
    np.testing.assert_array_equal(top1, greedy)


def test_top_p_keeps_the_smallest_prefix_reaching_p():
    probs = np.array([0.05, 0.4, 0.1, 0.3, 0.15])  # sorted: 0.4, 0.3, 0.15, 0.1, 0.05
    logits = jnp.log(jnp.asarray(probs))[None]
    kept = lambda p: set(np.flatnonzero(np.isfinite(np.asarray(filter_logits(logits, 0, p))[0])))  # noqa: E731
    assert kept(0.4) == {1}  # 0.4 already reaches 0.4
    assert kept(0.41) == {1, 3}
    assert kept(0.7) == {1, 3}  # 0.4 + 0.3 = 0.7
    assert kept(0.71) == {1, 3, 4}
    assert kept(0.99) == {0, 1, 2, 3, 4}
    assert kept(1.0) == {0, 1, 2, 3, 4}
    assert kept(0.0) == {1}  # the most likely code always survives
    assert set(np.flatnonzero(np.isfinite(np.asarray(filter_logits(logits, 2, 1.0))[0]))) == {1, 3}


def test_top_k_threshold_equals_the_sorted_rows_kth_value():
    rng = np.random.default_rng(0)
    filtered = jax.jit(filter_logits)  # as the sampler runs it: k and p traced, one compile per row width
    for trial in range(40):
        v = (7, 97)[trial % 2]  # two row widths: each new shape costs a compile, the contents are what vary
        logits = (rng.normal(size=(3, v)) * 4).astype(np.float32)
        if trial % 4 >= 2:
            logits = np.round(logits)  # ties at the threshold are kept
        logits[:, : v // 4] = -np.inf if trial % 3 == 0 else logits[:, : v // 4]
        k = int(rng.integers(1, v + 2))
        threshold = -np.sort(-logits, axis=-1)[:, min(k, v) - 1 : min(k, v)]
        expected = np.where(logits >= threshold, logits, -np.inf)
        np.testing.assert_array_equal(np.asarray(filtered(jnp.asarray(logits), k, 1.0)), expected)
    assert np.array_equal(np.asarray(filter_logits(jnp.asarray(logits), 0, 1.0)), logits)  # no filter: as given


def test_bf16_sampling_reads_bf16_weights_and_f32_is_untouched(model):
    from vim.parti.sample import weights_in_compute_dtype

    assert weights_in_compute_dtype(model) is model  # float32: the same model, the same codes
    bf16 = Parti(dataclasses.replace(TINY, compute_dtype="bfloat16"), rngs=nnx.Rngs(3))
    cast = weights_in_compute_dtype(bf16)
    assert cast.logits.kernel[...].dtype == jnp.bfloat16 and cast.decoder[0].ln1.scale[...].dtype == jnp.float32
    assert bf16.logits.kernel[...].dtype == jnp.float32  # the caller's model is not changed
    codes = sample_codes(bf16, texts(), jnp.array([1, 2, 3], jnp.uint32), settings(temperature=0.0, cfg_scale=3.0))
    assert codes.shape == (3, 16) and int(codes.min()) >= 0 and int(codes.max()) < TINY.image_vocab_size


def test_seeds_make_images_reproducible():
    model = Parti(TINY, rngs=nnx.Rngs(3))  # init-scale logits: draws are far from deterministic
    s = settings(temperature=1.0, cfg_scale=3.0, top_k=0, top_p=0.95)
    a = sample_codes(model, texts(), jnp.array([5, 6, 7], jnp.uint32), s)
    b = sample_codes(model, texts(), jnp.array([5, 6, 7], jnp.uint32), s)
    c = sample_codes(model, texts(), jnp.array([8, 9, 10], jnp.uint32), s)
    np.testing.assert_array_equal(a, b)
    assert all((np.asarray(a)[i] != np.asarray(c)[i]).any() for i in range(3))


def test_empty_text_is_eos_then_padding():
    ids = empty_text(6)
    assert ids[0] != PAD_ID and (ids[1:] == PAD_ID).all()


@pytest.mark.parametrize("scale", [0.5, 3.0])
def test_guided_greedy_cached_equals_uncached_forwards_with_the_guidance_formula(model, scale):
    seeds = jnp.arange(3, dtype=jnp.uint32)
    greedy = settings(temperature=0.0, cfg_scale=scale)
    cached = sample_codes(model, texts(), seeds, greedy, guided=True)
    reference = sample_uncached(model, texts(), seeds, greedy, guided=True)
    np.testing.assert_array_equal(cached, reference)
    # Guidance changed the decode: the test would not notice a sampler that ignored the scale.
    assert (np.asarray(cached) != np.asarray(sample_codes(model, texts(), seeds, greedy, guided=False))).any()


def test_guided_sampling_with_a_seed_equals_uncached_forwards_with_the_guidance_formula():
    model = Parti(TINY, rngs=nnx.Rngs(3))
    model.logits.kernel[...] = model.logits.kernel[...] * 3  # peaked, yet far from one-hot at scale 3
    seeds = jnp.array([11, 12, 13], jnp.uint32)
    drawn = settings(temperature=1.0, cfg_scale=3.0)
    cached = sample_codes(model, texts(), seeds, drawn, guided=True)
    reference = sample_uncached(model, texts(), seeds, drawn, guided=True)
    np.testing.assert_array_equal(cached, reference)
    greedy = sample_codes(model, texts(), seeds, settings(temperature=0.0, cfg_scale=3.0), guided=True)
    assert (np.asarray(cached) != np.asarray(greedy)).any()  # really sampled, not the argmax


def test_the_caption_dropped_in_training_is_the_unconditional_caption_of_sampling(model, monkeypatch):
    from vim.parti.train import PartiTask

    cfg = config_lib.Config()
    cfg.parti = dataclasses.replace(TINY, caption_dropout=1.0)
    dropped = np.asarray(PartiTask(cfg).drop_captions(texts(), jax.random.key(0)))
    encoded = []
    encode_text = Parti.encode_text

    def recording(self, ids_bt, mask_bt):
        encoded.append(np.asarray(ids_bt))
        return encode_text(self, ids_bt, mask_bt)

    monkeypatch.setattr(Parti, "encode_text", recording)
    sample_codes(model, texts(), jnp.arange(3, dtype=jnp.uint32), settings(cfg_scale=3.0), guided=True)
    (ids,) = encoded  # one encoder pass over the doubled batch: captions, then the unconditional rows
    np.testing.assert_array_equal(ids[:3], np.asarray(texts()))
    np.testing.assert_array_equal(ids[3:], dropped)


def views(b: int = 3) -> jax.Array:
    """[B, 2, T]: two different token rows per image, as `parti.text_views` feeds the sampler."""
    return jnp.stack([texts(b), jnp.roll(texts(b), 1, axis=0)], axis=1)


@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_product_of_experts_cached_equals_uncached_forwards_with_the_guidance_formula(model, temperature):
    seeds = jnp.array([21, 22, 23], jnp.uint32)
    s = settings(temperature=temperature, cfg_scale=2.0)
    cached = sample_codes(model, views(), seeds, s, guided=True)
    reference = sample_uncached(model, views(), seeds, s, guided=True)
    np.testing.assert_array_equal(cached, reference)
    # The second expert counts: the product differs from the first row alone, guided the same way.
    assert (np.asarray(cached) != np.asarray(sample_codes(model, texts(), seeds, s, guided=True))).any()
    unguided = sample_codes(model, views(), seeds, s, guided=False)
    np.testing.assert_array_equal(unguided, sample_uncached(model, views(), seeds, s, guided=False))


def infill_masks() -> np.ndarray:
    """[3, 16] masks of a 4×4 grid: a box in the middle, every row after the first (completion), none."""
    grid = np.zeros((3, 4, 4), bool)
    grid[0, 1:3, 1:3] = True
    grid[1, 1:] = True
    return grid.reshape(3, 16)


def test_infill_with_nothing_masked_returns_the_input_codes(model):
    codes = jax.random.randint(jax.random.key(4), (3, 16), 0, TINY.image_vocab_size)
    none = jnp.zeros((3, 16), bool)
    out = sample_codes(model, texts(), jnp.arange(3, dtype=jnp.uint32), settings(cfg_scale=2.0), infill=(codes, none))
    np.testing.assert_array_equal(out, codes)


def test_infill_with_everything_masked_is_ordinary_sampling(model):
    seeds, s = jnp.array([4, 5, 6], jnp.uint32), settings(temperature=1.0, cfg_scale=2.0)
    codes = jax.random.randint(jax.random.key(4), (3, 16), 0, TINY.image_vocab_size)
    out = sample_codes(model, texts(), seeds, s, infill=(codes, jnp.ones((3, 16), bool)))
    np.testing.assert_array_equal(out, sample_codes(model, texts(), seeds, s))


@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_infill_cached_equals_uncached_and_keeps_the_unmasked_tokens(model, temperature):
    seeds, s = jnp.array([7, 8, 9], jnp.uint32), settings(temperature=temperature, cfg_scale=2.0)
    codes = jax.random.randint(jax.random.key(5), (3, 16), 0, TINY.image_vocab_size)
    mask = jnp.asarray(infill_masks())
    cached = sample_codes(model, texts(), seeds, s, infill=(codes, mask))
    np.testing.assert_array_equal(cached, sample_uncached(model, texts(), seeds, s, guided=True, infill=(codes, mask)))
    np.testing.assert_array_equal(np.asarray(cached)[~infill_masks()], np.asarray(codes)[~infill_masks()])
    # The kept tokens steer the drawn ones: the masked tokens differ from an ordinary sample's.
    ordinary = np.asarray(sample_codes(model, texts(), seeds, s))
    assert (np.asarray(cached)[infill_masks()] != ordinary[infill_masks()]).any()


def test_a_cache_in_chunks_gives_the_logits_and_codes_of_a_whole_cache(model):
    """Chunks of 5 positions (5, 5, 5, 1 for 16 tokens): every step reads only the chunks up to its own,
    yet its logits are the full forward's, and the sampler (plain, guided, infill) draws the same codes."""
    text = texts()
    mask = text != PAD_ID
    codes = jax.random.randint(jax.random.key(1), (3, 16), 0, TINY.image_vocab_size)
    text_btd = nnx.jit(lambda m: m.encode_text(text, mask))(model)
    inputs = jnp.concatenate([jnp.full((3, 1), model.bos_id), codes[:, :-1]], axis=1)
    full = nnx.jit(lambda m: m.decode(text_btd, mask, inputs))(model)
    cache = model.init_cache(text_btd, chunk=5)
    assert [k.shape[2] for k in cache["self"][0]["k"]] == [5, 5, 5, 1]
    with pytest.raises(ValueError, match="needs the chunk that holds the index"):
        model.decode_step(inputs[:, 0], jnp.int32(0), cache, mask)
    decode_step = nnx.jit(
        lambda m, token, i, cache, chunk: m.decode_step(token, i, cache, mask, chunk), static_argnums=4
    )
    for i in range(16):
        step_logits, cache = decode_step(model, inputs[:, i], jnp.int32(i), cache, i // 5)
        np.testing.assert_allclose(step_logits, full[:, i], atol=1e-4, rtol=1e-5)  # logits ×20: f32 sums reordered
    seeds, s = jnp.array([7, 8, 9], jnp.uint32), settings(temperature=1.0, cfg_scale=2.0)
    infill = (codes, jnp.asarray(infill_masks()))
    for kw in ({}, {"infill": infill}):
        whole = sample_codes(model, text, seeds, s, **kw)
        np.testing.assert_array_equal(sample_codes(model, text, seeds, s, cache_chunk=5, **kw), whole)
