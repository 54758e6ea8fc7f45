"""Hostile and careless input: torn logs, unbounded sizes, damaged files, writes cut short."""

from __future__ import annotations

import errno
import io
import json
import logging
import pickle
import re
import struct
import time
import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from vim.bundle import DEFAULT_BUNDLE
from vim.cli import main
from vim.config import SampleConfig
from vim.generate import write_images
from vim.training.writer import MetricWriter, read_metrics


def test_a_torn_last_metrics_line_is_dropped_with_a_warning_and_the_run_resumes(tmp_path, caplog):
    good = [{"step": 100, "loss": 1.5}, {"step": 110, "loss": 1.4}, {"step": 120, "loss": 1.3}]
    torn = '{"step": 121, "loss": 1.23'  # what a full disk or a power cut leaves
    log = tmp_path / "metrics.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in good) + torn)
    with caplog.at_level(logging.WARNING):
        assert read_metrics(tmp_path) == good
        writer = MetricWriter(tmp_path, resume_step=120)
    writer.scalars(130, {"loss": 1.2})
    writer.close()
    assert read_metrics(tmp_path) == [*good, {"step": 130, "loss": 1.2}]
    assert f"{log}, line 4: dropped (not JSON" in caplog.text and '"step": 121' in caplog.text, caplog.text


# ------------------------------------------------------------------------------------- sizes and seeds


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["-n", "100000"], "-n must be 1..1024, got 100000"),
        (["--candidates", "1000000"], "--candidates must be 0..1024, got 1000000"),
        (["--batch-size", "0"], "--batch-size must be 1..1024, got 0"),
        (["--batch-size", "-3"], "--batch-size must be 1..1024, got -3"),
        (["--top-k", "99999999999"], "--top-k must be 0..2147483647, got 99999999999"),
        (["--seed", "-1"], "--seed must be 0..4294967295"),
        (["--seed", "4294967296"], "--seed must be 0..4294967295"),
        (["--seed", "4294967295", "-n", "2"], "here up to seed + 1"),  # the second image's seed would wrap
    ],
)
def test_generate_refuses_sizes_and_seeds_out_of_range_naming_the_flag(tmp_path, capsys, flags, message):
    """Checked before the bundle loads: a bundle that does not exist is not the error reported."""
    out = tmp_path / "out"
    assert main(["generate", "a red circle", *flags, "--checkpoint", "/nowhere", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vim: error: ") and message in err, err
    assert not out.exists()


def test_a_prompt_file_is_bounded_in_lines_and_bytes(tmp_path, capsys, monkeypatch):
    from vim import generate

    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a red circle\n" * 11)
    monkeypatch.setattr(generate, "MAX_PROMPTS", 10)
    assert main(["generate", "--file", str(prompts), "--checkpoint", "/nowhere"]) == 2
    assert f"vim: error: --file {prompts}: 11 prompts; the limit is 10 per command" in capsys.readouterr().err
    monkeypatch.setattr(generate, "MAX_PROMPT_FILE_BYTES", 100)
    assert main(["generate", "--file", str(prompts), "--checkpoint", "/nowhere"]) == 2
    assert f"vim: error: --file {prompts}: over 100 bytes" in capsys.readouterr().err


def test_seeds_out_of_uint32_are_refused_by_the_generator_itself():
    """Callers other than the CLI (evaluations, P2 runs) get a ValueError, not numpy's OverflowError."""
    from vim.generate import Generator

    stand_in = SimpleNamespace()
    for seeds in ([-1], [2**32]):
        with pytest.raises(ValueError, match=r"seeds must be 0\.\.4294967295"):
            Generator.__call__(stand_in, ["a red circle"], seeds, SampleConfig())


# ------------------------------------------------------------------------------------ atomic writes


def test_a_full_disk_leaves_no_truncated_image_under_its_final_name(tmp_path, monkeypatch):
    """`vim generate`'s writer with a stand-in model; the second PNG's save fails halfway (what ENOSPC
    does): the first image and its sidecar are whole, the second's final name never appears, no temporary
    is left behind."""

    def generator(prompts, seeds, sample, infill=None):
        return {"images": np.zeros((len(prompts), 8, 8, 3), np.uint8), "truncated": np.zeros(len(prompts), bool)}

    generator.bundle = SimpleNamespace(path=tmp_path / "bundle")
    real_save = Image.Image.save
    saves = []

    def full_disk_on_the_second(self, fp, *args, **kwargs):
        real_save(self, fp, *args, **kwargs)
        saves.append(fp)
        if len(saves) == 2:
            with open(fp, "r+b") as f:
                f.truncate(10)
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", full_disk_on_the_second)
    out = tmp_path / "out"
    with pytest.raises(OSError, match="No space left"):
        write_images(out, ["a red circle"], 2, 0, SampleConfig(), generator, progress=False)
    assert sorted(p.name for p in out.iterdir()) == ["0000_00_seed0.json", "0000_00_seed0.png"]
    with Image.open(out / "0000_00_seed0.png") as im:
        assert im.size == (8, 8)


# ------------------------------------------------------------------------------- damaged bundle files


def bundle_with(tmp_path: Path, replaced: dict[str, bytes]) -> Path:
    """The bundled checkpoint's tokenizer, generator and text model as links, with the files in `replaced`
    (path in the bundle → bytes) written instead."""
    bundle = tmp_path / "bundle"
    for part in ("tokenizer", "parti"):
        (bundle / part).mkdir(parents=True)
        for file in (DEFAULT_BUNDLE / part).iterdir():
            (bundle / part / file.name).symlink_to(file)
    for file in ("card.json", "text_tokenizer.model"):
        (bundle / file).symlink_to(DEFAULT_BUNDLE / file)
    for name, content in replaced.items():
        (bundle / name).unlink()
        (bundle / name).write_bytes(content)
    return bundle


DEEP = b"[" * 100_000 + b"]" * 100_000  # valid JSON that Python's parser cannot hold on its stack


@pytest.mark.parametrize(
    ("file", "content", "message"),
    [
        ("card.json", DEEP, "card.json: JSON nested too deeply"),
        ("parti/config.json", DEEP, "parti/config.json: JSON nested too deeply"),
        ("card.json", b'{"tokenizer": ', "card.json: not valid JSON: Expecting value (line 1, column 15)"),
        ("parti/config.json", b"[1, 2]", "parti/config.json: expected a JSON object"),
        ("text_tokenizer.model", b"", "text_tokenizer.model: not a SentencePiece model"),
        ("text_tokenizer.model", b"\x00garbage" * 100, "text_tokenizer.model: not a SentencePiece model"),
    ],
    ids=["deep-card", "deep-config", "torn-card", "config-list", "empty-text-model", "garbage-text-model"],
)
def test_a_damaged_bundle_file_is_named_in_the_error(tmp_path, capsys, file, content, message):
    bundle = bundle_with(tmp_path, {file: content})
    assert main(["generate", "a red circle", "-n", "1", "--checkpoint", str(bundle), "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vim: error: ") and f"{bundle}/{message}" in err, err


# ---------------------------------------------------------------------------------- damaged LPIPS files


def test_damaged_or_crafted_lpips_weights_are_refused_naming_the_file(tmp_path):
    from vim.metrics.lpips_weights import find_lpips_weights

    arrays = pickle.dumps({"VGG16_0": {"Conv_0": {"kernel": np.zeros((3, 3, 3, 64), np.float32)}}}, protocol=4)
    cases = {
        "garbage.ckpt": b"this is not a pickle at all",
        "empty.ckpt": b"",
        "torn.ckpt": arrays[: len(arrays) // 2],
        # BINBYTES8 announcing 1 TiB: read straight from the file, the length would be allocated first
        "huge.ckpt": b"\x80\x04\x8e" + struct.pack("<Q", 2**40) + b"xx",
        "code.ckpt": pickle.dumps(SimpleNamespace(a=1)),  # a global outside numpy: refused as before
    }
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ValueError, match=f"^{re.escape(str(tmp_path / name))}"):
            find_lpips_weights(tmp_path / name)
    # A converted .npz whose array header claims a terabyte it does not hold.
    npz = tmp_path / "lpips-vgg16-crafted.npz"
    np.savez(npz, **{"meta.source_name": np.array("x"), "meta.source_sha256": np.array("y")})
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (2**38,)})
    with zipfile.ZipFile(npz, "a") as archive:
        archive.writestr("conv0.kernel.npy", b"\x93NUMPY\x01\x00" + header.getvalue()[8:] + b"\x00" * 64)
    with pytest.raises(ValueError, match=r"claims 1,099,511,627,776 bytes of data but holds"):
        find_lpips_weights(npz)


# ------------------------------------------------------------------------------------------- import


def test_import_bounds_the_resolution_and_max_pixels_naming_the_flag(tmp_path, capsys):
    (tmp_path / "photos").mkdir()
    for flags, message in (
        (["--resolution", "100000"], "--resolution must be 1..2048, got 100000"),
        (["--max-pixels", str(10**12)], "--max-pixels must be 1..640000000"),
    ):
        argv = ["data", "import", str(tmp_path / "photos"), "--name", "x", "--data-dir", str(tmp_path), *flags]
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("vim: error: ") and message in err, err


def test_import_skips_files_outside_the_folder_repeated_lines_and_images_in_two_splits(tmp_path):
    from vim.data.importer import import_folder

    folder, secret = tmp_path / "photos", tmp_path / "secret.png"
    folder.mkdir()
    for path in (folder / "a.png", folder / "b.png", secret):
        Image.fromarray(np.full((8, 8, 3), 200, np.uint8)).save(path)
    lines = [
        {"file": "../secret.png", "caption": "climbs out"},
        {"file": str(secret), "caption": "an absolute path"},
        {"file": "a.png", "caption": "a square"},
        {"file": "a.png", "caption": "a square"},  # line 4: the same line again
        {"file": "a.png", "caption": "another caption of a", "split": "train"},  # kept: several captions
        {"file": "./a.png", "caption": "a square, in test", "split": "test"},  # the same image in another split
        {"file": "b.png", "caption": "b", "split": "validation"},
    ]
    (folder / "captions.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    report = import_folder(folder, "photos", tmp_path / "data", resolution=8)
    assert report.splits == {"train": 2, "validation": 1}
    reasons = dict(report.skipped)
    assert len(report.skipped) == 4, report.skipped
    assert reasons["../secret.png"] == f"outside {folder} (captions line 1); pass --allow-outside to read it"
    assert reasons[str(secret)] == f"outside {folder} (captions line 2); pass --allow-outside to read it"
    assert reasons["a.png"] == "duplicate of captions line 3 (captions line 4)"
    assert reasons["./a.png"].startswith("already in the train split (captions line 3)")
    report = import_folder(folder, "with-outside", tmp_path / "data", resolution=8, allow_outside=True)
    assert report.splits == {"train": 4, "validation": 1}


# --------------------------------------------------------------------------------------- demo logins


def test_wrong_passwords_slow_down_that_clients_next_logins(tmp_path):
    """Gradio answers every login at once (100 guesses in a fraction of a second): behind the demo's guard
    each wrong password in a row adds a step to the client's next answer; a right one clears the count."""
    import socket

    import gradio as gr
    import httpx
    from starlette.middleware import Middleware

    from vim.demo.app import DemoGuard, LoginThrottle, ServingCache

    with gr.Blocks() as app:
        gr.Markdown("a login page and nothing more")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cache = ServingCache()
    guard = Middleware(DemoGuard, cache=cache, logins=LoginThrottle(step=0.2))
    app.launch(
        server_name="127.0.0.1",
        server_port=port,
        prevent_thread_lock=True,
        quiet=True,
        auth=[("alice", "right")],
        app_kwargs={"middleware": [guard]},
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:

            def login(password: str) -> tuple[int, float]:
                start = time.perf_counter()
                code = http.post("/login", data={"username": "alice", "password": password}).status_code
                return code, time.perf_counter() - start

            wrong = [login(f"guess{i}") for i in range(5)]
            assert [code for code, _ in wrong] == [400] * 5
            waits = [seconds for _, seconds in wrong]
            print(f"answers to 5 wrong passwords took {[round(w, 2) for w in waits]} s")
            assert waits[0] < 0.2 and waits[4] >= 0.8 and sum(waits) >= 2.0, waits  # 0 + 0.2 + 0.4 + 0.6 + 0.8
            code, seconds = login("right")
            assert code == 200 and seconds >= 1.0  # the guesser's next try waits too, even when right
            assert login("guess")[1] < 0.2  # a right password cleared the count
    finally:
        app.close()
        cache.close()
    assert not cache.path.exists()


@pytest.mark.parametrize("command", ["train-tokenizer", "train-parti", "train-scorer", "train-upsampler"])
def test_an_empty_workdir_is_refused_before_anything_is_written(command, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    extra = ["--tokenizer", str(tmp_path / "tok")] if command in ("train-parti", "train-upsampler") else []
    assert main([command, "--workdir", "", *extra]) == 2
    assert "vim: error:" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # nothing spilled into the current folder


def test_an_empty_workdir_is_named_where_runs_write_their_config_and_records():
    from vim.config import Config, ConfigError, save_or_check
    from vim.parti.data import record_trained_on

    with pytest.raises(ConfigError, match="--workdir is empty"):
        save_or_check(Config(), "")
    with pytest.raises(ConfigError, match="--workdir is empty"):
        record_trained_on("", {})


def test_an_auth_file_larger_than_a_login_list_is_refused(tmp_path):
    from vim.demo.app import MAX_AUTH_FILE_BYTES, read_auth_file

    big = tmp_path / "users"
    big.write_text("alice:" + "x" * MAX_AUTH_FILE_BYTES + "\n")
    with pytest.raises(ValueError, match="larger than 1,048,576 bytes"):
        read_auth_file(big)
    with pytest.raises(ValueError, match="larger than"):
        read_auth_file("/dev/zero")
