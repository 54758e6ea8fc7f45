"""Checks of `vim plan --auto` records against what can be checked without the chips, and their ranking
for every chip in vim/chips.py (the reports do not depend on the chip, so this compiles nothing).

    vim plan --auto --preset tiny --devices 8 --chip h100 --json docs/results/plan-auto/tiny-8.json
    python bench/plan_auto.py docs/results/plan-auto/*.json > docs/results/plan-auto/checks.json

For each record:
- hand counts of the collectives: on a data-only mesh (fsdp = model = 1) the gradient all-reduce sends
  2(N−1)/N × the f32 gradient bytes per device, and with the sharded update the reduce-scatter and the
  weights' all-gather (N−1)/N each; the ratio compiled / hand count is reported;
- the plan's memory against the compiled program's: params + EMA + optimizer state (from shapes and
  shardings) plus the batch (int32 codes and text ids) against XLA's argument bytes;
- the memory bound that prunes candidates before compiling (`vim.parti.plan_auto.memory_bound_gib`) over
  the compiled total: below 1 for every compiled candidate, or the bound would have discarded a plan
  that fits;
- where the hand plan of docs/plans/ for the same preset and device count ranks, when it was a candidate;
- the winner on each chip, and whether it stays the winner with each chip figure at ±20 % (a candidate
  pruned for the searched chip but under another chip's memory is counted as not compiled there).
Prints one JSON object last.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from vim.chips import CHIPS
from vim.config import apply_overrides, preset
from vim.parti.plan_auto import Candidate, memory_bound_gib, rank, stability


def hand_counts(report: dict) -> dict | None:
    """Compiled ring bytes over hand counts for a data-only mesh's gradient collectives, else None."""
    mesh, n = report["mesh"], report["devices"]
    if mesh["fsdp"] != 1 or mesh["model"] != 1 or n == 1:
        return None
    grads = 4 * report["parameters"]

    def sent(kind: str) -> float:
        return sum(c["wire_bytes"] for c in report["collectives"] if c["kind"] == kind and c["group"] == n)

    if report["shard_update"]:
        return {
            "reduce_scatter_over_hand": sent("reduce-scatter") / ((n - 1) / n * grads),
            "all_gather_over_hand": sent("all-gather") / ((n - 1) / n * grads),
            "all_reduce_bytes_left": sent("all-reduce"),
        }
    return {"all_reduce_over_hand": sent("all-reduce") / (2 * (n - 1) / n * grads)}


def memory_check(report: dict, record: dict) -> float:
    """XLA's argument bytes over the plan's state + batch bytes (1.0 = the same)."""
    cfg = apply_overrides(preset(record["preset"], "parti"), record["overrides"])
    gib, mesh = report["per_device_gib"], report["mesh"]
    rows = report["global_batch"] / (mesh["data"] * mesh["fsdp"])
    batch = rows * (cfg.parti.image_grid**2 + cfg.parti.text_length) * 4
    state = (gib["params"] + gib["ema"] + gib["optimizer_state"]) * 2**30
    return gib["xla_arguments"] * 2**30 / (state + batch)


PLANS = Path(__file__).resolve().parents[1] / "docs" / "plans"


def hand_plan(record: dict) -> Candidate | None:
    """The hand plan of docs/plans/ for the record's preset and device count (`<preset>_<fsdp>x<model>.json`,
    without a suffix such as _mb128) as a candidate, or None where there is none."""
    for path in sorted(PLANS.glob(f"{record['preset']}_*x*.json")):
        if not path.stem.removeprefix(f"{record['preset']}_").replace("x", "").isdigit():
            continue
        plan = json.loads(path.read_text())
        mesh = plan["mesh"]
        if mesh["data"] * mesh["fsdp"] * mesh["model"] == record["devices"]:
            return Candidate(
                mesh["data"], mesh["fsdp"], mesh["model"], plan["remat"], plan["microbatches"], plan["optimizer"], False
            )
    return None


def check(path: Path) -> dict:
    record = json.loads(path.read_text())
    reports = {}
    for row in record["rows"]:
        c = Candidate(**row["candidate"])
        reports[c] = record["reports"][c.set_line()]
    compiled = {c: r for c, r in reports.items() if "error" not in r and "pruned_bound_gib" not in r}
    hand = hand_plan(record)
    per_chip = {}
    for name, chip in CHIPS.items():
        rows = rank(reports, chip)
        fits = [r for r in rows if r["status"] == "fits"]
        per_chip[name] = {
            "winner": fits[0]["set"] if fits else None,
            "estimated_step_ms": round(fits[0]["step_s"] * 1e3, 4) if fits else None,
            "fit": len(fits),
            "not_compiled": sum(r["status"] == "not compiled" for r in rows),
            "winner_stable_at_20_percent": all(v["same_winner"] for v in stability(reports, chip).values()),
        }
        hand_rows = [(i, r) for i, r in enumerate(rows, 1) if hand is not None and r["set"] == hand.set_line()]
        if hand_rows:  # the hand plan was one of the candidates: where it ranks
            i, r = hand_rows[0]
            per_chip[name]["hand_plan"] = {
                "set": r["set"],
                "rank": i,
                "status": r["status"],
                "estimated_step_ms": round(r["step_s"] * 1e3, 4) if r["status"] == "fits" else None,
            }
    return {
        "record": path.name,
        "preset": record["preset"],
        "devices": record["devices"],
        "candidates": record["candidates"],
        "compiled": len(compiled),
        "pruned": record.get("pruned", 0),
        "depth_proxy": record.get("depth_proxy", False),
        "memory_bound_over_compiled": {
            c.set_line(): round(
                memory_bound_gib(record["preset"], record["overrides"], c, r["global_batch"])
                / r["per_device_gib"]["total"],
                4,
            )
            for c, r in compiled.items()
        },
        "hand_counts": {c.set_line(): h for c, r in compiled.items() if (h := hand_counts(r))},
        "memory_xla_over_plan": {c.set_line(): round(memory_check(r, record), 4) for c, r in compiled.items()},
        "per_chip": per_chip,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("records", nargs="+", type=Path, help="`vim plan --auto --json` records")
    args = parser.parse_args()
    print(json.dumps([check(p) for p in args.records], indent=2))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
