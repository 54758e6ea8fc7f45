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
