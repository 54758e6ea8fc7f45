"""Fault injection: SIGKILL training at random moments, resume, and compare with an uninterrupted run.

    python bench/kill_resume.py --runs 20 --stage both

For each run, `vim train-tokenizer` / `vim train-parti` (tiny models on a small world) is started in a
fresh workdir and killed with SIGKILL after a random delay (which can land during an asynchronous
checkpoint save), again and again, until a start finishes on its own. The final checkpoint must then
equal the uninterrupted reference bit for bit: params, optimizer state, EMA, RNG, step, counters,
the data-iterator position, and the per-step loss list in metrics.jsonl. Prints one JSON object last;
`ratio` is the share of runs that ended identical (1.0 = all).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jax
import numpy as np

VIM = [sys.executable, "-m", "vim.cli"]
SMALL_WORLD = ["--set", "data.world.num_train=320", "--set", "data.world.num_validation=64"]
SMALL_WORLD += ["--set", "data.world.num_test=64"]
COMMON = ["--set", "data.batch_size=8", "--set", "train.progress=false", "--set", "train.checkpoint_every=3"]
COMMON += ["--set", "train.eval_every=20", "--set", "train.eval_batches=1", "--set", "log_every=1"]
TOKENIZER_SIZES = dict(
    width=32, encoder_layers=1, decoder_layers=1, heads=2, mlp_dim=64, codebook_size=32, code_dim=8, quantize_after=4
)
PARTI_SIZES = dict(width=32, encoder_layers=1, decoder_layers=1, heads=2, head_dim=16, mlp_dim=64, image_vocab_size=32)
TOKENIZER = [x for k, v in TOKENIZER_SIZES.items() for x in ("--set", f"tokenizer.{k}={v}")]
PARTI = [x for k, v in PARTI_SIZES.items() for x in ("--set", f"parti.{k}={v}")]


def command(stage: str, data: Path, workdir: Path, tokenizer: Path | None, steps: int) -> list[str]:
    base = ["--preset", "tiny", "--data-dir", str(data), *SMALL_WORLD, *COMMON, "--set", f"train.num_steps={steps}"]
    if stage == "tokenizer":
        return [*VIM, "train-tokenizer", *base, *TOKENIZER, "--workdir", str(workdir)]
    return [*VIM, "train-parti", *base, *PARTI, "--tokenizer", str(tokenizer), "--workdir", str(workdir)]


def run(cmd: list[str], env: dict) -> None:
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def killed_until_done(cmd: list[str], env: dict, rng: random.Random, max_kills: int, full_s: float) -> int:
    """Start, SIGKILL after a random delay within an uninterrupted run's duration `full_s`, repeat;
    returns how many kills landed before a start finished on its own."""
    kills = 0
    while True:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if kills < max_kills:
            try:
                proc.wait(timeout=rng.uniform(0.4 * full_s, full_s))
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                kills += 1
                continue
        if proc.wait() != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed after {kills} kills")
        return kills


def final_state(stage: str, workdir: Path) -> tuple[list[np.ndarray], str | None, list[float]]:
    from vim.config import from_dict
    from vim.training.checkpoint import Checkpointer

    cfg = from_dict(json.loads((workdir / "config.json").read_text()))
    if stage == "tokenizer":
        from vim.tokenizer.train import TokenizerTask as Task
    else:
        from vim.parti.train import PartiTask as Task
    task = Task(cfg)
    abstract = jax.eval_shape(task.init_state, jax.random.key_data(jax.random.key(0)))
    ckpt = Checkpointer(workdir / "checkpoints", use_async=False)
    state, data, _ = ckpt.restore(abstract)
    ckpt.close()
    losses = [m["loss"] for m in map(json.loads, (workdir / "metrics.jsonl").read_text().splitlines()) if "loss" in m]
    return [np.asarray(x) for x in jax.tree.leaves(state)], data.decode() if data else None, losses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="killed runs per stage")
    parser.add_argument("--stage", choices=["tokenizer", "parti", "both"], default="both")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--max-kills", type=int, default=4, help="kills per run before it may finish")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    root = Path(tempfile.mkdtemp(prefix="vim-kill-"))
    data = root / "data"
    run([*VIM, "data", "build", "shapes", "--preset", "tiny", "--data-dir", str(data), *SMALL_WORLD], env)
    run([*VIM, "data", "text-tokenizer", "--preset", "tiny", "--data-dir", str(data), *SMALL_WORLD], env)
    stages = ["tokenizer", "parti"] if args.stage == "both" else [args.stage]
    tokenizer = root / "tokenizer-ref"
    if "parti" in stages:
        run(command("tokenizer", data, tokenizer, None, args.steps), env)
        run([*VIM, "encode-dataset", "--tokenizer", str(tokenizer)], env)
    report: dict = {"bench": "kill_resume", "steps": args.steps}
    identical_total = runs_total = 0
    for stage in stages:
        ref = root / f"{stage}-ref"
        start = time.perf_counter()
        run(command(stage, data, root / f"{stage}-timing", tokenizer, args.steps), env)
        full_s = time.perf_counter() - start  # startup + compile + all steps, uninterrupted
        if not ref.exists():
            run(command(stage, data, ref, tokenizer, args.steps), env)
        want = final_state(stage, ref)
        results = []
        for i in range(args.runs):
            workdir = root / f"{stage}-{i}"
            start = time.perf_counter()
            cmd = command(stage, data, workdir, tokenizer, args.steps)
            kills = killed_until_done(cmd, env, rng, args.max_kills, full_s)
            got = final_state(stage, workdir)
            same = (
                len(got[0]) == len(want[0])
                and all(np.array_equal(a, b) for a, b in zip(got[0], want[0], strict=True))
                and got[1] == want[1]
                and got[2] == want[2]
            )
            results.append({"kills": kills, "identical": same, "seconds": round(time.perf_counter() - start, 1)})
            print(stage, i, results[-1], flush=True)
        identical = sum(r["identical"] for r in results)
        report[stage] = {
            "runs": len(results),
            "identical": identical,
            "kills": sum(r["kills"] for r in results),
            "uninterrupted_s": round(full_s, 1),
        }
        identical_total += identical
        runs_total += len(results)
    report["ratio"] = round(identical_total / runs_total, 3) if runs_total else None
    print(json.dumps(report))


if __name__ == "__main__":
    main()
