"""`vim plan --auto`: search the parallel plans of a preset on N devices and rank them for a chip.

    vim plan --auto --preset parti-350m --devices 64 --chip h100

Every candidate (a mesh data × fsdp × model of N, remat on or off, microbatches, optimizer, the sharded
update) is compiled ahead of time on N fake CPU devices by `vim.parti.plan.plan`, in `jobs` worker
processes, and its report cached under a key of everything that shapes the program (the config's parti, train and mesh
sections, batch, device count, JAX version), so a rerun compiles only what changed. Reports do not depend on the
chip: a chip's figures (`vim.chips`) only rank them. Candidates whose memory per device exceeds the
chip's HBM are discarded; the rest are ranked by `estimate`'s step time.

Two shortcuts keep big searches affordable (docs/scaling.md says what each was checked against):
- `memory_bound_gib`, a lower bound of a candidate's memory from shapes alone: a candidate whose bound
  is over the chip's HBM is not compiled (`prune`);
- `depth_proxy`: instead of the preset's whole stack, each candidate is compiled with 1+1, 2+1 and 1+2
  encoder+decoder blocks and every per-step quantity extrapolated linearly in the block counts
  (`extrapolate`): the blocks are unrolled, so a compile grows with the depth, the proxies' do not.

Step times are estimates from the compiled program and published peak figures, not measurements: no
overlap, no kernel efficiency, XLA:CPU's fusions and schedule rather than the chip compiler's.
"""

from __future__ import annotations

import dataclasses
import functools
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
# (encoder, decoder) blocks of the three compiles `depth_proxy` extrapolates from: a base, one more
# encoder block, one more decoder block.
DEPTH_PROXIES = ((1, 1), (2, 1), (1, 2))
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
    depth_proxy: bool = False,
) -> dict[Candidate, dict]:
    """Each candidate's `plan` report ({"error": …} where it did not compile), from the cache or compiled
    in `jobs` processes with `devices` fake devices each. A process that dies (XLA aborts on some
    programs) costs the candidate it was compiling, recorded as an error; the others go on. With
    `depth_proxy`, the report is `extrapolate`d from the DEPTH_PROXIES compiles of the candidate."""
    cache.mkdir(parents=True, exist_ok=True)
    depths = DEPTH_PROXIES if depth_proxy else (None,)
    units = [(c, depth) for c in cands for depth in depths]
    extra = {depth: _depth_overrides(depth) for depth in depths}
    keys = {(c, d): cache_key(preset_name, [*overrides, *extra[d]], c, devices, batch) for c, d in units}
    todo = [u for u in units if not (cache / f"{keys[u]}.json").exists()]
    while todo:
        shares = [todo[i::jobs] for i in range(jobs) if todo[i::jobs]]
        workers = [_start_worker(preset_name, overrides, share, devices, batch, cache, keys, extra) for share in shares]
        for process, share in zip(workers, shares, strict=True):
            process.wait()
            if process.returncode != 0:  # the first not written is the one it died on
                lost = next((u for u in share if not (cache / f"{keys[u]}.json").exists()), None)
                if lost is not None:
                    error = f"the compiling process died (exit {process.returncode})"
                    write_text(cache / f"{keys[lost]}.json", json.dumps({"error": error}))
        todo = [u for u in units if not (cache / f"{keys[u]}.json").exists()]
    reports = {u: json.loads((cache / f"{keys[u]}.json").read_text()) for u in units}
    if not depth_proxy:
        return {c: reports[(c, None)] for c in cands}
    cfg = apply_overrides(preset(preset_name, "parti"), overrides)
    layers = (cfg.parti.encoder_layers, cfg.parti.decoder_layers)
    out = {}
    for c in cands:
        proxies = {d: reports[(c, d)] for d in depths}
        failed = next((r for r in proxies.values() if "error" in r), None)
        out[c] = failed if failed is not None else extrapolate(proxies, *layers)
    return out


def _depth_overrides(depth: tuple[int, int] | None) -> list[str]:
    if depth is None:
        return []
    return [f"parti.encoder_layers={depth[0]}", f"parti.decoder_layers={depth[1]}"]


def extrapolate(proxies: dict[tuple[int, int], dict], encoder_layers: int, decoder_layers: int) -> dict:
    """A whole stack's report from the DEPTH_PROXIES compiles of the same candidate: every per-step
    number (memory, FLOPs, HBM bytes, each collective's count and bytes, parameters) as

        full = r(1,1) + (E − 1)·(r(2,1) − r(1,1)) + (D − 1)·(r(1,2) − r(1,1))

    for E encoder and D decoder blocks. Exact where a quantity is a sum over blocks plus what is outside
    them (state, FLOPs, bytes, collectives); for XLA's temporaries it assumes the peak grows by the same
    amount per block (docs/scaling.md: checked against whole-stack compiles with remat; not checked
    without it). Collectives are matched by kind, group and span."""
    base, more_enc, more_dec = (proxies[d] for d in DEPTH_PROXIES)
    e, d = encoder_layers - 1, decoder_layers - 1

    def combine(b, x, y):
        if isinstance(b, dict):
            return {k: combine(b[k], x[k], y[k]) for k in b}
        if isinstance(b, bool) or not isinstance(b, int | float):
            return b
        return b + e * (x - b) + d * (y - b)

    out = {k: combine(v, more_enc[k], more_dec[k]) for k, v in base.items() if k not in ("collectives",)}

    def by_key(report):
        return {(c["kind"], c["group"], c["span"]): c for c in report["collectives"]}

    zero = {"count": 0, "bytes": 0, "wire_bytes": 0.0}
    b, x, y = by_key(base), by_key(more_enc), by_key(more_dec)
    collectives = []
    for key in sorted(set(b) | set(x) | set(y)):
        parts = [r.get(key, {**zero, "kind": key[0], "group": key[1], "span": key[2]}) for r in (b, x, y)]
        entry = {"kind": key[0], "group": key[1], "span": key[2]}
        entry |= {f: combine(*(p[f] for p in parts)) for f in ("count", "bytes", "wire_bytes")}
        collectives.append(entry)
    out["collectives"] = sorted(collectives, key=lambda c: -c["wire_bytes"])
    forward = out["matmul_flops_per_step"]["forward"]
    out["recomputed_share_of_forward"] = out["matmul_flops_per_step"]["recompute"] / forward if forward else 0.0
    out["compile_wall_seconds"] = sum(r["compile_wall_seconds"] for r in proxies.values())
    out["depth_proxy"] = {"compiled": [list(k) for k in DEPTH_PROXIES], "layers": [encoder_layers, decoder_layers]}
    return out


def memory_bound_gib(preset_name: str, overrides: Sequence[str], candidate: Candidate, batch: int) -> float:
    """A lower bound of `plan`'s total GiB per device, from shapes alone (nothing compiled):

        params + EMA                 Σ over parameters of their shard's elements × 4 bytes, twice
        optimizer state              AdamW: 2 × 4 bytes per shard element; Adafactor: 2 (its bf16 first
                                     moment, when b1 > 0; the factored second moment left out); divided by
                                     mesh.data with the sharded update
        saved block inputs           (E·T + D·N) × rows × width × the compute dtype's bytes

    where a shard's dims are floor(dim / the mesh axes' product) (rounded down, so never more than the
    real shard), rows = batch / (data·fsdp) / microbatches, and the inputs of all E encoder and D decoder
    blocks of one microbatch are live when the backward pass starts (with remat, exactly what each
    block keeps; without it a block keeps at least its first matmul's input, as large). Everything
    else (gradients, their sum, the logits, a block's working set) is left out, so the bound stays
    below the compiled total."""
    import jax.numpy as jnp

    cfg = apply_overrides(preset(preset_name, "parti"), [*overrides, *candidate.overrides()])
    sizes = {"data": candidate.data, "fsdp": candidate.fsdp, "model": candidate.model}
    shard_elements = 0
    for shape, spec in _param_shapes(preset_name, tuple(overrides)):
        dims = list(shape)
        for i, axes in enumerate(spec):
            if axes is not None:
                dims[i] //= math.prod(sizes[a] for a in ((axes,) if isinstance(axes, str) else axes))
        shard_elements += math.prod(dims)
    state = 2 * 4 * shard_elements
    per_element = {"adamw": 8, "adafactor": 2 if cfg.train.b1 > 0 else 0}[cfg.train.optimizer]
    state += per_element * shard_elements // (candidate.data if candidate.shard_update else 1)
    pc = cfg.parti
    rows = batch // (candidate.data * candidate.fsdp) // candidate.microbatches
    tokens = pc.encoder_layers * pc.text_length + pc.decoder_layers * pc.image_grid**2
    saved = tokens * rows * pc.width * jnp.dtype(pc.compute_dtype).itemsize
    return (state + saved) / 2**30


@functools.lru_cache(maxsize=8)
def _param_shapes(preset_name: str, overrides: tuple[str, ...]) -> list[tuple[tuple[int, ...], tuple]]:
    """Every Parti parameter's shape and PartitionSpec (the mesh, optimizer and remat do not change them)."""
    import jax

    from vim.parti.train import PartiTask
    from vim.sharding import param_specs

    task = PartiTask(apply_overrides(preset(preset_name, "parti"), overrides))
    specs = param_specs(task.abstract_params)
    spec_leaves = jax.tree.leaves(specs, is_leaf=lambda x: isinstance(x, jax.sharding.PartitionSpec))
    leaves = jax.tree.leaves(task.abstract_params)
    return [(leaf.shape, tuple(spec)) for leaf, spec in zip(leaves, spec_leaves, strict=True)]


def _start_worker(preset_name, overrides, share, devices, batch, cache, keys, extra) -> subprocess.Popen:
    job = {
        "preset": preset_name,
        "overrides": list(overrides),
        "devices": devices,
        "batch": batch,
        "candidates": [dataclasses.asdict(c) for c, _ in share],
        "extra": [extra[d] for _, d in share],
        "files": [str(cache / f"{keys[u]}.json") for u in share],
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
    for fields, extra, file in zip(job["candidates"], job["extra"], job["files"], strict=True):
        c = Candidate(**fields)
        try:
            cfg = apply_overrides(preset(job["preset"], "parti"), [*job["overrides"], *extra, *c.overrides()])
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
        if "pruned_bound_gib" in report:  # not compiled: its lower bound was over the searched chip's HBM
            over = report["pruned_bound_gib"] * 2**30 > chip.hbm_bytes
            rows.append({**row, "status": "over memory (bound)" if over else "not compiled", **report})
            continue
        status = "fits" if fits(report, chip) else "over memory"
        rows.append({**row, "status": status, "gib_per_device": report["per_device_gib"]["total"]})
        rows[-1] |= estimate(report, chip)
    order = {"fits": 0, "over memory": 1, "over memory (bound)": 2, "not compiled": 3, "error": 4}
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
        if "pruned_bound_gib" in r:
            lines.append(f"{head} ≥ {r['pruned_bound_gib']:.2f} | {r['status']} | | | | |")
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
    depth_proxy: bool = False,
    prune: bool = True,
) -> dict:
    """The whole search: candidates, the bound's pruning (`prune`), compiles (cached; `depth_proxy`
    compiles three shallow stacks per candidate), the ranking, its stability; a JSON-able record."""
    start = time.perf_counter()
    batch = batch or apply_overrides(preset(preset_name, "parti"), overrides).data.batch_size
    cands = candidates(preset_name, overrides, devices, batch, space or {})
    if not cands:
        raise ConfigError("no candidate plan: the space is empty for this preset, device count and batch")
    bounds = {c: memory_bound_gib(preset_name, overrides, c, batch) for c in cands}
    pruned = {c for c in cands if prune and bounds[c] * 2**30 > chip.hbm_bytes}
    kept = [c for c in cands if c not in pruned]
    reports = compile_all(preset_name, overrides, kept, devices, batch, cache or default_cache(), jobs, depth_proxy)
    reports |= {c: {"pruned_bound_gib": bounds[c]} for c in pruned}
    rows = rank(reports, chip)
    winner = next((r for r in rows if r["status"] == "fits"), None)
    return {
        "preset": preset_name,
        "overrides": list(overrides),
        "devices": devices,
        "global_batch": batch,
        "chip": dataclasses.asdict(chip),
        "candidates": len(cands),
        "pruned": len(pruned),
        "compiled": len(kept) * (len(DEPTH_PROXIES) if depth_proxy else 1),
        "depth_proxy": depth_proxy,
        "wall_seconds": round(time.perf_counter() - start, 1),
        "rows": [{**r, "candidate": dataclasses.asdict(r["candidate"])} for r in rows],
        "table": table(rows),
        "winner": winner["set"] if winner else None,
        "stability": stability(reports, chip),
        "memory_bound_gib": {c.set_line(): bounds[c] for c in cands},
        "reports": {c.set_line(): reports[c] for c in cands},
    }


if __name__ == "__main__":
    _worker()
