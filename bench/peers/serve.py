"""The part of every peer script that talks to the bench (bench/common.py `Peer`), in the peer's own Python.

A peer script builds its model, warms it up and calls `serve`: it prints one JSON line about itself
(library versions, parameters, threads), then times one round for each line it reads on stdin and
answers with one JSON line `{"seconds": s}`, s being seconds per unit of work (a step, a batch) as the
bench's own round counts them. It stops at the end of its input. This module imports nothing but the
standard library, so it runs under any Python that has the peer's packages.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable


def arguments(description: str) -> argparse.ArgumentParser:
    """A peer's command line: its sizes as one JSON object (the bench derives them from vim's config),
    steps per round and threads, plus what the script adds."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--sizes", type=json.loads, default={}, help="the matched sizes, a JSON object")
    parser.add_argument("--steps", type=int, default=1, help="units of work per round")
    parser.add_argument("--threads", type=int, help="torch's CPU threads (default: torch's own choice)")
    return parser


def timer(work: Callable[[], object], steps: int, wait: Callable[[], object] = lambda: None) -> Callable[[], float]:
    """One round: `steps` calls of `work`, then `wait` (a device sync); seconds per call."""

    def one_round() -> float:
        wait()
        start = time.perf_counter()
        for _ in range(steps):
            work()
        wait()
        return (time.perf_counter() - start) / steps

    return one_round


def serve(about: dict, one_round: Callable[[], float]) -> None:
    print(json.dumps(about), flush=True)
    for _ in sys.stdin:
        print(json.dumps({"seconds": one_round()}), flush=True)
