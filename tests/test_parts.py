"""Stale or mismatched parts are refused, never used silently: cached codes name the tokenizer
state they were made from, a generator names the tokenizer it was trained on, and `vim export` swaps a
whole new bundle in."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import random
import shutil
import signal
import subprocess
import sys
import time
from itertools import islice
from pathlib import Path

import numpy as np
import pytest

from vim import config as config_lib
from vim.bundle import DEFAULT_BUNDLE, export_bundle, load_bundle
from vim.cli import main
from vim.data.locations import codes_record, encoded_dir
from vim.data.pipeline import open_split
from vim.parti.data import check_codes, code_batches, encode_dataset, record_trained_on, tokenizer_state
from vim.parti.train import train_and_evaluate
from vim.tokenizer.model import CODE_WEIGHTS
from vim.tokenizer.train import TokenizerTask
from vim.tokenizer.train import train_and_evaluate as train_tokenizer
from vim.training.weights import (
    TRAINED_ON,
    file_fingerprint,
    file_sha256,
    fingerprint,
    latest_ema,
    module_fingerprint,
    read_config,
)

from .conftest import small_run_cfg


def tree(folder: Path) -> dict[str, str]:
    """Every file under `folder` by relative path → sha256 of its bytes."""
    return {
        str(f.relative_to(folder)): hashlib.sha256(f.read_bytes()).hexdigest()
        for f in sorted(folder.rglob("*"))
        if f.is_file()
    }


def listing(folder: Path) -> dict[str, tuple[int, int]]:
    """Every path under `folder` → (modification time, size): what changes once anything is written."""
    while True:
        try:
            return {str(f): (f.stat().st_mtime_ns, f.stat().st_size) for f in folder.rglob("*")}
        except FileNotFoundError:  # a folder vanished mid-scan (the export renamed or removed it): scan again
            continue


def other_tokenizer(small_bundle: Path, folder: Path) -> Path:
    """The small bundle's tokenizer part with its codebook reversed: another tokenizer state, whose codes
    are exactly `codebook_size - 1 - code` of the original's."""
    folder.mkdir(parents=True)
    shutil.copyfile(small_bundle / "tokenizer" / "config.json", folder / "config.json")
    with np.load(small_bundle / "tokenizer" / "params.npz") as stored:
        params = {name: stored[name] for name in stored.files}
    params["codebook_kc"] = params["codebook_kc"][::-1].copy()
    np.savez(folder / "params.npz", **params)
    return folder


def with_cached_codes(part: Path, encoded: Path) -> Path:
    """A tokenizer part holding a copy of the small run's code cache (made from the run's weights)."""
    shutil.copytree(encoded / "encoded", part / "encoded")
    return part


def test_fingerprint_names_one_state_wherever_it_lives(trained_run, encoded, small_bundle):
    run_fingerprint = fingerprint(latest_ema(trained_run, TokenizerTask(read_config(trained_run)))["params"])
    part = small_bundle / "tokenizer"
    assert module_fingerprint(load_bundle(small_bundle).tokenizer) == run_fingerprint
    assert file_fingerprint(part / "params.npz") == run_fingerprint
    codes = fingerprint(latest_ema(trained_run, TokenizerTask(read_config(trained_run)))["params"], CODE_WEIGHTS)
    assert json.loads(codes_record(encoded).read_text())["tokenizer"] == {
        "source": str(trained_run),
        "step": 3,
        "fingerprint": run_fingerprint,
        "codes": codes,
    }
    assert file_fingerprint(part / "params.npz", CODE_WEIGHTS) == codes != run_fingerprint
    trained_on = json.loads((small_bundle / "parti" / TRAINED_ON).read_text())
    assert trained_on["tokenizer"]["fingerprint"] == run_fingerprint and trained_on["tokenizer"]["step"] == 3
    assert trained_on["text_tokenizer"]["sha256"] == file_sha256(small_bundle / "text_tokenizer.model")
    with np.load(part / "params.npz") as stored:
        nudged = {name: stored[name] for name in stored.files}
    nudged["to_code/bias"] = nudged["to_code/bias"] + np.float32(1e-7)  # one weight, barely
    assert fingerprint(nudged) != run_fingerprint


def test_train_parti_refuses_codes_of_another_tokenizer_state(small_bundle, encoded, tmp_path):
    part = with_cached_codes(other_tokenizer(small_bundle, tmp_path / "tokenizer"), encoded)
    cached = json.loads(codes_record(part).read_text())["tokenizer"]["fingerprint"]
    now = file_fingerprint(part / "params.npz")
    workdir = tmp_path / "parti"
    with pytest.raises(ValueError, match="were made by tokenizer") as refused:
        train_and_evaluate(read_config(small_bundle / "parti"), workdir, part)
    assert cached[:12] in str(refused.value) and now[:12] in str(refused.value)
    assert f"vim encode-dataset --tokenizer {part}" in str(refused.value)
    assert not workdir.exists()  # refused before anything was written


def test_train_parti_refuses_codes_cached_before_records_saying_how_to_rebuild(small_bundle, encoded, tmp_path):
    part = tmp_path / "tokenizer"
    shutil.copytree(small_bundle / "tokenizer", part)
    with_cached_codes(part, encoded)
    codes_record(part).unlink()  # as a cache written before this change
    with pytest.raises(ValueError, match="no record of the tokenizer state") as refused:
        train_and_evaluate(read_config(small_bundle / "parti"), tmp_path / "parti", part)
    assert f"rebuild them with `vim encode-dataset --tokenizer {part}`" in str(refused.value)


def test_encode_dataset_reencodes_codes_of_another_tokenizer_state(small_cfg, small_bundle, encoded, tmp_path):
    part = with_cached_codes(other_tokenizer(small_bundle, tmp_path / "tokenizer"), encoded)
    cfg = read_config(small_bundle / "parti")

    def first_codes() -> np.ndarray:
        batches = code_batches(cfg, part, "validation", shuffle=False, num_epochs=1, process_index=0, process_count=1)
        return next(batches)["codes"]

    stale = first_codes()
    assert encode_dataset(part) == encoded_dir(part)
    _, _, state = tokenizer_state(part)
    assert json.loads(codes_record(part).read_text())["tokenizer"]["fingerprint"] == state["fingerprint"]
    assert np.array_equal(first_codes(), 32 - 1 - stale)  # the reversed codebook's codes, not the cached ones
    assert check_codes(part, state)["tokenizer"] == state
    written = (encoded_dir(part) / "dataset_info.json").stat().st_mtime_ns
    encode_dataset(part)  # unchanged tokenizer: the cache is reused
    assert (encoded_dir(part) / "dataset_info.json").stat().st_mtime_ns == written


def test_a_parti_run_resumed_on_another_tokenizer_is_refused(small_bundle, tmp_path):
    trained_on = json.loads((small_bundle / "parti" / TRAINED_ON).read_text())
    record_trained_on(tmp_path, trained_on)
    record_trained_on(tmp_path, trained_on)  # the same state again: a plain resume
    _, _, other = tokenizer_state(other_tokenizer(small_bundle, tmp_path / "tokenizer"))
    with pytest.raises(ValueError, match="trained on other parts than it is resumed on") as refused:
        record_trained_on(tmp_path, {**trained_on, "tokenizer": other})
    message = str(refused.value)
    assert trained_on["tokenizer"]["fingerprint"][:12] in message and other["fingerprint"][:12] in message
    assert json.loads((tmp_path / TRAINED_ON).read_text()) == trained_on


def test_load_bundle_refuses_parts_that_do_not_belong_together(small_bundle, tmp_path, caplog):
    bundle = tmp_path / "bundle"
    shutil.copytree(small_bundle, bundle)
    trained_on = json.loads((bundle / "parti" / TRAINED_ON).read_text())["tokenizer"]["fingerprint"]
    other = other_tokenizer(small_bundle, tmp_path / "other")
    shutil.copyfile(other / "params.npz", bundle / "tokenizer" / "params.npz")
    with pytest.raises(ValueError, match="the parts do not belong together") as refused:
        load_bundle(bundle)
    assert trained_on[:12] in str(refused.value) and file_fingerprint(other / "params.npz")[:12] in str(refused.value)

    shutil.copyfile(small_bundle / "tokenizer" / "params.npz", bundle / "tokenizer" / "params.npz")
    shutil.copyfile(DEFAULT_BUNDLE / "text_tokenizer.model", bundle / "text_tokenizer.model")  # another text model
    with pytest.raises(ValueError, match="text model"):
        load_bundle(bundle)

    shutil.copyfile(small_bundle / "text_tokenizer.model", bundle / "text_tokenizer.model")
    (bundle / "parti" / TRAINED_ON).unlink()  # a bundle exported before vim kept records: used, with a warning
    with caplog.at_level(logging.WARNING, logger="vim.bundle"):
        assert load_bundle(bundle).parti is not None
    assert "has no record of the tokenizer it was trained on" in caplog.text


@pytest.mark.skipif(not (DEFAULT_BUNDLE / "parti").is_dir(), reason="bundled checkpoint not trained yet")
def test_the_bundled_checkpoint_records_the_parts_it_holds():
    trained_on = json.loads((DEFAULT_BUNDLE / "parti" / TRAINED_ON).read_text())
    assert trained_on["tokenizer"]["fingerprint"] == file_fingerprint(DEFAULT_BUNDLE / "tokenizer" / "params.npz")
    assert trained_on["text_tokenizer"]["sha256"] == file_sha256(DEFAULT_BUNDLE / "text_tokenizer.model")


def test_export_in_place_keeps_parts_consistent_or_refuses(small_bundle, tmp_path, capsys):
    bundle = tmp_path / "bundle"
    shutil.copytree(small_bundle, bundle)
    before = tree(bundle)
    other = other_tokenizer(small_bundle, tmp_path / "other" / "tokenizer")
    assert main(["export", "--tokenizer", str(other), "-o", str(bundle)]) == 2  # a tokenizer alone, another one
    error = capsys.readouterr().err
    assert "the parts do not belong together" in error and file_fingerprint(other / "params.npz")[:12] in error
    assert tree(bundle) == before and sorted(p.name for p in tmp_path.iterdir()) == ["bundle", "other"]

    assert main(["export", "--tokenizer", str(bundle / "tokenizer"), "-o", str(bundle)]) == 0  # its own again
    assert tree(bundle) == before and load_bundle(bundle).parti is not None

    (bundle / "parti" / TRAINED_ON).unlink()  # a generator with no record cannot be kept beside another tokenizer
    assert main(["export", "--tokenizer", str(other), "-o", str(bundle)]) == 2
    assert "has no record of the tokenizer it was trained on" in capsys.readouterr().err
    kept = file_fingerprint(bundle / "tokenizer" / "params.npz")
    assert kept == file_fingerprint(small_bundle / "tokenizer" / "params.npz")

    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("mine")
    with pytest.raises(ValueError, match="is not a vim bundle"):
        export_bundle(other, None, tmp_path / "notes")
    assert (tmp_path / "notes" / "todo.txt").read_text() == "mine"


def test_export_killed_at_random_moments_leaves_the_old_or_the_new_bundle(small_bundle, tmp_path):
    """kill -9 `vim export` while it writes: the bundle is then the old one or the new one, whole."""
    source = tmp_path / "source"  # new parts that belong together: another tokenizer and a generator on it
    other_tokenizer(small_bundle, source / "tokenizer")
    shutil.copytree(small_bundle / "parti", source / "parti")
    with np.load(source / "parti" / "params.npz") as stored:
        params = {name: -stored[name] for name in stored.files}
    np.savez(source / "parti" / "params.npz", **params)
    trained_on = json.loads((source / "parti" / TRAINED_ON).read_text())
    trained_on["tokenizer"] = {
        "source": str(source / "tokenizer"),
        "step": None,
        "fingerprint": file_fingerprint(source / "tokenizer" / "params.npz"),
    }
    (source / "parti" / TRAINED_ON).write_text(json.dumps(trained_on))

    old_copy, bundle = tmp_path / "old", tmp_path / "bundles" / "b"
    shutil.copytree(small_bundle, old_copy)
    shutil.copytree(old_copy, bundle)
    started = time.perf_counter()
    export_bundle(source / "tokenizer", source / "parti", bundle)  # the whole export, for the new bundle's files
    writing = time.perf_counter() - started
    old, new = tree(old_copy), tree(bundle)
    assert old != new and load_bundle(bundle).parti is not None
    argv = [str(Path(sys.executable).parent / "vim"), "export", "--tokenizer", str(source / "tokenizer")]
    argv += ["--parti", str(source / "parti"), "-o", str(bundle)]

    rng, outcomes = random.Random(), []
    for _ in range(4):
        shutil.rmtree(bundle)
        shutil.copytree(old_copy, bundle)
        untouched = listing(bundle.parent)
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while process.poll() is None and listing(bundle.parent) == untouched:  # until it writes anything
            assert time.monotonic() < deadline, "vim export never began writing"
            time.sleep(0.0005)
        time.sleep(rng.uniform(0, 1.5 * writing))
        process.send_signal(signal.SIGKILL)
        process.wait()
        now = tree(bundle)
        assert now in (old, new), "a bundle mixing old and new parts"
        load_bundle(bundle)
        outcomes.append(("killed" if process.returncode == -signal.SIGKILL else "finished", now == new))
    print("kill -9 outcomes (how the process ended, bundle is the new one):", outcomes)
    assert any(result == "killed" for result, _ in outcomes), outcomes

    export_bundle(source / "tokenizer", source / "parti", bundle)  # clears what the killed exports left
    assert tree(bundle) == new and [p.name for p in bundle.parent.iterdir()] == ["b"]


def test_swap_by_two_renames_and_an_export_killed_between_them(small_bundle, tmp_path, monkeypatch):
    """Where the OS has no atomic exchange: the old bundle, set aside as `.b.old-PID` by an export killed
    between its two renames, is put back by the next export; a dead export's partial folder is removed."""
    import vim.bundle

    bundle = tmp_path / "b"
    shutil.copytree(small_bundle, tmp_path / ".b.old-999999999")  # no such process: its export is dead
    shutil.copytree(small_bundle, tmp_path / ".b.partial-999999999")
    vim.bundle.clear_abandoned_exports(bundle)
    assert tree(bundle) == tree(small_bundle) and [p.name for p in tmp_path.iterdir()] == ["b"]

    monkeypatch.setattr(vim.bundle, "_exchange", lambda a, b: False)
    other = other_tokenizer(small_bundle, tmp_path / "other" / "tokenizer")
    (bundle / "parti").rename(tmp_path / "parti")  # a tokenizer-only bundle, so another tokenizer may replace it
    export_bundle(other, None, bundle)
    assert file_fingerprint(bundle / "tokenizer" / "params.npz") == file_fingerprint(other / "params.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b", "other", "parti"]


def test_a_decoder_only_fine_tune_keeps_every_code_and_the_generator_that_draws_them(small_cfg, small_bundle, tmp_path):
    """`tokenizer.train_decoder_only`: the code-deciding weights stay bit for bit (no update, no weight
    decay, no dead-code restart), so the bundle takes the new tokenizer beside its generator; a fine-tune
    of every weight is refused there."""
    start = small_bundle / "tokenizer"
    cfg = small_run_cfg(small_cfg, num_steps=6, eval_every=6, learning_rate=1e-2, weight_decay=0.1)
    cfg.tokenizer = dataclasses.replace(cfg.tokenizer, train_decoder_only=True)  # dead_code_steps=5: would fire
    cfg.train.init_from = str(start)
    train_tokenizer(cfg, tmp_path / "decoder")
    bundle = tmp_path / "bundle"
    shutil.copytree(small_bundle, bundle)
    assert main(["export", "--tokenizer", str(tmp_path / "decoder"), "-o", str(bundle)]) == 0
    with np.load(start / "params.npz") as before, np.load(bundle / "tokenizer" / "params.npz") as after:
        assert set(before.files) == set(after.files)
        for name in before.files:
            same = np.array_equal(before[name], after[name])
            assert same == (name.split("/")[0] in CODE_WEIGHTS), name
    images = np.stack([np.asarray(e["image"]) for e in islice(iter(open_split(small_cfg.data, "validation")), 16)])
    new, old = load_bundle(bundle).tokenizer, load_bundle(small_bundle).tokenizer
    assert np.array_equal(new.encode(images / 255.0), old.encode(images / 255.0))
    assert file_fingerprint(bundle / "tokenizer" / "params.npz") != file_fingerprint(start / "params.npz")

    every_weight = dataclasses.replace(cfg, tokenizer=dataclasses.replace(cfg.tokenizer, train_decoder_only=False))
    train_tokenizer(every_weight, tmp_path / "whole")
    assert main(["export", "--tokenizer", str(tmp_path / "whole"), "-o", str(bundle)]) == 2

    no_start = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, init_from=""))
    with pytest.raises(config_lib.ConfigError, match=r"train\.init_from"):
        train_tokenizer(no_start, tmp_path / "nothing")


def test_a_record_from_before_the_codes_fingerprint_is_completed_on_resume(small_bundle, tmp_path):
    trained_on = json.loads((small_bundle / "parti" / TRAINED_ON).read_text())
    old = trained_on | {"tokenizer": {k: v for k, v in trained_on["tokenizer"].items() if k != "codes"}}
    (tmp_path / TRAINED_ON).write_text(json.dumps(old))
    record_trained_on(tmp_path, trained_on)  # the same weights, now with their codes fingerprint
    assert json.loads((tmp_path / TRAINED_ON).read_text()) == trained_on
