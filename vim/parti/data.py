"""Code datasets for the generator: every example's image codes and caption token ids, computed once
by the tokenizer (`vim encode-dataset`) so generator training never runs the tokenizer.

Written as tfds array_record under `<tokenizer workdir>/encoded/` with features
  codes int16 [g, g], text_ids int32 [L], caption text, scene text, heldout bool,
and, written last, `made_from.json`: the tokenizer state (step, weights fingerprint) and text model the
codes were made from. Codes of another tokenizer state are re-encoded by `encode_dataset` and refused by
`check_codes` (train-parti), since a generator trained on them draws garbage with that tokenizer.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import grain
import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from vim import distributed
from vim.config import Config, ConfigError
from vim.data.locations import codes_record, encoded_dir
from vim.data.pipeline import batch_iterator, caption_operations, open_split, text_tokenizer_path
from vim.data.text import TextTokenizer
from vim.training.weights import (
    TRAINED_ON,
    describe_tokenizer,
    is_exported,
    latest_ema,
    module_fingerprint,
    read_config,
    read_record,
    records_mismatch,
    same_codes,
    text_record,
    write_record,
)

log = logging.getLogger(__name__)
SPLITS = ("train", "validation", "test")


def tokenizer_state(tokenizer_workdir: str | os.PathLike) -> tuple[nnx.Module, Config, dict]:
    """A tokenizer run's latest EMA model (or an exported part's), its config, and the record naming that
    state: {"source": the folder, "step": its step (a part's from its bundle card, else None),
    "fingerprint": `vim.training.weights.fingerprint` of its weights, "codes": that of the weights that
    decide its codes (`vim.tokenizer.infer.codes_fingerprint`)}."""
    from vim.tokenizer.infer import codes_fingerprint, load_tokenizer
    from vim.tokenizer.train import TokenizerTask

    workdir = Path(tokenizer_workdir)
    if is_exported(workdir):
        model, cfg = load_tokenizer(workdir)
        card = read_record(workdir.parent / "card.json") or {}
        step = card.get("tokenizer", {}).get("step")
    else:
        cfg = read_config(workdir)
        task = TokenizerTask(cfg)
        exported = latest_ema(workdir, task)
        model, step = task.model(exported["params"]), exported["step"]
    record = {"source": str(workdir), "step": step, "fingerprint": module_fingerprint(model)}
    return model, cfg, record | {"codes": codes_fingerprint(model)}


def encode_dataset(tokenizer_workdir: str | os.PathLike, batch_size: int = 128) -> Path:
    """Encode every split of the tokenizer's dataset; returns the encoded dataset's folder. Cached codes are
    reused only if made from the tokenizer's current state and text model; otherwise they are re-encoded.

    In a multi-process run every process calls this: each encodes its share of the batches (every N-th)
    into `<tokenizer workdir>/encoded.parts/` (a folder all processes must see), then process 0 alone
    writes the one code dataset from them and `made_from.json`, as one process would have."""
    from vim.parti.codes_builder import EncodedCaptions  # tfds: only the writer and readers import it

    model, cfg, state = tokenizer_state(tokenizer_workdir)
    made_from = {"tokenizer": state, "text_tokenizer": text_record(text_tokenizer_path(cfg))}
    out, parts = encoded_dir(tokenizer_workdir), Path(tokenizer_workdir) / "encoded.parts"
    several = distributed.process_count() > 1

    def cached() -> str:  # process 0: "yes" when the cache can be used; else it is removed, to be rebuilt
        if (out / "dataset_info.json").is_file():
            record = read_record(codes_record(tokenizer_workdir))
            if record is not None and not records_mismatch(record, made_from):
                log.info("codes already cached at %s, made from %s", out, describe_tokenizer(state))
                return "yes"
            why = (
                "they have no record of the tokenizer state they were made from (cached before vim kept one)"
                if record is None
                else f"they were made from another state (cached vs now): {records_mismatch(record, made_from)}"
            )
            log.warning("re-encoding the codes at %s: %s", out, why)
            shutil.rmtree(out)
        shutil.rmtree(parts, ignore_errors=True)  # a killed multi-process encoding's shares
        return ""

    if distributed.gather_text(distributed.on_primary(cached, f"checking the codes at {out}") or "")[0]:
        return out
    text = TextTokenizer(text_tokenizer_path(cfg))
    encode = nnx.jit(lambda m, x: m.encode(x))
    grid = cfg.tokenizer.image_size // cfg.tokenizer.patch_size
    available = [s for s in SPLITS if _has_split(cfg, s)]

    def read_batch(source, start: int) -> list[dict]:
        return [source[i] for i in range(start, min(start + batch_size, len(source)))]

    def encode_batch(batch: list[dict]) -> np.ndarray:
        images = jnp.asarray(np.stack([e["image"] for e in batch]), jnp.float32) / 255.0
        return np.asarray(jax.device_get(encode(model, images)), np.int16)

    def my_shares() -> str:  # this process's batches of every split, saved for process 0
        arrays = {}
        for split in available:
            source = open_split(cfg.data, split)
            for start in distributed.my_share(range(0, len(source), batch_size)):
                arrays[f"{split}-{start}"] = encode_batch(read_batch(source, start))
        parts.mkdir(exist_ok=True)
        tmp = parts / f"p{distributed.process_index()}.tmp.npz"
        np.savez(tmp, **arrays)
        tmp.replace(parts / f"p{distributed.process_index()}.npz")
        log.info("process %d encoded %d batch(es) of its share", distributed.process_index(), len(arrays))
        return ""

    shared: dict[str, np.ndarray] = {}
    if several:
        distributed.finish_shares(my_shares, "vim encode-dataset")

    def examples(split: str) -> Iterator[tuple[int, dict]]:
        source = open_split(cfg.data, split)
        for start in range(0, len(source), batch_size):
            batch = read_batch(source, start)  # read once: its images are encoded here when running alone
            codes = shared.pop(f"{split}-{start}") if several else encode_batch(batch)
            captions = [e["caption"].decode() for e in batch]
            ids = text.encode(captions, cfg.text.max_length).ids
            for j, e in enumerate(batch):
                yield (
                    start + j,
                    {
                        "codes": codes[j],
                        "text_ids": ids[j],
                        "caption": captions[j],
                        "scene": e["scene"],
                        "heldout": bool(e["heldout"]),
                    },
                )

    def write() -> str:  # process 0 (or the only process): the one code dataset, made_from.json last
        for part in sorted(parts.glob("p*.npz")) if several else []:
            with np.load(part) as loaded:
                shared.update({key: loaded[key] for key in loaded.files})
        builder = EncodedCaptions(
            grid=grid,
            text_length=cfg.text.max_length,
            splits={s: (lambda s=s: examples(s)) for s in available},
            data_dir=str(Path(tokenizer_workdir) / "encoded"),
        )
        builder.download_and_prepare()
        write_record(codes_record(tokenizer_workdir), made_from)  # last: codes without it are never trusted
        shutil.rmtree(parts, ignore_errors=True)
        if text.num_truncated:
            log.warning(
                "%d captions were longer than text.max_length=%d and were truncated",
                text.num_truncated,
                cfg.text.max_length,
            )
        return str(builder.data_path)

    return Path(distributed.gather_text(distributed.on_primary(write, f"writing the codes at {out}") or "")[0])


def check_codes(tokenizer_workdir: str | os.PathLike, state: dict) -> dict:
    """The cached codes' made-from record, after checking they were made from `state` (`tokenizer_state`'s
    record of the tokenizer now); codes of another or an unrecorded state are refused, saying how to rebuild."""
    path = encoded_dir(tokenizer_workdir)
    rebuild = f"rebuild them with `vim encode-dataset --tokenizer {tokenizer_workdir}`"
    if not (path / "dataset_info.json").is_file():
        raise FileNotFoundError(f"no cached codes at {path}: run `vim encode-dataset --tokenizer {tokenizer_workdir}`")
    made_from = read_record(codes_record(tokenizer_workdir))
    if made_from is None:
        raise ValueError(
            f"the codes at {path} have no record of the tokenizer state they were made from (cached before vim "
            f"kept one, or their encoding was interrupted): {rebuild}"
        )
    if not same_codes(made_from["tokenizer"], state):
        raise ValueError(
            f"the codes at {path} were made by tokenizer {describe_tokenizer(made_from['tokenizer'])}, but the "
            f"tokenizer is now {describe_tokenizer(state)}: {rebuild}"
        )
    return with_codes(made_from, state)


def with_codes(record: dict, state: dict) -> dict:
    """`record` ({"tokenizer", ...}) with the codes fingerprint of `state` added where it was written before
    vim kept one; only for a record already checked to name the same weights."""
    if "codes" in record["tokenizer"] or "codes" not in state:
        return record
    return record | {"tokenizer": record["tokenizer"] | {"codes": state["codes"]}}


def record_trained_on(parti_workdir: str | os.PathLike, trained_on: dict) -> None:
    """Write (process 0) the tokenizer state and text model a Parti run trains on into the run, whence
    `vim export` carries it into the bundle; a run begun on another state is refused, naming both."""
    if not str(parti_workdir).strip():  # Path("") is the current folder
        raise ConfigError("--workdir is empty: give the run's folder")
    file = Path(parti_workdir) / TRAINED_ON
    before = read_record(file)
    if before is not None:
        if wrong := records_mismatch(before, trained_on):
            raise ValueError(
                f"{parti_workdir} was trained on other parts than it is resumed on (trained on vs now): {wrong}. "
                "Resume it with the tokenizer state and text model it began on, or start a new --workdir"
            )
        completed = with_codes(before, trained_on["tokenizer"])
        if completed != before and jax.process_index() == 0:  # so the run pairs with decoder-only fine-tunes
            write_record(file, completed)
        return
    if (Path(parti_workdir) / "checkpoints").is_dir():
        log.warning(
            "%s has no record of the tokenizer it was trained on (begun before vim kept one): recording %s",
            parti_workdir,
            describe_tokenizer(trained_on["tokenizer"]),
        )
    if jax.process_index() == 0:
        file.parent.mkdir(parents=True, exist_ok=True)
        write_record(file, trained_on)


def _has_split(cfg: Config, split: str) -> bool:
    try:
        open_split(cfg.data, split)
    except ValueError:
        return False
    return True


@dataclasses.dataclass
class ToModelInputs(grain.transforms.Map):
    pad_id: int = 0

    def map(self, example: dict) -> dict:
        ids = example["text_ids"].astype(np.int32)
        views = {"text_ids_views": example["text_ids_views"]} if "text_ids_views" in example else {}
        return {
            "codes": example["codes"].astype(np.int32).reshape(-1),
            "text_ids": ids,
            "text_mask": ids != self.pad_id,
            "heldout": np.bool_(example["heldout"]),
            **views,
        }


def code_batches(cfg: Config, tokenizer_workdir: str | os.PathLike, split: str, **kwargs) -> grain.DataLoaderIterator:
    """Batches of {codes int32 [b, N], text_ids int32 [b, L], text_mask bool [b, L], heldout} (with
    parti.text_views also text_ids_views int32 [b, E, L], made from the cached captions)."""
    path = encoded_dir(tokenizer_workdir)
    if not (path / "dataset_info.json").is_file():
        raise FileNotFoundError(f"no cached codes at {path}: run `vim encode-dataset --tokenizer {tokenizer_workdir}`")
    import tensorflow_datasets as tfds  # heavy; only readers need it

    source = tfds.builder_from_directory(str(path)).as_data_source(split)
    views = caption_operations(cfg, text_tokenizer_path(cfg), tokenize=False)
    return batch_iterator(source, [*views, ToModelInputs()], cfg, **kwargs)
