"""Published figures of the chips `vim plan --auto` plans for, each with its source.

Units: FLOP/s, bytes, bytes/s. `link` is one direction of a chip's fast interconnect (half the
bidirectional figure vendors print) inside its `domain` (an NVLink host of 8 GPUs, a TPU pod slice);
`scale_out` is one direction of what a chip gets beyond it (a GPU's InfiniBand NIC, a TPU's data-center
network share), or None when no figure is published (plans that would need it are refused).
HBM capacities are the vendors' decimal GB (GiB where the vendor says GiB).
"""

from __future__ import annotations

import dataclasses

GB = 1e9
GIB = 2**30
TERA = 1e12


@dataclasses.dataclass(frozen=True)
class Chip:
    name: str
    peak_flops: float  # dense bf16 matmul FLOP/s
    hbm_bytes: float  # memory capacity
    hbm_bandwidth: float  # bytes/s
    link: float  # bytes/s one direction, inside `domain`
    domain: int  # chips that share the fast interconnect
    scale_out: float | None  # bytes/s one direction beyond `domain`

    def scaled(self, **factors: float) -> Chip:
        """This chip with some figures multiplied, e.g. scaled(link=0.8) (the ranking's sensitivity)."""
        return dataclasses.replace(self, **{k: getattr(self, k) * f for k, f in factors.items()})


CHIPS: dict[str, Chip] = {
    # https://glennklockwood.com/garden/processors/h100 (NVIDIA's H100 whitepaper figures): BF16 dense
    # 989.4 TFLOPS, 80 GB HBM3 at 3.35 TB/s, NVLink 900 GB/s; 8 GPUs per HGX/DGX host. One 400 Gb/s
    # ConnectX-7 NIC per GPU: https://www.supercluster.blog/p/4-nvidia-dgx-h100-hardware
    "h100": Chip("h100", 989.4 * TERA, 80 * GB, 3.35e12, 450 * GB, 8, 50 * GB),
    # https://www.aiminingco.com/gpu/h200/specs: the H100's GH100 die (same compute), 141 GB HBM3e at
    # 4.8 TB/s, NVLink 900 GB/s bidirectional, 8-GPU HGX boards; NIC per GPU as the H100's.
    "h200": Chip("h200", 989.4 * TERA, 141 * GB, 4.8e12, 450 * GB, 8, 50 * GB),
    # https://cloud.google.com/tpu/docs/v4: 275 TFLOPS bf16, 32 GiB HBM2 at 1,200 GBps, 4,096-chip pod,
    # all-reduce bandwidth 1.1 PB/s per pod (268 GB/s per chip, taken as its one-way link).
    "tpu-v4": Chip("tpu-v4", 275 * TERA, 32 * GIB, 1200 * GB, 1.1e15 / 4096, 4096, None),
    # https://docs.cloud.google.com/tpu/docs/v5e: 197 TFLOPS bf16, 16 GB HBM2 at 819 GBps, ICI 400 GBps
    # bidirectional per chip, 256-chip pod, data-center network 6.4 Tbps per pod (3.1 GB/s per chip).
    "tpu-v5e": Chip("tpu-v5e", 197 * TERA, 16 * GB, 819 * GB, 200 * GB, 256, 6.4e12 / 8 / 256),
    # https://cloud.google.com/tpu/docs/v5p-training: 459 TFLOPS bf16, 95 GB HBM2e at 2,765 GBps, ICI
    # 1,200 GBps bidirectional per chip, 8,960-chip pod, data-center network 50 Gbps per chip.
    "tpu-v5p": Chip("tpu-v5p", 459 * TERA, 95 * GB, 2765 * GB, 600 * GB, 8960, 50e9 / 8),
}


def chip(name: str) -> Chip:
    """The named chip; an unknown name is an error listing the known ones."""
    if name not in CHIPS:
        raise ValueError(f"unknown chip {name!r}; choose one of {', '.join(CHIPS)}")
    return CHIPS[name]
