"""`vim data import`: a folder of good, odd and broken images becomes a tfds dataset; nothing stops it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image

from vim.data.importer import BadImageError, ImportFolderError, import_folder, load_image
from vim.data.locations import imported_dir

RNG = np.random.default_rng(0)


def noise(h: int, w: int, channels: int = 3) -> np.ndarray:
    return RNG.integers(0, 256, (h, w, channels), dtype=np.uint8)


def truncated(path: Path, fmt: str) -> None:
    """A valid image of noise (so there is plenty of pixel data) cut in half."""
    Image.fromarray(noise(64, 64)).save(path, fmt)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def write_jsonl(path: Path, rows: list) -> None:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")


@pytest.fixture
def messy_folder(tmp_path) -> Path:
    d = tmp_path / "photos"
    (d / "sub").mkdir(parents=True)
    truncated(d / "trunc.png", "PNG")  # first train entry: fails during pass 1's full decode
    Image.fromarray(noise(30, 40)).save(d / "good.jpg", "JPEG")
    Image.fromarray(noise(50, 20)).save(d / "sub" / "good.png", "PNG")
    (d / "bad.png").write_text("this is not an image\n")
    Image.new("CMYK", (24, 24), (0, 255, 255, 0)).save(d / "cmyk.jpg", "JPEG")  # cyan-free = red
    Image.fromarray(np.full((20, 20), 65535, np.uint16)).save(d / "gray16.png", "PNG")
    Image.fromarray(noise(20, 20, 1)[..., 0], "L").save(d / "gray.png", "PNG")
    Image.fromarray(noise(20, 20, 4), "RGBA").save(d / "rgba.png", "PNG")
    Image.fromarray(noise(20, 20)).convert("P").save(d / "palette.png", "PNG")
    Image.fromarray(noise(300, 300)).save(d / "huge.png", "PNG")  # 90,000 px > max_pixels 50,000
    truncated(d / "trunc.jpg", "JPEG")  # later train entry: fails inside the tfds generator
    write_jsonl(
        d / "captions.jsonl",
        [
            {"file": "trunc.png", "caption": "half a png"},
            {"file": "good.jpg", "caption": "a good jpeg"},
            {"file": "sub/good.png", "caption": "a good png", "split": "train"},
            {"file": "bad.png", "caption": "text pretending", "split": "test"},  # test split: none valid
            {"file": "cmyk.jpg", "caption": "a cmyk jpeg"},
            {"file": "gray16.png", "caption": "a 16-bit gray png"},
            {"file": "gray.png", "caption": "an 8-bit gray png", "split": "validation"},
            {"file": "rgba.png", "caption": "an rgba png"},
            {"file": "palette.png", "caption": "a palette png"},
            {"file": "huge.png", "caption": "a huge png"},
            {"file": "nowhere.jpg", "caption": "a missing file"},
            {"file": "good.jpg", "caption": "   "},
            "{not json",
            {"file": "good.jpg", "caption": "wrong split", "split": "dev"},
            {"file": "trunc.jpg", "caption": "half a jpeg"},
        ],
    )
    return d


def skip_reason(report, what: str) -> str:
    reasons = [reason for w, reason in report.skipped if w == what]
    assert len(reasons) == 1, (what, report.skipped)
    return reasons[0]


def test_messy_folder_imports_every_convertible_image(messy_folder, tmp_path):
    report = import_folder(messy_folder, "photos", tmp_path / "data", resolution=32, max_pixels=50_000)

    assert report.output == imported_dir("photos", tmp_path / "data")
    assert report.imported == 7
    assert report.splits == {"train": 6, "validation": 1}  # "test" had no valid file: not declared
    assert report.converted == {
        "cmyk->rgb": 1,
        "16-bit->8-bit": 1,
        "grayscale->rgb": 1,
        "rgba->rgb (composited on white)": 1,
        "palette->rgb": 1,
    }
    assert "truncat" in skip_reason(report, "trunc.png")
    assert "truncat" in skip_reason(report, "trunc.jpg")
    assert "not an image" in skip_reason(report, "bad.png")
    assert "too large" in skip_reason(report, "huge.png")
    assert "not found" in skip_reason(report, "nowhere.jpg")
    assert "empty caption" in skip_reason(report, "good.jpg")
    assert "JSON" in skip_reason(report, "captions line 13")
    assert "unknown split" in skip_reason(report, "captions line 14")
    assert len(report.skipped) == 8
    summary = report.summary()
    assert "imported 7" in summary and "huge.png: too large" in summary

    builder = tfds.builder_from_directory(str(report.output))
    assert set(builder.info.splits.keys()) == {"train", "validation"}
    train = builder.as_data_source("train")
    assert len(train) == 6
    by_caption = {train[i]["caption"].decode(): train[i] for i in range(len(train))}
    assert set(by_caption) == {
        "a good jpeg",
        "a good png",
        "a cmyk jpeg",
        "a 16-bit gray png",
        "an rgba png",
        "a palette png",
    }
    for ex in by_caption.values():
        assert ex["image"].shape == (32, 32, 3) and ex["image"].dtype == np.uint8
        assert ex["scene"] == b"" and not bool(ex["heldout"])
    assert np.all(by_caption["a 16-bit gray png"]["image"] == 255)
    red = by_caption["a cmyk jpeg"]["image"].reshape(-1, 3).mean(0)
    assert red[0] > 200 and red[1] < 60 and red[2] < 60
    validation = builder.as_data_source("validation")
    assert len(validation) == 1 and validation[0]["caption"] == b"an 8-bit gray png"

    with pytest.raises(ImportFolderError, match="already exists"):
        import_folder(messy_folder, "photos", tmp_path / "data", resolution=32, max_pixels=50_000)


def test_tsv_captions_with_header_and_splits(tmp_path):
    d = tmp_path / "tsv"
    d.mkdir()
    for name in ("a.png", "b.png", "c.png"):
        Image.fromarray(noise(16, 24)).save(d / name)
    (d / "captions.tsv").write_text(
        "file\tcaption\n"
        "a.png\ta first picture\n"
        "b.png\ta second picture\ttest\n"
        "c.png\n"  # one field: malformed
        "c.png\ta third picture\ttrain\n"
        "c.png\tthe third picture, again\n"  # a second caption for the same image
    )
    report = import_folder(d, "tsv-set_1", tmp_path / "data", resolution=8)
    assert report.imported == 4 and report.splits == {"train": 3, "test": 1}
    assert [w for w, _ in report.skipped] == ["captions line 4"]
    train = tfds.builder_from_directory(str(report.output)).as_data_source("train")
    captions = {train[i]["caption"].decode() for i in range(len(train))}
    assert captions == {"a first picture", "a third picture", "the third picture, again"}
    assert train[0]["image"].shape == (8, 8, 3)


def test_explicit_captions_path(tmp_path):
    d = tmp_path / "imgs"
    d.mkdir()
    Image.fromarray(noise(10, 10)).save(d / "x.png")
    caps = tmp_path / "elsewhere.jsonl"
    write_jsonl(caps, [{"file": "x.png", "caption": "elsewhere"}])
    report = import_folder(d, "explicit", tmp_path / "data", resolution=8, captions=caps)
    assert report.imported == 1 and report.skipped == []


def test_folder_errors(tmp_path):
    d = tmp_path / "empty"
    d.mkdir()
    with pytest.raises(ImportFolderError, match=r"captions\.jsonl or captions\.tsv"):
        import_folder(d, "x", tmp_path / "data")
    with pytest.raises(ImportFolderError, match="invalid dataset name"):
        import_folder(d, "no spaces/allowed", tmp_path / "data")
    (d / "bad.png").write_text("nope")
    rows = [{"file": "bad.png", "caption": "bad"}, {"file": "gone.png", "caption": "g"}]
    write_jsonl(d / "captions.jsonl", rows)
    with pytest.raises(ImportFolderError, match="no usable images") as err:
        import_folder(d, "allbad", tmp_path / "data")
    assert "not an image" in str(err.value) and "not found" in str(err.value)
    assert not imported_dir("allbad", tmp_path / "data").exists()


@pytest.mark.parametrize(("value", "expected"), [(65535, 255), (32768, 128), (0, 0), (257 * 100, 100)])
def test_16bit_scales_by_value_range(tmp_path, value, expected):
    path = tmp_path / "g16.png"
    Image.fromarray(np.full((12, 12), value, np.uint16)).save(path)
    image, note = load_image(path, 8, 10_000)
    assert note == "16-bit->8-bit" and image.shape == (8, 8, 3)
    assert np.all(image == expected)


def test_32bit_integer_image_with_16bit_values(tmp_path):
    path = tmp_path / "g32.tif"
    Image.fromarray(np.full((12, 12), 32768, np.int32)).save(path)
    with Image.open(path) as im:
        assert im.mode == "I"
    image, note = load_image(path, 8, 10_000)
    assert note == "16-bit->8-bit" and np.all(image == 128)


def test_transparent_pixels_become_white_and_exif_rotation_applies(tmp_path):
    Image.new("RGBA", (10, 10), (0, 0, 0, 0)).save(tmp_path / "clear.png")
    image, note = load_image(tmp_path / "clear.png", 4, 10_000)
    assert note == "rgba->rgb (composited on white)" and np.all(image == 255)

    # 40 wide × 20 tall, red left half and blue right half; EXIF 6 = display rotated 90° clockwise.
    a = np.zeros((20, 40, 3), np.uint8)
    a[:, :20, 0] = 255
    a[:, 20:, 2] = 255
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(a).save(tmp_path / "rotated.png", exif=exif)
    image, _ = load_image(tmp_path / "rotated.png", 20, 10_000)
    # Upright it is 20 wide × 40 tall, red on top: the center crop is red above blue.
    assert image[2, :, 0].min() > 200 and image[-3, :, 2].min() > 200


def test_import_metrics_and_reconstruct_read_files_with_one_loader(tmp_path):
    """An EXIF-rotated file with transparent pixels is upright and composited on white for all three readers,
    and a bad file's error names it in all three."""
    from vim.metrics.images import load_image as load_for_metrics
    from vim.tokenizer.infer import load_square

    a = np.zeros((20, 40, 4), np.uint8)  # 40 wide × 20 tall: red left half, clear right half
    a[:, :20] = (255, 0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 6  # displayed rotated 90° clockwise: upright it is red on top, white below
    Image.fromarray(a, "RGBA").save(tmp_path / "rotated.png", exif=exif)
    imported, _ = load_image(tmp_path / "rotated.png", 20, 10_000)
    for image in (imported, load_square(tmp_path / "rotated.png", 20), load_for_metrics(tmp_path / "rotated.png")):
        assert image.shape[1:] == (20, 3)  # upright: 20 wide
        assert np.all(image[1] == (255, 0, 0)) and np.all(image[-2] == 255), image[[1, -2]]
    (tmp_path / "bad.png").write_text("not an image")
    for read in (lambda p: load_image(p, 8, 10_000), lambda p: load_square(p, 8), load_for_metrics):
        with pytest.raises(BadImageError, match=r"could not read bad\.png as an image: not an image"):
            read(tmp_path / "bad.png")


def test_size_is_checked_before_decoding(tmp_path):
    path = tmp_path / "big.png"
    Image.fromarray(noise(100, 100)).save(path)
    data = path.read_bytes()
    path.write_bytes(data[:100])  # header intact, pixels gone: the size check must not need them
    with pytest.raises(BadImageError, match="too large"):
        load_image(path, 8, 5_000)
    with pytest.raises(BadImageError, match="truncat"):
        load_image(path, 8, 50_000)
    (tmp_path / "zero.png").write_bytes(b"")
    with pytest.raises(BadImageError, match="not an image"):
        load_image(tmp_path / "zero.png", 8, 50_000)


CLASS_COLORS = {"cat": (200, 60, 40), "dog": (40, 160, 60), "fish": (30, 60, 200)}


def class_folder_tree(root: Path, per_split: dict[str, int], classes: dict = CLASS_COLORS) -> Path:
    """An ImageFolder tree root/<split>/<class>/<k>.png of 16×16 PNGs, each class its own color with noise."""
    for split, count in per_split.items():
        for name, color in classes.items():
            (root / split / name).mkdir(parents=True)
            for k in range(count):
                pixels = np.clip(np.array(color) + RNG.normal(0, 10, (16, 16, 3)), 0, 255).astype(np.uint8)
                Image.fromarray(pixels).save(root / split / name / f"{k}.png")
    return root


def test_class_folders_become_a_labeled_dataset_named_by_its_folders(tmp_path):
    root = class_folder_tree(tmp_path / "pets", {"train": 2, "val": 1})
    (root / "train" / "dog" / "breed").mkdir()  # images at any depth under a class folder are that class's
    Image.fromarray(noise(20, 30)).save(root / "train" / "dog" / "breed" / "deep.png")
    (root / "train" / "cat" / "notes.txt").write_text("not an image")
    (root / "train" / "stray.png").write_bytes((root / "train" / "cat" / "0.png").read_bytes())
    report = import_folder(root, "pets", tmp_path / "data", resolution=16, class_folders=True)
    assert report.splits == {"train": 7, "validation": 3}  # ImageNet's "val" is vim's validation split
    assert "not an image" in skip_reason(report, "train/cat/notes.txt")
    assert "not in a class folder" in skip_reason(report, "train/stray.png")
    builder = tfds.builder_from_directory(str(report.output))
    assert builder.info.features["label"].names == ["cat", "dog", "fish"]
    train = builder.as_data_source("train")
    for ex in (train[i] for i in range(len(train))):
        name = ex["caption"].decode()  # the caption is the class's name
        assert name == ["cat", "dog", "fish"][ex["label"]] and ex["image"].shape == (16, 16, 3)
        if name != "dog":  # the deep one is noise
            assert np.abs(ex["image"].reshape(-1, 3).mean(0) - CLASS_COLORS[name]).max() < 20

    flat = tmp_path / "flat"  # no split folders: every class folder goes to train
    for name in ("b", "a"):
        (flat / name).mkdir(parents=True)
        Image.fromarray(noise(16, 16)).save(flat / name / "x.png")
    report = import_folder(flat, "flat", tmp_path / "data", resolution=8, class_folders=True)
    assert report.splits == {"train": 2}
    assert tfds.builder_from_directory(str(report.output)).info.features["label"].names == ["a", "b"]


def test_a_folder_without_class_folders_is_refused_with_the_layout(tmp_path):
    loose = tmp_path / "loose"
    loose.mkdir()
    Image.fromarray(noise(16, 16)).save(loose / "a.png")
    with pytest.raises(ImportFolderError, match=r"no class folders in .*loose.*DIR/<class>/<image>"):
        import_folder(loose, "loose", tmp_path / "data", class_folders=True)
    (loose / "train").mkdir()
    (loose / "holiday").mkdir()
    with pytest.raises(ImportFolderError, match=r"split folders \(train\) and other folders \(holiday\)"):
        import_folder(loose, "mixed", tmp_path / "data", class_folders=True)
    with pytest.raises(ImportFolderError, match="--captions and --class-folders"):
        import_folder(loose, "both", tmp_path / "data", captions=loose / "a.png", class_folders=True)
    assert not (tmp_path / "data").exists()
