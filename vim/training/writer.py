"""Metrics to a JSONL file and TensorBoard event files in the workdir; image grids as PNG + TensorBoard."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from PIL import Image


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
            keep = [
                line
                for line in self.path.read_text().splitlines()
                if line.strip() and json.loads(line)["step"] <= resume_step
            ]
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
        Image.fromarray(grid).save(out)
        self.tb.add_image(name, grid, step, dataformats="HWC")
        return out

    def close(self) -> None:
        if not self.primary:
            return
        self.file.close()
        self.tb.close()


def read_metrics(workdir: str | os.PathLike) -> list[dict]:
    path = Path(workdir) / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []
