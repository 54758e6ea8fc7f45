"""Metrics to a JSONL file and TensorBoard event files in the workdir; image grids as PNG + TensorBoard."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np
from PIL import Image

from vim.files import save_image

log = logging.getLogger(__name__)


class MetricWriter:
    """Append-only `metrics.jsonl` (truncated back to the restored step on resume) + TensorBoard.

    In a multi-process run only process 0 writes (`primary`); the others' writers hold no files, so a
    run has one metrics log and one set of event files and grids."""

    def __init__(self, workdir: str | os.PathLike, resume_step: int = 0, primary: bool = True):
        self.workdir = Path(workdir)
        self.path = self.workdir / "metrics.jsonl"
        self.primary = primary
        if not primary:
            return
        from tensorboardX import SummaryWriter

        if self.path.exists():  # drop lines written after the checkpoint we resumed from
            keep = [line for line, record in _metric_lines(self.path) if record["step"] <= resume_step]
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text("".join(k + "\n" for k in keep))
            tmp.replace(self.path)  # a crash here never leaves a half-written metrics file
        self.file = self.path.open("a")
        self.tb = SummaryWriter(str(self.workdir / "tb"), purge_step=resume_step + 1 if resume_step else None)

    def scalars(self, step: int, values: dict[str, float], prefix: str = "") -> None:
        if not self.primary:
            return
        record = {"step": step, **{prefix + k: float(v) for k, v in values.items()}}
        self.file.write(json.dumps(record) + "\n")
        self.file.flush()
        for k, v in values.items():
            self.tb.add_scalar(prefix + k, float(v), step)

    def image(self, step: int, name: str, grid: np.ndarray) -> Path:
        """grid: uint8 [H, W, 3]."""
        out = self.workdir / "samples" / f"{name}_{step:07d}.png"
        if not self.primary:
            return out
        out.parent.mkdir(parents=True, exist_ok=True)
        save_image(Image.fromarray(grid), out)
        self.tb.add_image(name, grid, step, dataformats="HWC")
        return out

    def close(self) -> None:
        if not self.primary:
            return
        self.file.close()
        self.tb.close()


def _metric_lines(path: Path) -> list[tuple[str, dict]]:
    """The intact lines of a metrics log, each with its record. A line that is not a JSON object with an
    integer "step" (what a full disk, a power cut or a kill leaves as the last line) is dropped with a
    warning naming the file and the line, so that one torn write never stops a run from resuming or a
    report from reading the rest."""
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError) as e:
            record, reason = None, f"not JSON ({e})"
        else:
            reason = "not a record with an integer step"
        if isinstance(record, dict) and type(record.get("step")) is int:
            records.append((line, record))
        else:
            log.warning("%s, line %d: dropped (%s): %.120s", path, number, reason, line)
    return records


def read_metrics(workdir: str | os.PathLike) -> list[dict]:
    """Every intact record of the run's metrics.jsonl (none when the run has not logged yet)."""
    path = Path(workdir) / "metrics.jsonl"
    return [record for _, record in _metric_lines(path)] if path.exists() else []
