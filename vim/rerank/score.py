"""Using a trained scorer: load it, score (image, caption) pairs, keep the best of C candidates per prompt.

    reranker = Reranker("checkpoints/shapes-tiny/scorer")        # or a training workdir, e.g. runs/scorer
    s = reranker.scores(images_uint8, prompts)                    # [N] cosine similarities
    keep_idx, all_scores = reranker.rerank(images, prompts, keep) # images [P·C, H, W, 3], prompts [P]

A scorer lives either in its training workdir (config.json + orbax checkpoints; EMA weights
are used) or in an exported folder (`export_to`): config.json, params.npz and the caption model
text_tokenizer.model, so it can sit in a bundle as `scorer/` and load with numpy alone.
"""

from __future__ import annotations

import json
import os
import shutil
import weakref
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from vim.config import CONFIG_FILE, ScorerConfig, to_dict
from vim.data.text import MODEL_FILE, TextTokenizer
from vim.rerank.model import DualEncoder
from vim.sharding import padded_rows
from vim.world.negatives import negative_captions, negative_image

PARAMS_FILE = "params.npz"


def _is_exported(path: Path) -> bool:
    return (path / PARAMS_FILE).is_file()


def load_scorer(path: str | os.PathLike) -> DualEncoder:
    """The scorer in an exported folder, or the EMA weights of a training workdir's latest checkpoint."""
    from vim.training.weights import load_params, read_config

    path = Path(path)
    cfg = read_config(path)
    if _is_exported(path):
        return load_params(nnx.eval_shape(lambda: DualEncoder(cfg.scorer, rngs=nnx.Rngs(0))), path / PARAMS_FILE)
    from vim.rerank.train import ScorerTask
    from vim.training.weights import latest_ema

    task = ScorerTask(cfg)
    return task.model(latest_ema(path, task)["params"])


def text_model_path(path: str | os.PathLike) -> Path:
    """The SentencePiece model the scorer was trained with: beside an export, or the run's dataset's."""
    path = Path(path)
    if _is_exported(path):
        return path / MODEL_FILE
    from vim.data.pipeline import text_tokenizer_path
    from vim.training.weights import read_config

    return text_tokenizer_path(read_config(path))


_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _compiled(scorer: DualEncoder) -> tuple[Callable, Callable]:
    """Jitted (embed_images(uint8), embed_text(ids, mask)) over this scorer's weights, built once per scorer.

    The weights are passed to jit as arguments (not baked in as constants) and the graph definition stays out
    of the jit cache key (it holds the unhashable config). A loaded scorer is treated as frozen: weights
    changed in place after its first use would not be seen.
    """
    if scorer not in _COMPILED:
        graphdef, state = nnx.split(scorer)
        images_fn = jax.jit(lambda st, x: nnx.merge(graphdef, st).embed_images(x.astype(jnp.float32) / 255.0))
        text_fn = jax.jit(lambda st, i, m: nnx.merge(graphdef, st).embed_text(i, m))
        _COMPILED[scorer] = (partial(images_fn, state), partial(text_fn, state))
    return _COMPILED[scorer]


def _chunked(fn, arrays: Sequence[np.ndarray], batch_size: int) -> np.ndarray:
    """fn over rows of `arrays` in chunks of batch_size rows; the last one padded to `padded_rows`, so a few
    candidates are not scored at the cost of a full batch."""
    n = len(arrays[0])
    out = []
    for start in range(0, n, batch_size):
        chunk = [a[start : start + batch_size] for a in arrays]
        rows = len(chunk[0])
        pad = padded_rows(rows, batch_size) - rows
        chunk = [np.concatenate([c, np.repeat(c[-1:], pad, 0)]) if pad else c for c in chunk]
        out.append(np.asarray(fn(*chunk))[:rows])
    return np.concatenate(out) if out else np.zeros((0,), np.float32)


def score(
    scorer: DualEncoder, images_uint8: np.ndarray, text_ids: np.ndarray, text_mask: np.ndarray, batch_size: int = 64
) -> np.ndarray:
    """Cosine similarity of image i with caption i, float32 [B]; higher = a better match."""
    embed_images, embed_text = _compiled(scorer)
    img = _chunked(embed_images, [np.asarray(images_uint8)], batch_size)
    txt = _chunked(embed_text, [np.asarray(text_ids), np.asarray(text_mask)], batch_size)
    return np.sum(img * txt, axis=-1).astype(np.float32)


def top_indices(scores_pc: np.ndarray, keep: int) -> np.ndarray:
    """Indices [P, keep] of each row's `keep` highest scores, best first (ties: the earlier candidate)."""
    scores_pc = np.asarray(scores_pc)
    if not 1 <= keep <= scores_pc.shape[1]:
        raise ValueError(f"keep must be in 1..{scores_pc.shape[1]} (the candidates per prompt), got {keep}")
    return np.argsort(-scores_pc, axis=1, kind="stable")[:, :keep]


def rerank(
    scorer: DualEncoder, images_uint8: np.ndarray, text_ids: np.ndarray, text_mask: np.ndarray, keep: int
) -> tuple[np.ndarray, np.ndarray]:
    """Keep the best `keep` of C candidates per prompt.

    images_uint8 [P·C, H, W, 3] holds prompt p's candidates in rows p·C … p·C + C − 1; text_ids and
    text_mask are [P, T]. Returns (indices [P, keep] into 0..C−1, best first; scores [P, C]).
    """
    p = len(text_ids)
    if p == 0 or len(images_uint8) % p:
        raise ValueError(f"{len(images_uint8)} images do not split into equal candidate sets for {p} prompts")
    c = len(images_uint8) // p
    scores = score(scorer, images_uint8, np.repeat(text_ids, c, 0), np.repeat(text_mask, c, 0)).reshape(p, c)
    return top_indices(scores, keep), scores


class Reranker:
    """A scorer with its own caption tokenizer, for callers that hold prompts as text (vim generate)."""

    def __init__(self, path: str | os.PathLike, batch_size: int = 64):
        self.path = Path(path)
        self.model = load_scorer(self.path)
        self.cfg: ScorerConfig = self.model.cfg
        self.text = TextTokenizer(text_model_path(self.path))
        self.batch_size = batch_size
        self._embed_images, self._embed_text = _compiled(self.model)

    def _check_images(self, images_uint8: np.ndarray) -> np.ndarray:
        images = np.asarray(images_uint8)
        side = self.cfg.image_size
        if images.ndim != 4 or images.shape[1:] != (side, side, 3):
            raise ValueError(f"the scorer takes uint8 images [N, {side}, {side}, 3], got {images.shape}")
        return images

    def embed_images(self, images_uint8: np.ndarray) -> np.ndarray:
        """Unit vectors [N, E] of uint8 images [N, H, W, 3]."""
        images = self._check_images(images_uint8)
        return _chunked(self._embed_images, [images], self.batch_size)

    def embed_text(self, prompts: Sequence[str]) -> np.ndarray:
        """Unit vectors [N, E] of N prompts (tokenized with the scorer's own SentencePiece model)."""
        enc = self.text.encode(list(prompts), self.cfg.text_length)
        return _chunked(self._embed_text, [enc.ids, enc.mask], self.batch_size)

    def scores(self, images_uint8: np.ndarray, prompts: Sequence[str]) -> np.ndarray:
        """Cosine similarity [N] of image i with prompts[i] (a single prompt applies to every image)."""
        images = self._check_images(images_uint8)
        prompts = list(prompts)
        if len(prompts) == 1:
            text = np.repeat(self.embed_text(prompts), len(images), 0)
        elif len(prompts) == len(images):
            unique = sorted(set(prompts))  # generation repeats each prompt C times: embed it once
            table = dict(zip(unique, self.embed_text(unique), strict=True))
            text = np.stack([table[p] for p in prompts]) if prompts else np.zeros((0, self.cfg.embed_dim))
        else:
            raise ValueError(f"{len(images)} images but {len(prompts)} prompts (give one, or one per image)")
        return np.sum(self.embed_images(images) * text, axis=-1).astype(np.float32)

    def rerank(self, images_uint8: np.ndarray, prompts: Sequence[str], keep: int) -> tuple[np.ndarray, np.ndarray]:
        """images [P·C, H, W, 3] (prompt p's C candidates in consecutive rows), P prompts →
        (indices [P, keep] into 0..C−1, best first; scores [P, C])."""
        p = len(prompts)
        if p == 0 or len(images_uint8) % p:
            raise ValueError(f"{len(images_uint8)} images do not split into equal candidate sets for {p} prompts")
        c = len(images_uint8) // p
        scores = self.scores(images_uint8, [q for q in prompts for _ in range(c)]).reshape(p, c)
        return top_indices(scores, keep), scores

    def export_to(self, folder: str | os.PathLike) -> Path:
        """Write config.json (the run's, whose `scorer` section is the architecture) + params.npz +
        text_tokenizer.model (+ provenance) into folder."""
        from vim.training.checkpoint import dump_json
        from vim.training.weights import read_config, save_params

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        dump_json(folder / CONFIG_FILE, to_dict(read_config(self.path)))
        save_params(nnx.to_pure_dict(nnx.state(self.model)), folder / PARAMS_FILE)
        if self.text.path.resolve() != (folder / MODEL_FILE).resolve():
            shutil.copyfile(self.text.path, folder / MODEL_FILE)
        summary = self.path / "summary.json"
        card = {"source": str(self.path), "summary": json.loads(summary.read_text()) if summary.is_file() else {}}
        dump_json(folder / "card.json", card)
        return folder


def export_scorer(workdir: str | os.PathLike, folder: str | os.PathLike) -> Path:
    """Export a trained scorer (EMA weights) so it can live in a bundle as `scorer/`."""
    return Reranker(workdir).export_to(folder)


def retrieval_accuracy(reranker: Reranker, images_uint8: np.ndarray, captions: Sequence[str], group: int = 8) -> dict:
    """Ground-truth ranking check: in consecutive groups of `group` images, how often an image's own caption
    scores above the other group − 1 captions (chance 1/group). An identical caption counts as its own."""
    n = len(captions) // group * group
    if n == 0:
        raise ValueError(f"need at least {group} images, got {len(captions)}")
    img = reranker.embed_images(np.asarray(images_uint8)[:n]).reshape(n // group, group, -1)
    txt = reranker.embed_text(list(captions)[:n]).reshape(n // group, group, -1)
    sims = np.einsum("gie,gje->gij", img, txt)  # [groups, image, caption]
    best = sims.argmax(-1)
    caps = np.asarray(list(captions)[:n], dtype=object).reshape(n // group, group)
    correct = np.array([[caps[g, best[g, i]] == caps[g, i] for i in range(group)] for g in range(n // group)])
    return {"accuracy": float(correct.mean()), "chance": 1.0 / group, "images": n, "group": group}


def evaluate_split(
    path: str | os.PathLike,
    data_cfg,
    split: str = "validation",
    limit: int | None = None,
    groups=(8, 32),
    negatives: bool = False,
) -> dict:
    """Retrieval accuracy of a scorer on rendered ground truth: a dataset split's images and captions; with
    `negatives`, also `evaluate_negatives`'s accuracies over the same examples (read once)."""
    reranker = Reranker(path)
    examples = _split_examples(data_cfg, split, limit)
    images = np.stack([np.asarray(e["image"]) for e in examples])
    captions = [_text(e["caption"]) for e in examples]
    result = {f"1of{g}": retrieval_accuracy(reranker, images, captions, g) for g in groups}
    if negatives:
        result.update(_negative_accuracies(reranker, examples, data_cfg))
    return result


def _split_examples(data_cfg, split: str, limit: int | None) -> list[dict]:
    from vim.data.pipeline import open_split

    source = open_split(data_cfg, split)
    n = len(source) if limit is None else min(limit, len(source))
    return [source[i] for i in range(n)]


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def record_rng(seed: int, index: int) -> np.random.Generator:
    """The generator grain's samplers hand a RandomMap for record `index` (grain 0.2: Philox keyed seed + index)."""
    return np.random.Generator(np.random.Philox(key=seed + index))


def evaluate_negatives(path: str | os.PathLike, data_cfg, split: str = "validation", limit: int | None = None) -> dict:
    """`hard_negative_acc`, `color_swap_acc` and `image_negative_acc` of a scorer on a dataset split, with the
    number of images each is over; an accuracy is absent when no image has that negative (a dataset without
    scenes).

    The negatives are those the in-loop evaluation makes (same per-record generator, split in order).
    """
    return _negative_accuracies(Reranker(path), _split_examples(data_cfg, split, limit), data_cfg)


def _negative_accuracies(reranker: Reranker, examples: list[dict], data_cfg) -> dict:
    world = data_cfg.world
    negatives, swaps, negative_images = [], [], []
    for i, ex in enumerate(examples):
        rng = record_rng(data_cfg.shuffle_seed, i)
        negative, swapped = negative_captions(ex, rng, tuple(world.heldout_pairs), world.max_objects, True)
        negatives.append(negative)
        swaps.append(swapped)
        negative_images.append(negative_image(ex, rng, tuple(world.heldout_pairs), world.max_objects))
    result: dict = {}
    if not examples:
        return result
    image_ne = reranker.embed_images(np.stack([np.asarray(e["image"]) for e in examples]))
    text_ne = reranker.embed_text([_text(e["caption"]) for e in examples])
    own_n = np.sum(image_ne * text_ne, axis=-1)
    for name, captions in (("hard_negative", negatives), ("color_swap", swaps)):
        rows = [i for i, c in enumerate(captions) if c is not None]
        result[f"{name}_images"] = len(rows)
        if rows:
            other_r = np.sum(image_ne[rows] * reranker.embed_text([captions[i] for i in rows]), axis=-1)
            result[f"{name}_acc"] = float(np.mean(own_n[rows] > other_r))
    # The reranker's own choice: one caption, its image against the image's near miss.
    rows = [i for i, im in enumerate(negative_images) if im is not None]
    result["image_negative_images"] = len(rows)
    if rows:
        other_r = np.sum(reranker.embed_images(np.stack([negative_images[i] for i in rows])) * text_ne[rows], axis=-1)
        result["image_negative_acc"] = float(np.mean(own_n[rows] > other_r))
    return result
