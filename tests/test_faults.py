"""Unwritable and full checkpoint folders: a clear error, and nothing already saved is damaged.

These need real read-only and full file systems, made as small tmpfs mounts (root, as on CI).
"""

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from vim.cli import main
from vim.tokenizer.train import train_and_evaluate
from vim.training.checkpoint import Checkpointer
from vim.training.loop import CheckpointWriteError

from .conftest import small_run_cfg


def _mount(path: Path, size_kb: int) -> None:
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(path)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.decode().strip()}")


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def mounted(tmp_path):
    mounts = []

    def make(size_kb: int) -> Path:
        path = tmp_path / f"mnt{len(mounts)}"
        _mount(path, size_kb)
        mounts.append(path)
        return path

    yield make
    for path in mounts:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_full_disk_stops_with_a_clear_error_and_keeps_old_checkpoints(small_cfg, trained_run, mounted):
    used_kb = sum(p.stat().st_size for p in trained_run.rglob("*") if p.is_file()) // 1024
    disk = mounted(used_kb + 400)
    run = disk / "run"
    shutil.copytree(trained_run, run, ignore=shutil.ignore_patterns("encoded"))
    free = shutil.disk_usage(disk).free
    (disk / "filler").write_bytes(b"\0" * max(free - 16 * 1024, 0))  # leave 16 KiB: not enough for a checkpoint
    before = _digest(run / "checkpoints")
    cfg = small_run_cfg(small_cfg, num_steps=3, eval_every=3)
    cfg.train.num_steps, cfg.train.checkpoint_every = 8, 1
    with pytest.raises(
        CheckpointWriteError, match=r"could not write the checkpoint of step \d+ to .*latest finished: 3"
    ):
        train_and_evaluate(cfg, run)
    after = {k: v for k, v in _digest(run / "checkpoints").items() if k.startswith("3/")}
    assert after == {k: v for k, v in before.items() if k.startswith("3/")}  # the finished checkpoint is intact
    (disk / "filler").unlink()
    ckpt = Checkpointer(run / "checkpoints", use_async=False)
    assert ckpt.latest_step() == 3
    ckpt.close()


def test_read_only_workdir_exits_non_zero_and_changes_nothing(small_cfg, trained_run, mounted, capsys):
    disk = mounted(8192)
    shutil.copytree(trained_run, disk / "run", ignore=shutil.ignore_patterns("encoded"))
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
    before = _digest(disk / "run")
    code = main(
        ["train-tokenizer", "--preset", "tiny", "--workdir", str(disk / "new"), "--set", "train.progress=false"]
    )
    assert code == 2
    assert "Read-only file system" in capsys.readouterr().err
    with pytest.raises(OSError, match="Read-only file system"):  # resuming the saved run: same, in-process
        train_and_evaluate(small_run_cfg(small_cfg, num_steps=3, eval_every=3), disk / "run")
    assert _digest(disk / "run") == before
