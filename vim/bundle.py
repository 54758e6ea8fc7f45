"""Bundles: everything generation needs in one folder, with EMA weights only (no optimizer state).

    vim export --tokenizer runs/tok --parti runs/parti -o checkpoints/shapes-tiny

Layout: `tokenizer/{config.json,params.npz}`, `parti/{config.json,params.npz,trained_on.json}`,
`text_tokenizer.model`, `card.json` (provenance and metrics, extended by evaluations) and `README.md` (the
model card); optional parts: `scorer/`, `upsampler/` and `classgen/` (a class-conditional model, what
`vim export-classgen RUN BUNDLE/classgen` writes). Weights are plain `.npz` so that a bundle loads with
numpy alone, and stays small enough to commit.

Parts must belong together: `parti/trained_on.json` names the tokenizer weights (fingerprint) and text model
the generator was trained on, and `load_bundle` refuses a bundle whose parts differ from them (a generator
drawing codes of another tokenizer's codebook makes garbage, with no error of its own). `export_bundle`
writes a whole new folder beside the bundle and swaps it in, so no bundle is ever seen half-written.
"""

from __future__ import annotations

import ctypes
import dataclasses
import errno
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from flax import nnx

from vim.config import Config, to_dict
from vim.data.text import TextTokenizer
from vim.files import read_json
from vim.parti.model import Parti
from vim.tokenizer.infer import codes_fingerprint
from vim.tokenizer.model import CODE_WEIGHTS, ViTVQGAN
from vim.training.weights import (
    PARAMS_FILE,
    TRAINED_ON,
    describe_tokenizer,
    file_fingerprint,
    fingerprint,
    is_exported,
    latest_ema,
    load_params,
    module_fingerprint,
    read_config,
    read_record,
    records_mismatch,
    same_codes,
    save_params,
    text_record,
    write_record,
)

log = logging.getLogger(__name__)
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BUNDLE = REPO_ROOT / "checkpoints" / "shapes-tiny"
CARD = "card.json"
TEXT_MODEL = "text_tokenizer.model"
# Siblings of a bundle `out` while `export_bundle` runs: `.{out}.partial-{pid}` (the new bundle being
# written; after the swap, the old one being removed) and `.{out}.old-{pid}` (the old one, where the swap
# takes two renames). Left behind by a killed export, they are cleared or restored by the next one.
PARTIAL, OLD = ".partial-", ".old-"


def default_bundle() -> Path:
    """$VIM_CHECKPOINT, else the bundled `checkpoints/shapes-tiny` of this repository."""
    return Path(os.environ.get("VIM_CHECKPOINT", DEFAULT_BUNDLE))


def bundled_models() -> list[Path]:
    """What the demo offers without --checkpoint: $VIM_CHECKPOINT alone where it is set, else the default
    bundle first and then every other generator bundle in this repository's checkpoints/ (by name)."""
    if "VIM_CHECKPOINT" in os.environ:
        return [default_bundle()]
    others = sorted(
        p
        for p in DEFAULT_BUNDLE.parent.iterdir()
        if p != DEFAULT_BUNDLE and (p / "tokenizer").is_dir() and (p / "parti").is_dir()
    )
    return [DEFAULT_BUNDLE, *others]


@dataclasses.dataclass
class Bundle:
    path: Path
    tokenizer: ViTVQGAN
    tokenizer_cfg: Config
    parti: Parti | None  # None in a tokenizer-only bundle
    parti_cfg: Config | None
    text: TextTokenizer | None
    card: dict

    def reranker(self):
        """The bundle's contrastive scorer (`scorer/`), or None."""
        from vim.rerank.score import Reranker

        return Reranker(self.path / "scorer") if (self.path / "scorer").is_dir() else None

    def upsampler(self):
        """The bundle's super-resolution network (`upsampler/`), or None."""
        from vim.upsample.infer import Upsampler

        return Upsampler(self.path / "upsampler") if (self.path / "upsampler").is_dir() else None

    def classgen(self):
        """The bundle's class-conditional model (`classgen/`) drawing with the bundle's tokenizer, or None."""
        if not (self.path / "classgen").is_dir():
            return None
        from vim.classgen.infer import ClassGenerator, read_classgen  # only for bundles that have one

        model, cfg, step, classes = read_classgen(self.path / "classgen")
        return ClassGenerator(model, cfg, classes, self.tokenizer, step)


def load_bundle(path: str | os.PathLike | None = None) -> Bundle:
    """Load a bundle folder (default: `default_bundle()`)."""
    path = Path(path) if path is not None else default_bundle()
    if not (path / "tokenizer").is_dir():
        hint = " (train and `vim export` one; see checkpoints/README.md)" if path == DEFAULT_BUNDLE else ""
        raise FileNotFoundError(f"{path} is not a vim bundle: no tokenizer/ folder{hint}")
    tok_cfg = read_config(path / "tokenizer")
    tokenizer = load_params(
        nnx.eval_shape(lambda: ViTVQGAN(tok_cfg.tokenizer, rngs=nnx.Rngs(0))), path / "tokenizer" / "params.npz"
    )
    parti = parti_cfg = text = None
    if (path / "parti").is_dir():
        parti_cfg = read_config(path / "parti")
        parti = load_params(
            nnx.eval_shape(lambda: Parti(parti_cfg.parti, rngs=nnx.Rngs(0))), path / "parti" / "params.npz"
        )
        text = TextTokenizer(path / TEXT_MODEL)
    card = read_json(path / CARD) if (path / CARD).is_file() else {}
    if not isinstance(card, dict):
        raise ValueError(f"{path / CARD}: expected a JSON object (the model card), got {type(card).__name__}")
    weights = {"fingerprint": module_fingerprint(tokenizer), "codes": codes_fingerprint(tokenizer)}
    check_parts(path, weights, card, hint=f"`vim export --tokenizer T --parti P -o {path}`")
    return Bundle(path, tokenizer, tok_cfg, parti, parti_cfg, text, card)


def check_parts(path: Path, tokenizer: dict, card: dict, hint: str, shown_as: Path | None = None) -> None:
    """Refuse a bundle whose generator (`parti/`) was trained on another tokenizer's codes or another text
    model than the bundle holds, naming both (the bundle as `shown_as`, default `path`); `tokenizer` is
    the bundled tokenizer's {"fingerprint", "codes"} (`vim.training.weights.same_codes`); `hint` says how
    to make parts that belong together. A generator with no record (made before vim kept one) is used
    with a warning: it cannot be checked. A class-conditional model (`classgen/`) must have been trained
    on the bundle tokenizer's codes too."""
    shown = shown_as or path
    check_classgen_part(path, tokenizer, shown)
    if not (path / "parti").is_dir():
        return
    trained_on = read_record(path / "parti" / TRAINED_ON)
    if trained_on is None:
        log.warning(
            "%s has no record of the tokenizer it was trained on (made before vim kept one), so it cannot be "
            "checked against %s: export it again from its run to record one",
            shown / "parti",
            shown / "tokenizer",
        )
        return
    bundled = {
        "tokenizer": {
            "source": str(shown / "tokenizer"),
            "step": card.get("tokenizer", {}).get("step"),
            **tokenizer,
        },
        "text_tokenizer": text_record(path / TEXT_MODEL) | {"source": str(shown / TEXT_MODEL)},
    }
    if wrong := records_mismatch(trained_on, bundled):
        raise ValueError(
            f"{shown}: the parts do not belong together: parti/ was trained on other parts than the bundle holds "
            f"(trained on vs bundled): {wrong}. Make the bundle from parts that belong together: {hint}"
        )


def check_classgen_part(path: Path, tokenizer: dict, shown: Path) -> None:
    """Refuse a bundle whose `classgen/` was trained on another tokenizer's codes than the bundle's (they
    would mean other pictures); one without a record is used with a warning."""
    if not (path / "classgen").is_dir():
        return
    trained_on = (read_record(path / "classgen" / TRAINED_ON) or {}).get("tokenizer")
    if trained_on is None:
        log.warning("%s has no record of the tokenizer it was trained on, so it cannot be checked", shown / "classgen")
    elif not same_codes(trained_on, tokenizer):
        raise ValueError(
            f"{shown}: classgen/ was trained on tokenizer {describe_tokenizer(trained_on)}, but the bundle's "
            f"tokenizer/ holds weights {tokenizer['fingerprint'][:12]}: export the classgen run trained on this "
            f"tokenizer (vim export-classgen RUN {shown / 'classgen'})"
        )


def export_bundle(
    tokenizer_dir: str | os.PathLike,
    parti_dir: str | os.PathLike | None,
    out: str | os.PathLike,
    scorer_dir: str | os.PathLike | None = None,
    upsampler_dir: str | os.PathLike | None = None,
    sample: dict[str, Any] | None = None,
    demo_candidates: int | None = None,
) -> Path:
    """Write the EMA weights of a tokenizer run (and a Parti run trained on it, a reranking scorer and
    an upsampler) as a bundle. The tokenizer may also be an exported part (another bundle's `tokenizer/`),
    copied as it is. `sample` (SampleConfig fields) sets the sampling the bundle recommends: the
    defaults of `vim generate`, `vim eval faithfulness` and the demo. `demo_candidates` (on the card, kept
    when not given) is how many candidates the demo reranks per request by default.

    An existing bundle at `out` keeps the parts not given (a tokenizer alone is refused where the kept
    generator was trained on other tokenizer weights). The new bundle is written whole beside `out` and
    swapped in, so killed at any moment, `out` holds the old bundle (or none where there was none)."""
    # Imported before the new folder exists, so that it lives only while parts are written.
    from vim.parti.train import PartiTask
    from vim.tokenizer.train import TokenizerTask

    out = Path(out)
    if out.exists() and not (out / "tokenizer").is_dir() and any(out.iterdir()):
        raise ValueError(f"{out} exists and is not a vim bundle (no tokenizer/ folder): export to a new folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    clear_abandoned_exports(out)
    given = {"tokenizer", "parti", TEXT_MODEL} if parti_dir is not None else {"tokenizer"}
    given |= {"scorer"} if scorer_dir is not None else set()
    given |= {"upsampler"} if upsampler_dir is not None else set()
    staging = out.parent / f".{out.name}{PARTIAL}{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)  # named by this process's id: a dead namesake's leftover
    try:
        staging.mkdir()
        if out.is_dir():
            for entry in out.iterdir():
                if entry.name not in given:
                    copy = shutil.copytree if entry.is_dir() else shutil.copy2
                    copy(entry, staging / entry.name)
        parts = [("tokenizer", Path(tokenizer_dir), TokenizerTask)]
        if parti_dir is not None:
            parts.append(("parti", Path(parti_dir), PartiTask))
        _write_parts(parts, staging, scorer_dir, upsampler_dir, sample)
        if demo_candidates is not None:
            card = read_json(staging / CARD)
            write_record(staging / CARD, card | {"demo": card.get("demo", {}) | {"candidates": demo_candidates}})
        new_fingerprint = file_fingerprint(staging / "tokenizer" / PARAMS_FILE)
        kept_generator = parti_dir is None and (staging / "parti").is_dir()
        if kept_generator and read_record(staging / "parti" / TRAINED_ON) is None:
            old_fingerprint = file_fingerprint(out / "tokenizer" / PARAMS_FILE)
            if old_fingerprint != new_fingerprint:
                raise ValueError(
                    f"{out}/parti has no record of the tokenizer it was trained on (exported before vim kept one), "
                    f"so it cannot be kept beside another tokenizer ({tokenizer_dir}, weights {new_fingerprint[:12]}; "
                    f"the bundle's are {old_fingerprint[:12]}): export its run too (--parti) or to a new folder (-o)"
                )
        hint = (
            "export the generator trained on this tokenizer too (--parti), or to a new folder (-o)"
            if kept_generator
            else "give the tokenizer the generator run was trained on (vim train-parti --tokenizer)"
        )
        codes = file_fingerprint(staging / "tokenizer" / PARAMS_FILE, CODE_WEIGHTS)
        weights = {"fingerprint": new_fingerprint, "codes": codes}
        check_parts(staging, weights, json.loads((staging / CARD).read_text()), hint, shown_as=out)
        swap_in(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


def _write_parts(
    parts: list[tuple[str, Path, type]],
    out: Path,
    scorer_dir: str | os.PathLike | None,
    upsampler_dir: str | os.PathLike | None,
    sample: dict[str, Any] | None,
) -> None:
    """Write the parts (name, run or exported part, task class) and the card into the folder `out` (the new
    bundle, before its swap)."""
    from vim.data.pipeline import text_tokenizer_path

    card = read_json(out / CARD) if (out / CARD).is_file() else {}
    for name, workdir, task_cls in parts:
        cfg = read_config(workdir)
        if name == "parti" and sample:
            cfg.sample = dataclasses.replace(cfg.sample, **sample)
        (out / name).mkdir(parents=True, exist_ok=True)
        if is_exported(workdir):
            shutil.copyfile(workdir / PARAMS_FILE, out / name / PARAMS_FILE)
            source_card = read_record(workdir.parent / CARD) or {}
            card[name] = source_card.get(name) or {"part": str(workdir)}
        else:
            exported = latest_ema(workdir, task_cls(cfg))
            save_params(exported["params"], out / name / PARAMS_FILE)
            summary = workdir / "summary.json"
            card[name] = {
                "run": str(workdir),
                "step": exported["step"],
                "summary": json.loads(summary.read_text()) if summary.is_file() else {},
            }
            if name == "tokenizer":
                card[name]["fingerprint"] = fingerprint(exported["params"])
        (out / name / "config.json").write_text(json.dumps(to_dict(cfg), indent=2) + "\n")
        if name == "parti":
            if (workdir / TRAINED_ON).is_file():  # else a generator made before vim kept one: check_parts warns
                shutil.copyfile(workdir / TRAINED_ON, out / name / TRAINED_ON)
            shutil.copyfile(text_tokenizer_path(cfg), out / TEXT_MODEL)
    if scorer_dir is not None:
        from vim.rerank.score import export_scorer

        export_scorer(scorer_dir, out / "scorer")
        card["scorer"] = json.loads((out / "scorer" / "card.json").read_text())
    if upsampler_dir is not None:
        from vim.upsample.train import export_upsampler

        export_upsampler(upsampler_dir, out / "upsampler")
        card["upsampler"] = json.loads((out / "upsampler" / "card.json").read_text())
    write_record(out / CARD, card)


def swap_in(new: Path, out: Path) -> None:
    """Make the folder `new` the bundle `out` in one step where the OS can (Linux renameat2 with
    RENAME_EXCHANGE swaps two names atomically), else by two renames, the old bundle kept as `.{out}.old-{pid}`
    in between (restored by the next export if killed there). Removes the old bundle afterwards."""
    if not out.exists():
        new.rename(out)
        return
    if _exchange(new, out):  # `new` now names the old bundle
        shutil.rmtree(new)
        return
    old = out.parent / f".{out.name}{OLD}{os.getpid()}"
    out.rename(old)
    new.rename(out)
    shutil.rmtree(old)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths' names atomically (renameat2 RENAME_EXCHANGE); False where the OS or filesystem
    has no such call."""
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2  # <fcntl.h>, <linux/fs.h>
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL):
        return False
    raise OSError(code, os.strerror(code), f"{a} <-> {b}")


def clear_abandoned_exports(out: Path) -> None:
    """Remove what killed exports of `out` left beside it (their process gone); an old bundle set aside
    by a two-rename swap that was killed between its renames is put back where no bundle is."""
    for leftover in sorted(out.parent.glob(f".{out.name}.*-*")):
        marker, _, pid = leftover.name[len(out.name) + 1 :].rpartition("-")
        if f"{marker}-" not in (PARTIAL, OLD) or not pid.isdigit() or _running(int(pid)):
            continue
        if f"{marker}-" == OLD and not out.exists():
            leftover.rename(out)
            log.warning("restored %s from %s, left by an export killed while swapping", out, leftover)
        else:
            shutil.rmtree(leftover, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True
