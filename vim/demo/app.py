"""The vim Gradio demo: text → images with a bundle, an edit tab (redraw a region for a caption), a tokenizer
tab, and the model card; a class tab where the bundle holds a class-conditional model (`classgen/`); with
several bundles, one tab of these per model.

    vim demo                                   # the bundled models, http://127.0.0.1:7860
    vim demo --checkpoint path/to/bundle --port 8000 --host 0.0.0.0 --auth-file ~/.vim-demo-users
    vim demo --checkpoint checkpoints/emoji-tiny --checkpoint checkpoints/shapes-tiny   # the first opens

The model is loaded and compiled once at start-up. Requests go through one queue with a
concurrency limit and a bounded length (extra requests are refused with "queue is full"); each
request's work is bounded by the limits below. Beyond loopback, launch() asks for a password when
given users (gradio's login page; `vim demo --auth-file` / $VIM_DEMO_AUTH), caps each upload at
--max-file-size and warns about what an open port exposes.

Disk: Gradio keeps a copy of every upload and every result and never deletes them, so the demo points
Gradio at a private folder (`ServingCache`) holding its own results too, prunes it oldest first to
MAX_CACHED_FILES files and MAX_CACHED_BYTES after every upload and request, and removes it at shutdown.
Logins: each wrong password from a client delays that client's next login (`LoginThrottle`).
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import dataclasses
import ipaddress
import itertools
import json
import logging
import os
import random
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr
import jax
import jax.numpy as jnp
import numpy as np
from gradio.utils import FileSize
from PIL import Image, PngImagePlugin
from starlette.middleware import Middleware

from vim.bundle import Bundle, bundled_models, load_bundle
from vim.config import SampleConfig
from vim.data.image_files import open_checked, read_image
from vim.edit import MaskError, box_mask, edit, edit_record, pixel_mask, rows_mask, token_mask
from vim.files import save_image
from vim.generate import (
    MAX_DEMO_CANDIDATES,
    Generator,
    PromptError,
    check_prompt,
    check_settings,
    draw,
    image_name,
    image_record,
)
from vim.metrics.lpips import make_distance
from vim.metrics.lpips_weights import load_lpips_or_reason
from vim.metrics.pixels import psnr
from vim.sharding import padded_rows
from vim.tokenizer.infer import load_square
from vim.world.captions import CaptionParseError, parse_caption
from vim.world.parser import match_spec, parse_image, verdict_text
from vim.world.scene import CaptionSpec

if TYPE_CHECKING:  # the classgen modules load only with a bundle that has a class-conditional model
    from vim.classgen.infer import ClassGenerator

log = logging.getLogger(__name__)

MAX_IMAGES = 8  # images per request
MAX_CANDIDATES = MAX_DEMO_CANDIDATES  # candidates drawn per request when reranking
KEEP_RESULTS = 64  # result folders kept for download; older ones are deleted
MAX_UPLOAD_PIXELS = 25_000_000  # tokenizer tab: refuse decompression bombs before decoding
DEFAULT_MAX_FILE_SIZE = "10mb"  # per upload, in gradio's units (1 mb = 1024² bytes)
MAX_AUTH_FILE_BYTES = 1 << 20  # --auth-file: a list of user:password lines
AUTH_ENV = "VIM_DEMO_AUTH"  # user:password, kept out of the process list and shell history
MAX_CACHED_FILES = 256  # files in the serving cache (uploads, results, Gradio's copies); oldest go first
MAX_CACHED_BYTES = 512 * 1024**2  # and bytes, at least a few uploads of --max-file-size (ServingCache)
LOGIN_DELAY_STEP = 0.25  # seconds added to a client's next login per wrong password in a row
LOGIN_DELAY_MOST = 5.0
_USER_GRADIO_TEMP = os.environ.get("GRADIO_TEMP_DIR")  # as the user set it, before any demo pointed it elsewhere
WORLD_EXAMPLES = [
    "a red circle",
    "two green stars",
    "a white star to the left of an orange heart",
    "three small squares, all blue",
    "a big red circle left of a small blue square",
    "a big blue heart",  # a held-out color–shape pair: never in the training captions
]
EXAMPLES_FILE = "examples.txt"  # a bundle's example prompts, one per line (the shapes world's: WORLD_EXAMPLES)
UNCONDITIONAL = "unconditional"  # the Class tab's choice drawing with the null class
P2_EXAMPLES = [  # PartiPrompts; the bundled models know only their own data
    "A photo of a red apple on a wooden table",
    "A giraffe wearing a bow tie",
]


class ServingCache:
    """A private folder for everything the served demo writes: Gradio's copies of uploads and outputs (its
    GRADIO_TEMP_DIR while the demo serves) and vim's own result folders (inside it, so Gradio does not copy
    them again). Held to `max_files` files and `max_bytes` bytes by removing its oldest entries (Gradio puts
    each file in a folder of its own, vim each request's images), and removed whole by `close`."""

    def __init__(self, max_files: int = MAX_CACHED_FILES, max_bytes: int = MAX_CACHED_BYTES):
        self.path = Path(tempfile.mkdtemp(prefix="vim-demo-cache-", dir=_USER_GRADIO_TEMP))
        self.max_files, self.max_bytes = max_files, max_bytes
        self._lock = threading.Lock()  # handlers run in worker threads, uploads on the event loop

    def files(self) -> list[Path]:
        """Every file now in the cache (os.walk: entries pruned meanwhile are passed over)."""
        return [Path(root, name) for root, _, names in os.walk(self.path) for name in names]

    def prune(self) -> int:
        """Remove the oldest entries until the rest fit the bounds; returns how many were removed. The
        newest entry is always kept: it belongs to the request being served."""
        with self._lock:
            entries = []
            for entry in self.path.iterdir():
                try:
                    if entry.is_dir():
                        files = [Path(root, name) for root, _, names in os.walk(entry) for name in names]
                    else:
                        files = [entry]
                    sizes = [f.stat().st_size for f in files]
                    entries.append((entry.stat().st_mtime, entry, len(files), sum(sizes)))
                except FileNotFoundError:  # removed while looked at (vim's own result folders)
                    continue
            entries.sort(key=lambda e: e[0], reverse=True)
            count = size = removed = 0
            for rank, (_, entry, files, nbytes) in enumerate(entries):
                count, size = count + files, size + nbytes
                if rank and (count > self.max_files or size > self.max_bytes):
                    if entry.is_dir():
                        shutil.rmtree(entry, ignore_errors=True)
                    else:
                        entry.unlink(missing_ok=True)
                    removed += 1
            return removed

    def serve(self) -> None:
        """Point Gradio at this folder: read when its components and app are made and on every upload."""
        os.environ["GRADIO_TEMP_DIR"] = str(self.path)

    def close(self) -> None:
        """Remove the folder and everything in it; Gradio's own folder setting goes back to the user's."""
        shutil.rmtree(self.path, ignore_errors=True)
        if os.environ.get("GRADIO_TEMP_DIR") == str(self.path):
            if _USER_GRADIO_TEMP is None:
                os.environ.pop("GRADIO_TEMP_DIR", None)
            else:
                os.environ["GRADIO_TEMP_DIR"] = _USER_GRADIO_TEMP


class Demo:
    """State shared by all requests: one bundle, one compiled generator, one tokenizer program."""

    def __init__(
        self,
        bundle: Bundle,
        batch_size: int = MAX_CANDIDATES,
        max_file_size: int | str = DEFAULT_MAX_FILE_SIZE,
        cache: ServingCache | None = None,
    ):
        self.bundle = bundle
        self.max_file_size = parse_file_size(max_file_size)  # bytes per upload, as launch() tells gradio
        # A few uploads of the largest size always fit, so pruning never removes the upload being served.
        # Demos of several models served together share one cache (Gradio has one temporary folder).
        self.cache = cache or ServingCache(max_bytes=max(MAX_CACHED_BYTES, 4 * self.max_file_size))
        # A reranked request samples its candidates as one batch; one without reranking pads to MAX_IMAGES.
        self.generator = Generator(bundle, batch_size=batch_size, smallest_batch=min(MAX_IMAGES, batch_size))
        self.reranker = bundle.reranker()  # None when the bundle has no scorer/
        # Candidates a request reranks by default: the card's (`vim export --candidates`), else the most the
        # demo draws; none without a scorer. A bundle whose images take long to draw recommends fewer.
        recommended = bundle.card.get("demo", {}).get("candidates", MAX_CANDIDATES)
        if not 2 <= recommended <= MAX_CANDIDATES:
            raise ValueError(
                f"{bundle.path}/card.json recommends {recommended} candidates; the demo reranks "
                f"2..{MAX_CANDIDATES} per request (vim export --candidates)"
            )
        self.default_candidates = recommended if self.reranker is not None else 0
        self.upsampler = bundle.upsampler()  # None when the bundle has no upsampler/
        tokenizer = bundle.tokenizer
        self.image_size = bundle.tokenizer_cfg.tokenizer.image_size
        self.codebook_size = bundle.tokenizer_cfg.tokenizer.codebook_size

        @jax.jit
        def roundtrip(images):
            codes = tokenizer.encode(images)
            return codes, tokenizer.decode(codes)

        self._roundtrip = roundtrip
        # LPIPS beside PSNR when its weights are installed; otherwise the tab says why it is missing.
        self._lpips, self._lpips_source = load_lpips_or_reason()
        self._lpips_of = make_distance(self._lpips) if self._lpips is not None else None
        self._folders: collections.deque[Path] = collections.deque()  # per-request result folders, oldest first
        # The parser knows only the shapes world's palette and shapes: on other data its verdicts would mislead.
        self.checks_faithfulness = bundle.parti_cfg.data.dataset.startswith("shapes")
        self.classgen = bundle.classgen()  # the Class tab's model; None when the bundle has no classgen/

    def warm_up(self) -> float:
        """Compile every program once so the first user does not wait for XLA."""
        start = time.perf_counter()
        rows = {self.generator.smallest_batch, self.generator.batch_size}  # the batch shapes requests use
        if self.default_candidates:
            rows.add(padded_rows(self.default_candidates, self.generator.batch_size, self.generator.smallest_batch))
        for scale, n in itertools.product((3.0, 1.0), sorted(rows)):
            self.generator(["a red circle"] * n, list(range(n)), SampleConfig(cfg_scale=scale))
        self._roundtrip(jnp.zeros((1, self.image_size, self.image_size, 3)))
        self.generator.encode_images(np.zeros((1, self.image_size, self.image_size, 3), np.uint8))  # edits
        if self._lpips_of is not None:
            self._lpips_of(*[jnp.zeros((1, self.image_size, self.image_size, 3))] * 2)
        if self.reranker is not None or self.upsampler is not None:
            draws = self.default_candidates or 1
            recommended = self.bundle.parti_cfg.sample
            draw(self.generator, "a red circle", 1, 0, recommended, draws, self.reranker, self.upsampler)
        if self.reranker is not None:  # each batch shape the scorer pads 2..MAX_CANDIDATES candidates to
            side = self.reranker.cfg.image_size
            for rows in {padded_rows(c, self.reranker.batch_size) for c in range(2, MAX_CANDIDATES + 1)}:
                self.reranker.embed_images(np.zeros((rows, side, side, 3), np.uint8))
        if self.classgen is not None:  # the Class tab's programs: every request draws and decodes MAX_IMAGES rows
            self._draw_class(class_choices(self.classgen)[0], 0, self.classgen.cfg.sample)
        return time.perf_counter() - start

    def close(self) -> None:
        """Remove everything the demo wrote (its serving cache)."""
        self.cache.close()

    def generate(self, prompt, n, cfg_scale, temperature, top_k, top_p, seed, candidates=0, upsample=False):
        self.cache.prune()
        prompt, n, candidates, sample, seed = self._request(
            prompt, n, cfg_scale, temperature, top_k, top_p, seed, candidates, upsample
        )
        start = time.perf_counter()
        drawn = draw(
            self.generator,
            prompt,
            n,
            seed,
            sample,
            max(candidates, n),
            self.reranker,
            self.upsampler if upsample else None,
        )
        gallery, note, files = self._show(drawn, prompt, sample, upsample, time.perf_counter() - start)
        return gallery, note, files

    def generate_class(self, class_name, n, cfg_scale, temperature, seed):
        """The Class tab: n images of a class (or unconditional ones) from the bundle's classgen model, each
        captioned with its seed and, where the classes come from a scheme that reads images, the class read back."""
        self.cache.prune()
        generator = self.classgen
        if generator is None:
            raise gr.Error("this checkpoint has no class-conditional model (classgen/)")
        try:
            if class_name not in class_choices(generator):
                raise ValueError(f"unknown class {class_name!r}: choose one of the list")
            n = int(n)
            if not 1 <= n <= MAX_IMAGES:
                raise ValueError(f"number of images must be 1..{MAX_IMAGES}, got {n}")
            sample = dataclasses.replace(
                generator.cfg.sample, cfg_scale=float(cfg_scale), temperature=float(temperature)
            )
            check_settings(sample)
            if sample.guided and not generator.has_null_class:
                raise ValueError(
                    "this model was trained without a null class (classgen.class_dropout=0): CFG must be 1"
                )
            seed = checked_seed(seed, MAX_IMAGES)
        except (ValueError, TypeError) as e:
            raise gr.Error(str(e)) from None
        start = time.perf_counter()
        label, seeds, images = self._draw_class(class_name, seed, sample)
        seconds = time.perf_counter() - start
        reader = generator.class_reader()
        folder = self._result_folder()
        gallery, files, matches = [], [], 0
        for image, s in zip(images[:n], seeds[:n], strict=True):
            record = generator.image_record(label, s, sample, self.bundle.path.name)
            caption = f"{record['class']} · seed {s}"
            if reader is not None:
                read = reader(image)
                caption += f" · read back as {'no class' if read is None else generator.classes[read]}"
                if label != generator.null_class:
                    matches += read == label
                    caption += " ✓" if read == label else " ✗"
            info = PngImagePlugin.PngInfo()
            info.add_text("vim", json.dumps(record))  # as `vim generate --class` writes in its sidecar
            path = folder / f"{record['class'].replace(' ', '_')}_{s}.png"
            save_image(Image.fromarray(image), path, pnginfo=info)
            files.append(str(path))
            gallery.append((str(path), caption))
        shown_seeds = ", ".join(map(str, seeds[:n]))
        note = f"{n} image(s) of {generator.class_name(label)!r} in {seconds:.2f} s, seeds {shown_seeds}"
        if reader is not None and label != generator.null_class:
            note += f" · {matches} of {n} read back as the class"
        return gallery, note, files

    def _draw_class(self, class_name: str, seed: int, sample: SampleConfig) -> tuple[int, np.ndarray, np.ndarray]:
        """The class id, the MAX_IMAGES seeds from `seed` on and their images: one batch shape, and the null
        class's rows run at every scale where the model has one (at scale 1 they leave the logits as they are),
        so every request runs the programs `warm_up` compiled."""
        generator = self.classgen
        label = generator.null_class if class_name == UNCONDITIONAL else generator.classes.index(class_name)
        seeds = np.arange(seed, seed + MAX_IMAGES, dtype=np.uint32)
        labels = np.full(MAX_IMAGES, label, np.int32)
        codes = generator.codes(labels, seeds, sample, MAX_IMAGES, guided=generator.has_null_class)
        return label, seeds, generator.images(codes, MAX_IMAGES)

    def edit(
        self,
        editor,
        region,
        box,
        keep_rows,
        prompt,
        n,
        cfg_scale,
        temperature,
        top_k,
        top_p,
        seed,
        candidates=0,
        upsample=False,
    ):
        """The Edit tab: `editor` is the ImageEditor's value (file paths of the background and the painted
        layers); `region` says which of the painted layers, the box or the kept top rows is redrawn."""
        self.cache.prune()
        prompt, n, candidates, sample, seed = self._request(
            prompt, n, cfg_scale, temperature, top_k, top_p, seed, candidates, upsample
        )
        background = (editor or {}).get("background") if isinstance(editor, dict) else editor
        if not background:
            raise gr.Error("upload an image first (or take the first generated image)")
        path = self._upload(background)
        try:
            upright, _ = read_image(path, MAX_UPLOAD_PIXELS)
            grid = self.generator.grid
            if region == "box":
                mask_gg = box_mask(box or "", upright.size, grid)
            elif region == "keep top rows":
                mask_gg = rows_mask(int(keep_rows), grid)
            else:
                mask_gg = self._painted_mask(editor.get("layers") or [], upright.size, grid)
            image = load_square(path, self.image_size, max_pixels=MAX_UPLOAD_PIXELS)
        except (ValueError, TypeError) as e:
            raise gr.Error(str(e)) from None
        start = time.perf_counter()
        upsampler = self.upsampler if upsample else None
        drawn, codes_n = edit(
            self.generator, image, mask_gg, prompt, n, seed, sample, max(candidates, n), self.reranker, upsampler
        )
        extra = edit_record(Path(path).name, None, mask_gg, codes_n)
        gallery, note, files = self._show(drawn, prompt, sample, upsample, time.perf_counter() - start, extra)
        side = drawn.images.shape[1]
        shown = np.asarray(Image.fromarray(image).resize((side, side), Image.Resampling.NEAREST))
        overlay = np.where(pixel_mask(mask_gg, side)[..., None], shown // 2 + 128, shown // 2).astype(np.uint8)
        folder = Path(files[0]).parent  # the original and the mask go with the edits
        shown_before = []
        for picture, name, caption in (
            (shown, "original", "original (cropped, resized)"),
            (overlay, "mask", f"mask: {int(mask_gg.sum())} of {mask_gg.size} tokens redrawn"),
        ):
            save_image(Image.fromarray(picture), folder / f"{name}.png")
            shown_before.append((str(folder / f"{name}.png"), caption))
        return shown_before + gallery, note, files

    def _upload(self, path_like) -> str:
        """An uploaded file's path, refused past the upload limit (gradio does not enforce it on files it
        downloads for a URL sent as the input)."""
        path = path_like if isinstance(path_like, str) else getattr(path_like, "name", str(path_like))
        if (size := Path(path).stat().st_size) > self.max_file_size:
            limit = self.max_file_size
            raise gr.Error(f"{Path(path).name} is {size:,} bytes, over this demo's upload limit of {limit:,} bytes")
        return path

    def _painted_mask(self, layers, image_wh: tuple[int, int], grid: int) -> np.ndarray:
        """The token mask of the editor's painted layers: every pixel painted in any layer (alpha > 0)."""
        marked = None
        for layer in layers:
            with open_checked(self._upload(layer), MAX_UPLOAD_PIXELS) as im:
                painted = im.convert("RGBA")
            if painted.size != tuple(image_wh):
                raise MaskError(
                    f"the painted layer is {painted.width}×{painted.height} pixels but the image is "
                    f"{image_wh[0]}×{image_wh[1]}"
                )
            alpha = np.asarray(painted.getchannel("A")) > 0
            marked = alpha if marked is None else marked | alpha
        if marked is None:
            raise MaskError("nothing is painted: paint the region to redraw, or choose the box or kept rows")
        return token_mask(marked, grid, "the painted mask")

    def _request(self, prompt, n, cfg_scale, temperature, top_k, top_p, seed, candidates, upsample):
        """A request's prompt, image count, candidates, sampling settings and seed (a random one for −1),
        checked; gr.Error says what is wrong."""
        try:
            prompt = check_prompt(prompt)
            n, candidates = int(n), int(candidates or 0)
            if not 1 <= n <= MAX_IMAGES:
                raise ValueError(f"number of images must be 1..{MAX_IMAGES}, got {n}")
            if candidates > MAX_CANDIDATES:
                raise ValueError(f"candidates must be at most {MAX_CANDIDATES}, got {candidates}")
            if candidates > n and self.reranker is None:
                raise ValueError("this checkpoint has no scorer, so it cannot rerank candidates")
            if upsample and self.upsampler is None:
                raise ValueError("this checkpoint has no upsampler")
            sample = SampleConfig(float(cfg_scale), float(temperature), int(top_k), float(top_p))
            check_settings(sample)
            seed = checked_seed(seed, max(candidates, n))
        except (PromptError, ValueError, TypeError) as e:
            raise gr.Error(str(e)) from None
        return prompt, n, candidates, sample, seed

    def _show(self, drawn, prompt: str, sample: SampleConfig, upsample: bool, seconds: float, edit_info=None):
        """The gallery (each image captioned with its seed, score and the parser's verdict), the note under
        it and the PNG files (each with its record embedded; an edit's with `edit_info` as its `edit`)."""
        spec, unchecked = self._caption_spec(prompt)
        n = len(drawn.images)
        folder = self._result_folder()
        gallery, files, exact = [], [], 0
        for j, (image, s) in enumerate(zip(drawn.images, drawn.seeds, strict=True)):
            # Judged on the pixels shown and saved (upsampled ones too: the parser's templates follow the size).
            verdict = match_spec(parse_image(image), spec) if spec is not None else None
            name = image_name(0, j, s)  # as `vim generate` names a first prompt's images
            # The bundle's name, not its path: the PNGs leave this machine, its folder layout need not.
            record = image_record(drawn, j, prompt, name, sample, self.bundle.path.name, bool(upsample), seconds / n)
            if edit_info is not None:
                record["edit"] = edit_info
            caption = f"seed {s}"
            if drawn.scores is not None:
                caption += f" · score {record['rerank']['score']:.3f}"
            if verdict is not None:
                caption += f" · {verdict_text(verdict)}"
                exact += verdict["exact"]
            info = PngImagePlugin.PngInfo()
            info.add_text("vim", json.dumps(record))  # the PNG itself says how to draw it again: generate's sidecar
            info.add_text("faithfulness", json.dumps(verdict))  # the scene parser's verdict on these pixels, or null
            path = folder / f"{name}.png"
            save_image(Image.fromarray(image), path, pnginfo=info)
            files.append(str(path))
            gallery.append((str(path), caption))
        what = "edit(s)" if edit_info is not None else "image(s)"
        note = (
            f"{n} {what} in {seconds:.2f} s ({seconds / n:.2f} s per image), seeds {', '.join(map(str, drawn.seeds))}"
        )
        if drawn.scores is not None:
            note += f" · best {n} of {len(drawn.scores)} candidates by the scorer"
        if drawn.truncated:
            note += " · prompt cut to the model's text length"
        if spec is not None:
            note += f" · {exact} of {n} {what} match the prompt exactly (scene parser on the pixels)"
        else:
            note += f" · {unchecked}"
        return gallery, note, files

    def _result_folder(self) -> Path:
        """A new folder for one request's images, in the serving cache; the oldest go past KEEP_RESULTS."""
        folder = Path(tempfile.mkdtemp(prefix="vim-demo-", dir=self.cache.path))
        self._folders.append(folder)
        while len(self._folders) > KEEP_RESULTS:  # a long-running server must not fill the disk
            shutil.rmtree(self._folders.popleft(), ignore_errors=True)
        return folder

    def _caption_spec(self, prompt: str) -> tuple[CaptionSpec | None, str]:
        """What the prompt asserts, parsed once per request, or None and why its images cannot be checked."""
        if not self.checks_faithfulness:
            return None, "this checkpoint was not trained on the shapes world, so its images are not checked"
        try:
            return parse_caption(prompt), ""
        except CaptionParseError as e:
            reason = str(e).removeprefix(f"caption {prompt!r}: ")
            return None, f"the prompt is outside the shapes-world grammar ({reason}), so its images cannot be checked"

    def reconstruct(self, upload):
        self.cache.prune()
        if upload is None:
            raise gr.Error("upload an image first")
        path = self._upload(upload)
        try:
            pixels = load_square(path, self.image_size, max_pixels=MAX_UPLOAD_PIXELS)
        except ValueError as e:
            raise gr.Error(str(e)) from None
        codes, recon = self._roundtrip(jnp.asarray(pixels[None], jnp.float32) / 255.0)
        recon = np.asarray(recon[0])
        psnr_db = float(psnr(jnp.asarray(recon[None]), jnp.asarray(pixels[None] / 255.0))[0])
        if self._lpips_of is not None:
            distance = self._lpips_of(jnp.asarray(recon[None]), jnp.asarray(pixels[None] / 255.0))
            lpips = f"LPIPS {float(distance[0]):.4f}"
        else:
            lpips = f"LPIPS unavailable ({self._lpips_source})"
        codes = np.asarray(codes[0])
        unique = len(np.unique(codes))
        code_map = _code_map(codes, self.codebook_size, self.image_size)
        stats = (
            f"PSNR {psnr_db:.2f} dB · {lpips} · {codes.size} tokens ({codes.shape[0]}×{codes.shape[1]}) · "
            f"{unique} distinct codes = {100 * unique / self.codebook_size:.2f} % of the {self.codebook_size}-code book"
        )
        return pixels, (recon * 255).round().astype(np.uint8), code_map, stats


def checked_seed(seed: Any, draws: int) -> int:
    """A request's first seed: 0..2³¹−1 as given, or a random one for −1 (leaving room for `draws` seeds)."""
    seed = int(seed)
    if seed < -1 or seed >= 2**31:
        raise ValueError(f"seed must be -1 (random) or 0..2³¹−1, got {seed}")
    return random.randrange(2**31 - draws) if seed == -1 else seed


def class_choices(generator: ClassGenerator) -> list[str]:
    """The Class tab's choices: the class names, then "unconditional" where the null class was trained."""
    names = generator.classes if generator.cfg.classgen.num_classes else []
    return [*names, UNCONDITIONAL] if generator.has_null_class else list(names)


def sampling_controls(demo: Demo) -> list[gr.components.Component]:
    """Images, CFG, temperature, top-k, top-p, seed, candidates and upsampling, at the bundle's settings."""
    defaults = demo.bundle.parti_cfg.sample  # the sampling the bundle's card recommends
    return [
        gr.Slider(1, MAX_IMAGES, value=4, step=1, label="Images"),
        gr.Slider(0, 10, value=defaults.cfg_scale, step=0.5, label="CFG scale"),
        gr.Slider(0, 2, value=defaults.temperature, step=0.05, label="Temperature (0 = greedy)"),
        gr.Slider(0, demo.codebook_size, value=defaults.top_k, step=1, label="Top-k (0 = off)"),
        gr.Slider(0.05, 1, value=defaults.top_p, step=0.05, label="Top-p (1 = off)"),
        gr.Number(value=0, precision=0, label="Seed (-1 = random)"),
        gr.Slider(
            0,
            MAX_CANDIDATES,
            value=demo.default_candidates,  # reranked candidates are far more faithful
            step=1,
            label="Candidates to rerank (0 = none)",
            visible=demo.reranker is not None,
        ),
        gr.Checkbox(value=False, label="Upsample ×2 (super-resolution)", visible=demo.upsampler is not None),
    ]


def first_file(files):
    """The first of the Generate tab's images, for the editor; gr.Error when there is none yet."""
    if not files:
        raise gr.Error("generate an image first")
    first = files[0]
    return first if isinstance(first, str) else getattr(first, "name", str(first))


def _code_map(codes: np.ndarray, codebook_size: int, side: int) -> np.ndarray:
    """Codes [g, g] as a color image [side, side, 3]: each code id gets a fixed hue, written in the cell."""
    rng = np.random.default_rng(0)
    palette = rng.integers(40, 256, (codebook_size, 3), dtype=np.uint8)
    cells = palette[codes]
    return np.asarray(Image.fromarray(cells).resize((side * 4, side * 4), Image.Resampling.NEAREST))


def examples_of(bundle: Bundle) -> list[str]:
    """The bundle's example prompts (`examples.txt`), else the shapes world's for a model trained on it."""
    path = bundle.path / EXAMPLES_FILE
    if path.is_file():
        return [line.strip() for line in path.read_text().splitlines() if line.strip()]
    return list(WORLD_EXAMPLES) if bundle.parti_cfg.data.dataset.startswith("shapes") else []


def model_card(bundle: Bundle) -> str:
    readme = bundle.path / "README.md"
    if readme.is_file():
        return readme.read_text()
    return f"**Checkpoint:** `{bundle.path.name}`\n\n```json\n{json.dumps(bundle.card, indent=2)}\n```"


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class LoginThrottle:
    """Slows password guessing: a client's logins run one at a time, and each wrong password in a row adds
    LOGIN_DELAY_STEP seconds (at most LOGIN_DELAY_MOST) before its next login is answered; a right one
    clears the count. Clients are told apart by address (behind a reverse proxy they all share the proxy's,
    so one guesser slows every login there). At most `clients` addresses are remembered, oldest dropped."""

    def __init__(self, step: float = LOGIN_DELAY_STEP, most: float = LOGIN_DELAY_MOST, clients: int = 10_000):
        self.step, self.most, self.clients = step, most, clients
        self._state: collections.OrderedDict[str, tuple[asyncio.Lock, int]] = collections.OrderedDict()

    async def __call__(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        client = (scope.get("client") or ("unknown",))[0]
        lock, _ = self._state.setdefault(client, (asyncio.Lock(), 0))
        self._state.move_to_end(client)
        while len(self._state) > self.clients:
            self._state.popitem(last=False)
        async with lock:
            failures = self._state.get(client, (lock, 0))[1]
            if failures:
                await asyncio.sleep(min(self.step * failures, self.most))
            status = {}

            async def watch(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status["code"] = message["status"]
                await send(message)

            await app(scope, receive, watch)
            self._state[client] = (lock, 0 if status.get("code") == 200 else failures + 1)


class DemoGuard:
    """ASGI middleware of the served demo: prunes the serving cache after every upload (Gradio stores
    uploads before any handler runs, so handlers alone could not bound them) and throttles logins."""

    def __init__(self, app: ASGIApp, cache: ServingCache, logins: LoginThrottle):
        self.app, self.cache, self.logins = app, cache, logins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"].rstrip("/")
        if scope["method"] == "POST" and path.endswith("/login"):
            await self.logins(self.app, scope, receive, send)
            return
        if not path.endswith("/upload"):
            await self.app(scope, receive, send)
            return

        async def prune_then_answer(message: Message) -> None:
            if message["type"] == "http.response.start":  # the upload is stored: prune before answering
                self.cache.prune()
            await send(message)

        await self.app(scope, receive, prune_then_answer)


def server_kwargs(demo: Demo) -> dict[str, Any]:
    """What `gr.Blocks.launch` needs beyond its own settings to serve `demo` within its bounds."""
    guard = Middleware(DemoGuard, cache=demo.cache, logins=LoginThrottle())
    return {"app_kwargs": {"middleware": [guard]}}


def build_app(demos: Demo | list[Demo], queue_size: int = 16, concurrency: int = 1) -> gr.Blocks:
    """The demo's Blocks; launch them with `**server_kwargs(demos[0])`. Several demos (sharing one serving
    cache) each get a tab of their own, the first one open; its endpoints keep their names (/generate, /edit,
    /reconstruct), the others' get the model's name appended (/generate_emoji_tiny). Gradio writes into the
    cache from here on (the components read the folder when made)."""
    demos = [demos] if isinstance(demos, Demo) else list(demos)
    if len({id(d.cache) for d in demos}) != 1:
        raise ValueError("demos served together must share one ServingCache (Demo(..., cache=...))")
    demos[0].cache.serve()
    with gr.Blocks(title="vim — text to image") as app:
        if len(demos) == 1:
            gr.Markdown("# vim: Parti + ViT-VQGAN in JAX\n" + domain_line(demos[0]))
            model_tabs(demos[0], concurrency, "")
        else:
            gr.Markdown("# vim: Parti + ViT-VQGAN in JAX\nPick a model; each draws what its training data holds.")
            with gr.Tabs():
                for i, demo in enumerate(demos):
                    with gr.Tab(demo.bundle.path.name, elem_id=f"model-{demo.bundle.path.name}"):
                        gr.Markdown(domain_line(demo))
                        model_tabs(demo, concurrency, "" if i == 0 else "_" + re.sub(r"\W", "_", demo.bundle.path.name))
    app.queue(max_size=queue_size, default_concurrency_limit=concurrency)
    return app


def domain_line(demo: Demo) -> str:
    return (
        f"Checkpoint `{demo.bundle.path.name}`, trained on the `{demo.bundle.parti_cfg.data.dataset}` dataset "
        f"({demo.image_size}×{demo.image_size}). It draws what that data holds: prompts from elsewhere get "
        "its pictures, not theirs."
    )


def model_tabs(demo: Demo, concurrency: int, suffix: str) -> None:
    """One model's Generate, Edit, Tokenizer and Model tabs; `suffix` is appended to its endpoint names."""
    with gr.Tab("Generate"):
        with gr.Row():
            with gr.Column(scale=2):
                prompt = gr.Textbox(
                    label="Prompt",
                    placeholder=(examples_of(demo.bundle) or ["a prompt"])[0],
                    max_lines=3,
                    elem_id="prompt" + suffix,
                )
                button = gr.Button("Generate", variant="primary", elem_id="generate" + suffix)
                if examples := examples_of(demo.bundle):
                    gr.Examples(examples, inputs=prompt, label="Examples (in domain)")
                gr.Examples(P2_EXAMPLES, inputs=prompt, label="PartiPrompts (outside this model's domain)")
            with gr.Column(scale=1):
                controls = sampling_controls(demo)
        gallery = gr.Gallery(label="Images", columns=4, height="auto", elem_id="gallery" + suffix)
        timing = gr.Markdown(elem_id="timing" + suffix)
        files = gr.File(label="Download (PNG with settings embedded)", file_count="multiple")
        inputs = [prompt, *controls]
        outputs = [gallery, timing, files]
        button.click(demo.generate, inputs, outputs, api_name="generate" + suffix, concurrency_limit=concurrency)
        prompt.submit(demo.generate, inputs, outputs, api_name=False, concurrency_limit=concurrency)
    with gr.Tab("Edit"):
        grid = demo.generator.grid
        with gr.Row():
            with gr.Column(scale=2):
                editor = gr.ImageEditor(
                    label="Image: paint the region to redraw",
                    type="filepath",
                    format="png",  # lossless, and the painted layers keep their alpha
                    sources=("upload", "clipboard"),
                    brush=gr.Brush(colors=["#ffffff"], color_mode="fixed"),
                    elem_id="edit-image" + suffix,
                )
                take = gr.Button("Take the first generated image")
                edit_prompt = gr.Textbox(
                    label="Caption of the whole edited image",
                    placeholder="a big red circle left of a small blue star",
                    max_lines=3,
                    elem_id="edit-prompt" + suffix,
                )
                edit_button = gr.Button("Edit", variant="primary", elem_id="edit" + suffix)
            with gr.Column(scale=1):
                region = gr.Radio(
                    ["paint", "box", "keep top rows"],
                    value="paint",
                    label="Region to redraw",
                    elem_id="region" + suffix,
                )
                box = gr.Textbox(label="Box x0,y0,x1,y1 (pixels of the image; with 'box')", max_lines=1)
                keep_rows = gr.Slider(
                    0, grid - 1, value=grid // 2, step=1, label="Rows of tokens kept on top (with 'keep top rows')"
                )
                edit_controls = sampling_controls(demo)
        edit_gallery = gr.Gallery(
            label="Original, mask and edits", columns=6, height="auto", elem_id="edit-gallery" + suffix
        )
        edit_timing = gr.Markdown(elem_id="edit-timing" + suffix)
        edit_files = gr.File(label="Download (PNG with settings embedded)", file_count="multiple")
        edit_inputs = [editor, region, box, keep_rows, edit_prompt, *edit_controls]
        edit_outputs = [edit_gallery, edit_timing, edit_files]
        edit_button.click(demo.edit, edit_inputs, edit_outputs, api_name="edit" + suffix, concurrency_limit=concurrency)
        take.click(first_file, files, editor, api_name=False)
    if demo.classgen is not None:
        class_tab(demo, concurrency, suffix)
    with gr.Tab("Tokenizer"):
        upload = gr.File(label="Image", file_types=["image"], type="filepath")
        run = gr.Button("Encode and decode")
        with gr.Row():
            original = gr.Image(label="Input (cropped, resized)")
            recon = gr.Image(label="Reconstruction")
            code_map = gr.Image(label="Codes (one color per code id)")
        stats = gr.Markdown()
        run.click(
            demo.reconstruct,
            upload,
            [original, recon, code_map, stats],
            api_name="reconstruct" + suffix,
            concurrency_limit=concurrency,
        )
    with gr.Tab("Model"):
        gr.Markdown(model_card(demo.bundle))


def class_tab(demo: Demo, concurrency: int, suffix: str) -> None:
    """The Class tab of a bundle with a class-conditional model: a class (or unconditional), images, CFG,
    temperature and seed, at the model's own sampling settings; endpoint /generate_class (+ suffix)."""
    generator = demo.classgen
    defaults = generator.cfg.sample
    choices = class_choices(generator)
    with gr.Tab("Class"):
        with gr.Row():
            with gr.Column(scale=2):
                class_name = gr.Dropdown(choices, value=choices[0], label="Class", elem_id="class" + suffix)
                button = gr.Button("Draw", variant="primary", elem_id="generate-class" + suffix)
            with gr.Column(scale=1):
                controls = [
                    gr.Slider(1, MAX_IMAGES, value=4, step=1, label="Images"),
                    gr.Slider(
                        0,
                        10,
                        value=defaults.cfg_scale if generator.has_null_class else 1.0,
                        step=0.5,
                        label="CFG scale",
                        visible=generator.has_null_class,  # guidance needs the null class
                    ),
                    gr.Slider(0, 2, value=defaults.temperature, step=0.05, label="Temperature (0 = greedy)"),
                    gr.Number(value=0, precision=0, label="Seed (-1 = random)"),
                ]
        gallery = gr.Gallery(label="Images", columns=4, height="auto", elem_id="class-gallery" + suffix)
        timing = gr.Markdown(elem_id="class-timing" + suffix)
        files = gr.File(label="Download (PNG with settings embedded)", file_count="multiple")
        button.click(
            demo.generate_class,
            [class_name, *controls],
            [gallery, timing, files],
            api_name="generate_class" + suffix,
            concurrency_limit=concurrency,
        )


def parse_file_size(size: int | str, source: str = "--max-file-size") -> int:
    """'10mb', '500kb', '2 GB', '1048576' or an int → bytes, in gradio's own units (gradio.utils.FileSize)."""
    if isinstance(size, int):
        limit = size
    else:
        match = re.fullmatch(r"\s*(\d+)\s*([a-zA-Z]*)\s*", size)
        multiple = getattr(FileSize, match[2].upper() or "B", None) if match else None
        if not isinstance(multiple, int):
            raise ValueError(f"{source}: expected a size like 10mb, 500kb or a number of bytes, got {size!r}")
        limit = int(match[1]) * multiple
    if limit < 1:
        raise ValueError(f"{source}: must be at least 1 byte, got {size!r}")
    return limit


def parse_credentials(text: str, source: str) -> tuple[str, str]:
    """'user:password' → (user, password); the password may hold colons. Errors name `source`, never the text."""
    user, colon, password = text.partition(":")
    if not colon or not user or not password:
        raise ValueError(f"{source}: expected USER:PASSWORD (a user name, ':', a password; neither empty)")
    if user != user.strip() or password != password.strip():  # a stray space would lock everyone out
        raise ValueError(f"{source}: the user name or password starts or ends with whitespace")
    return user, password


def read_auth_file(path: str | Path) -> list[tuple[str, str]]:
    """Users from a file of `user:password` lines; blank lines and lines starting with # are skipped."""
    path = Path(path)
    try:
        with path.open("rb") as f:  # at most MAX_AUTH_FILE_BYTES: a device file or a huge file is refused
            data = f.read(MAX_AUTH_FILE_BYTES + 1)
        mode = path.stat().st_mode
    except OSError as e:
        raise ValueError(f"--auth-file {path}: cannot read it ({e.strerror or e})") from None
    if len(data) > MAX_AUTH_FILE_BYTES:
        raise ValueError(f"--auth-file {path}: larger than {MAX_AUTH_FILE_BYTES:,} bytes; a login list is far smaller")
    try:
        lines = data.decode().splitlines()
    except UnicodeDecodeError:
        raise ValueError(f"--auth-file {path}: not UTF-8 text") from None
    users: dict[str, str] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        user, password = parse_credentials(line, f"--auth-file {path}, line {number}")
        if user in users:
            raise ValueError(f"--auth-file {path}, line {number}: user {user!r} is listed twice")
        users[user] = password
    if not users:
        raise ValueError(f"--auth-file {path}: holds no user:password line")
    if mode & 0o077:
        log.warning("--auth-file %s can be read by other users of this machine (chmod 600 it)", path)
    return list(users.items())


def resolve_auth(auth: str | None, auth_file: str | None, environ: Mapping[str, str]) -> list[tuple[str, str]] | None:
    """The demo's users from --auth, else --auth-file, else $VIM_DEMO_AUTH; None when none is given."""
    if auth is not None and auth_file is not None:
        raise ValueError("--auth and --auth-file: give one of them")
    if auth is not None:
        return [parse_credentials(auth, "--auth")]
    if auth_file is not None:
        return read_auth_file(auth_file)
    if AUTH_ENV in environ:  # set but empty (an unset shell variable) is an error, not an open demo
        return [parse_credentials(environ[AUTH_ENV], f"${AUTH_ENV}")]
    return None


def check_root_path(root_path: str | None) -> str | None:
    """--root-path as gradio takes it: the proxy's mount point (/vim) or the full public URL."""
    if root_path is not None and not root_path.startswith(("/", "http://", "https://")):
        raise ValueError(
            f"--root-path: expected a path like /vim or a URL like https://example.org/vim, got {root_path!r}"
        )
    return root_path


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may stand for any interface
        return False


def exposure_warnings(host: str, port: int, users: list[tuple[str, str]] | None, max_file_size: int) -> list[str]:
    """What serving on `host` opens up, for the terminal; nothing on loopback."""
    if is_loopback(host):
        return []
    if users:
        return [
            f"serving on {host}:{port} behind a password over plain HTTP: passwords and images cross the network "
            "unencrypted unless a TLS reverse proxy sits in front (see --root-path)"
        ]
    return [
        f"serving on {host}:{port} with no password: anyone who can reach this port can generate images on this "
        f"machine's processors, upload images of up to {max_file_size:,} bytes to the tokenizer tab, call both "
        "through gradio's HTTP API (/gradio_api/...) and read the model card and checkpoint path. "
        f"Ask for one with --auth-file or ${AUTH_ENV}"
    ]


def launch(
    checkpoint: str | os.PathLike | list[str | os.PathLike] | None = None,
    host: str = "127.0.0.1",
    port: int = 7860,
    queue_size: int = 16,
    block: bool = True,
    auth: list[tuple[str, str]] | None = None,
    max_file_size: int | str = DEFAULT_MAX_FILE_SIZE,
    root_path: str | None = None,
) -> tuple[gr.Blocks, list[Demo]]:
    """Load, compile and serve one bundle or several (a list: a tab per model, the first open; None: the
    repository's models, `vim.bundle.bundled_models`). `auth`: (user, password) pairs for gradio's login page
    (None: no password)."""
    limit = parse_file_size(max_file_size)  # bad values fail here, before minutes of loading
    root_path = check_root_path(root_path)
    if auth is not None and not auth:
        raise ValueError("auth: an empty list of users would leave the demo open; pass None to serve without one")
    paths = bundled_models() if checkpoint is None else checkpoint if isinstance(checkpoint, list) else [checkpoint]
    names = [Path(p).name for p in paths]
    if len(set(names)) != len(names):
        raise ValueError(f"two checkpoints share a folder name ({', '.join(names)}): the tabs would be ambiguous")
    for warning in exposure_warnings(host, port, auth, limit):
        log.warning(warning)
    cache = ServingCache(max_bytes=max(MAX_CACHED_BYTES, 4 * limit))
    atexit.register(cache.close)  # however the process ends, short of a kill
    demos: list[Demo] = []
    try:
        for path in paths:
            print(f"loading {path} …", flush=True)
            demos.append(Demo(load_bundle(path), max_file_size=limit, cache=cache))
            print(f"compiling (once) … {demos[-1].warm_up():.1f} s", flush=True)
        app = build_app(demos, queue_size=queue_size)
        if auth:
            print(f"password required; users: {', '.join(user for user, _ in auth)}", flush=True)
        app.launch(
            server_name=host,
            server_port=port,
            prevent_thread_lock=not block,
            show_error=True,
            auth=auth,
            max_file_size=limit,
            root_path=root_path,
            **server_kwargs(demos[0]),
        )
    except BaseException:
        cache.close()
        raise
    if block:  # the server has stopped (Ctrl-C): nothing it wrote outlives it
        cache.close()
    return app, demos
