"""The class-conditional image Transformer (vim/classgen): tiny random models and a few training steps on
the small world's lone-object scenes."""

import dataclasses
import json
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from vim import config as config_lib
from vim.classgen.data import CLASSES_FILE, class_names, encode_split, resolve_class
from vim.classgen.model import ClassGPT
from vim.classgen.probe import linear_probe
from vim.classgen.sample import sample_codes, sample_uncached
from vim.parti.sample import settings_arrays
from vim.world import classes
from vim.world.dataset import make_example

TINY = config_lib.ClassGenConfig(
    width=32, layers=2, heads=2, head_dim=16, mlp_dim=64, image_vocab_size=32, image_grid=3, num_classes=5
)


def test_cached_steps_and_sampler_equal_the_full_forward():
    model = ClassGPT(TINY, rngs=nnx.Rngs(0))
    labels = jnp.array([0, 3, TINY.num_classes])  # the last one: the null class
    codes = jax.random.randint(jax.random.key(1), (3, 9), 0, TINY.image_vocab_size)
    full = model(labels, codes)
    cache, token, steps = model.init_cache(3), jnp.zeros(3, jnp.int32), []
    for i in range(9):
        logits, cache = model.decode_step(token, labels, jnp.int32(i), cache)
        steps.append(logits)
        token = codes[:, i]
    np.testing.assert_allclose(np.stack(steps, 1), full, atol=1e-5)
    seeds = jnp.arange(3, dtype=jnp.uint32)
    for guided in (False, True):
        settings = settings_arrays(config_lib.SampleConfig(cfg_scale=2.0))
        cached = sample_codes(model, labels, seeds, settings, guided=guided)
        np.testing.assert_array_equal(cached, sample_uncached(model, labels, seeds, settings, guided=guided))


def test_the_class_is_the_first_input_and_nothing_sees_ahead():
    model = ClassGPT(TINY, rngs=nnx.Rngs(0))
    codes = jnp.zeros((1, 9), jnp.int32)
    a, b = model(jnp.array([1]), codes), model(jnp.array([2]), codes)
    assert not np.allclose(a[:, 0], b[:, 0])  # the class decides the first token
    changed = codes.at[0, 4].set(7)
    np.testing.assert_allclose(model(jnp.array([1]), changed)[:, :5], a[:, :5], atol=1e-6)


def test_world_classes_read_back_from_rendered_lone_objects(small_cfg):
    cfg = dataclasses.replace(small_cfg)
    cfg.data = dataclasses.replace(small_cfg.data, world=dataclasses.replace(small_cfg.data.world, max_objects=1))
    cfg.classgen = config_lib.ClassGenConfig(labels="shapes-color-shape", num_classes=44)
    names = class_names(cfg)
    assert len(names) == 44 and "red star" not in names  # held-out pairs are no class
    for i in range(6):
        example = make_example(cfg.data.world, "train", i)
        assert classes.read(example["image"], names) == classes.label(example, names)
    assert resolve_class("Red Circle", names) == names.index("red circle") and resolve_class("3", names) == 3
    with pytest.raises(ValueError, match=r"unknown class 'mauve blob'.*'red circle'"):
        resolve_class("mauve blob", names)
    cfg.classgen.num_classes = 10
    with pytest.raises(config_lib.ConfigError, match="num_classes=44"):
        class_names(cfg)


def test_linear_probe_separates_separable_classes():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 90)
    x = np.eye(3)[y] * 3 + rng.normal(size=(90, 3)) * 0.1
    assert linear_probe(x[:60], y[:60], x[60:], y[60:], steps=30, lr=0.3)["test_top1"] == 1.0


def test_train_resume_generate_and_probe(small_cfg, trained_run, tmp_path):
    from vim.classgen.evaluate import evaluate
    from vim.classgen.infer import export_classgen, load_classgen
    from vim.classgen.probe import probe
    from vim.classgen.train import ClassGenTask, train_and_evaluate
    from vim.training.checkpoint import restore_latest
    from vim.training.weights import flatten

    cfg = dataclasses.replace(small_cfg)
    cfg.classgen = dataclasses.replace(
        TINY, layers=1, image_grid=8, num_classes=44, labels="shapes-color-shape", max_examples=0
    )
    train = dict(warmup_steps=1, checkpoint_every=2, eval_every=4, eval_batches=1, progress=False)
    cfg.train = config_lib.TrainConfig(num_steps=4, **train)
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    train_and_evaluate(cfg, straight, trained_run)
    train_and_evaluate(cfg, resumed, trained_run, stop_at=2)
    train_and_evaluate(cfg, resumed, trained_run)
    task = ClassGenTask(cfg)
    (a, step_a), (b, step_b) = (restore_latest(d, task) for d in (straight, resumed))
    assert step_a == step_b == 4
    for k, v in flatten(a["params"]).items():
        np.testing.assert_array_equal(np.asarray(v), np.asarray(flatten(b["params"])[k]), err_msg=k)

    generator = load_classgen(export_classgen(straight, tmp_path / "part"))
    assert generator.step == 4 and len(generator.classes) == 44
    sample = config_lib.SampleConfig(cfg_scale=1.5)
    out, images = evaluate(generator, 4, sample, fid=False)
    assert images.shape == (4, 64, 64, 3) and 0 <= out["read_back"]["class_accuracy"] <= 1
    assert out["read_back_real"]["class_accuracy"] == 1.0  # the reader's ceiling: rendered images read right
    assert 0 <= out["read_back_reconstructed"]["class_accuracy"] <= 1

    # A run given another run's codes still names its classes; a run without the names is refused.
    copied = tmp_path / "copied"
    shutil.copytree(straight / "codes", copied / "codes")
    encode_split(cfg, None, json.loads((straight / "codes" / "train.json").read_text())["tokenizer"], copied, "train")
    assert json.loads((copied / CLASSES_FILE).read_text()) == generator.classes
    (straight / CLASSES_FILE).unlink()
    with pytest.raises(FileNotFoundError, match=r"classes\.json"):
        load_classgen(straight)
    table = probe(generator, n_train=8, n_test=4, layer=1)
    assert set(table["table"]) == {"class", "shape", "color", "size", "region"}
    assert set(table["table"]["shape"]) == {"layer 1", "tokenizer", "pixels"}
