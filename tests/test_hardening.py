"""Hostile and careless input: torn logs, unbounded sizes, damaged files, writes cut short."""

from __future__ import annotations

import json
import logging

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
