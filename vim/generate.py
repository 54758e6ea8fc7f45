"""Text → images with a bundle: prompt checks, batched guided sampling, decoding, PNG + JSON sidecars.

    vim generate "a red circle left of two blue squares" -n 4 --cfg 3 --seed 0 -o out/

The CLI, the faithfulness evaluation, the P2 runner and the demo all go through `Generator`, so they
share one compiled sampler and one set of prompt rules.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import time
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from PIL import Image

from vim import distributed
from vim.bundle import Bundle
from vim.config import MeshConfig, SampleConfig, to_dict
from vim.data.text_views import encode_views
from vim.files import save_image, write_text
from vim.parti.sample import sample_codes, settings_arrays
from vim.sharding import batch_sharding, make_mesh, padded_rows, replicated

MAX_PROMPT_CHARS = 2_000  # longer input is refused before tokenizing, so no request costs unbounded work
# Every size a user can ask for is bounded, so that no command line runs the machine out of memory: a prompt's
# candidates are held together to be reranked, a batch is one program's rows, a prompt file is read whole.
MAX_IMAGES_PER_PROMPT = 1024  # -n
MAX_CANDIDATES = 1024  # --candidates
MAX_DEMO_CANDIDATES = 16  # candidates a demo request draws and reranks (`vim export --candidates`)
MAX_BATCH_SIZE = 1024  # --batch-size
MAX_PROMPTS = 100_000  # prompts in one command (lines of --file)
MAX_PROMPT_FILE_BYTES = 64 * 1024**2
SEED_LIMIT = 2**32  # seeds are uint32: every image's seed (seed + offset) must lie in 0..2³²−1
TOP_K_LIMIT = 2**31  # top-k is an int32 in the sampler (any value past the codebook size keeps every code)


class PromptError(ValueError):
    """A prompt that cannot be used; the message says what is wrong with it."""


def check_prompt(prompt: str) -> str:
    """The prompt with surrounding whitespace removed, or PromptError (empty, too long, control chars)."""
    if not isinstance(prompt, str):
        raise PromptError(f"prompt must be text, got {type(prompt).__name__}")
    text = prompt.strip()
    if not text:
        raise PromptError("prompt is empty")
    if len(text) > MAX_PROMPT_CHARS:
        raise PromptError(f"prompt has {len(text)} characters; the limit is {MAX_PROMPT_CHARS}")
    for i, ch in enumerate(text):
        category = unicodedata.category(ch)
        if category == "Cs" or ch == "\ufffd":  # argv/files decode bad bytes to U+DC80..U+DCFF or U+FFFD
            byte = f" 0x{ord(ch) - 0xDC00:02X}" if 0xDC80 <= ord(ch) <= 0xDCFF else ""
            raise PromptError(f"prompt contains an invalid UTF-8 byte{byte} at position {i}")
        if category == "Cc":
            raise PromptError(f"prompt contains control character U+{ord(ch):04X} at position {i}")
    return text


def check_settings(sample: SampleConfig) -> None:
    problems = []
    if not 0.0 <= sample.cfg_scale <= 50.0:
        problems.append(f"cfg scale {sample.cfg_scale} (allowed 0..50)")
    if not 0.0 <= sample.temperature <= 10.0:
        problems.append(f"temperature {sample.temperature} (allowed 0..10)")
    if not 0 <= sample.top_k < TOP_K_LIMIT:
        problems.append(f"top-k {sample.top_k} (allowed 0..{TOP_K_LIMIT - 1}; 0 = off)")
    if not 0.0 < sample.top_p <= 1.0:
        problems.append(f"top-p {sample.top_p} (allowed (0, 1])")
    bad = [x for x in sample.candidate_cfg_scales if not 0.0 <= x <= 50.0]
    if bad:
        problems.append(f"candidate cfg scales {bad} (allowed 0..50)")
    if problems:
        raise ValueError("bad sampling settings: " + "; ".join(problems))


def check_bound(flag: str, value: int | None, low: int, high: int) -> None:
    """ValueError naming `flag` when `value` (None: not given) lies outside low..high."""
    if value is not None and not low <= value <= high:
        raise ValueError(f"{flag} must be {low}..{high}, got {value}")


def check_seeds(first: int, count: int, flag: str = "--seed") -> None:
    """Refuse a first seed whose `count` consecutive seeds leave uint32 (numpy would raise OverflowError
    deep in sampling, or a seed would silently wrap around)."""
    if first < 0 or first + max(count, 1) - 1 >= SEED_LIMIT:
        raise ValueError(
            f"{flag} must be 0..{SEED_LIMIT - 1} with every image's seed (seed + offset, here up to seed + "
            f"{max(count, 1) - 1}) below 2³², got {first}"
        )


def check_sample_flags(args: Any) -> None:
    """The bounds of the flags `add_sample_args` gives a drawing command, checked before a bundle loads."""
    check_bound("--batch-size", args.batch_size, 1, MAX_BATCH_SIZE)
    check_bound("--top-k", args.top_k, 0, TOP_K_LIMIT - 1)
    check_seeds(args.seed, 1)


def read_prompt_file(path: str | os.PathLike) -> list[str]:
    """The non-blank lines of a prompt file, refused (naming the file) past MAX_PROMPT_FILE_BYTES or
    MAX_PROMPTS, so that a wrong file (a log, an image) never fills memory before any check runs."""
    with open(path, "rb") as f:
        raw = f.read(MAX_PROMPT_FILE_BYTES + 1)
    if len(raw) > MAX_PROMPT_FILE_BYTES:
        raise ValueError(f"--file {path}: over {MAX_PROMPT_FILE_BYTES:,} bytes; split it into smaller files")
    lines = [line for line in raw.decode("utf-8", errors="surrogateescape").splitlines() if line.strip()]
    if len(lines) > MAX_PROMPTS:
        raise ValueError(f"--file {path}: {len(lines):,} prompts; the limit is {MAX_PROMPTS:,} per command")
    return lines


def given_sampling(args: Any) -> dict[str, Any]:
    """The SampleConfig fields a command line set (--cfg, --temperature, --top-k, --top-p; None = not given)."""
    flags = {"cfg_scale": args.cfg, "temperature": args.temperature, "top_k": args.top_k, "top_p": args.top_p}
    return {k: v for k, v in flags.items() if v is not None}


def sample_settings(recommended: SampleConfig, flags: Mapping[str, Any], reranking: bool) -> SampleConfig:
    """The sampling settings a command was given (`flags`: cfg, temperature, top_k, top_p, candidate_scales
    as text; None = not given), the rest from `recommended` (a bundle's `sample` section). `reranking`: the
    command keeps the scorer's best of several candidates, the only use of candidate scales."""
    given = {k: flags.get(f) for k, f in (("cfg_scale", "cfg"), ("temperature", "temperature"))}
    given |= {k: flags.get(k) for k in ("top_k", "top_p")}
    scales = flags.get("candidate_scales")
    if scales is not None and not reranking:
        raise ValueError("--candidate-scales pools the candidates of a reranked draw: give --candidates too")
    if scales is not None:
        try:
            given["candidate_cfg_scales"] = tuple(float(x) for x in scales.split(",") if x.strip())
        except ValueError:
            raise ValueError(f"--candidate-scales must be comma-separated numbers, got {scales!r}") from None
    return dataclasses.replace(recommended, **{k: v for k, v in given.items() if v is not None})


class Generator:
    """A bundle's Parti + tokenizer behind one jitted program per batch shape (data-parallel over devices)."""

    def __init__(
        self,
        bundle: Bundle,
        batch_size: int = 16,
        mesh_cfg: MeshConfig | None = None,
        smallest_batch: int | None = None,
    ):
        """Prompts are drawn batch_size at a time; a last (or only) shorter chunk is padded to
        `padded_rows(n, batch_size, smallest_batch)` rows, so each of those shapes compiles once
        (smallest_batch None: every chunk is a full batch, one shape)."""
        if bundle.parti is None or bundle.text is None:
            raise ValueError(f"{bundle.path} is a tokenizer-only bundle; generation needs a Parti model")
        check_bound("batch size", batch_size, 1, MAX_BATCH_SIZE)
        self.bundle = bundle
        # This process's devices only: in a multi-process run each process draws its own prompts
        # (`vim generate`, `vim p2 run` split them), so no program spans the processes.
        self.mesh = make_mesh(mesh_cfg or MeshConfig(), jax.local_devices())
        devices = self.mesh.devices.size
        self.batch_size = -(-batch_size // devices) * devices  # rows split evenly over the data axis
        if smallest_batch is not None and smallest_batch < 1:
            raise ValueError(f"smallest_batch must be ≥ 1 (or None for full batches only), got {smallest_batch}")
        smallest = self.batch_size if smallest_batch is None else min(smallest_batch, self.batch_size)
        self.smallest_batch = -(-smallest // devices) * devices
        self.text_length = bundle.parti_cfg.parti.text_length
        self.grid = bundle.parti_cfg.parti.image_grid
        parti_def, parti_state = nnx.split(bundle.parti)
        tok_def, tok_state = nnx.split(bundle.tokenizer)
        rep = replicated(self.mesh)
        self._states = jax.device_put((parti_state, tok_state), rep)
        rows = batch_sharding(self.mesh)

        def run(states, ids_bt, seeds_b, settings, known_bn, draw_bn, guided):
            parti = nnx.merge(parti_def, states[0])
            codes_bn = sample_codes(parti, ids_bt, seeds_b, settings, guided=guided, infill=(known_bn, draw_bn))
            pixels = nnx.merge(tok_def, states[1]).decode(codes_bn.reshape(-1, self.grid, self.grid))
            return codes_bn, jnp.round(pixels * 255).astype(jnp.uint8)

        # One program with guidance (doubled batch), one without. Plain drawing is infill with every token
        # drawn (the same codes as without infill), so edits use the programs drawing compiled.
        self._runs = {
            guided: jax.jit(
                functools.partial(run, guided=guided),
                in_shardings=(rep, rows, rows, rep, rows, rows),
                out_shardings=(rows, rows),
            )
            for guided in (True, False)
        }

        def encode(state, images_bhwc):
            codes_bgg = nnx.merge(tok_def, state).encode(images_bhwc.astype(jnp.float32) / 255.0)
            return codes_bgg.reshape(len(images_bhwc), -1)

        def decode(state, codes_bn):
            pixels = nnx.merge(tok_def, state).decode(codes_bn.reshape(-1, self.grid, self.grid))
            return jnp.round(pixels * 255).astype(jnp.uint8)

        self._encode, self._decode = jax.jit(encode), jax.jit(decode)

    def encode(self, prompts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Token ids [B, T] (a model with `parti.text_views`: [B, E, T], the prompt's E views) and whether
        each prompt was truncated to fit the text length."""
        cleaned = [check_prompt(p) for p in prompts]
        views = self.bundle.parti_cfg.parti.text_views
        if views:
            return encode_views(self.bundle.text, cleaned, views, self.text_length)
        enc = self.bundle.text.encode(cleaned, self.text_length)
        return enc.ids, enc.truncated

    def encode_images(self, images: np.ndarray) -> np.ndarray:
        """The codes int32 [B, N] of uint8 images [B, H, W, 3] at the tokenizer's size."""
        return np.asarray(self._encode(self._states[1], jnp.asarray(images)))

    def decode_codes(self, codes: np.ndarray) -> np.ndarray:
        """uint8 images [B, H, W, 3] of codes [B, N] (an image's tokenizer round trip: decode of its encode)."""
        return np.asarray(self._decode(self._states[1], jnp.asarray(codes, jnp.int32)))

    def __call__(
        self,
        prompts: Sequence[str],
        seeds: Sequence[int],
        sample: SampleConfig,
        infill: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> dict[str, np.ndarray]:
        """Images uint8 [B, H, W, 3], codes [B, N] and truncation flags for prompts[i] drawn with seeds[i].

        `infill` = (codes [B, N], mask bool [B, N]): image i keeps codes[i] where its mask is False and draws
        only the tokens where it is True (`vim.parti.sample.sample_codes`)."""
        if len(prompts) != len(seeds):
            raise ValueError(f"{len(prompts)} prompts but {len(seeds)} seeds")
        if bad := [s for s in seeds if not 0 <= s < SEED_LIMIT]:
            raise ValueError(f"seeds must be 0..{SEED_LIMIT - 1}, got {bad[0]}")
        n = self.grid**2
        if infill is None:
            known, mask = np.zeros((len(prompts), n), np.int32), np.ones((len(prompts), n), bool)
        else:
            known, mask = np.asarray(infill[0], np.int32), np.asarray(infill[1], bool)
            if known.shape != (len(prompts), n) or mask.shape != known.shape:
                raise ValueError(
                    f"infill codes {known.shape} and mask {mask.shape} must both be [{len(prompts)}, {n}]: "
                    f"one row of {self.grid}×{self.grid} tokens per prompt"
                )
        check_settings(sample)
        ids, truncated = self.encode(prompts)
        settings = settings_arrays(sample)
        images, codes = [], []
        with jax.set_mesh(self.mesh):
            for start in range(0, len(prompts), self.batch_size):
                chunk_ids = ids[start : start + self.batch_size]
                chunk_seeds = np.asarray(seeds[start : start + self.batch_size], np.uint32)
                rows = len(chunk_ids)
                pad = padded_rows(rows, self.batch_size, self.smallest_batch) - rows
                chunk_ids = np.concatenate([chunk_ids, np.repeat(chunk_ids[-1:], pad, 0)])
                chunk_seeds = np.concatenate([chunk_seeds, np.zeros(pad, np.uint32)])
                # Padding rows draw nothing, so they never lengthen an edit's loop.
                chunk_known = np.concatenate([known[start : start + rows], np.zeros((pad, n), np.int32)])
                chunk_mask = np.concatenate([mask[start : start + rows], np.zeros((pad, n), bool)])
                c, px = self._runs[sample.guided](
                    self._states, chunk_ids, chunk_seeds, settings, chunk_known, chunk_mask
                )
                codes.append(np.asarray(c)[:rows])
                images.append(np.asarray(px)[:rows])
        return {"images": np.concatenate(images), "codes": np.concatenate(codes), "truncated": truncated}


def candidate_plan(sample: SampleConfig, draws: int) -> list[tuple[int, float]]:
    """(seed offset, CFG scale) of each of a prompt's `draws` candidates, scale-major: with S
    `sample.candidate_cfg_scales`, draws / S seeds each drawn at every scale; without, `draws` seeds at
    `sample.cfg_scale`."""
    scales = sample.candidate_cfg_scales or (sample.cfg_scale,)
    if draws % len(scales):
        raise ValueError(f"{draws} candidates do not split evenly over the candidate cfg scales {list(scales)}")
    return [(j, scale) for scale in scales for j in range(draws // len(scales))]


def seeds_per_prompt(sample: SampleConfig, draws: int) -> int:
    """How many seeds a prompt's `draws` candidates use (`candidate_plan`): prompt i's are seed + i·this + j."""
    return len({j for j, _ in candidate_plan(sample, draws)})


def draw_candidates(
    generator: Generator,
    prompts: Sequence[str],
    first_seeds: Sequence[int],
    draws: int,
    sample: SampleConfig,
    infill: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, list[tuple[int, float]], np.ndarray]:
    """Every prompt's `draws` candidates by `candidate_plan` (prompt p's seed offset j: first_seeds[p] + j):
    images uint8 [P, draws, H, W, 3], the plan, and each prompt's truncation flag. `infill` = (codes [P, N],
    mask [P, N]): every candidate of prompt p redraws only the masked tokens of its codes (`Generator`)."""
    plan = candidate_plan(sample, draws)
    scales = list(dict.fromkeys(scale for _, scale in plan))  # each scale once, in order
    seeds = len(plan) // len(scales)
    rows = None if infill is None else tuple(np.repeat(np.asarray(x), seeds, axis=0) for x in infill)
    per_scale, truncated = [], None
    for scale in scales:
        out = generator(
            [p for p in prompts for _ in range(seeds)],
            [first + j for first in first_seeds for j in range(seeds)],
            dataclasses.replace(sample, cfg_scale=scale, candidate_cfg_scales=()),
            rows,
        )
        per_scale.append(out["images"].reshape(len(prompts), seeds, *out["images"].shape[1:]))
        truncated = out["truncated"][::seeds]
    return np.concatenate(per_scale, axis=1), plan, truncated


@dataclasses.dataclass
class Drawn:
    """Images kept for one prompt, with the seeds and (when reranked) every candidate's score."""

    images: np.ndarray  # uint8 [n, H, W, 3] (upsampled when an upsampler was given)
    seeds: list[int]  # seed of each kept image
    candidate_seeds: list[int]  # seeds of all candidates drawn (= seeds without reranking)
    scores: list[float] | None  # scorer value of every candidate, or None without reranking
    kept: list[int]  # index into the candidates of each kept image, best first
    truncated: bool  # the prompt was cut to the model's text length
    candidate_scales: list[float] = dataclasses.field(default_factory=list)  # CFG scale of every candidate


def image_name(prompt_index: int, rank: int, seed: int) -> str:
    """The file name (without suffix) of prompt i's j-th kept image; its PNG and JSON sidecar share it."""
    return f"{prompt_index:04d}_{rank:02d}_seed{seed}"


def image_record(
    drawn: Drawn,
    rank: int,
    prompt: str,
    name: str,
    sample: SampleConfig,
    checkpoint: str | os.PathLike,
    upsampled: bool,
    seconds: float,
) -> dict:
    """What is known of the `rank`-th kept image of `drawn`: `vim generate` writes it as the JSON sidecar,
    the demo inside the PNG. It holds what is needed to draw the image again exactly, and with reranking
    the image's rank and score and every candidate's seed and score."""
    if drawn.candidate_scales:  # the settings that draw this one image again: its own scale, no pool
        own_scale = drawn.candidate_scales[drawn.kept[rank]]
        sample = dataclasses.replace(sample, cfg_scale=own_scale, candidate_cfg_scales=())
    record = {
        "prompt": prompt,
        "image": f"{name}.png",
        "seed": drawn.seeds[rank],
        "settings": to_dict(sample),  # as the JSON sidecar holds it
        "checkpoint": str(checkpoint),
        "text_truncated": drawn.truncated,
        "upsampled": upsampled,
        "seconds": round(seconds, 4),
    }
    if drawn.scores is not None:
        record["rerank"] = {
            "rank": rank,
            "score": drawn.scores[drawn.kept[rank]],
            "candidates": [{"seed": s, "score": sc} for s, sc in zip(drawn.candidate_seeds, drawn.scores, strict=True)],
        }
        if drawn.candidate_scales:  # a pool of scales: each candidate's own
            for candidate, scale in zip(record["rerank"]["candidates"], drawn.candidate_scales, strict=True):
                candidate["cfg_scale"] = scale
    return record


def draw(
    generator: Generator,
    prompt: str,
    n: int,
    first_seed: int,
    sample: SampleConfig,
    candidates: int | None = None,
    reranker: Any | None = None,
    upsampler: Any | None = None,
    infill: tuple[np.ndarray, np.ndarray] | None = None,
) -> Drawn:
    """n images for one prompt. With `candidates` C > n and a `reranker`, C are drawn (seeds
    first_seed + c, or with `sample.candidate_cfg_scales` C / S seeds each at every scale: `candidate_plan`)
    and the n the scorer likes best are kept; an `upsampler` is applied last. `infill` = (codes [N], mask
    [N]): an edit of an image's codes, where only the masked tokens are drawn again."""
    draws = candidates or n
    if draws < n:
        raise ValueError(f"candidates ({draws}) must be at least the images kept per prompt ({n})")
    if draws > n and reranker is None:
        raise ValueError("reranking needs a scorer: this checkpoint has no scorer/ folder")
    if draws == n:  # nothing to choose from: no pool of scales either
        sample = dataclasses.replace(sample, candidate_cfg_scales=())
    rows = None if infill is None else tuple(np.asarray(x)[None] for x in infill)
    drawn, plan, truncated = draw_candidates(generator, [prompt], [first_seed], draws, sample, rows)
    seeds = [first_seed + j for j, _ in plan]
    kept, scores = list(range(n)), None
    if draws > n:
        order, scores_pc = reranker.rerank(drawn[0], [prompt], n)
        kept, scores = [int(c) for c in order[0]], [float(x) for x in scores_pc[0]]
    images = drawn[0][kept]
    if upsampler is not None:
        images = upsampler(images)
    scales = [scale for _, scale in plan] if sample.candidate_cfg_scales else []
    return Drawn(images, [seeds[c] for c in kept], seeds, scores, kept, bool(truncated[0]), scales)


def draw_images(
    generator: Generator,
    captions: Sequence[str],
    sample: SampleConfig,
    seed: int = 0,
    candidates: int = 1,
    reranker: Any | None = None,
    infill: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """One image per caption (caption i uses seed + i), or with `candidates` C > 1 the `reranker`'s best
    of C drawn with seeds seed + i·K + j, K = `seeds_per_prompt` (C, or C / S each at S candidate cfg scales).
    `infill` = (codes [P, N], mask [P, N]): caption i's images are edits of codes[i] (`Generator`)."""
    if candidates > 1:
        if reranker is None:
            raise ValueError("reranking needs a scorer: this checkpoint has no scorer/ folder")
        k = seeds_per_prompt(sample, candidates)
        first_seeds = [seed + i * k for i in range(len(captions))]
        drawn, _, _ = draw_candidates(generator, captions, first_seeds, candidates, sample, infill)
        best, _ = reranker.rerank(drawn.reshape(-1, *drawn.shape[2:]), captions, 1)
        return drawn[np.arange(len(captions)), best[:, 0]]
    return generator(list(captions), [seed + i for i in range(len(captions))], sample, infill)["images"]


def drawer_for_all_processes(
    generator: Generator,
    seed: int,
    candidates: int = 1,
    reranker: Any | None = None,
    images_dir: str | os.PathLike | None = None,
    what: str = "drawing",
) -> Callable[[list[str], SampleConfig], np.ndarray]:
    """A `draw(captions, sample)` for evaluations: each process draws a consecutive block of the captions
    with the seeds one process would use (caption i: seed + i·K + j, K seeds per caption: `seeds_per_prompt`;
    `draw_images`), and every process gets all the images, in caption order. With `images_dir`, process 0
    also saves them as images_dir/cfg<scale>/<caption i>.png."""

    def draw(captions: list[str], sample: SampleConfig) -> np.ndarray:
        block = distributed.my_block(len(captions))
        per_caption = seeds_per_prompt(sample, candidates) if candidates > 1 else 1
        mine: list[np.ndarray] = []

        def my_images() -> str:
            first = seed + block.start * per_caption
            mine.append(draw_images(generator, captions[block.start : block.stop], sample, first, candidates, reranker))
            return str(len(mine[0]))

        distributed.finish_shares(my_images, what)
        images = distributed.gather_rows(mine[0])
        if images_dir is not None and distributed.is_primary():
            folder = Path(images_dir) / f"cfg{sample.cfg_scale:g}"
            folder.mkdir(parents=True, exist_ok=True)
            for i, image in enumerate(images):
                save_image(Image.fromarray(image), folder / f"{i:05d}.png")
        return images

    return draw


def write_images(
    out_dir: str | os.PathLike,
    prompts: Sequence[str],
    n: int,
    seed: int,
    sample: SampleConfig,
    generator: Generator,
    progress: bool = True,
    candidates: int | None = None,
    reranker: Any | None = None,
    upsampler: Any | None = None,
) -> list[dict]:
    """n images per prompt; PNG + JSON sidecar each. Returns the sidecars.

    Prompt i draws C = candidates or n images seeded seed + i·K + j, K = C seeds (or C / S, each drawn at the
    S `sample.candidate_cfg_scales`: `candidate_plan`, `draw`); each sidecar holds
    what is needed to draw its image again exactly, and with reranking every candidate's seed and score.
    In a multi-process run each process draws and writes only its share of the prompts (prompt i goes to
    process i mod N), with the same names and seeds as one process would use; it returns its own sidecars.
    """
    from tqdm import tqdm

    draws = candidates or n
    seeds = seeds_per_prompt(sample, draws) if draws > n else n  # checks the pool before any work is done
    out = Path(out_dir)
    cleaned = [check_prompt(p) for p in prompts]  # every prompt is checked before any work is done
    out.mkdir(parents=True, exist_ok=True)
    records = []
    mine = distributed.my_share(list(enumerate(cleaned)))
    bar = tqdm(total=len(mine) * n, disable=not progress, unit="img")
    for i, prompt in mine:
        start = time.perf_counter()
        drawn = draw(generator, prompt, n, seed + i * seeds, sample, candidates, reranker, upsampler)
        seconds = (time.perf_counter() - start) / n
        for j, (image, image_seed) in enumerate(zip(drawn.images, drawn.seeds, strict=True)):
            name = image_name(i, j, image_seed)
            save_image(Image.fromarray(image), out / f"{name}.png")
            record = image_record(drawn, j, prompt, name, sample, generator.bundle.path, upsampler is not None, seconds)
            write_text(out / f"{name}.json", json.dumps(record, indent=2) + "\n")
            records.append(record)
            bar.update(1)
    bar.close()
    return records
