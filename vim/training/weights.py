"""Model weights as flat `.npz` files ("a/b/c" keys): what bundles and exported parts hold, and the
other shared reads of a run or part folder (its config, its latest EMA weights), and the records that say
which parts belong together (weights fingerprints; the tokenizer state codes were made from or a generator
was trained on).

Plain arrays only, so a file loads with numpy alone and never unpickles objects.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import jax.numpy as jnp
import numpy as np
from flax import nnx

from vim.config import Config, from_dict
from vim.files import read_json

PARAMS_FILE = "params.npz"
# In a Parti run or an exported generator part: the tokenizer state (and text model) it was trained on.
TRAINED_ON = "trained_on.json"


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


def fingerprint(params: dict, only: tuple[str, ...] | None = None) -> str:
    """sha256 of a weights tree (nested dicts, or flat "a/b/c" keys as in params.npz): every array's name,
    dtype, shape and bytes in sorted name order. A run's EMA weights, the part exported from them and the
    module loaded from either share it, so it names one tokenizer state wherever that state lives.
    `only`: hash just the arrays under these top-level names (e.g. a tokenizer's code-deciding weights)."""
    flat = flatten(params)
    if only is not None:
        flat = {name: value for name, value in flat.items() if _under(name, only)}
        if not flat:
            raise ValueError(f"no weights under {only} to fingerprint")
    digest = hashlib.sha256()
    for name, value in sorted(flat.items()):
        array = np.ascontiguousarray(np.asarray(value))
        digest.update(f"{name}|{array.dtype.name}|{array.shape}|".encode())
        digest.update(array.reshape(-1).view(np.uint8))
    return digest.hexdigest()


def _under(name: str, only: tuple[str, ...] | None) -> bool:
    """Whether a flat weight name ("a/b/c") lies under one of the top-level names `only` (None: all)."""
    return only is None or name.split("/")[0] in only


def module_fingerprint(module: nnx.Module) -> str:
    """`fingerprint` of a module's weights as `load_params` fills them."""
    return fingerprint(nnx.to_pure_dict(nnx.state(module)))


def file_fingerprint(path: Path, only: tuple[str, ...] | None = None) -> str:
    """`fingerprint` of a params.npz, read with numpy alone."""
    with np.load(path, allow_pickle=False) as stored:
        return fingerprint({name: stored[name] for name in stored.files if _under(name, only)}, only)


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes (a text tokenizer model)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def read_record(file: Path) -> dict | None:
    """A provenance record (JSON), or None where none was written."""
    return read_json(file) if file.is_file() else None


def text_record(path: str | Path) -> dict:
    """The record naming a text tokenizer model: its path and the sha256 of its bytes."""
    return {"source": str(path), "sha256": file_sha256(Path(path))}


def describe_tokenizer(tokenizer: dict) -> str:
    """A tokenizer state record ({"source", "step", "fingerprint"}) in words, for errors naming two."""
    step = "" if tokenizer.get("step") is None else f" step {tokenizer['step']}"
    return f"{tokenizer['source']}{step} (weights {tokenizer['fingerprint'][:12]})"


def same_codes(a: dict, b: dict) -> bool:
    """Whether two tokenizer state records ({"source", "step", "fingerprint"[, "codes"]}) give every image
    the same codes with the same meaning: their "codes" fingerprints (of the code-deciding weights) where
    both records have one, so a tokenizer whose decoder alone was fine-tuned still pairs with generators
    trained on its codes; else (records written before vim kept one) the fingerprints of all weights."""
    if a.get("codes") and b.get("codes"):
        return a["codes"] == b["codes"]
    return a["fingerprint"] == b["fingerprint"]


def records_mismatch(a: dict, b: dict) -> str:
    """What differs between two {"tokenizer", "text_tokenizer"} records (of codes, a Parti run or part, a
    bundle), as "a vs b" in words; empty when both name a tokenizer with the same codes (`same_codes`) and
    the same text model."""
    wrong = []
    if not same_codes(a["tokenizer"], b["tokenizer"]):
        wrong.append(f"tokenizer {describe_tokenizer(a['tokenizer'])} vs {describe_tokenizer(b['tokenizer'])}")
    if a["text_tokenizer"]["sha256"] != b["text_tokenizer"]["sha256"]:
        first, second = a["text_tokenizer"], b["text_tokenizer"]
        wrong.append(
            f"text model {first['source']} (sha256 {first['sha256'][:12]}) vs "
            f"{second['source']} (sha256 {second['sha256'][:12]})"
        )
    return "; ".join(wrong)


def write_record(file: Path, record: dict) -> None:
    """Write a provenance record whole or not at all (a temporary file renamed over it)."""
    tmp = file.with_name(file.name + ".tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    tmp.replace(file)


def read_params(path: Path, like: dict) -> dict:
    """A weights tree shaped like `like` (nested dicts of arrays or shape structs) from a params.npz, in
    `like`'s dtypes; every array must be there with its shape (extra arrays in the file are an error too:
    they mean another model)."""
    with np.load(path, allow_pickle=False) as stored:
        flat = flatten(like)
        missing, extra = sorted(set(flat) - set(stored.files)), sorted(set(stored.files) - set(flat))
        if missing or extra:
            raise ValueError(
                f"{path} does not hold this model's parameters: lacks {missing[:5]}{' …' if len(missing) > 5 else ''}"
                f", has others {extra[:5]}{' …' if len(extra) > 5 else ''}"
            )

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

        return fill(like)


def load_params(module: nnx.Module, path: Path) -> nnx.Module:
    """Fill an (abstract) module's parameters from `path` (`read_params`)."""
    graphdef, abstract = nnx.split(module)
    nnx.replace_by_pure_dict(abstract, read_params(path, nnx.to_pure_dict(abstract)))
    return nnx.merge(graphdef, abstract)


def read_config(folder: Path) -> Config:
    """The config.json of a run or an exported part."""
    file = Path(folder) / "config.json"
    if not file.is_file():
        raise FileNotFoundError(f"{folder} has no config.json")
    config = read_json(file)
    if not isinstance(config, dict):
        raise ValueError(f"{file}: expected a JSON object (a vim config), got {type(config).__name__}")
    return from_dict(config)


def latest_ema(workdir: Path, task: Any) -> dict:
    """{"params": EMA weights, "step": int} of a training run's newest intact checkpoint."""
    from vim.training.checkpoint import restore_latest  # orbax: only when reading a run, not a part

    state, step = restore_latest(workdir, task)
    return {"params": state["ema"], "step": int(step)}
