"""`vim p2 run`: K images per P2 prompt, `results.jsonl`, and an `index.html` report; resumable.

    vim p2 run --out runs/p2/tiny --category Animals --limit 20 -n 4

A run folder holds `run.json` (checkpoint, sampling settings, K, seed: fixed at the first start),
`images/`, `results.jsonl` (one line per finished prompt, appended only after its images are on disk)
and `index.html`. Running the same command again skips finished prompts; a line cut short by a kill
is dropped and its prompt drawn again, so every prompt appears exactly once.
"""

from __future__ import annotations

import dataclasses
import html
import json
import logging
import os
import re
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PIL import Image

from vim import distributed
from vim.config import SampleConfig, to_dict
from vim.generate import Generator
from vim.p2.prompts import P2Prompt

log = logging.getLogger(__name__)
RESULTS = "results.jsonl"
# In a multi-process run, process i appends its finished prompts here; process 0 merges these files into
# results.jsonl when every process has finished (or when the next run starts, after a kill).
PART_RESULTS = "results.p{}.jsonl"


def _whole_lines(path: Path) -> tuple[list[dict], bool]:
    """The records of a results file and whether it ends in a partial line (a run killed mid-write)."""
    if not path.is_file():
        return [], False
    good, lines = [], path.read_text(encoding="utf-8").splitlines(keepends=True)
    for line in lines:
        try:
            good.append(json.loads(line))
        except json.JSONDecodeError:
            break  # only the last line can be partial: appends are whole lines, flushed in order
    return good, len(good) < len(lines) or bool(lines and not lines[-1].endswith("\n"))


def _rewrite(path: Path, records: list[dict]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    tmp.replace(path)


def read_results(out: Path) -> list[dict]:
    """Finished prompts; a trailing partial line (a run killed mid-write) is removed from the file."""
    good, partial = _whole_lines(out / RESULTS)
    if partial:
        _rewrite(out / RESULTS, good)
    return good


def merge_part_results(out: Path) -> None:
    """Move the prompts finished in the per-process files of a multi-process run into results.jsonl (each
    index once, new ones in index order), then delete those files; a partial last line is dropped from
    every file. Safe to repeat after a kill at any point."""
    records = read_results(out)
    parts = sorted(out.glob(PART_RESULTS.format("*")))
    if not parts:
        return
    seen = {r["index"] for r in records}
    new = [r for part in parts for r in _whole_lines(part)[0] if r["index"] not in seen]
    unique = {r["index"]: r for r in new}  # a part file can repeat another's prompt only after a merge was cut
    _rewrite(out / RESULTS, records + [unique[i] for i in sorted(unique)])
    for part in parts:
        part.unlink()


def _check_run_settings(out: Path, settings: dict, create: bool = True) -> None:
    path = out / "run.json"
    if not create and not path.is_file():
        raise FileNotFoundError(
            f"{path} was not found after process 0 wrote it: every process of a multi-process `vim p2 run` "
            "must see the same --out folder (a shared filesystem)"
        )
    if path.is_file():
        saved = json.loads(path.read_text())
        diff = [k for k in settings if saved.get(k) != settings[k]]
        if diff:
            detail = "; ".join(f"{k}: run has {saved.get(k)!r}, requested {settings[k]!r}" for k in diff)
            raise ValueError(f"{out} was started with other settings ({detail}); use a new --out to change them")
    else:
        out.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings, indent=2) + "\n")


def run_p2(
    generator: Generator,
    out: str | os.PathLike,
    prompts: Sequence[P2Prompt],
    n: int,
    sample: SampleConfig,
    seed: int = 0,
    progress: bool = True,
    after_prompt: Callable[[int], None] | None = None,
    fid_ref: str | os.PathLike | None = None,
    fid_weights: str | os.PathLike | None = None,
) -> dict:
    """Generate the prompts not yet in `out`, then rewrite the report. Returns the totals.

    With `fid_ref` (a folder of reference images or a statistics .npz from `vim fid-stats`), the
    totals and the report also hold the FID of all the run's images against it.

    In a multi-process run every process calls this with the same arguments: each draws its share of the
    prompts (every N-th, see `distributed.my_share`) and appends them to its own results.p<i>.jsonl;
    process 0 alone writes run.json, results.jsonl, the FID and index.html, after every process finished.
    """
    out = Path(out)
    bundle = generator.bundle
    settings = {
        "checkpoint": str(bundle.path),
        "trained_on": bundle.parti_cfg.data.dataset,
        "images_per_prompt": n,
        "seed": seed,
        "sampling": to_dict(sample),  # as run.json holds it, so a resumed run compares equal
    }

    def start() -> None:  # process 0: what exists once per run; a killed run's per-process results merged
        _check_run_settings(out, settings)
        (out / "images").mkdir(exist_ok=True)
        merge_part_results(out)

    def check_mine() -> str:  # every process's settings against run.json, now that process 0 wrote it
        _check_run_settings(out, settings, create=False)
        return ""

    distributed.on_primary(start, f"starting the P2 run in {out}")
    several = distributed.process_count() > 1
    if several:
        distributed.finish_shares(check_mine, "vim p2 run")
    done = {r["index"] for r in _whole_lines(out / RESULTS)[0]}
    todo = distributed.my_share([p for p in prompts if p.index not in done])
    results_file = PART_RESULTS.format(distributed.process_index()) if several else RESULTS
    drawn = distributed.finish_shares(
        lambda: _draw(generator, out, todo, n, sample, seed, results_file, progress, after_prompt), "vim p2 run"
    )
    if several:
        log.info(
            "process %d of %d drew %s prompt(s), %s in all",
            distributed.process_index(),
            len(drawn),
            drawn[distributed.process_index()],
            sum(map(int, drawn)),
        )

    def finish() -> dict:  # process 0, once every process has drawn its share
        merge_part_results(out)
        fid = _fid(out, fid_ref, fid_weights) if fid_ref is not None else None
        return write_report(out, read_results(out), settings, fid, vocabulary_check(generator.bundle))

    totals = distributed.on_primary(finish, f"writing the P2 report in {out}")
    return json.loads(distributed.gather_text(json.dumps(totals))[0])  # process 0's totals, on every process


def _draw(
    generator: Generator,
    out: Path,
    todo: Sequence[P2Prompt],
    n: int,
    sample: SampleConfig,
    seed: int,
    results_file: str,
    progress: bool,
    after_prompt: Callable[[int], None] | None,
) -> str:
    """Images of `todo`'s prompts, each prompt's results line appended once its images are on disk. Prompts
    are drawn together, as many per call as fill the generator's batch (with few images per prompt a call
    per prompt would leave most of each compiled batch to padding); each one's `seconds` is its share."""
    from tqdm import tqdm

    per_call = max(1, generator.batch_size // n)
    with (
        (out / results_file).open("a", encoding="utf-8") as results,
        tqdm(total=len(todo) * n, disable=not progress, unit="img") as bar,
    ):
        count = 0
        for first in range(0, len(todo), per_call):
            group = todo[first : first + per_call]
            seeds = [[seed + p.index * n + j for j in range(n)] for p in group]  # by P2 row: the same under any filter
            start = time.perf_counter()
            images = generator([p.prompt for p in group for _ in range(n)], [s for row in seeds for s in row], sample)
            seconds = (time.perf_counter() - start) / len(group)
            for k, p in enumerate(group):
                files = []
                for j, image in enumerate(images["images"][k * n : (k + 1) * n]):
                    name = f"images/{p.index:04d}_{j}.png"
                    tmp = out / (name + ".tmp.png")
                    Image.fromarray(image).save(tmp)
                    tmp.replace(out / name)
                    files.append(name)
                record = dataclasses.asdict(p) | {
                    "seeds": seeds[k],
                    "files": files,
                    "seconds": round(seconds, 4),
                    "text_truncated": bool(images["truncated"][k * n]),
                }
                results.write(json.dumps(record) + "\n")
                results.flush()
                os.fsync(results.fileno())
                bar.update(n)
                if after_prompt is not None:
                    after_prompt(count)
                count += 1
    return str(len(todo))


def _fid(out: Path, reference: str | os.PathLike, weights: str | os.PathLike | None) -> dict:
    from vim.metrics import features as features_lib
    from vim.metrics import fid as fid_lib

    ref_path = Path(reference)
    extractor = features_lib.Extractor(weights)  # one weights load and one compile for both folders
    if ref_path.suffix == ".npz":
        ref = features_lib.load_statistics(ref_path)
    else:
        ref = features_lib.compute_statistics(ref_path, extractor=extractor, progress=False)
    ours = features_lib.compute_statistics(
        out / "images", extractor=extractor, mode=ref.mode or "clean", progress=False
    )
    return {
        "fid": fid_lib.fid_from_statistics(ours, ref),
        "reference": str(ref_path),
        "images": ours.n,
        "reference_images": ref.n,
        "weights": ours.weights,
    }


# Words a prompt may use beyond the training captions' own: function words say nothing the model must draw.
FUNCTION_WORDS = frozenset("a an the of on in at to with and or is are its it this that by for from".split())  # noqa: SIM905
MAX_CAPTIONS_READ = 200_000  # a larger training split is judged by its tokenizer's whole-word pieces instead


def words_of(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def vocabulary_check(bundle: Any) -> tuple[Callable[[str], bool], str] | None:
    """(`known(prompt)`, how it knows): every word of the prompt but FUNCTION_WORDS is a word of the training
    captions — read from the bundle's dataset where it is on disk and finite — else a whole piece of the
    bundle's SentencePiece model (its BPE keeps the frequent words of the training captions whole). None for a
    bundle without a text model."""
    from vim.data.pipeline import open_split, streamed

    if bundle.text is None:
        return None
    words: set[str] | None = None
    data = bundle.parti_cfg.data
    if not streamed(data):
        try:
            source = open_split(data, "train")
        except (OSError, ValueError) as e:  # not built here: the pieces tell
            log.info("judging P2 prompts by the text model's pieces: %s", e)
        else:
            if len(source) <= MAX_CAPTIONS_READ:
                words = {w for i in range(len(source)) for w in words_of(source[i]["caption"].decode())}
    processor = bundle.text.processor
    if words is not None:
        vocabulary, how = words, f"the words of {data.dataset}'s training captions"
    else:
        vocabulary = {p.removeprefix("\u2581") for p in map(processor.id_to_piece, range(processor.get_piece_size()))}
        how = "the whole-word pieces of the bundle's text model"

    def known(prompt: str) -> bool:
        content = [w for w in words_of(prompt) if w not in FUNCTION_WORDS]
        return bool(content) and all(w in vocabulary for w in content)

    return known, how


def write_report(
    out: Path,
    records: list[dict],
    settings: dict,
    fid: dict | None = None,
    vocabulary: tuple[Callable[[str], bool], str] | None = None,
) -> dict:
    """index.html: a banner saying what made the images, totals, the prompts in the model's vocabulary
    (`vocabulary_check`) first, and grids by category and challenge."""
    images = sum(len(r["files"]) for r in records)
    seconds = sum(r["seconds"] for r in records)
    totals = {"prompts": len(records), "images": images, "seconds_per_image": seconds / images if images else 0.0}
    if fid is not None:
        totals["fid"] = fid
    drawable = [r for r in records if vocabulary[0](r["prompt"])] if vocabulary is not None else []
    if vocabulary is not None:
        totals["in_vocabulary"] = [r["index"] for r in drawable]
    esc = html.escape

    def prompt_block(r: dict) -> str:
        imgs = "".join(
            f'<img src="{esc(f)}" alt="seed {s}" title="seed {s}">' for f, s in zip(r["files"], r["seeds"], strict=True)
        )
        cut = " <em>(text cut to the model's length)</em>" if r.get("text_truncated") else ""
        return (
            f'<div class="p"><div class="t">#{r["index"]} {esc(r["prompt"])}{cut}</div>'
            f'<div class="m">{esc(r["category"])} · {esc(r["challenge"])} · {r["seconds"]:.2f} s</div>{imgs}</div>'
        )

    sections = []
    if vocabulary is not None:
        sections.append(
            f'<h2 id="in-vocabulary">Prompts in this model\'s vocabulary ({len(drawable)} of {len(records)})</h2>'
            f"<p>Every word but function words is one of {esc(vocabulary[1])}: the prompts it can draw.</p>"
            + "".join(prompt_block(r) for r in drawable)
        )
    for field in ("category", "challenge"):
        groups: dict[str, list[dict]] = defaultdict(list)
        for r in records:
            groups[r[field]].append(r)
        body = "".join(
            f'<h3 id="{field}-{esc(name)}">{esc(name)} ({len(rs)})</h3>' + "".join(prompt_block(r) for r in rs)
            for name, rs in sorted(groups.items())
        )
        sections.append(f"<h2>By {field}</h2>{body}")
    warning = ""
    if settings["trained_on"] in ("shapes", ""):
        warning = (
            '<p class="warn">This checkpoint was trained only on vim\'s procedural shapes world: it draws '
            "colored shapes for most P2 prompts. These images are not a PartiPrompts result.</p>"
        )
    fid_line = ""
    if fid is not None:
        fid_line = (
            f'<p id="fid">FID {fid["fid"]:.2f} of {fid["images"]} images against '
            f"<code>{esc(fid['reference'])}</code> ({fid['reference_images']} images)</p>"
        )
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>P2 run: {esc(out.name)}</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; }}
.warn {{ background: #fee; border: 1px solid #c66; padding: .6em; }}
.p {{ display: inline-block; vertical-align: top; width: 300px; margin: 6px; }} .t {{ font-size: 13px; }}
.m {{ font-size: 11px; color: #666; }} img {{ width: 64px; height: 64px; image-rendering: pixelated; margin: 1px; }}
</style></head><body>
<h1>PartiPrompts run <code>{esc(out.name)}</code></h1>
{warning}
<p id="settings">Checkpoint <code>{esc(settings["checkpoint"])}</code>
trained on <code>{esc(settings["trained_on"])}</code>;
{settings["images_per_prompt"]} image(s) per prompt, seed {settings["seed"]},
sampling <code>{esc(json.dumps(settings["sampling"]))}</code>.</p>
<p id="totals">{totals["prompts"]} prompts · {totals["images"]} images ·
{totals["seconds_per_image"]:.3f} s per image</p>
{fid_line}
{"".join(sections)}
</body></html>
"""
    tmp = out / "index.html.tmp"
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out / "index.html")
    return totals
