"""`vim eval generation`: R-precision by a judge scorer and the prompts drawn for it."""

import json
from pathlib import Path

import numpy as np
import pytest

from vim.judge import prompt_set, r_precision

SHAPES_SCORER = Path(__file__).resolve().parents[1] / "checkpoints" / "shapes-tiny" / "scorer"


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def test_r_precision_is_one_for_a_perfect_judge_and_near_chance_for_a_blind_one():
    rng = np.random.default_rng(0)
    text_cd = unit(rng.normal(size=(200, 16)))
    groups = np.arange(200)
    own = rng.integers(0, 200, 400)
    assert r_precision(text_cd[own], text_cd, own, groups) == (1.0, 0.0)
    share, error = r_precision(unit(rng.normal(size=(400, 16))), text_cd, own, groups)
    assert abs(share - 1 / 32) < 4 * error + 0.01 and 0 < error < 0.02
    same_text = np.zeros(200, int)  # every row the same caption: no distractor exists
    with pytest.raises(ValueError, match="31 captions of other images"):
        r_precision(text_cd[own], text_cd, own, same_text)


def test_prompts_cycle_over_the_distinct_images_in_a_seeded_order():
    source = [{"caption": f"caption {i}".encode()} for i in range(5)]
    prompts, images = prompt_set(source, [0, 2, 4], 7, seed=1)
    assert sorted(images[:3]) == [0, 2, 4] and images[3:6] == images[:3]
    assert prompts == [f"caption {i}" for i in images]
    assert prompt_set(source, [0, 2, 4], 7, seed=1) == (prompts, images)


def test_eval_generation_reports_r_precision_beside_the_judges_ceiling(small_bundle, tmp_path, capsys):
    from vim.cli import main

    out = tmp_path / "gen.json"
    args = ["eval", "generation", "--checkpoint", str(small_bundle), "-n", "8", "--split", "validation", "--no-fid"]
    assert main([*args, "--judge", str(SHAPES_SCORER), "-o", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["samples"] == 8 and report["distinct_images"] == 64 and "fid" not in report
    assert 0 <= report["r_precision_32"] <= 1 and report["r_precision_32_stderr"] >= 0
    # The judge reads the world's real validation images right most of the time (a 4-step model's are noise).
    assert report["r_precision_32_real_images"] >= 0.75 > report["r_precision_32"]


def test_missing_inception_weights_stop_the_eval_before_anything_is_drawn(small_bundle, monkeypatch, capsys):
    from vim.cli import main

    def nowhere(*_args, **_kwargs):
        raise FileNotFoundError("no Inception weights found for FID/KID/IS (test)")

    drawn = []
    monkeypatch.setattr("vim.metrics.features.find_weights", nowhere)  # the name the Extractor calls
    monkeypatch.setattr("vim.generate.draw_images", lambda *a, **k: drawn.append(a) or np.zeros((8, 64, 64, 3)))
    args = ["eval", "generation", "--checkpoint", str(small_bundle), "-n", "8", "--split", "validation"]
    assert main(args) == 2
    assert "no Inception weights" in capsys.readouterr().err and drawn == []
