"""Rebuild the table in docs/scaling.md from the `vim plan` outputs in docs/plans/*.json.

python docs/make_scaling_table.py > docs/scaling_table.md
"""

import json
import sys
from pathlib import Path

rows = []
for path in sorted(Path(__file__).parent.glob("plans/*.json")):
    d = json.loads(path.read_text())
    m, g, mm = d["mesh"], d["per_device_gib"], d["matmul_flops_per_step"]
    state = g["params"] + g["ema"] + g["optimizer_state"]
    total = state + g["xla_temporaries_activations"]
    rows.append(
        (
            (d["parameters"], d["devices"]),
            f"| {d['preset']} | {d['parameters'] / 1e9:.2f} B | {d['devices']} "
            f"({m['data']}×{m['fsdp']}×{m['model']}) | {d['global_batch']} | "
            f"{d['microbatches']} ({d['sequences_per_device_per_microbatch']:g}) | {d['optimizer']} | "
            f"{g['params']:.2f} | {g['optimizer_state']:.2f} | {state:.2f} | {g['xla_temporaries_activations']:.1f} | "
            f"**{total:.1f}** | {d['flops_per_step'] / 1e15:.1f} | "
            f"{mm['forward'] / 1e15:.1f} / {mm['recompute'] / 1e15:.1f} / {mm['backward'] / 1e15:.1f} / "
            f"{mm['unattributed'] / 1e15:.1f} | "
            f"{100 * d['recomputed_share_of_forward']:.0f} % | {d['model_flops_per_step_6nd'] / 1e15:.1f} | "
            f"{d.get('compile_wall_seconds', float('nan')):.0f} |",
        )
    )
print(
    "| preset | params | devices (data×fsdp×model) | global batch | microbatches (sequences/device each) | optimizer | "
    "params GiB/dev | optimizer GiB/dev | params+EMA+optimizer GiB/dev | XLA temps (activations) GiB/dev | "
    "total GiB/dev | XLA PFLOP/step | matmul PFLOP/step forward / recomputed / backward / unnamed | "
    "recomputed of forward | 6ND PFLOP/step | compile s |"
)
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for _, row in sorted(rows, key=lambda r: r[0]):
    print(row)
sys.exit(0)
