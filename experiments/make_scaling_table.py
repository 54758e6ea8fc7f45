"""The table in docs/scaling.md, rebuilt from the `vim plan` outputs in docs/plans/*.json.

    python -m experiments.make_scaling_table            # print the table
    python -m experiments.make_scaling_table --write    # replace it in docs/scaling.md

Each plan comes from `vim plan --preset NAME --mesh FSDPxMODEL > docs/plans/NAME_MESH.json` (the commands
are in docs/scaling.md); rows are sorted by parameters, then devices.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLANS = ROOT / "docs" / "plans"
DOC = ROOT / "docs" / "scaling.md"
HEADER = (
    "| preset | params | devices (data×fsdp×model) | global batch | microbatches (sequences/device each) | optimizer | "
    "params GiB/dev | optimizer GiB/dev | params+EMA+optimizer GiB/dev | XLA temps (activations) GiB/dev | "
    "total GiB/dev | XLA PFLOP/step | matmul PFLOP/step forward / recomputed / backward / unnamed | "
    "recomputed of forward | 6ND PFLOP/step | compile s |"
)


def row(d: dict) -> str:
    """One plan's table row."""
    m, g, mm = d["mesh"], d["per_device_gib"], d["matmul_flops_per_step"]
    state = g["params"] + g["ema"] + g["optimizer_state"]
    total = state + g["xla_temporaries_activations"]
    return (
        f"| {d['preset']} | {d['parameters'] / 1e9:.2f} B | {d['devices']} "
        f"({m['data']}×{m['fsdp']}×{m['model']}) | {d['global_batch']} | "
        f"{d['microbatches']} ({d['sequences_per_device_per_microbatch']:g}) | {d['optimizer']} | "
        f"{g['params']:.2f} | {g['optimizer_state']:.2f} | {state:.2f} | {g['xla_temporaries_activations']:.1f} | "
        f"**{total:.1f}** | {d['flops_per_step'] / 1e15:.1f} | "
        f"{mm['forward'] / 1e15:.1f} / {mm['recompute'] / 1e15:.1f} / {mm['backward'] / 1e15:.1f} / "
        f"{mm['unattributed'] / 1e15:.1f} | "
        f"{100 * d['recomputed_share_of_forward']:.0f} % | {d['model_flops_per_step_6nd'] / 1e15:.1f} | "
        f"{d.get('compile_wall_seconds', float('nan')):.0f} |"
    )


def table() -> str:
    plans = [json.loads(path.read_text()) for path in sorted(PLANS.glob("*.json"))]
    plans.sort(key=lambda d: (d["parameters"], d["devices"]))
    separator = "|" + "---|" * HEADER.count(" | ") + "---|"
    return "\n".join([HEADER, separator, *(row(d) for d in plans)])


def replace_table(text: str, new: str) -> str:
    """`text` with the table that starts at HEADER (up to the next blank line) replaced by `new`."""
    start = text.index(HEADER)
    end = text.find("\n\n", start)
    return text[:start] + new + (text[end:] if end != -1 else "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="replace the table in docs/scaling.md")
    args = parser.parse_args()
    if args.write:
        DOC.write_text(replace_table(DOC.read_text(), table()))
        print(f"wrote the table into {DOC.relative_to(ROOT)}")
    else:
        print(table())


if __name__ == "__main__":
    main()
