"""What the benches that race a peer share: the matched Parti sizes, the peer processes, interleaved rounds
with a matmul yardstick, and the JSON line every bench ends with.

A peer is a script in bench/peers/ run under its own Python (`--peer-python`), for instance one with
parti-pytorch installed. It builds its model once, then times one round each time the bench asks
(bench/peers/serve.py). A bench's rounds take turns, vim, peer, vim, peer …, so that whatever else the
machine runs at a moment weighs on both sides of a pair: each round gives one ratio (vim's throughput
over the peer's, moments apart), and the bench reports the median of those ratios with their spread
(lowest and highest). On a 2-core machine shared with other work, runs of the two sides one after the
other gave ratios far apart within an hour (bench/results/parti_train.txt). Each round also times the f32
matmul yardstick (`matmul_round`), so that an MFU divides by a peak measured under the same load as the step.

When vim runs under tcmalloc (vim/allocator.py), a second peer process runs under the same preload and
takes its turn in each round too (`ratio_peer_tcmalloc`), so the allocator's share of a ratio is on record.
When no peer starts (no --peer-python, or its Python lacks the peer's packages), vim's side still runs:
`ratio` is null and `peer_missing` says why.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from vim import allocator
from vim.config import PartiConfig
from vim.perf import cpu_model

PEERS = Path(__file__).resolve().parent / "peers"
MATMUL_SIDE = 2048  # the f32 yardstick's square matmul, as vim.perf.matmul_peak_flops times it on CPUs
PEER_SETUP = "a Python with parti-pytorch: python -m venv PEER && PEER/bin/pip install parti-pytorch==0.2.0"

# The Parti sizes bench/parti_train.py trains and bench/sample.py samples, against parti-pytorch: the `tiny`
# model's shape with 8×8 image tokens, a 1,024-code book and 32 text tokens, batch 8.
MATCHED_BATCH = 8
MATCHED_PARTI = PartiConfig(
    width=256,
    encoder_layers=2,
    decoder_layers=4,
    heads=4,
    head_dim=64,
    mlp_dim=1024,
    text_length=32,
    image_vocab_size=1024,
    image_grid=8,
)
MATCHED_TOKENS = MATCHED_BATCH * MATCHED_PARTI.image_grid**2  # image tokens of one batch


def parti_peer_sizes(pc: PartiConfig, batch: int) -> dict:
    """bench/peers/parti.py's `--sizes` for a vim PartiConfig (the peer has no text encoder: see there)."""
    return {
        "dim": pc.width,
        "depth": pc.decoder_layers,
        "heads": pc.heads,
        "dim_head": pc.head_dim,
        "ff_mult": pc.mlp_dim / pc.width,
        "text_length": pc.text_length,
        "image_grid": pc.image_grid,
        "codebook": pc.image_vocab_size,
        "batch": batch,
    }


class PeerMissing(RuntimeError):
    """The peer's process ended before it was ready (its Python lacks a package, its device is absent …)."""


class Peer:
    """A peer script in its own Python: set up on start, then one timed round per call."""

    def __init__(self, python: str, script: str, *args: str, with_vims_allocator: bool = False):
        env = allocator.environ_without_vim_preload()  # by default the peer runs as its users run it
        if with_vims_allocator:
            library = os.environ[allocator.PRELOADED_BY_VIM]
            env["LD_PRELOAD"] = " ".join(p for p in (library, env.get("LD_PRELOAD", "")) if p)
        self.stderr = tempfile.TemporaryFile("w+")  # noqa: SIM115  (open while the peer runs: close())
        self.process = subprocess.Popen(
            [python, str(PEERS / script), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            env=env,
        )
        self.about = self._answer()

    def _answer(self) -> dict:
        for line in self.process.stdout:
            if line.startswith("{"):
                return json.loads(line)
        self.process.wait()
        self.stderr.seek(0)
        last = (self.stderr.read().strip().splitlines() or [f"exit code {self.process.returncode}"])[-1]
        raise PeerMissing(last[:300])

    def __call__(self) -> float:
        """One round: seconds per unit of work (a step, a batch)."""
        self.process.stdin.write("\n")
        self.process.stdin.flush()
        return self._answer()["seconds"]

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()
        self.stderr.close()


def peer_arguments(parser: argparse.ArgumentParser, needs: str, default: str | None = None) -> None:
    """--peer-python (a Python where `needs` imports) and --peer-threads."""
    parser.add_argument("--peer-python", default=default, help=f"a Python where `{needs}` works")
    parser.add_argument(
        "--peer-threads",
        type=int,
        help="the peer's torch threads (default: torch's own choice, as its users run it; 1 holds steadier where other "
        "jobs share the cores, bench/results/)",
    )


def start_peers(args: argparse.Namespace, script: str, *script_args: str) -> tuple[dict[str, Peer], str | None]:
    """The peer (under args.peer_python) as its users run it ("peer") and, where this process runs under
    vim's tcmalloc, the same under that preload ("peer_tcmalloc"); or no peers and why."""
    python = args.peer_python
    if not python:
        return {}, f"no --peer-python given ({PEER_SETUP})"
    if args.peer_threads:
        script_args = (*script_args, "--threads", str(args.peer_threads))
    peers: dict[str, Peer] = {}
    try:
        peers["peer"] = Peer(python, script, *script_args)
        print("peer:", json.dumps(peers["peer"].about), flush=True)
        if allocator.PRELOADED_BY_VIM in os.environ:
            peers["peer_tcmalloc"] = Peer(python, script, *script_args, with_vims_allocator=True)
    except (PeerMissing, OSError) as e:
        for peer in peers.values():
            peer.close()
        reason = f"bench/peers/{script} did not start under {python}: {e}"
        print(f"peer missing: {reason}; vim's side runs alone", file=sys.stderr, flush=True)
        return {}, reason
    return peers, None


def carried(step: Callable, state: Any, *inputs: Any) -> Callable[[], Any]:
    """A call of a donating train step `step(state, *inputs) -> (state, metrics)` that keeps its state from
    call to call; returns the new state (something to wait on)."""
    holder = [state]

    def call() -> Any:
        holder[0], _ = step(holder[0], *inputs)
        return holder[0]

    return call


def round_timer(call: Callable[[], Any], steps: int) -> Callable[[], float]:
    """vim's side of one round: `steps` calls, waiting for the last result; seconds per call."""

    def one_round() -> float:
        start = time.perf_counter()
        for _ in range(steps):
            out = call()
        jax.block_until_ready(out)
        return (time.perf_counter() - start) / steps

    return one_round


def matmul_round(reps: int = 3) -> Callable[[], float]:
    """This machine's f32 matmul yardstick (vim.perf's, MATMUL_SIDE³) as a side of the rounds, compiled now:
    seconds per matmul of 2 × MATMUL_SIDE³ FLOPs. Timed in every round, so that the peak an MFU divides by
    is measured under the same load as the step."""
    a = jnp.ones((MATMUL_SIDE, MATMUL_SIDE), jnp.float32)
    matmul = jax.jit(lambda x: x @ x)
    matmul(a).block_until_ready()
    return round_timer(lambda: matmul(a), reps)


def train_rounds(
    task: Any, state: Any, batch: dict, steps: int, rounds: int, others: dict[str, Callable[[], float]]
) -> tuple[dict[str, list[float]], dict]:
    """Compile vim's donating train step, warm it up, then time it in `rounds` rounds of `steps` steps,
    each followed by the `others`' turns: seconds per unit by side, and `finish`'s `flops` (XLA's count
    for one step) and `params` (vim's parameter count)."""
    step = jax.jit(task.train_step, donate_argnums=0).lower(state, batch).compile()
    flops = step.cost_analysis().get("flops", float("nan"))
    params = sum(int(np.prod(x.shape)) for x in jax.tree.leaves(state["params"]))
    call = carried(step, state, batch)
    round_timer(call, 3)()  # warm up
    return interleave(rounds, {"vim": round_timer(call, steps), **others}), {"flops": flops, "params": params}


def interleave(rounds: int, sides: dict[str, Callable[[], float]]) -> dict[str, list[float]]:
    """`rounds` rounds of every side in turn (vim first, then each peer, then the matmul yardstick): seconds
    per unit of work, by side. Prints a line a round where there is more than vim, and ends the peers."""
    seconds: dict[str, list[float]] = {name: [] for name in sides}
    try:
        for r in range(rounds):
            for name, side in sides.items():
                seconds[name].append(side())
            if len(sides) > 1:
                print(f"round {r}:", json.dumps({k: round(v[-1], 5) for k, v in seconds.items()}), flush=True)
    finally:
        for side in sides.values():
            if isinstance(side, Peer):
                side.close()
    return seconds


def paired_ratios(vim_s: list[float], peer_s: list[float], name: str = "ratio") -> dict:
    """vim's throughput over the peer's, one ratio per round: their median and their lowest and highest."""
    ratios = [p / v for v, p in zip(vim_s, peer_s, strict=True)]
    return {
        name: round(statistics.median(ratios), 3),
        f"{name}_spread": [round(min(ratios), 3), round(max(ratios), 3)],
        f"{name}_rounds": [round(x, 3) for x in ratios],
    }


def finish(
    bench: str,
    seconds: dict[str, list[float]],
    *,
    work: float,
    unit: str,
    peer_missing: str | None,
    flops: float | None = None,
    **fields: Any,
) -> dict:
    """Print the bench's last line, one JSON object: both sides' median throughput (`work` units per
    second-per-round, e.g. tokens per step), the paired ratio and its spread, the f32 matmul peak (median
    of the rounds' yardstick, with its spread), `mfu` where the FLOPs of vim's unit of work are given
    (the median of each round's vim FLOP/s over that round's peak), the bench's own `fields`, what vim
    allocates with and the CPU model."""
    peaks = [2 * MATMUL_SIDE**3 / s for s in seconds["matmul"]]

    def rate(side: str) -> float | None:
        return float(f"{work / statistics.median(seconds[side]):.4g}") if side in seconds else None

    record: dict[str, Any] = {"bench": bench, "rounds": len(seconds["vim"])}
    record |= {f"vim_{unit}": rate("vim"), f"peer_{unit}": rate("peer")}
    if "peer" in seconds:
        record |= paired_ratios(seconds["vim"], seconds["peer"])
    else:
        record |= {"ratio": None, "peer_missing": peer_missing}
    if "peer_tcmalloc" in seconds:
        record |= paired_ratios(seconds["vim"], seconds["peer_tcmalloc"], "ratio_peer_tcmalloc")
    if flops is not None:
        mfu = statistics.median(flops / s / peak for s, peak in zip(seconds["vim"], peaks, strict=True))
        record |= {"mfu": round(mfu, 4), "step_gflops": round(flops / 1e9, 2)}
    record |= fields
    record |= {
        "matmul_peak_gflops": round(statistics.median(peaks) / 1e9, 1),
        "matmul_peak_spread": [round(min(peaks) / 1e9, 1), round(max(peaks) / 1e9, 1)],
        "vim_malloc": allocator.in_use(),
        "cpu": cpu_model(),
    }
    print(json.dumps(record), flush=True)
    return record
