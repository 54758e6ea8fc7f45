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
from vim.world import classes, counts
from vim.world.dataset import make_example
from vim.world.scene import Scene

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
    cache, token, steps = model.init_cache(3, chunk=4), jnp.zeros(3, jnp.int32), []  # chunks of 4, 4, 1
    for i in range(9):
        logits, cache = model.decode_step(token, labels, jnp.int32(i), cache, chunk=i // 4)
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


def test_scene_counts_label_every_scene_and_read_back_from_pixels(small_cfg):
    cfg = dataclasses.replace(small_cfg)
    cfg.classgen = config_lib.ClassGenConfig(labels="shapes-count", num_classes=0)  # unconditional, for probes
    names = class_names(cfg)
    assert names == ["1 object", "2 objects", "3 objects"]
    seen_counts, seen_relations = set(), set()
    for i in range(40):
        example = make_example(cfg.data.world, "train", i)
        label, found = counts.label(example, names), counts.attributes(example)
        assert counts.read(example["image"], names) == label  # the parser counts the rendered objects
        assert (found["relation"] == 0) == (found["groups"] == 0 or example_relation(example) is None)
        seen_counts.add(label)
        seen_relations.add(found["relation"])
    assert seen_counts == {0, 1, 2} and len(seen_relations) >= 3
    assert counts.read(np.zeros((64, 64, 3), np.uint8), names) is None  # an empty picture has no class


def example_relation(example: dict) -> str | None:
    return Scene.from_json(example["scene"]).spec.relation


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

    generator = load_classgen(export_classgen(straight, tmp_path / "part", {"cfg_scale": 1.5, "temperature": 0.5}))
    assert (generator.cfg.sample.cfg_scale, generator.cfg.sample.temperature) == (1.5, 0.5)  # the recommendation
    assert generator.step == 4 and len(generator.classes) == 44
    sample = config_lib.SampleConfig(cfg_scale=1.5)
    out, images = evaluate(generator, 4, sample, fid=False)
    assert images.shape == (4, 64, 64, 3) and 0 <= out["read_back"]["class_accuracy"] <= 1
    assert out["read_back_real"]["class_accuracy"] == 1.0  # the reader's ceiling: rendered images read right
    with pytest.raises(ValueError, match="fewer than the 100000 asked for"):  # refused before drawing
        evaluate(generator, 100_000, sample, fid=False)
    assert 0 <= out["read_back_reconstructed"]["class_accuracy"] <= 1
    # Unconditional draws (the null class): the classes they are read as, against as many real images.
    out, _ = evaluate(generator, 4, sample, fid=False, unconditional=True)
    mix = out["read_distribution"]
    assert not out["conditional"] and "read_back" not in out
    assert sum(mix["samples"].values()) == pytest.approx(1.0) and mix["real"]["unreadable"] == 0.0
    assert 0.0 <= mix["total_variation"] <= 1.0

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


# ---------------------------------------------------------------------------------- the dataset's own labels

# A 16-px tokenizer and a classgen model small enough to compile and train a step in seconds.
TOKENIZER_16 = config_lib.TokenizerConfig(
    image_size=16, patch_size=4, width=32, encoder_layers=1, decoder_layers=1, heads=2, mlp_dim=64, codebook_size=32,
    code_dim=8,
)  # fmt: skip
SMALL_CLASSGEN = {
    "data.world.resolution": 16,
    "data.batch_size": 3,
    "classgen.labels": "",  # the dataset's own label feature
    "classgen.num_classes": 3,
    "classgen.max_examples": 0,
    "classgen.width": 32,
    "classgen.layers": 1,
    "classgen.heads": 2,
    "classgen.head_dim": 16,
    "classgen.mlp_dim": 64,
    "classgen.image_vocab_size": 32,
    "classgen.image_grid": 4,
    "train.num_steps": 1,
    "train.eval_every": 1,
    "train.eval_batches": 1,
    "train.progress": "false",
}


@pytest.fixture(scope="module")
def tokenizer_16(tmp_path_factory):
    """An exported tokenizer part (config.json + params.npz) of random 16-px weights: codes to train on."""
    from vim.tokenizer.model import ViTVQGAN
    from vim.training.weights import save_params

    part = tmp_path_factory.mktemp("tokenizer16")
    cfg = config_lib.Config(tokenizer=TOKENIZER_16)
    cfg.data.world.resolution = 16
    (part / "config.json").write_text(json.dumps(config_lib.to_dict(cfg)))
    save_params(nnx.to_pure_dict(nnx.state(ViTVQGAN(TOKENIZER_16, rngs=nnx.Rngs(0)))), part / "params.npz")
    return part


def vim_ok(capsys, *argv) -> str:
    """Run one `vim` command in this process; fail with its stderr unless it exits 0; its stdout."""
    from vim.cli import main

    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert code == 0, f"vim {' '.join(map(str, argv))} exited {code}:\n{err}"
    return out


def train_and_draw(capsys, tmp_path, tokenizer, dataset: list, class_name: str) -> list[str]:
    """`vim train-classgen` one step on `dataset`'s own labels, then `vim generate --class class_name`:
    the class names the run recorded."""
    sets = [arg for key, value in SMALL_CLASSGEN.items() for arg in ("--set", f"{key}={value}")]
    run = tmp_path / "run"
    vim_ok(capsys, "train-classgen", "--preset", "tiny", *dataset, *sets, "--tokenizer", tokenizer, "--workdir", run)
    vim_ok(capsys, "generate", "--class", class_name, "--checkpoint", run, "-n", "2", "-o", tmp_path / "out")
    drawn = sorted(p.name for p in (tmp_path / "out").glob("*.png"))
    assert drawn == [f"{class_name.replace(' ', '_')}_{seed}.png" for seed in (0, 1)]
    record = json.loads((tmp_path / "out" / drawn[0]).with_suffix(".json").read_text())
    classes = json.loads((run / "classes.json").read_text())
    assert record["class"] == class_name and record["class_id"] == classes.index(class_name)
    return classes


def test_class_folders_train_a_model_whose_classes_are_the_folder_names(tokenizer_16, tmp_path, capsys):
    from tests.test_import import class_folder_tree

    class_folder_tree(tmp_path / "pets", {"train": 2, "validation": 1})
    data = ["--data-dir", tmp_path / "data"]
    vim_ok(capsys, "data", "import", tmp_path / "pets", "--name", "pets", "--class-folders", "--resolution", 16, *data)
    dataset = [*data, "--set", "data.dataset=imported/pets"]
    assert train_and_draw(capsys, tmp_path, tokenizer_16, dataset, "dog") == ["cat", "dog", "fish"]


def tiny_catalog_builder(dataset_name: str, labels: list[str] | None):
    """A tfds builder `dataset_name` in imagenet2012's schema (JPEG `image`, ClassLabel `label`, `file_name`),
    or without its label (`labels` None); 6 train and 3 validation images of 20×24 pixels."""
    import io

    import tensorflow_datasets as tfds
    from PIL import Image

    features = {"image": tfds.features.Image(encoding_format="jpeg"), "file_name": tfds.features.Text()}
    if labels is not None:
        features["label"] = tfds.features.ClassLabel(names=labels)

    with tfds.core.registered.skip_registration():  # the catalog keeps its own builders

        class Builder(tfds.core.GeneratorBasedBuilder):
            name = dataset_name
            VERSION = tfds.core.Version("1.0.0")

            def _info(self):
                return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict(features))

            def _split_generators(self, dl_manager):
                return {"train": self._generate_examples("train", 6), "validation": self._generate_examples("val", 3)}

            def _generate_examples(self, split: str, n: int):
                rng = np.random.default_rng(n)
                for i in range(n):
                    jpeg = io.BytesIO()
                    Image.fromarray(rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)).save(jpeg, "JPEG")
                    example = {"image": jpeg.getvalue(), "file_name": f"{split}_{i}.JPEG"}
                    yield f"{split}_{i}", example if labels is None else {**example, "label": i % len(labels)}

    return Builder


def test_a_tfds_label_feature_names_the_classes(tokenizer_16, tmp_path, capsys):
    """A catalog dataset in imagenet2012's schema, prepared here (no download, no TensorFlow)."""
    names = ["tench", "goldfish", "great white shark"]
    builder = tiny_catalog_builder("tiny_imagenet", names)(data_dir=str(tmp_path / "tfds"), file_format="array_record")
    builder.download_and_prepare()
    dataset = ["--data-dir", tmp_path / "tfds", "--set", "data.dataset=tiny_imagenet"]
    assert train_and_draw(capsys, tmp_path, tokenizer_16, dataset, "great white shark") == names


def test_datasets_without_labels_are_refused_naming_what_they_have(tmp_path):
    from PIL import Image

    from vim.data.importer import import_folder

    cfg = config_lib.preset("tiny", "classgen")
    cfg.classgen = config_lib.ClassGenConfig(labels="", num_classes=3)
    cfg.data.data_dir = str(tmp_path / "tfds")
    tiny_catalog_builder("unlabeled", None)(
        data_dir=cfg.data.data_dir, file_format="array_record"
    ).download_and_prepare()
    cfg.data.dataset = "unlabeled"
    features = r"'unlabeled' has no 'label' feature; its features are \['file_name', 'image'\]"
    with pytest.raises(config_lib.ConfigError, match=features):
        class_names(cfg)
    (tmp_path / "photos").mkdir()
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(tmp_path / "photos" / "a.png")
    (tmp_path / "photos" / "captions.tsv").write_text("a.png\ta black square\n")
    import_folder(tmp_path / "photos", "photos", cfg.data.data_dir, resolution=16)
    cfg.data.dataset = "imported/photos"
    with pytest.raises(config_lib.ConfigError, match=r"no 'label' feature.*--class-folders.*registered label scheme"):
        class_names(cfg)


# ----------------------------------------------------------------------------------------------- vim plan


def test_plan_compiles_the_classgen_step_on_fake_devices():
    import subprocess
    import sys

    from tests.conftest import fake_devices_env

    small = {"width": 32, "layers": 1, "heads": 2, "head_dim": 16, "mlp_dim": 64, "image_vocab_size": 32}
    sets = [arg for key, value in small.items() for arg in ("--set", f"classgen.{key}={value}")]
    argv = ["plan", "--preset", "tiny", "--stage", "classgen", "--mesh", "2x2", "--batch", "8", *sets]
    out = subprocess.run(
        [sys.executable, "-m", "vim.cli", *argv], capture_output=True, text=True, env=fake_devices_env(4), timeout=600
    )
    assert out.returncode == 0, out.stderr[-3000:]
    plan = json.loads(out.stdout[out.stdout.index("{") :])
    cfg = config_lib.preset("tiny", "classgen")
    cfg.classgen = dataclasses.replace(cfg.classgen, **small)
    model = nnx.eval_shape(lambda: ClassGPT(cfg.classgen, rngs=nnx.Rngs(0)))
    assert plan["task"] == "ClassGenTask" and plan["devices"] == 4
    assert plan["parameters"] == sum(x.size for x in jax.tree.leaves(nnx.state(model)))
    assert plan["tokens_per_step"] == 8 * 64 and plan["flops_per_step"] > 0
    assert plan["per_device_gib"]["params"] < plan["parameters"] * 4 / 2**30  # split over fsdp × model


def test_plan_takes_the_stage_from_the_preset_and_refuses_the_other_one(capsys):
    from vim.cli import main

    assert config_lib.generator_stage("vim-large", None) == "classgen"
    assert config_lib.generator_stage("parti-350m", None) == config_lib.generator_stage("tiny", None) == "parti"
    assert config_lib.generator_stage("tiny", "classgen") == "classgen"
    assert main(["plan", "--preset", "vim-base", "--stage", "parti", "--mesh", "1x1"]) == 2
    assert "preset 'vim-base' is sized for classgen, not parti" in capsys.readouterr().err
    assert main(["plan", "--preset", "vim-large", "--auto", "--devices", "8", "--chip", "h100"]) == 2
    assert "--auto searches Parti's plans only" in capsys.readouterr().err
