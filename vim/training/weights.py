"""Model weights as flat `.npz` files ("a/b/c" keys): what bundles and exported parts hold, and the
other shared reads of a run or part folder (its config, its latest EMA weights).

Plain arrays only, so a file loads with numpy alone and never unpickles objects.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jax.numpy as jnp
import numpy as np
from flax import nnx

from vim.config import Config, from_dict

PARAMS_FILE = "params.npz"


def is_exported(folder: Path) -> bool:
    """An exported part (config + params.npz, EMA weights only), not a training workdir with checkpoints."""
    return (folder / PARAMS_FILE).is_file() and not (folder / "checkpoints").is_dir()


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts → {"a/b/c": leaf}."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out |= flatten(value, name + "/")
        else:
            out[name] = value
    return out


def save_params(params: dict, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **{k: np.asarray(v) for k, v in flatten(params).items()})
    tmp.replace(path)


def load_params(module: nnx.Module, path: Path) -> nnx.Module:
    """Fill an (abstract) module's parameters from `path`; every array must be there with its shape."""
    graphdef, abstract = nnx.split(module)
    pure = nnx.to_pure_dict(abstract)
    with np.load(path, allow_pickle=False) as stored:
        flat = flatten(pure)
        missing = sorted(set(flat) - set(stored.files))
        if missing:
            raise ValueError(f"{path} lacks parameters {missing[:5]}{' …' if len(missing) > 5 else ''}")

        def fill(tree: dict, prefix: str = "") -> dict:
            out = {}
            for key, value in tree.items():
                name = f"{prefix}{key}"
                if isinstance(value, dict):
                    out[key] = fill(value, name + "/")
                    continue
                array = stored[name]
                if array.shape != value.shape:
                    raise ValueError(f"{path}: {name} has shape {array.shape}, the config needs {value.shape}")
                out[key] = jnp.asarray(array, value.dtype)
            return out

        nnx.replace_by_pure_dict(abstract, fill(pure))
    return nnx.merge(graphdef, abstract)


def read_config(folder: Path) -> Config:
    """The config.json of a run or an exported part."""
    file = Path(folder) / "config.json"
    if not file.is_file():
        raise FileNotFoundError(f"{folder} has no config.json")
    return from_dict(json.loads(file.read_text()))


def latest_ema(workdir: Path, task: Any) -> dict:
    """{"params": EMA weights, "step": int} of a training run's newest intact checkpoint."""
    from vim.training.checkpoint import restore_latest  # orbax: only when reading a run, not a part

    state, step = restore_latest(workdir, task)
    return {"params": state["ema"], "step": int(step)}

