"""A host dies: SIGKILL one of two `vim train-parti` processes at a random moment, check that its peer
ends by itself, then restart both and compare with an uninterrupted two-process run.

    python bench/kill_resume_multihost.py --runs 10

Both processes run on 127.0.0.1 (gloo collectives on the CPU). For each run, a fresh workdir is trained
by two processes; once process 0 has logged a random number of steps (0 = during start-up), after a
further random fraction of a second, one of them (chosen at random) is killed with SIGKILL. The
survivor must exit by itself within --bound seconds with a non-zero status and an error naming the
failure; the newest finished checkpoint must restore intact and hold a step the run had reached
(logged by process 0); then both processes are restarted with the same command and the final
checkpoint must equal the uninterrupted run's bit for bit (params, optimizer state, EMA, RNG,
counters) with the same per-step losses in metrics.jsonl. One JSON line per run, a summary last.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
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
COMMON = ["--set", "data.batch_size=8", "--set", "train.progress=false", "--set", "train.checkpoint_every=2"]
COMMON += ["--set", "train.eval_every=1000", "--set", "train.eval_batches=1", "--set", "log_every=1"]
TOKENIZER_SIZES = dict(width=32, encoder_layers=1, decoder_layers=1, heads=2, mlp_dim=64, codebook_size=32, code_dim=8)
PARTI_SIZES = dict(width=32, encoder_layers=1, decoder_layers=1, heads=2, head_dim=16, mlp_dim=64, image_vocab_size=32)
TOKENIZER = [x for k, v in TOKENIZER_SIZES.items() for x in ("--set", f"tokenizer.{k}={v}")]
PARTI = [x for k, v in PARTI_SIZES.items() for x in ("--set", f"parti.{k}={v}")]
PEER_DIED = ("a collective with the other processes failed", "another task died")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parti_command(data: Path, tokenizer: Path, workdir: Path, steps: int) -> list[str]:
    base = ["--preset", "tiny", "--data-dir", str(data), *SMALL_WORLD, *COMMON, "--set", f"train.num_steps={steps}"]
    return ["train-parti", *base, *PARTI, "--tokenizer", str(tokenizer), "--workdir", str(workdir)]


def start(command: list[str], env: dict, logs: Path, processes: int = 2) -> list[subprocess.Popen]:
    port = free_port()
    procs = []
    for i in range(processes):
        flags = ["--coordinator", f"127.0.0.1:{port}", "--num-processes", str(processes), "--process-id", str(i)]
        with open(logs.with_suffix(f".p{i}.log"), "a") as log:
            procs.append(subprocess.Popen([*VIM, *flags, *command], env=env, stdout=log, stderr=subprocess.STDOUT))
    return procs


def run_both(command: list[str], env: dict, logs: Path) -> None:
    procs = start(command, env, logs)
    codes = [p.wait() for p in procs]
    if any(codes):
        raise RuntimeError(f"{' '.join(command)} exited with {codes}; see {logs}.p*.log")


def final_state(workdir: Path) -> tuple[list[np.ndarray], list[dict], int]:
    from vim.config import from_dict
    from vim.parti.train import PartiTask
    from vim.training.checkpoint import restore_latest

    state, step = restore_latest(workdir, PartiTask(from_dict(json.loads((workdir / "config.json").read_text()))))
    metrics = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    return [np.asarray(x) for x in jax.tree.leaves(state)], metrics, step


def logged_steps(workdir: Path) -> int:
    path = workdir / "metrics.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return max((json.loads(line)["step"] for line in lines if line.strip()), default=0)


def one_run(args, rng: random.Random, data: Path, tokenizer: Path, root: Path, i: int, want, env) -> dict:
    workdir = root / f"run-{i}"
    command = parti_command(data, tokenizer, workdir, args.steps)
    start_s = time.perf_counter()
    procs = start(command, env, root / f"run-{i}")
    target, extra_s, victim = rng.randrange(args.steps), rng.uniform(0, 1), rng.randrange(2)
    result: dict = {"run": i, "victim": victim, "kill_after_step": target, "then_s": round(extra_s, 2)}
    while logged_steps(workdir) < target and all(p.poll() is None for p in procs):
        time.sleep(0.02)
    try:
        procs[victim].wait(timeout=extra_s)
        result["killed"] = False  # finished before the kill moment
    except subprocess.TimeoutExpired:
        reached = logged_steps(workdir)
        procs[victim].send_signal(signal.SIGKILL)
        procs[victim].wait()
        killed_at = time.perf_counter()
        survivor = procs[1 - victim]
        try:
            code = survivor.wait(timeout=args.bound + 30)
            result["survivor_exit_s"] = round(time.perf_counter() - killed_at, 1)
        except subprocess.TimeoutExpired:
            survivor.send_signal(signal.SIGKILL)
            code = survivor.wait()
            result["survivor_exit_s"] = None  # hung: a failure
        text = (root / f"run-{i}.p{1 - victim}.log").read_text(errors="replace")
        result.update(killed=True, logged_step_at_kill=reached, survivor_code=code)
        result["survivor_error_named"] = code != 0 and any(p in text for p in PEER_DIED)
        reached = max(reached, logged_steps(workdir))  # steps finished before the survivor noticed
        from vim.training.checkpoint import Checkpointer

        ckpt = Checkpointer(workdir / "checkpoints", use_async=False)
        latest = ckpt.latest_step()
        ckpt.close()
        result["checkpoint_after_kill"] = latest
        if latest is not None:
            _, _, step = final_state(workdir)  # intact (fingerprints checked) or it raises
            result["checkpoint_reached"] = step <= reached
        else:
            result["checkpoint_reached"] = True
    for p in procs:
        if p.poll() is None:
            p.wait()
    if not (workdir / "summary.json").exists():
        run_both(command, env, root / f"run-{i}")
    got = final_state(workdir)
    result["identical"] = (
        len(got[0]) == len(want[0])
        and all(np.array_equal(a, b) for a, b in zip(got[0], want[0], strict=True))
        and [m.get("loss") for m in got[1]] == [m.get("loss") for m in want[1]]
        and got[2] == want[2]
    )
    result["seconds"] = round(time.perf_counter() - start_s, 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--bound", type=float, default=120, help="seconds the survivor may take to exit")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--root", help="reuse this folder's data/tokenizer (default: a new temporary one)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "XLA_FLAGS": ""}
    root = Path(args.root) if args.root else Path(tempfile.mkdtemp(prefix="vim-kill-multihost-"))
    data, tokenizer = root / "data", root / "tokenizer"
    if not (tokenizer / "encoded").exists():
        base = ["--preset", "tiny", "--data-dir", str(data), *SMALL_WORLD]
        for cmd in (
            ["data", "build", "shapes", *base],
            ["data", "text-tokenizer", *base],
            ["train-tokenizer", *base, *COMMON, *TOKENIZER, "--set", "train.num_steps=3", "--workdir", str(tokenizer)],
            ["encode-dataset", "--tokenizer", str(tokenizer)],
        ):
            subprocess.run([*VIM, *cmd], check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    reference = root / "reference"
    start_s = time.perf_counter()
    if not (reference / "summary.json").exists():
        run_both(parti_command(data, tokenizer, reference, args.steps), env, reference)
    full_s = time.perf_counter() - start_s  # start-up + compile + all steps, uninterrupted
    want = final_state(reference)
    results = []
    for i in range(args.runs):
        results.append(one_run(args, rng, data, tokenizer, root, i, want, env))
        print(json.dumps(results[-1]), flush=True)
    killed = [r for r in results if r["killed"]]
    exits = [r["survivor_exit_s"] for r in killed if r["survivor_exit_s"] is not None]
    report = {
        "bench": "kill_resume_multihost",
        "steps": args.steps,
        "runs": len(results),
        "killed": len(killed),
        "survivor_exited_within_bound": sum(s <= args.bound for s in exits),
        "survivor_exit_s_max": max(exits, default=None),
        "survivor_error_named": sum(r["survivor_error_named"] for r in killed),
        "checkpoints_reached": sum(r["checkpoint_reached"] for r in killed),
        "identical": sum(r["identical"] for r in results),
        "ratio": round(sum(r["identical"] for r in results) / len(results), 3) if results else None,  # as kill_resume
        "uninterrupted_s": round(full_s, 1),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
