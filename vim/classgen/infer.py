"""A trained class-conditional Transformer ready to draw: loaded from a run (its latest EMA weights) or an
exported part (`vim export-classgen`: config.json, params.npz, trained_on.json, classes.json), with the
tokenizer it was trained on, its class names, and images drawn for classes and seeds.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from vim.classgen.data import CLASSES_FILE, resolve_class, scheme
from vim.classgen.model import ClassGPT
from vim.classgen.sample import sample_codes
from vim.config import Config, SampleConfig, to_dict
from vim.parti.sample import settings_arrays
from vim.training.weights import (
    PARAMS_FILE,
    TRAINED_ON,
    is_exported,
    latest_ema,
    load_params,
    read_config,
    read_record,
    save_params,
    write_record,
)


@dataclasses.dataclass
class ClassGenerator:
    model: ClassGPT
    cfg: Config
    classes: list[str]
    tokenizer: Any  # a ViTVQGAN
    step: int | None
    # This generator's jitted sampler (per batch and guided) and decoder, each compiled once and kept here.
    _programs: dict = dataclasses.field(default_factory=dict, repr=False, compare=False)

    @property
    def null_class(self) -> int:
        return self.model.null_class

    @property
    def has_null_class(self) -> bool:
        """Whether the null class was trained (an unconditional model, or labels dropped for guidance): only
        then can the model draw unconditional images or be guided."""
        return self.cfg.classgen.num_classes == 0 or self.cfg.classgen.class_dropout > 0

    def class_name(self, label: int) -> str:
        """A class id in words: its name, "unconditional" for the null class, the id where names are missing."""
        if label == self.null_class:
            return "unconditional"
        return self.classes[label] if self.classes else str(label)

    def class_reader(self) -> Callable[[np.ndarray], int | None] | None:
        """The class read back from a drawn uint8 image (None: no class seen), where the labels come from a
        scheme that reads images (the shapes world's parser); None otherwise."""
        labels = self.cfg.classgen.labels
        read = getattr(scheme(labels), "read", None) if labels else None
        return None if read is None else lambda image: read(image, self.classes)

    def image_record(self, label: int, seed: int, sample: SampleConfig, checkpoint: str) -> dict:
        """What an image drawn for class `label` and `seed` was made with (a PNG's sidecar or embedded text)."""
        return {
            "class": self.class_name(label),
            "class_id": int(label),
            "seed": int(seed),
            "checkpoint": checkpoint,
            "step": self.step,
            "sample": dataclasses.asdict(sample),
        }

    def class_id(self, name_or_id: str) -> int:
        """A class named or numbered on a command line; an unconditional model has only the null class."""
        if self.cfg.classgen.num_classes == 0:
            raise ValueError("this model is unconditional (classgen.num_classes=0): draw without --class")
        return resolve_class(name_or_id, self.classes)

    def codes(
        self, labels: np.ndarray, seeds: np.ndarray, sample: SampleConfig, batch: int = 64, guided: bool | None = None
    ) -> np.ndarray:
        """Codes int32 [B, N] for class ids (the null class: unconditional) and seeds, `batch` at a time (the
        last batch padded, so every call compiles one program). `guided`: run the null-class rows whatever
        the scale (at scale 1 the logits are the conditional ones), so that every scale shares one program;
        None: only where `sample.guided`."""
        draw = self._drawer(batch, sample.guided if guided is None else guided)
        settings = settings_arrays(sample)
        out = []
        for start in range(0, len(labels), batch):
            part_labels, part_seeds = labels[start : start + batch], seeds[start : start + batch]
            pad = batch - len(part_labels)
            padded_labels = np.pad(np.asarray(part_labels, np.int32), (0, pad), constant_values=self.null_class)
            padded_seeds = np.pad(np.asarray(part_seeds, np.uint32), (0, pad))
            out.append(np.asarray(draw(padded_labels, padded_seeds, settings))[: len(part_labels)])
        return np.concatenate(out)

    def images(self, codes_bn: np.ndarray, batch: int = 64) -> np.ndarray:
        """uint8 images [B, H, W, 3] decoded by the tokenizer."""
        g = self.cfg.classgen.image_grid
        decode = self._decoder()
        out = []
        for start in range(0, len(codes_bn), batch):
            part = jnp.asarray(codes_bn[start : start + batch]).reshape(-1, g, g)
            out.append(np.asarray(decode(part)))
        return np.concatenate(out)

    def _drawer(self, batch: int, guided: bool):
        key = ("draw", batch, guided)
        if key not in self._programs:
            graphdef, state = nnx.split(self.model)

            @jax.jit
            def draw(labels_b, seeds_b, settings):
                return sample_codes(nnx.merge(graphdef, state), labels_b, seeds_b, settings, guided=guided)

            self._programs[key] = draw
        return self._programs[key]

    def _decoder(self):
        """The tokenizer's decode as one jitted function, kept: a new one per call would compile every call."""
        if "decode" not in self._programs:
            graphdef, state = nnx.split(self.tokenizer)

            @jax.jit
            def decode(codes_bgg):
                pixels = nnx.merge(graphdef, state).decode(codes_bgg)
                return (jnp.clip(pixels, 0.0, 1.0) * 255).round().astype(jnp.uint8)

            self._programs["decode"] = decode
        return self._programs["decode"]


def load_classgen(folder: str | os.PathLike, tokenizer: str | os.PathLike | None = None) -> ClassGenerator:
    """A run's latest EMA weights or an exported part, with the tokenizer recorded in its trained_on.json
    (or `tokenizer`, a tokenizer workdir or bundle part)."""
    from vim.tokenizer.infer import load_tokenizer

    folder = Path(folder)
    model, cfg, step, classes = read_classgen(folder)
    if tokenizer is None:
        record = read_record(folder / TRAINED_ON)
        if record is None:
            raise FileNotFoundError(f"{folder} has no {TRAINED_ON} naming its tokenizer: pass --tokenizer")
        tokenizer = record["tokenizer"]["source"]
    tok_model, _ = load_tokenizer(tokenizer)
    return ClassGenerator(model, cfg, classes, tok_model, step)


def read_classgen(folder: Path) -> tuple[ClassGPT, Config, int | None, list[str]]:
    """A classgen run's latest EMA model (or an exported part's), its config, step and class names; the
    tokenizer is the caller's (`load_classgen`, or a bundle's own)."""
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(f"{folder} is not a classgen run or exported part (no config.json)")
    cfg = read_config(folder)
    if is_exported(folder):
        model = load_params(nnx.eval_shape(lambda: ClassGPT(cfg.classgen, rngs=nnx.Rngs(0))), folder / PARAMS_FILE)
        step = (read_record(folder / TRAINED_ON) or {}).get("step")
    else:
        from vim.classgen.train import ClassGenTask

        task = ClassGenTask(cfg)
        exported = latest_ema(folder, task)
        model, step = task.model(exported["params"]), exported["step"]
    names_file = folder / CLASSES_FILE
    if not names_file.is_file() and cfg.classgen.num_classes:
        raise FileNotFoundError(f"{folder} has no {CLASSES_FILE} naming its {cfg.classgen.num_classes} classes")
    classes = json.loads(names_file.read_text()) if names_file.is_file() else []
    return model, cfg, step, classes


def export_classgen(workdir: str | os.PathLike, out: str | os.PathLike, sample: dict[str, Any] | None = None) -> Path:
    """A run's latest EMA weights as a part: config.json, params.npz, trained_on.json (+ step), classes.json.
    `sample` (SampleConfig fields) sets the sampling the part recommends (`vim generate --class` and the
    demo start from it)."""
    generator = load_classgen(workdir)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = read_config(Path(workdir))
    if sample:
        cfg.sample = dataclasses.replace(cfg.sample, **sample)
    (out / "config.json").write_text(json.dumps(to_dict(cfg), indent=2) + "\n")
    save_params(nnx.to_pure_dict(nnx.state(generator.model)), out / PARAMS_FILE)
    record = read_record(Path(workdir) / TRAINED_ON) or {}
    write_record(out / TRAINED_ON, {**record, "step": generator.step})
    (out / CLASSES_FILE).write_text(json.dumps(generator.classes) + "\n")
    return out
