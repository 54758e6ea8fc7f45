"""bench/gpu.py stays alive on the CPU (small sizes), and its MFU yardstick counts what the issue counted."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

from gpu import (  # noqa: E402  bench/gpu.py
    FULL,
    parti_config,
    parti_step_flops,
)


def test_hand_count_of_the_350m_step_is_about_45_tflop():
    # An H200 measurement counted ~45 TFLOP for a batch-32 step of the parti-350m preset.
    flops = parti_step_flops(parti_config(FULL).parti, 32)
    assert 44e12 < flops < 47e12


@pytest.mark.slow
def test_small_run_prints_one_line_per_measure_and_a_summary():
    run = subprocess.run(
        [sys.executable, str(BENCH / "gpu.py"), "--small", "--skip", "fid", "--steps", "1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    records = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    measures = [r.get("measure") for r in records[:-1]]
    assert measures == ["matmul_peak", "parti_train", "parti_train_no_remat", "sample_guided_b1", "sample_b4",
                        "tokenizer_train"]  # fmt: skip
    summary = records[-1]
    assert summary["bench"] == "gpu" and summary["small"] is True
    assert summary["mfu"] > 0 and summary["parti_image_tokens_per_s"] > 0 and summary["tokenizer_img_per_s"] > 0
