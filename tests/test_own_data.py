"""A researcher's own data, end to end: a tfds catalog dataset in coco_captions' schema, and a folder of
photos taken through every command from `vim data import` to `vim generate`, `vim demo` and `vim fid`."""

import importlib.util
import io
import json
import sys

import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image

from vim.cli import main

# Small enough that each model compiles and trains one step in seconds; 32×32 images, 4×4 codes.
SMALL = {
    "data.world.resolution": 32,
    "data.batch_size": 4,
    "tokenizer.image_size": 32,
    "tokenizer.width": 32,
    "tokenizer.encoder_layers": 1,
    "tokenizer.decoder_layers": 1,
    "tokenizer.heads": 2,
    "tokenizer.mlp_dim": 64,
    "tokenizer.codebook_size": 32,
    "tokenizer.code_dim": 8,
    "parti.width": 32,
    "parti.encoder_layers": 1,
    "parti.decoder_layers": 1,
    "parti.heads": 2,
    "parti.head_dim": 16,
    "parti.mlp_dim": 64,
    "parti.image_vocab_size": 32,
    "parti.image_grid": 4,
    "train.num_steps": 1,
    "train.eval_every": 1,
    "train.eval_batches": 1,
    "train.progress": "false",
}


def small_args(**extra: object) -> list[str]:
    return [arg for key, value in {**SMALL, **extra}.items() for arg in ("--set", f"{key}={value}")]


def vim(capsys, *argv: str) -> str:
    """Run one `vim` command in this process; fail with its stderr unless it exits 0; return its stdout."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert code == 0, f"vim {' '.join(map(str, argv))} exited {code}:\n{err}"
    return out


def procedural_jpeg(rng: np.random.Generator, height: int, width: int, gray: bool = False) -> bytes:
    """A smooth two-color gradient with noise, JPEG-encoded (a photo's statistics, roughly)."""
    t = np.linspace(0.0, 1.0, width)[None, :, None]
    a, b = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    pixels = a * (1 - t) + b * t + rng.normal(0, 12, (height, width, 3))
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    buffer = io.BytesIO()
    (image.convert("L") if gray else image).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


with tfds.core.registered.skip_registration():  # the catalog's own coco_captions stays registered

    class CocoCaptions(tfds.core.GeneratorBasedBuilder):
        """coco_captions' features, config and splits, on images made here (the real one downloads COCO)."""

        VERSION = tfds.core.Version("1.1.0")
        BUILDER_CONFIGS = [tfds.core.BuilderConfig(name="2014")]  # noqa: RUF012 (tfds's class attribute)
        SIZES = {"train": 12, "val": 4, "test": 4}  # noqa: RUF012

        def _info(self) -> tfds.core.DatasetInfo:
            return tfds.core.DatasetInfo(
                builder=self,
                features=tfds.features.FeaturesDict(
                    {
                        "image": tfds.features.Image(encoding_format="jpeg"),
                        "image/filename": tfds.features.Text(),
                        "image/id": np.int64,
                        "captions": tfds.features.Sequence({"id": np.int64, "text": tfds.features.Text()}),
                    }
                ),
            )

        def _split_generators(self, dl_manager):
            return {split: self._generate_examples(split, n) for split, n in self.SIZES.items()}

        def _generate_examples(self, split: str, n: int):
            rng = np.random.default_rng(len(split))
            for i in range(n):
                image_id = 1000 * len(split) + i
                # COCO holds non-square and some grayscale JPEGs; the first caption is the one vim reads.
                yield (
                    image_id,
                    {
                        "image": procedural_jpeg(rng, 40 + 8 * (i % 3), 56, gray=i == 1),
                        "image/filename": f"COCO_{split}_{image_id:012d}.jpg",
                        "image/id": image_id,
                        "captions": [
                            {"id": 2 * image_id, "text": f"a {split} gradient number {i}"},
                            {"id": 2 * image_id + 1, "text": f"another caption of picture {i}"},
                        ],
                    },
                )


@pytest.mark.slow
def test_coco_captions_schema_trains_both_models_without_tensorflow(tmp_path, capsys):
    """Image features are written (from JPEG bytes) and read (PIL/OpenCV) by tfds without TensorFlow;
    the catalog's coco_captions code, which does import TensorFlow, is never constructed."""
    assert importlib.util.find_spec("tensorflow") is None, "this test must run where TensorFlow is not installed"
    data_dir = tmp_path / "tfds"
    CocoCaptions(data_dir=str(data_dir), file_format="array_record").download_and_prepare()
    assert (data_dir / "coco_captions" / "2014" / "1.1.0" / "dataset_info.json").is_file()
    dataset = ["--data-dir", data_dir, "--set", "data.dataset=coco_captions"]

    out = vim(capsys, "data", "text-tokenizer", "--preset", "tiny", *dataset)
    assert (data_dir / "coco_captions" / "text_tokenizer.model").is_file(), out
    tok, parti = tmp_path / "tok", tmp_path / "parti"
    result = json.loads(vim(capsys, "train-tokenizer", "--preset", "tiny", *dataset, *small_args(), "--workdir", tok))
    assert result["step"] == 1 and np.isfinite(result["psnr"])
    vim(capsys, "encode-dataset", "--tokenizer", tok)
    encoded = json.loads((tok / "encoded" / "encoded_captions" / "1.0.0" / "dataset_info.json").read_text())
    sizes = {s["name"]: int(s["shardLengths"][0]) for s in encoded["splits"]}
    assert sizes == {"train": 12, "validation": 4, "test": 4}  # coco's "val" is read as vim's validation split
    result = json.loads(
        vim(capsys, "train-parti", "--preset", "tiny", *dataset, *small_args(), "--tokenizer", tok, "--workdir", parti)
    )
    assert result["step"] == 1 and np.isfinite(result["nll_per_token"])
    assert "tensorflow" not in sys.modules


def test_unreadable_catalog_datasets_say_why(tmp_path):
    from vim.config import DataConfig
    from vim.data.pipeline import DatasetNotReadyError, open_split

    CocoCaptions(data_dir=str(tmp_path), file_format="array_record").download_and_prepare()
    with pytest.raises(ValueError, match=r"no split 'restval'.*\['test', 'train', 'val'\]"):
        open_split(DataConfig(dataset="coco_captions", data_dir=str(tmp_path)), "restval")
    with pytest.raises(DatasetNotReadyError, match=r"not prepared under .*--file_format=array_record"):
        open_split(DataConfig(dataset="coco_captions", data_dir=str(tmp_path / "elsewhere")), "train")


PHOTOS = {  # scikit-image's bundled photos (no download) and what they show
    "astronaut": "an astronaut in a white suit",
    "chelsea": "a ginger cat",
    "coffee": "a cup of coffee",
    "rocket": "a rocket on its launch pad",
    "hubble_deep_field": "galaxies in deep space",
    "retina": "the back of an eye",
    "immunohistochemistry": "stained tissue under a microscope",
    "motorcycle": "a motorcycle in a workshop",
}
CROPS = {  # (top, left, bottom, right) as fractions of the photo
    "top left": (0.0, 0.0, 0.5, 0.5),
    "top right": (0.0, 0.5, 0.5, 1.0),
    "bottom left": (0.5, 0.0, 1.0, 0.5),
    "bottom right": (0.5, 0.5, 1.0, 1.0),
    "center": (0.25, 0.25, 0.75, 0.75),
    "top half": (0.0, 0.0, 0.5, 1.0),
    "whole": (0.0, 0.0, 1.0, 1.0),  # validation
    "bottom half": (0.5, 0.0, 1.0, 1.0),  # test
}


def photo_folder(root):
    """64 captioned crops of 8 photos (48 train, 8 validation, 8 test) with captions.jsonl, as a user has them."""
    skimage_data = pytest.importorskip("skimage.data")
    root.mkdir()
    lines = []
    for name, subject in PHOTOS.items():
        photo = skimage_data.stereo_motorcycle()[0] if name == "motorcycle" else getattr(skimage_data, name)()
        h, w = photo.shape[:2]
        for k, (where, (top, left, bottom, right)) in enumerate(CROPS.items()):
            crop = photo[int(top * h) : int(bottom * h), int(left * w) : int(right * w)]
            file = f"{name}_{k}.{'jpg' if k % 2 else 'png'}"
            Image.fromarray(crop).save(root / file)
            split = {6: "validation", 7: "test"}.get(k, "train")
            lines.append(json.dumps({"file": file, "caption": f"{subject}, {where}", "split": split}))
    (root / "captions.jsonl").write_text("\n".join(lines) + "\n")
    return root


def test_own_images_through_every_command(tmp_path, capsys):
    """import → text tokenizer → train-tokenizer → encode-dataset → train-parti → export → generate, demo, fid."""
    from vim.bundle import load_bundle
    from vim.demo.app import Demo, build_app

    photos = photo_folder(tmp_path / "photos")
    data = ["--data-dir", tmp_path / "data", "--set", "data.dataset=imported/photos"]
    tok, parti, bundle, out = (tmp_path / name for name in ("tok", "parti", "bundle", "out"))

    report = vim(
        capsys, "data", "import", photos, "--name", "photos", "--resolution", 32, "--data-dir", tmp_path / "data"
    )
    assert "imported 64 images (train 48, validation 8, test 8)" in report and "skipped nothing" in report
    vim(capsys, "data", "text-tokenizer", "--preset", "tiny", *data)
    result = json.loads(vim(capsys, "train-tokenizer", "--preset", "tiny", *data, *small_args(), "--workdir", tok))
    assert result["step"] == 1 and np.isfinite(result["psnr"])
    assert "codes cached at" in vim(capsys, "encode-dataset", "--tokenizer", tok)
    result = json.loads(
        vim(capsys, "train-parti", "--preset", "tiny", *data, *small_args(), "--tokenizer", tok, "--workdir", parti)
    )
    assert result["step"] == 1 and np.isfinite(result["nll_per_token"])
    assert "bundle written to" in vim(capsys, "export", "--tokenizer", tok, "--parti", parti, "-o", bundle)

    prompt = "a ginger cat, center"
    vim(capsys, "generate", prompt, "-n", 4, "--batch-size", 4, "--checkpoint", bundle, "-o", out, "--seed", 3)
    drawn = sorted(out.glob("*.png"))
    assert len(drawn) == 4
    for path in drawn:
        with Image.open(path) as im:
            assert im.size == (32, 32)
        assert json.loads(path.with_suffix(".json").read_text())["prompt"] == prompt

    demo = Demo(load_bundle(bundle), batch_size=4)  # what `vim demo --checkpoint` loads, short of serving it
    assert demo.image_size == 32 and not demo.checks_faithfulness  # the shapes parser does not judge photos
    build_app(demo).close()

    # 12 photos keep it quick; batch 4 is the Inception program test_metrics and test_clean_fid_parity compile
    fid = json.loads(vim(capsys, "fid", out, photos, "-n", 12, "--batch-size", 4))
    assert [item["n"] for item in fid["inputs"]] == [4, 12]
    assert np.isfinite(fid["value"]) and fid["value"] > 0


def test_a_split_smaller_than_one_batch_is_refused():
    from vim.config import tiny
    from vim.data.pipeline import batch_iterator

    cfg = tiny()
    cfg.data.batch_size = 16
    with pytest.raises(ValueError, match=r"8 examples holds no full batch of data\.batch_size=16"):
        batch_iterator(list(range(8)), [], cfg, process_index=0, process_count=1)
    assert len(next(batch_iterator(list(range(8)), [], cfg, drop_remainder=False, process_index=0, process_count=1)))


def test_jax_narration_stays_off_the_terminal_unless_verbose():
    """`Unable to initialize backend 'tpu'` and JAX's other INFO lines appear under -v only."""
    import subprocess

    code = "import sys; from vim.cli import setup_logging; setup_logging(sys.argv[1] == 'v'); import jax; jax.devices()"
    runs = {
        flag: subprocess.run([sys.executable, "-c", code, flag], capture_output=True, text=True, timeout=120)
        for flag in ("quiet", "v")
    }
    for run in runs.values():
        assert run.returncode == 0, run.stderr
    assert " jax." in runs["v"].stderr  # JAX does narrate its backend search: -v shows it
    assert " jax." not in runs["quiet"].stderr and "Unable to initialize backend" not in runs["quiet"].stderr
