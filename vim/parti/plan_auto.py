"""`vim plan --auto`: search the parallel plans of a preset on N devices and rank them for a chip.

    vim plan --auto --preset parti-350m --devices 64 --chip h100

Every candidate (a mesh data × fsdp × model of N, remat on or off, microbatches, optimizer, the sharded
update) is compiled ahead of time on N fake CPU devices by `vim.parti.plan.plan`, in `jobs` worker
processes, and its report cached under a key of everything that shapes the program (the config's parti, train and mesh
sections, batch, device count, JAX version), so a rerun compiles only what changed. Reports do not depend on the
chip: a chip's figures (`vim.chips`) only rank them. Candidates whose memory per device exceeds the
chip's HBM are discarded; the rest are ranked by `estimate`'s step time.

Step times are estimates from the compiled program and published peak figures, not measurements: no
overlap, no kernel efficiency, XLA:CPU's fusions and schedule rather than the chip compiler's.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from vim.chips import Chip
from vim.config import ConfigError, apply_overrides, preset, to_dict
from vim.files import write_text
from vim.training.optim import OPTIMIZERS

CACHE_VERSION = 1  # bump when a report's fields or their meaning change
SPACE_KEYS = ("mesh", "remat", "microbatches", "optimizer", "shard_update")
FIGURES = ("peak_flops", "hbm_bandwidth", "link", "scale_out")  # the ±20 % sensitivity check varies these


@dataclasses.dataclass(frozen=True, order=True)
class Candidate:
    data: int
    fsdp: int
    model: int
    remat: bool
    microbatches: int
    optimizer: str
    shard_update: bool

    @property
    def mesh(self) -> str:
        return f"{self.data}x{self.fsdp}x{self.model}"

    def overrides(self) -> list[str]:
        return [
            f"mesh.data={self.data}",
            f"mesh.fsdp={self.fsdp}",
            f"mesh.model={self.model}",
            f"parti.remat={str(self.remat).lower()}",
            f"train.microbatches={self.microbatches}",
            f"train.optimizer={self.optimizer}",
            f"train.shard_update={str(self.shard_update).lower()}",
        ]

    def set_line(self) -> str:
        return " ".join(f"--set {o}" for o in self.overrides())


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "vim" / "plan"


def parse_space(items: Sequence[str]) -> dict[str, list[str]]:
    """`--space KEY=V1,V2` items → {key: values}; unknown keys are an error naming the known ones."""
    space: dict[str, list[str]] = {}
    for item in items:
        key, _, values = item.partition("=")
        if key not in SPACE_KEYS or not values:
            raise ConfigError(f"--space {item!r}: expected KEY=V1,V2 with KEY one of {', '.join(SPACE_KEYS)}")
        space[key] = [v.strip().lower() for v in values.split(",") if v.strip()]
        allowed = {"remat": ("true", "false"), "shard_update": ("true", "false"), "optimizer": OPTIMIZERS}.get(key)
        numbers = [v.replace("x", "") for v in space[key]] if key in ("mesh", "microbatches") else []
        if (allowed and not set(space[key]) <= set(allowed)) or not all(n.isdigit() and int(n) > 0 for n in numbers):
            raise ConfigError(f"--space {item!r}: {key} takes {', '.join(allowed) if allowed else 'numbers ≥ 1'}")
    return space


def _meshes(devices: int) -> list[tuple[int, int, int]]:
    return [
        (d, f, devices // (d * f))
        for d in range(1, devices + 1)
        if devices % d == 0
        for f in range(1, devices // d + 1)
        if (devices // d) % f == 0
    ]


def candidates(preset_name: str, overrides: Sequence[str], devices: int, batch: int, space: dict) -> list[Candidate]:
    """Every candidate of the space: meshes whose model axis divides the heads and whose data × fsdp
    divides the batch; remat on and off; the preset's microbatches and twice as many (each dividing a
    device's rows); both optimizers; the sharded update off, and on where there is a data axis. `space`
    (from `parse_space`) narrows any of these to the values it names."""
    cfg = apply_overrides(preset(preset_name, "parti"), overrides)
    meshes = _meshes(devices)
    if "mesh" in space:
        wanted = {tuple(int(v) for v in m.split("x")) for m in space["mesh"]}
        if any(len(m) != 3 or math.prod(m) != devices for m in wanted):
            raise ConfigError(f"--space mesh={','.join(space['mesh'])}: give DATAxFSDPxMODEL of {devices} devices")
        meshes = [m for m in meshes if m in wanted]
    flags = {"true": True, "false": False}
    remats = [flags[v] for v in space.get("remat", ["false", "true"])]
    micro = [int(v) for v in space.get("microbatches", [str(cfg.train.microbatches), str(2 * cfg.train.microbatches)])]
    optimizers = space.get("optimizer", ["adamw", "adafactor"])
    shard = [flags[v] for v in space.get("shard_update", ["false", "true"])]
    out = []
    for (d, f, m), remat, mb, opt, su in itertools.product(meshes, remats, micro, optimizers, shard):
        if cfg.parti.heads % m or batch % (d * f * mb) or (su and d == 1):
            continue
        out.append(Candidate(d, f, m, remat, mb, opt, su))
    return sorted(set(out))


def cache_key(preset_name: str, overrides: Sequence[str], candidate: Candidate, devices: int, batch: int) -> str:
    import jax

    cfg = apply_overrides(preset(preset_name, "parti"), [*overrides, *candidate.overrides()])
    # The sections the Parti train step is built from, not the whole config: a field added to another
    # stage's section must not make every cached report stale.
    shaping = {name: to_dict(getattr(cfg, name)) for name in ("parti", "train", "mesh")}
    text = json.dumps([CACHE_VERSION, jax.__version__, shaping, devices, batch], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def compile_all(
    preset_name: str,
    overrides: Sequence[str],
    cands: Sequence[Candidate],
    devices: int,
    batch: int,
    cache: Path,
    jobs: int = 2,
) -> dict[Candidate, dict]:
    """Each candidate's `plan` report ({"error": …} where it did not compile), from the cache or compiled
    in `jobs` processes with `devices` fake devices each. A process that dies (XLA aborts on some
    programs) costs the candidate it was compiling, recorded as an error; the others go on."""
    cache.mkdir(parents=True, exist_ok=True)
    keys = {c: cache_key(preset_name, overrides, c, devices, batch) for c in cands}
    todo = [c for c in cands if not (cache / f"{keys[c]}.json").exists()]
    while todo:
        shares = [todo[i::jobs] for i in range(jobs) if todo[i::jobs]]
        workers = [_start_worker(preset_name, overrides, share, devices, batch, cache, keys) for share in shares]
        for process, share in zip(workers, shares, strict=True):
            process.wait()
            if process.returncode != 0:  # the first not written is the one it died on
                lost = next((c for c in share if not (cache / f"{keys[c]}.json").exists()), None)
                if lost is not None:
                    error = f"the compiling process died (exit {process.returncode})"
                    write_text(cache / f"{keys[lost]}.json", json.dumps({"error": error}))
        todo = [c for c in cands if not (cache / f"{keys[c]}.json").exists()]
    return {c: json.loads((cache / f"{keys[c]}.json").read_text()) for c in cands}


def _start_worker(preset_name, overrides, share, devices, batch, cache, keys) -> subprocess.Popen:
    job = {
        "preset": preset_name,
        "overrides": list(overrides),
        "devices": devices,
        "batch": batch,
        "candidates": [dataclasses.asdict(c) for c in share],
        "files": [str(cache / f"{keys[c]}.json") for c in share],
    }
    flags = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={devices}"
    env = {**os.environ, "XLA_FLAGS": flags, "JAX_PLATFORMS": "cpu"}
    process = subprocess.Popen([sys.executable, "-m", "vim.parti.plan_auto"], stdin=subprocess.PIPE, env=env)
    process.stdin.write(json.dumps(job).encode())
    process.stdin.close()
    return process


def _worker() -> None:
    """Compile the candidates of one job (JSON on stdin), writing each report to its file as it ends."""
    from vim.config import MeshConfig
    from vim.parti.plan import plan

    job = json.loads(sys.stdin.read())
    for fields, file in zip(job["candidates"], job["files"], strict=True):
        c = Candidate(**fields)
        try:
            cfg = apply_overrides(preset(job["preset"], "parti"), [*job["overrides"], *c.overrides()])
            report = plan(cfg, MeshConfig(data=c.data, fsdp=c.fsdp, model=c.model), job["batch"])
        except Exception as e:  # e.g. a sharding that does not divide a dim: the candidate is out
            report = {"error": f"{type(e).__name__}: {str(e)[:500]}"}
        write_text(Path(file), json.dumps(report))


def estimate(report: dict, chip: Chip) -> dict[str, float]:
    """Seconds per step on `chip`, from one device's share of the compiled program:

        compute       = matmul FLOPs / peak_flops
        memory        = bytes XLA's cost analysis reads and writes / hbm_bandwidth
        communication = Σ over collectives of the bytes a ring sends / bandwidth of the span, where the
                        span is `link` when every group of the collective lies within one `domain` of
                        chips (ids in order: an 8-GPU host, a TPU slice), else `scale_out`
        step          = max(compute, memory) + communication

    Communication is added, not overlapped (XLA can overlap some of it: an upper estimate there), and
    peak figures are never reached (a lower estimate there). Matmul FLOPs count every loop body times
    its trip count (`vim.parti.plan.matmul_flops`)."""
    devices = report["devices"]
    flops = sum(report["matmul_flops_per_step"].values()) / devices
    compute = flops / chip.peak_flops
    memory = report["hbm_bytes_per_step_per_device"] / chip.hbm_bandwidth
    communication = 0.0
    for c in report["collectives"]:
        if c["span"] <= chip.domain:
            communication += c["wire_bytes"] / chip.link
        elif chip.scale_out is None:
            raise ConfigError(f"{chip.name}: no published bandwidth beyond {chip.domain} chips")
        else:
            communication += c["wire_bytes"] / chip.scale_out
    return {
        "compute_s": compute,
        "memory_s": memory,
        "communication_s": communication,
        "step_s": max(compute, memory) + communication,
    }


def fits(report: dict, chip: Chip) -> bool:
    """Whether the device's state and the step's temporaries (`plan`'s total) fit the chip's HBM."""
    return report["per_device_gib"]["total"] * 2**30 <= chip.hbm_bytes


def rank(reports: dict[Candidate, dict], chip: Chip) -> list[dict]:
    """Rows for every candidate: those that fit the chip by estimated step time, then those over its
    memory, then those that did not compile."""
    rows = []
    for c, report in reports.items():
        row = {"candidate": c, "set": c.set_line()}
        if "error" in report:
            rows.append({**row, "status": "error", "error": report["error"]})
            continue
        status = "fits" if fits(report, chip) else "over memory"
        rows.append({**row, "status": status, "gib_per_device": report["per_device_gib"]["total"]})
        rows[-1] |= estimate(report, chip)
    order = {"fits": 0, "over memory": 1, "error": 2}
    return sorted(rows, key=lambda r: (order[r["status"]], r.get("step_s", math.inf), r["candidate"]))


def stability(reports: dict[Candidate, dict], chip: Chip, change: float = 0.2) -> dict:
    """The ranking with each figure in FIGURES (and the HBM capacity) at ±`change`: whether the winner
    and the top three stay the same."""
    base = [r["candidate"] for r in rank(reports, chip) if r["status"] == "fits"]
    out = {}
    for figure in (*FIGURES, "hbm_bytes"):
        if getattr(chip, figure) is None:
            continue
        for factor in (1 - change, 1 + change):
            ranked = [r["candidate"] for r in rank(reports, chip.scaled(**{figure: factor})) if r["status"] == "fits"]
            out[f"{figure}×{factor:.1f}"] = {
                "winner": ranked[0].set_line() if ranked else None,
                "same_winner": bool(ranked and base and ranked[0] == base[0]),
                "same_top3": ranked[:3] == base[:3],
            }
    return out


def table(rows: Iterable[dict]) -> str:
    """A Markdown table of ranked rows."""
    lines = [
        "| rank | mesh (d×f×m) | remat | microbatches | optimizer | sharded update | GiB/device | status "
        "| compute ms | memory ms | comm ms | est. step ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for i, r in enumerate(rows, 1):
        c = r["candidate"]
        head = f"| {i} | {c.mesh} | {c.remat} | {c.microbatches} | {c.optimizer} | {c.shard_update} |"
        if r["status"] == "error":
            lines.append(f"{head} – | error: {r['error'][:60]} | | | | |")
            continue
        ms = [f"{r[k] * 1e3:.3g}" for k in ("compute_s", "memory_s", "communication_s", "step_s")]
        lines.append(f"{head} {r['gib_per_device']:.2f} | {r['status']} | {' | '.join(ms)} |")
    return "\n".join(lines)


def search(
    preset_name: str,
    overrides: Sequence[str],
    devices: int,
    chip: Chip,
    batch: int | None = None,
    space: dict | None = None,
    cache: Path | None = None,
    jobs: int = 2,
) -> dict:
    """The whole search: candidates, compiles (cached), the ranking, its stability; a JSON-able record."""
    start = time.perf_counter()
    batch = batch or apply_overrides(preset(preset_name, "parti"), overrides).data.batch_size
    cands = candidates(preset_name, overrides, devices, batch, space or {})
    if not cands:
        raise ConfigError("no candidate plan: the space is empty for this preset, device count and batch")
    reports = compile_all(preset_name, overrides, cands, devices, batch, cache or default_cache(), jobs)
    rows = rank(reports, chip)
    winner = next((r for r in rows if r["status"] == "fits"), None)
    return {
        "preset": preset_name,
        "overrides": list(overrides),
        "devices": devices,
        "global_batch": batch,
        "chip": dataclasses.asdict(chip),
        "candidates": len(cands),
        "wall_seconds": round(time.perf_counter() - start, 1),
        "rows": [{**r, "candidate": dataclasses.asdict(r["candidate"])} for r in rows],
        "table": table(rows),
        "winner": winner["set"] if winner else None,
        "stability": stability(reports, chip),
        "reports": {c.set_line(): reports[c] for c in cands},
    }


if __name__ == "__main__":
    _worker()
