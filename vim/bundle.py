"""Bundles: everything generation needs in one folder, with EMA weights only (no optimizer state).

    vim export --tokenizer runs/tok --parti runs/parti -o checkpoints/shapes-tiny

Layout: `tokenizer/{config.json,params.npz}`, `parti/{config.json,params.npz}`, `text_tokenizer.model`,
`card.json` (provenance and metrics, extended by evaluations) and `README.md` (the model card).
Weights are plain `.npz` so that a bundle loads with numpy alone, and stays small enough to commit.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path
from typing import Any

from flax import nnx

from vim.config import Config, to_dict
from vim.data.text import TextTokenizer
from vim.parti.model import Parti
from vim.tokenizer.model import ViTVQGAN
from vim.training.weights import is_exported, latest_ema, load_params, read_config, save_params

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BUNDLE = REPO_ROOT / "checkpoints" / "shapes-tiny"
CARD = "card.json"


def default_bundle() -> Path:
    """$VIM_CHECKPOINT, else the bundled `checkpoints/shapes-tiny` of this repository."""
    return Path(os.environ.get("VIM_CHECKPOINT", DEFAULT_BUNDLE))


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
        text = TextTokenizer(path / "text_tokenizer.model")
    card = json.loads((path / CARD).read_text()) if (path / CARD).is_file() else {}
    return Bundle(path, tokenizer, tok_cfg, parti, parti_cfg, text, card)


def export_bundle(
    tokenizer_dir: str | os.PathLike,
    parti_dir: str | os.PathLike | None,
    out: str | os.PathLike,
    scorer_dir: str | os.PathLike | None = None,
    upsampler_dir: str | os.PathLike | None = None,
    sample: dict[str, Any] | None = None,
) -> Path:
    """Write the EMA weights of a tokenizer run (and a Parti run trained on it, a reranking scorer and
    an upsampler) as a bundle. The tokenizer may also be an exported part (another bundle's `tokenizer/`),
    copied as it is. `sample` (SampleConfig fields) sets the sampling the bundle recommends: the
    defaults of `vim generate`, `vim eval faithfulness` and the demo."""
    from vim.data.pipeline import text_tokenizer_path
    from vim.parti.train import PartiTask
    from vim.tokenizer.train import TokenizerTask
    from vim.training.checkpoint import dump_json

    out = Path(out)
    card = json.loads((out / CARD).read_text()) if (out / CARD).is_file() else {}
    parts = [("tokenizer", Path(tokenizer_dir), TokenizerTask)]
    if parti_dir is not None:
        parts.append(("parti", Path(parti_dir), PartiTask))
    for name, workdir, task_cls in parts:
        cfg = read_config(workdir)
        if name == "parti" and sample:
            cfg.sample = dataclasses.replace(cfg.sample, **sample)
        (out / name).mkdir(parents=True, exist_ok=True)
        if is_exported(workdir):
            if workdir.resolve() != (out / name).resolve():
                shutil.copyfile(workdir / "params.npz", out / name / "params.npz")
            card.setdefault(name, {"part": str(workdir)})
        else:
            exported = latest_ema(workdir, task_cls(cfg))
            save_params(exported["params"], out / name / "params.npz")
            summary = workdir / "summary.json"
            card[name] = {
                "run": str(workdir),
                "step": exported["step"],
                "summary": json.loads(summary.read_text()) if summary.is_file() else {},
            }
        (out / name / "config.json").write_text(json.dumps(to_dict(cfg), indent=2) + "\n")
        if name == "parti" and text_tokenizer_path(cfg).resolve() != (out / "text_tokenizer.model").resolve():
            shutil.copyfile(text_tokenizer_path(cfg), out / "text_tokenizer.model")
    if scorer_dir is not None:
        from vim.rerank.score import export_scorer

        export_scorer(scorer_dir, out / "scorer")
        card["scorer"] = json.loads((out / "scorer" / "card.json").read_text())
    if upsampler_dir is not None:
        from vim.upsample.train import export_upsampler

        export_upsampler(upsampler_dir, out / "upsampler")
        card["upsampler"] = json.loads((out / "upsampler" / "card.json").read_text())
    dump_json(out / CARD, card)
    return out
