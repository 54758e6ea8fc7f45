"""`vim data build emoji` end to end on a tiny package made here (no network): records, captions, labels, the
held-out (person, skin tone) split, license and source records, the integrity check and the npm errors."""

from __future__ import annotations

import io
import json
import os
import stat
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.test_architecture import VIM, imports_of
from vim.cli import main
from vim.config import DataConfig
from vim.data.locations import imported_dir
from vim.data.pipeline import open_split
from vim.data.text import MODEL_FILE, TextTokenizer
from vim.emoji.build import BACKGROUND, CAPTIONS_PER_IMAGE, emoji_image, heldout_pairs
from vim.emoji.names import code_points, label_images, spoken, toned_name, with_article
from vim.emoji.source import (
    EmojiSourceError,
    IntegrityError,
    check_integrity,
    fetch_package,
    integrity_of,
    license_text,
    read_package,
)

TONES = ("1f3fb", "1f3fc", "1f3fd", "1f3fe", "1f3ff")
ASTRONAUT = ["1f9d1-200d-1f680", *(f"1f9d1-{t}-200d-1f680" for t in TONES)]
WAVING = ["1f44b", *(f"1f44b-{t}" for t in TONES)]
OTHERS = [
    "1f34c",  # banana
    "1f1fa-1f1f8",  # flag: United States
    "0023-fe0f-20e3",  # keycap: #, kept ...
    "23-fe0f-20e3",  # ... over this other spelling of it
    "1f3f4-e0067_e0062_e0065_e006e_e0067",  # flag: England, its cancel tag left off as the package does
    "00e9",  # not in the table: named by unicodedata
    "e000",  # private use: no name, skipped
]
LICENSE = "MIT License\n\nCopyright (c) Microsoft Corporation.\n\nPermission is hereby granted...\n"


def rgba(seed: int) -> Image.Image:
    """16×16, transparent but for a colored 8×8 middle."""
    pixels = np.zeros((16, 16, 4), np.uint8)
    pixels[4:12, 4:12] = [40 + 13 * seed % 200, 200 - 7 * seed % 180, 90, 255]
    return Image.fromarray(pixels, "RGBA")


def image_bytes(seed: int, fmt: str) -> bytes:
    out = io.BytesIO()
    rgba(seed).save(out, fmt, lossless=True) if fmt == "WEBP" else rgba(seed).save(out, fmt)
    return out.getvalue()


def package_files(with_license: bool = True) -> dict[str, bytes]:
    files = {
        "package/package.json": json.dumps(
            {"name": "@lobehub/fluent-emoji-3d", "version": "1.1.0", "license": "MIT"}
        ).encode(),
        "package/README.md": b"#### License\n\nCopyright \xc2\xa9 2023 [LobeHub][profile-url]. <br />\n",
    }
    if with_license:
        files["package/LICENSE"] = LICENSE.encode()
    for i, stem in enumerate(ASTRONAUT + WAVING + OTHERS):
        fmt = "PNG" if i % 3 == 0 else "WEBP"
        files[f"package/assets/{stem}.{fmt.lower()}"] = image_bytes(i, fmt)
    files["package/assets/not-hex.webp"] = image_bytes(99, "WEBP")
    files["package/assets/1f600.webp"] = b"RIFF not really a webp"
    return files


def write_tarball(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def tarball(tmp_path) -> Path:
    return write_tarball(tmp_path / "lobehub-fluent-emoji-3d-1.1.0.tgz", package_files())


def records(data_dir: Path, split: str) -> list[dict]:
    source = open_split(DataConfig(dataset="imported/emoji", data_dir=str(data_dir)), split)
    return [source[i] for i in range(len(source))]


def test_build_from_a_tarball_writes_captioned_labelled_splits_and_records_beside_them(tarball, tmp_path, capsys):
    data = tmp_path / "data"
    assert main(["data", "build", "emoji", "--from", str(tarball), "--data-dir", str(data), "--workers", "2"]) == 0
    out = capsys.readouterr().out
    assert "is not the pinned @lobehub/fluent-emoji-3d@1.1.0" in out  # a made-up tarball: built, but said
    assert "emoji: 15 images of 21 files" in out
    assert "skipped 6" in out and "no name" in out and "another file of the same emoji" in out
    assert "not in Microsoft's Fluent Emoji release" in out  # the two flags
    assert "not a readable image" in out and "not a sequence of hexadecimal code points" in out

    train, validation, test = (records(data, s) for s in ("train", "validation", "test"))
    labels = {s: [json.loads(r["scene"]) for r in rs] for s, rs in (("train", train), ("test", test))}
    labels["validation"] = [json.loads(r["scene"]) for r in validation]
    assert len(test) == 1 and bool(test[0]["heldout"])  # 2 persons: one loses one skin tone
    held = labels["test"][0]
    assert held["person"] in ("1f9d1-200d-1f680", "1f44b") and held["skin_tone"] is not None
    seen = {lab["file"] for lab in labels["train"] + labels["validation"]}
    assert held["file"] not in seen and len(seen) == 14  # the two flags are left out
    assert not any(bool(r["heldout"]) for r in train + validation)
    assert len(train) == CAPTIONS_PER_IMAGE * 14 and 1 <= len(validation) <= 2
    assert {lab["file"] for lab in labels["validation"]} <= {lab["file"] for lab in labels["train"]}

    image = test[0]["image"]
    assert image.shape == (64, 64, 3) and image.dtype == np.uint8
    assert tuple(image[0, 0]) == BACKGROUND  # transparent corners composited onto the background

    by_file = {lab["file"]: (lab, r["caption"].decode()) for lab, r in zip(labels["train"], train, strict=True)}
    banana, _ = by_file["1f34c"]
    assert (banana["name"], banana["group"], banana["subgroup"], banana["person"]) == (
        "banana",
        "food-drink",
        "food-fruit",
        None,
    )
    captions = {r["caption"].decode() for r in train}
    assert "a 3D emoji of a banana" in captions and "flag" not in " ".join(captions)  # not Microsoft's release
    assert "a 3D emoji of a latin small letter e with acute" in captions
    medium = next(lab for lab in labels["train"] + labels["test"] if lab["file"] == "1f9d1-1f3fd-200d-1f680")
    assert medium["name"] == "astronaut: medium skin tone" and medium["skin_tone"] == "medium"
    assert medium["person"] == "1f9d1-200d-1f680" and medium["base_name"] == "astronaut"
    assert test[0]["caption"].decode().startswith("a 3D emoji of a")
    assert test[0]["caption"].decode().endswith(f"with {held['skin_tone']} skin tone")
    validation_captions = {r["caption"].decode() for r in validation}
    assert not validation_captions & captions  # other wordings

    folder = imported_dir("emoji", data)
    assert (folder / "LICENSE").read_text() == LICENSE
    source = json.loads((folder / "source.json").read_text())
    assert source["integrity"] == integrity_of(tarball) and source["pinned"]["matches"] is False
    assert (source["package"], source["version"], source["resolution"]) == ("@lobehub/fluent-emoji-3d", "1.1.0", 64)
    evals = json.loads((folder / "eval_captions.json").read_text())
    assert next(e for e in evals if e["kind"] == "heldout")["caption"] == test[0]["caption"].decode()
    assert {e["kind"] for e in evals} == {"heldout", "seen_tone", "seen"}
    assert TextTokenizer(folder / MODEL_FILE).vocab_size > 4
    report = json.loads((folder / "report.json").read_text())
    assert report["images"] == {"train": 14, "validation": len(validation), "test": 1}

    again = ["data", "build", "emoji", "--from", str(tarball), "--data-dir", str(data)]
    assert main(again) == 0
    assert "already built" in capsys.readouterr().out
    assert main([*again, "--set", "data.world.resolution=128"]) == 2
    assert "delete that folder to rebuild" in capsys.readouterr().err


def test_a_folder_is_read_like_the_tarball_and_a_missing_license_is_written_from_the_package(tmp_path):
    for name, data in package_files(with_license=False).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    package = read_package(tmp_path)
    assert package.integrity is None and len(package.images) == 21
    assert read_package(tmp_path / "package").images == package.images
    text = license_text(package)
    assert "ships no LICENSE file" in text and "Copyright (c) Microsoft Corporation." in text
    assert "Copyright © 2023 LobeHub." in text and "Permission is hereby granted, free of charge" in text
    with pytest.raises(EmojiSourceError, match="no assets/ folder"):
        read_package(tmp_path / "package" / "assets")
    (tmp_path / "bad.tgz").write_bytes(b"not a tarball")
    with pytest.raises(EmojiSourceError, match="not a readable tarball"):
        read_package(tmp_path / "bad.tgz")


def test_resolution_outside_64_to_256_is_refused(tarball, tmp_path, capsys):
    args = ["data", "build", "emoji", "--from", str(tarball), "--data-dir", str(tmp_path)]
    assert main([*args, "--set", "data.world.resolution=32"]) == 2
    assert "data.world.resolution=32" in capsys.readouterr().err
    assert not (tmp_path / "imported_captions").exists()


def test_integrity_check_refuses_another_digest_and_names_both(tarball):
    right = integrity_of(tarball)
    assert check_integrity(tarball, right) == right
    wrong = "sha512-" + "A" * 86 + "=="
    with pytest.raises(IntegrityError) as e:
        check_integrity(tarball, wrong)
    assert right in str(e.value) and wrong in str(e.value)


def fake_npm(folder: Path, script: str) -> str:
    folder.mkdir()
    npm = folder / "npm"
    npm.write_text("#!/bin/sh\n" + script)
    npm.chmod(npm.stat().st_mode | stat.S_IXUSR)
    return f"{folder}{os.pathsep}{os.environ['PATH']}"  # first on PATH


def test_npm_pack_is_checked_against_the_pinned_integrity(tarball, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", fake_npm(tmp_path / "bin", f"cp {tarball} ./fetched.tgz\n"))
    work = tmp_path / "work"
    work.mkdir()
    assert fetch_package(work, expected=integrity_of(tarball)) == work / "fetched.tgz"
    (work / "fetched.tgz").unlink()
    data = tmp_path / "data"
    assert main(["data", "build", "emoji", "--data-dir", str(data)]) == 2  # the pinned digest is not the fixture's
    err = capsys.readouterr().err
    assert integrity_of(tarball) in err and "sha512-Wlq2lVStTnr8BDpIJ0pEnTKO4LuDxxqTEhTvRtD1" in err
    assert not data.exists()


def test_without_npm_or_network_the_error_names_from(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert main(["data", "build", "emoji", "--data-dir", str(tmp_path / "data")]) == 2
    err = capsys.readouterr().err
    assert "npm is not installed" in err and "--from PATH" in err
    monkeypatch.setenv("PATH", fake_npm(tmp_path / "bin", "echo 'npm error network ENOTFOUND' >&2\nexit 1\n"))
    with pytest.raises(EmojiSourceError, match=r"(?s)failed with exit code 1: npm error network ENOTFOUND.*--from"):
        fetch_package(tmp_path)


def test_names_labels_and_the_heldout_choice():
    labels, skipped = label_images([*ASTRONAUT, *WAVING, "1f469-1f3fe-200d-1f680", "1f469-200d-1f680", "1f3c3"])
    assert skipped == []
    woman = labels["1f469-1f3fe-200d-1f680"]
    assert (woman.name, woman.skin_tone, woman.gender, woman.emoji) == (
        "woman astronaut: medium-dark skin tone",
        "medium-dark",
        "woman",
        "👩🏾‍🚀",
    )
    assert labels["1f3c3"].person is None  # no skin-toned image of it here
    assert labels["1f44b"].person == "1f44b" and labels["1f44b"].skin_tone is None
    assert (
        toned_name("couple with heart: man, man", ["light", "light"]) == "couple with heart: man, man, light skin tone"
    )
    assert with_article(spoken("flag: Japan")) == "the flag of Japan"
    assert spoken("family: man, woman, boy") == "family of man, woman and boy"
    assert spoken("woman: red hair") == "woman with red hair"
    assert code_points("1f3f4-e0067_e0062_e0073_e0063_e0074")[-1] == 0xE007F
    pairs = heldout_pairs(labels)
    assert len(pairs) == 1 and pairs == heldout_pairs(labels)  # ceil(2 persons with several tones / 5), seeded
    ((person, tone),) = pairs.items()
    assert person in ("1f9d1-200d-1f680", "1f44b") and tone == "light"  # the first held out gets the first tone


def test_emoji_image_composites_pads_and_resizes():
    wide = io.BytesIO()
    Image.new("RGBA", (40, 20), (255, 0, 0, 255)).save(wide, "PNG")
    out = emoji_image(wide.getvalue(), 64)
    assert out.shape == (64, 64, 3) and tuple(out[0, 0]) == BACKGROUND and tuple(out[32, 32]) == (255, 0, 0)
    with pytest.raises(ValueError, match="not a readable image"):
        emoji_image(b"nope", 64)


def test_no_module_outside_the_emoji_package_imports_it():
    """Generic code finds the builder through its entry point ("vim.builders" in pyproject.toml), never by name."""
    leaks = [
        str(path.relative_to(VIM.parent))
        for path in sorted(VIM.rglob("*.py"))
        if "emoji" not in path.relative_to(VIM).parts[:1]
        and any(name == "vim.emoji" or name.startswith("vim.emoji.") for name in imports_of(path))
    ]
    assert leaks == []


def test_emoji_labels_in_the_scene_field_give_no_world_negative():
    from vim.world.negatives import negative_captions, world_scene

    labels = json.dumps({"name": "cat face", "group": "Animals & Nature"}).encode()
    example = {"scene": labels, "caption": b"a cat face", "image": np.zeros((8, 8, 3), np.uint8)}
    assert world_scene(example) is None
    assert negative_captions(example, np.random.default_rng(0), (), 3, color_swap=True) == (None, None)


def test_the_tone_classifier_reads_skin_color_wherever_it_is_and_ignores_the_background():
    from vim.emoji.evaluate import ToneClassifier, tone_features
    from vim.emoji.names import TONE_ORDER

    skins = [(250, 220, 190), (225, 185, 150), (190, 140, 100), (140, 95, 60), (90, 60, 40)]
    rng = np.random.default_rng(0)

    def person(tone: int) -> np.ndarray:  # a skin patch of random size and place, a random shirt, background
        image = np.full((16, 16, 3), BACKGROUND, np.uint8)
        y, x, side = *rng.integers(0, 8, 2), rng.integers(4, 9)
        image[y : y + side, x : x + side] = skins[tone]
        image[12:, :8] = rng.integers(0, 256, 3)
        return image

    tones = [t for t in range(5) for _ in range(12)]
    classifier = ToneClassifier.fit(np.stack([person(t) for t in tones]), [TONE_ORDER[t] for t in tones])
    assert classifier.predict(np.stack([person(t) for t in range(5)])) == list(TONE_ORDER)
    empty = tone_features(np.full((1, 16, 16, 3), BACKGROUND, np.uint8))
    assert not empty.any()  # only background: no color counted
