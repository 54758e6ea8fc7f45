"""Reading a compiled (SPMD-partitioned) HLO module's text: every instruction with the number of times it
runs, and the collectives with the bytes each device sends.

JAX exposes a compiled program's instructions only as text (`compiled.as_text()`; the Python
`HloInstruction` has no shapes or replica groups), and XLA's cost analysis counts a loop body once and
collectives not at all, so `vim plan` reads the text here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator

import numpy as np

INSTRUCTION = re.compile(r"^\s*(?:ROOT )?%([\w.\-]+) = \w+\[([\d,]*)\]")
_COMPUTATION = re.compile(r"^(?:ENTRY )?%([\w.\-]+) .*\{$")
_ARRAY = re.compile(r"\b([a-z]+\d*)\[([\d,]*)\]")
_COLLECTIVE = re.compile(r"= (.*?) (all-reduce|all-gather|reduce-scatter|all-to-all|collective-permute)(-start)?\(")
ITEMSIZE = {"pred": 1, "s8": 1, "u8": 1, "bf16": 2, "f16": 2, "s16": 2, "u16": 2}
ITEMSIZE |= {"f32": 4, "s32": 4, "u32": 4, "f64": 8, "s64": 8, "u64": 8}


def walk(hlo_text: str) -> Iterator[tuple[str, int, dict[str, list[int]]]]:
    """(instruction line, times it runs, shapes of the instructions defined so far in its computation),
    from the entry computation down: a while body counts its known trip count times, fusions, calls
    and every branch of a conditional once per run of their caller."""
    computations: dict[str, list[str]] = {}
    lines: list[str] = []
    entry = ""
    for line in hlo_text.splitlines():
        head = _COMPUTATION.match(line)
        if head:
            lines = computations.setdefault(head.group(1), [])
            entry = head.group(1) if line.startswith("ENTRY") else entry
        elif line.startswith("  "):
            lines.append(line)
    if not entry:
        raise ValueError("no ENTRY computation in the HLO text")

    def visit(name: str, times: int) -> Iterator[tuple[str, int, dict[str, list[int]]]]:
        shapes: dict[str, list[int]] = {}
        for line in computations[name]:
            defined = INSTRUCTION.match(line)
            if defined:
                shapes[defined.group(1)] = [int(v) for v in defined.group(2).split(",") if v]
            yield line, times, shapes
            if " while(" in line:
                trips = re.search(r'"known_trip_count":\{"n":"(\d+)"', line)
                if trips is None:
                    raise ValueError(f"a loop without a known trip count: {line.strip()[:200]}")
                yield from visit(re.search(r"body=%([\w.\-]+)", line).group(1), times * int(trips.group(1)))
            elif " fusion(" in line or " call(" in line:
                for callee in re.findall(r"(?:calls|to_apply)=%([\w.\-]+)", line):
                    yield from visit(callee, times)
            branches = re.search(r"branch_computations=\{([^}]*)\}", line)
            pair = re.search(r"true_computation=%([\w.\-]+), false_computation=%([\w.\-]+)", line)
            for callee in re.findall(r"%([\w.\-]+)", branches.group(1)) if branches else pair.groups() if pair else ():
                yield from visit(callee, times)

    yield from visit(entry, 1)


def _iota(text: str) -> np.ndarray:
    """XLA's iota device list "[a,b]T(1,0)" / "[n]": arange reshaped, then transposed."""
    dims = [int(v) for v in re.match(r"\[([\d,]+)\]", text).group(1).split(",")]
    ids = np.arange(math.prod(dims)).reshape(dims)
    perm = re.search(r"T\(([\d,]+)\)", text)
    return ids.transpose([int(v) for v in perm.group(1).split(",")]) if perm else ids


def device_groups(line: str, devices: int) -> list[list[int]]:
    """The device groups of one collective instruction, in any of the forms XLA prints."""
    pairs = re.search(r"source_target_pairs=\{(.*?)\}(?:,|$)", line)
    if pairs:
        return [[int(v) for v in p.split(",")] for p in re.findall(r"\{([\d,]+)\}", pairs.group(1) + "}")]
    mesh = re.search(r"replica_groups=mesh\[([^\]]*)\](?:, device_ids=\(([^)]*\)?)\))?(?: \{([^}]*)\})?", line)
    if mesh:
        names = re.findall(r"'(\w+)'=(\d+)", mesh.group(1))
        sizes = [int(size) for _, size in names]
        ids = (_iota(mesh.group(2)) if mesh.group(2) else np.arange(math.prod(sizes))).reshape(sizes)
        axes = [n for n, _ in names]
        grouped = [axes.index(a) for a in re.findall(r"'(\w+)'", mesh.group(3) or "")] or list(range(len(axes)))
        rest = [i for i in range(len(axes)) if i not in grouped]
        return ids.transpose(rest + grouped).reshape(-1, math.prod(sizes[i] for i in grouped)).tolist()
    iota = re.search(r"replica_groups=(\[[\d,]+\]<=\[[\d,]+\](?:T\([\d,]+\))?)", line)
    if iota:
        shape = [int(v) for v in re.match(r"\[([\d,]+)\]", iota.group(1)).group(1).split(",")]
        return _iota(iota.group(1).split("<=")[1]).reshape(shape).tolist()
    explicit = re.search(r"replica_groups=\{((?:\{[\d,]*\},?)*)\}", line)
    if explicit:
        groups = [[int(v) for v in g.split(",") if v] for g in re.findall(r"\{([\d,]*)\}", explicit.group(1))]
        return groups or [list(range(devices))]
    raise ValueError(f"cannot read the device groups of: {line.strip()[:300]}")


def span(groups: list[list[int]]) -> int:
    """The smallest power-of-two block of consecutive device ids that holds each group: 8 means every
    group lies within one aligned block of 8 devices (an 8-GPU host, when ids fill hosts in order)."""
    block = 1
    for group in groups:
        while min(group) // block != max(group) // block:
            block *= 2
    return block


def wire_bytes(kind: str, result_bytes: int, group: int) -> float:
    """Bytes one device sends for one collective on a ring (bandwidth-optimal algorithms): an all-reduce
    of B bytes over n devices sends 2(n−1)/n·B (reduce-scatter then all-gather), an all-gather of a
    B-byte result and an all-to-all of B bytes (n−1)/n·B, a reduce-scatter (n−1)·B of its B-byte
    result, a collective permute its buffer once."""
    if group <= 1:
        return 0.0
    share = (group - 1) / group
    return {
        "all-reduce": 2 * share * result_bytes,
        "all-gather": share * result_bytes,
        "all-to-all": share * result_bytes,
        "reduce-scatter": (group - 1) * result_bytes,
        "collective-permute": float(result_bytes),
    }[kind]


def collectives(hlo_text: str, devices: int) -> list[dict]:
    """Every collective of the program, per device: kind, result bytes, group size, span (see `span`),
    times run (loop trip counts) and the bytes it sends each time (`wire_bytes`)."""
    found = []
    for line, times, _ in walk(hlo_text):
        match = _COLLECTIVE.search(line)
        if match is None or line.lstrip().startswith("//"):
            continue
        if match.group(3):  # accelerator schedules: the -start's tuple holds operands and results
            raise ValueError(f"asynchronous collectives are not read here: {line.strip()[:200]}")
        kind = match.group(2)
        size = sum(
            math.prod(int(v) for v in dims.split(",") if v) * ITEMSIZE[dtype]
            for dtype, dims in _ARRAY.findall(match.group(1))
        )
        groups = device_groups(line, devices)
        group = 2 if kind == "collective-permute" else max(len(g) for g in groups)
        found.append(
            {
                "kind": kind,
                "groups": groups,
                "bytes": size,
                "group": group,
                "span": span(groups),
                "times": times,
                "wire_bytes": wire_bytes(kind, size, group),
            }
        )
    return found


def device_groups_of(collective: dict) -> list[list[int]]:
    """A collective's device groups, each sorted, in order: comparable with a mesh axis's groups."""
    return sorted(sorted(g) for g in collective["groups"])


def summarize(found: list[dict], key: Callable[[dict], tuple] = lambda c: (c["kind"], c["group"], c["span"])) -> list:
    """Collectives merged by `key`: count (runs), bytes and wire bytes per step, summed."""
    merged: dict[tuple, dict] = {}
    for c in found:
        entry = merged.setdefault(key(c), {"kind": c["kind"], "group": c["group"], "span": c["span"], "count": 0})
        entry["count"] += c["times"]
        entry["bytes"] = entry.get("bytes", 0) + c["bytes"] * c["times"]
        entry["wire_bytes"] = entry.get("wire_bytes", 0.0) + c["wire_bytes"] * c["times"]
    return sorted(merged.values(), key=lambda e: -e["wire_bytes"])
