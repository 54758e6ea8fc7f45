"""Fault injection beyond kill -9 (bench/kill_resume.py) and damaged checkpoints (test_training_core.py):
resharding a checkpoint onto other meshes, folders of every kind of bad file through data import and FID,
and non-finite batches in a real training run."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import numpy as np
import pytest

from vim import config as config_lib

from .conftest import fake_devices_env

# ---------------------------------------------------------------------------------------- resharding

# Saved from an 8-device data=2 × fsdp=2 × model=2 mesh, so weights are split over fsdp and model: the
# state is created already sharded (jitted init with out_shardings) and handed to the Checkpointer, with a
# dump of exactly what it was handed as the witness the restores are compared with. Not via a training
# run: XLA:CPU's in-process collectives for a 3-axis mesh on 2 busy cores sometimes stall for minutes in
# a rendezvous (with or without vim's matmul); 8-device training is tested in test_training_core/test_parti.
RESHARD_SAVE = textwrap.dedent("""
    import json, shutil, sys
    from pathlib import Path
    import jax, numpy as np
    from vim import config as config_lib
    from vim.parti.train import PartiTask
    from vim.sharding import make_mesh
    from vim.training.checkpoint import Checkpointer
    from tests.test_reliability import reshard_cfg
    assert jax.device_count() == 8, jax.devices()
    workdir = Path(sys.argv[1])
    shutil.rmtree(workdir / "run", ignore_errors=True)  # a stalled earlier attempt may have left a part
    cfg = reshard_cfg(config_lib.MeshConfig(data=2, fsdp=2, model=2))
    task = PartiTask(cfg)
    key = jax.random.key_data(jax.random.key(3))
    shardings = task.shardings(jax.eval_shape(task.init_state, key), make_mesh(cfg.mesh))
    state = jax.jit(task.init_state, out_shardings=shardings)(key)
    step = 3
    flat = jax.tree_util.tree_flatten_with_path(jax.device_get(state))[0]
    np.savez(workdir / f"saved_{step}.npz", **{jax.tree_util.keystr(p): v for p, v in flat})
    shards = {jax.tree_util.keystr(p): [str(x.sharding.spec), list(x.addressable_shards[0].data.shape)]
              for p, x in jax.tree_util.tree_flatten_with_path(state)[0]}
    (workdir / f"layout_{step}.json").write_text(json.dumps(shards))
    ckpt = Checkpointer(workdir / "run" / "checkpoints", use_async=False)
    ckpt.save(step, state, json.dumps({"position": step}).encode())
    ckpt.close()
    print(json.dumps({"step": step}))
""")

RESHARD_RESTORE = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    import jax, numpy as np
    from vim import config as config_lib
    from vim.parti.train import PartiTask
    from vim.sharding import make_mesh
    from vim.training.checkpoint import Checkpointer, abstract_like
    from tests.test_reliability import reshard_cfg
    workdir = Path(sys.argv[1])
    task = PartiTask(reshard_cfg(config_lib.MeshConfig()))
    abstract = jax.eval_shape(task.init_state, jax.random.key_data(jax.random.key(0)))
    targets = {
        "fsdp4_model2": make_mesh(config_lib.MeshConfig(data=1, fsdp=4, model=2)),
        "one_device": make_mesh(config_lib.MeshConfig(data=1, fsdp=1, model=1), devices=jax.devices()[:1]),
    }
    out = {}
    for name, mesh in targets.items():
        shardings = task.shardings(abstract, mesh)
        ckpt = Checkpointer(workdir / "run" / "checkpoints", use_async=False)
        state, data_state, step = ckpt.restore(abstract_like(abstract, shardings))
        ckpt.close()
        saved = np.load(workdir / f"saved_{step}.npz")
        leaves = jax.tree_util.tree_flatten_with_path(state)[0]
        wanted = jax.tree.leaves(shardings)
        out[name] = {
            "step": step,
            "leaves": len(leaves),
            "saved_leaves": len(saved.files),
            "unequal": [jax.tree_util.keystr(p) for p, x in leaves
                        if not np.array_equal(np.asarray(x), saved[jax.tree_util.keystr(p)])],
            "wrong_sharding": [jax.tree_util.keystr(p) for (p, x), s in zip(leaves, wanted) if x.sharding != s],
            "devices": sorted({d.id for x in jax.tree.leaves(state) for d in x.sharding.device_set}),
            "shards": {jax.tree_util.keystr(p): [str(x.sharding.spec), list(x.addressable_shards[0].data.shape)]
                       for p, x in leaves},
            "split": [jax.tree_util.keystr(p) for p, x in leaves if x.addressable_shards[0].data.shape != x.shape],
            "data_state": data_state.decode() if data_state is not None else None,
        }
    print(json.dumps(out))
""")


def reshard_cfg(mesh: config_lib.MeshConfig) -> config_lib.Config:
    """A tiny Parti (heads and MLP divisible by 2 and widths by 4, so every mesh here splits them)."""
    cfg = config_lib.tiny()
    cfg.parti = config_lib.PartiConfig(
        width=32, encoder_layers=1, decoder_layers=1, heads=2, head_dim=16, mlp_dim=64, image_vocab_size=32
    )
    cfg.train = config_lib.TrainConfig(
        num_steps=3, warmup_steps=1, checkpoint_every=3, eval_every=100, progress=False, keep_checkpoints=2
    )
    cfg.data.batch_size = 8
    cfg.mesh = mesh
    cfg.log_every = 1
    return cfg


class SyntheticCodes:
    """Random (text, codes) batches with a resumable position: a stand-in for the encoded dataset."""

    def __init__(self, cfg: config_lib.Config):
        self.cfg, self.position = cfg, 0

    def __next__(self) -> dict:
        rng = np.random.default_rng(self.position)
        self.position += 1
        b, pc = self.cfg.data.batch_size, self.cfg.parti
        text = rng.integers(1, pc.text_vocab_size, (b, pc.text_length), dtype=np.int32)
        return {
            "codes": rng.integers(0, pc.image_vocab_size, (b, pc.image_grid**2), dtype=np.int32),
            "text_ids": text,
            "text_mask": text != 0,
        }

    def get_state(self) -> bytes:
        return json.dumps({"position": self.position}).encode()

    def set_state(self, state: bytes) -> None:
        self.position = json.loads(state)["position"]


def _eight_devices(script: str, *args: str, attempts: int = 4) -> dict:
    """Run `script` on 8 fake CPU devices and return its last stdout line as JSON.

    A run that stalls (no exit in 90 s; it takes ~5 s) is started again, up to `attempts` times: 8 fake
    devices' programs on 2 cores have hung in XLA:CPU's collective rendezvous (1 save in 4, until the
    save's finiteness check became one compiled program: 0 in 16 since). Only a stall is retried; a wrong
    exit or result fails at once.
    """
    env = {**fake_devices_env(8), "PYTHONPATH": str(Path(__file__).parents[1])}
    for attempt in range(1, attempts + 1):
        try:
            out = subprocess.run(
                [sys.executable, "-c", script, *args], capture_output=True, text=True, env=env, timeout=90
            )
            break
        except subprocess.TimeoutExpired:
            if attempt == attempts:
                raise
    assert out.returncode == 0, out.stderr[-4000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_checkpoint_from_8_devices_restores_onto_4x2_and_1_device(tmp_path):
    assert _eight_devices(RESHARD_SAVE, str(tmp_path)) == {"step": 3}
    saved_layout = json.loads((tmp_path / "layout_3.json").read_text())
    # The save really was partitioned: some weights split over model, some over fsdp.
    specs = [spec for spec, _ in saved_layout.values()]
    assert any("model" in s for s in specs) and any("fsdp" in s for s in specs)

    restored = _eight_devices(RESHARD_RESTORE, str(tmp_path))
    for name, r in restored.items():
        assert r["step"] == 3, name
        assert r["leaves"] == r["saved_leaves"] == len(saved_layout), name
        assert r["unequal"] == [], name
        assert r["wrong_sharding"] == [], name
        assert r["data_state"] == json.dumps({"position": 3}), name
    assert restored["one_device"]["devices"] == [0]
    assert restored["fsdp4_model2"]["devices"] == list(range(8))
    # A different layout, not the saved one in disguise: fsdp now splits embed dims 4 ways, not 2.
    changed = [k for k, (spec, shape) in restored["fsdp4_model2"]["shards"].items() if saved_layout[k][1] != shape]
    assert changed, "the 4×2 restore has exactly the saved shard shapes"
    assert restored["one_device"]["split"] == [] and restored["fsdp4_model2"]["split"]


# ------------------------------------------------------------------------- bad files: import and FID


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width × height (valid CRCs) over a few bytes of pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def _bad_folder(d: Path) -> tuple[list[str], dict[str, str], dict[str, str]]:
    """Good images, images that must convert, and every kind of bad entry we could think of, all listed
    in captions.jsonl. Returns (usable files, import reasons by name, FID reasons by name); names of
    non-UTF-8 files are given as the tools show them (odd bytes as \\xNN)."""
    from PIL import Image

    from vim.data.importer import printable

    rng = np.random.default_rng(0)

    def noise(h: int, w: int, c: int = 3) -> np.ndarray:
        return rng.integers(0, 256, (h, w, c), dtype=np.uint8)

    def cut(name: str, fmt: str) -> None:
        Image.fromarray(noise(64, 64)).save(d / name, fmt)
        data = (d / name).read_bytes()
        (d / name).write_bytes(data[: len(data) // 2])

    good = ["good0.png", "good1.png", "good.jpg", "one.png", "really_png.jpg", "caf\udce9.png"]
    convert = ["gray16.png", "cmyk.jpg", "palette.png", "rgba.png"]
    for i in range(2):
        Image.fromarray(noise(40, 48)).save(d / f"good{i}.png")
    Image.fromarray(noise(40, 48)).save(d / "good.jpg", quality=95)
    Image.fromarray(noise(1, 1)).save(d / "one.png")  # 1×1: degenerate but valid, upscaled
    Image.fromarray(noise(20, 20)).save(d / "really_png.jpg", "PNG")  # wrong extension, fine content
    Image.fromarray(noise(20, 20)).save(os.fsencode(d / "caf") + b"\xe9.png")  # latin-1 name on disk
    Image.fromarray(np.full((20, 20), 40000, np.uint16)).save(d / "gray16.png")
    Image.new("CMYK", (24, 24), (0, 255, 255, 0)).save(d / "cmyk.jpg")
    Image.fromarray(noise(20, 20)).convert("P").save(d / "palette.png")
    Image.fromarray(noise(20, 20, 4), "RGBA").save(d / "rgba.png")

    (d / "empty.png").write_bytes(b"")
    cut("trunc.png", "PNG")
    cut("trunc.jpg", "JPEG")
    cut(os.fsdecode(os.fsencode(d / "bad") + b"\xff.png"), "PNG")  # a bad file with a non-UTF-8 name
    Image.fromarray(noise(64, 64)).save(d / "crc.png")
    flipped = bytearray((d / "crc.png").read_bytes())
    flipped[len(flipped) // 2] ^= 0xFF
    (d / "crc.png").write_bytes(bytes(flipped))
    (d / "text.jpg").write_text("hello, not a jpeg\n")
    (d / "notes.txt").write_text("not an image either")
    (d / "dir.png").mkdir()
    (d / "bomb.png").write_bytes(_png_header(100_000, 100_000))  # 10¹⁰ pixels: Pillow's bomb error
    (d / "big.png").write_bytes(_png_header(12_000, 12_000))  # 1.4·10⁸: only a warning in Pillow
    (d / "zero.png").write_bytes(_png_header(0, 10))
    (d / "loop.png").symlink_to("loop.png")
    (d / "dangling.png").symlink_to("nowhere.png")
    os.mkfifo(d / "pipe.png")  # opening it would block forever
    (d / "locked.png").write_bytes((d / "good0.png").read_bytes())
    (d / "locked.png").chmod(0)  # unreadable, except to root

    entries = [{"file": f, "caption": f"picture {printable(f)}"} for f in good + convert]
    bad = ["empty.png", "trunc.png", "trunc.jpg", "bad\udcff.png", "crc.png", "text.jpg", "notes.txt", "dir.png"]
    bad += ["bomb.png", "big.png", "zero.png", "loop.png", "dangling.png", "pipe.png", "locked.png", "missing.png"]
    entries += [{"file": f, "caption": f"picture {printable(f)}"} for f in bad]
    entries.append({"file": "good1.png", "caption": "lone \udce9 surrogate"})
    lines = [json.dumps(e).encode() for e in entries]
    lines.append(b'{"file": "good0.png", "caption": "caf\xe9 in latin-1"}')  # not UTF-8
    (d / "captions.jsonl").write_bytes(b"\n".join(lines) + b"\n")

    common = {
        "empty.png": "empty file (0 bytes)",
        "trunc.png": "truncated",
        "trunc.jpg": "truncated",
        "bad\\xff.png": "truncated",
        "crc.png": "broken data stream",
        "text.jpg": "",  # set per tool below
        "dir.png": "is a folder, not an image file",
        "bomb.png": "decompression bomb",
        "big.png": "too large: 12000x12000",
        "zero.png": "",
        "loop.png": "Too many levels of symbolic links",
        "dangling.png": "broken symbolic link to nowhere.png",
        "pipe.png": "not a regular file (a FIFO",
        "locked.png": "Permission denied",
    }
    imported = {**common, "text.jpg": "not an image", "zero.png": "not an image", "notes.txt": "not an image"}
    imported |= {"missing.png": "file not found", f"captions line {len(lines)}": "not UTF-8 text"}
    imported[f"captions line {len(entries)}"] = "caption for good1.png is not valid Unicode text"
    fid = {**common, "text.jpg": "cannot identify image file", "zero.png": "cannot identify image file"}
    return good + convert, imported, fid


def _root_reads_anything() -> bool:
    """chmod 000 does not stop root (CAP_DAC_OVERRIDE); the venv's interpreter lives under /root here,
    so the tools cannot be run as another user either."""
    return os.geteuid() == 0


@pytest.fixture
def bad_folder(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "home").mkdir()
    return tmp_path, *_bad_folder(tmp_path / "images")


def _vim(args: list[str], root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HOME": str(root / "home"), "JAX_PLATFORMS": "cpu"}
    env["PYTHONPATH"] = str(Path(__file__).parents[1])
    return subprocess.run([sys.executable, "-m", "vim.cli", *args], capture_output=True, env=env, timeout=300)


def test_bad_files_are_reported_by_import_and_fid_and_the_rest_processed(bad_folder):
    from tests.test_metrics import random_weights
    from vim.data.importer import printable
    from vim.metrics import weights as weights_lib

    root, usable, import_reasons, fid_reasons = bad_folder
    images = root / "images"
    good = [f"picture {printable(f)}" for f in usable]  # their captions
    if _root_reads_anything():  # locked.png is a good image to root: see test_unreadable_file_is_reported
        assert os.access(images / "locked.png", os.R_OK)
        good = [*good, "picture locked.png"]
        del import_reasons["locked.png"], fid_reasons["locked.png"]

    done = _vim(["data", "import", str(images), "--name", "bad", "--data-dir", str(root / "data")], root)
    out = done.stdout.decode()  # the report is valid UTF-8 even with non-UTF-8 file names
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    assert f"imported {len(good)} images (train {len(good)})" in out
    assert "converted: 16-bit->8-bit ×1, cmyk->rgb ×1, palette->rgb ×1, rgba->rgb (composited on white) ×1" in out
    assert f"skipped {len(import_reasons)}:" in out
    report = dict(line.strip().split(": ", 1) for line in out.splitlines() if line.startswith("  "))
    assert set(report) == set(import_reasons)
    for name, reason in import_reasons.items():
        assert reason in report[name], (name, report[name])
    import tensorflow_datasets as tfds

    from vim.data.locations import imported_dir

    train = tfds.builder_from_directory(str(imported_dir("bad", root / "data"))).as_data_source("train")
    assert sorted(train[i]["caption"].decode() for i in range(len(train))) == sorted(good)

    weights = weights_lib.save_weights(random_weights(), root / "fake.npz", "random-test-weights", "0" * 64)
    stats = root / "home" / "stats.npz"
    done = _vim(["fid-stats", str(images), "-o", str(stats), "--weights", str(weights), "--batch-size", "4"], root)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    result = json.loads(done.stdout)
    assert result["inputs"][0]["n"] == len(good)
    skipped = {s["file"]: s["reason"] for s in result["inputs"][0]["skipped"]}
    assert set(skipped) == set(fid_reasons)  # notes.txt and captions.jsonl: not image extensions, not read
    for name, reason in fid_reasons.items():
        assert reason in skipped[name], (name, skipped[name])
    err = done.stderr.decode()
    assert all(f"{images}/{name}: " in err for name in fid_reasons)
    assert np.isfinite(np.load(stats)["mu"]).all()


def test_a_folder_of_only_bad_files_exits_2_naming_each(bad_folder):
    """Nothing usable: both tools stop with exit code 2 and a message that still names every file and why."""
    from tests.test_metrics import random_weights
    from vim.metrics import weights as weights_lib

    root, usable, _, fid_reasons = bad_folder
    images = root / "images"
    for name in usable:  # leave only the bad ones (and locked.png, readable to root, hence removed too)
        (images / name).unlink()
    (images / "locked.png").unlink()
    del fid_reasons["locked.png"]
    done = _vim(["data", "import", str(images), "--name", "none", "--data-dir", str(root / "data")], root)
    err = done.stderr.decode()
    assert done.returncode == 2 and "no usable images" in err and "nothing written" in err, err[-3000:]
    assert all(f"  {name}: " in err for name in fid_reasons), err
    assert not (root / "data" / "imported_captions" / "none" / "1.2.0").exists()

    weights = weights_lib.save_weights(random_weights(), root / "fake.npz", "random-test-weights", "0" * 64)
    done = _vim(["fid-stats", str(images), "-o", str(root / "s.npz"), "--weights", str(weights)], root)
    err = done.stderr.decode()
    assert done.returncode == 2, err[-3000:]
    assert f"no usable images: all {len(fid_reasons)} files were skipped" in err
    assert all(f"  {name}: " in err for name in fid_reasons), err
    assert not (root / "s.npz").exists()


def test_fid_scales_16_bit_images_rather_than_clipping(tmp_path):
    from PIL import Image

    from vim.metrics.images import load_image

    Image.fromarray(np.full((4, 4), 40000, np.uint16)).save(tmp_path / "gray16.png")
    # Pillow's own convert("RGB") gives 255 (clipped); 40000 / 65535 · 255 = 155.6.
    assert np.array_equal(load_image(tmp_path / "gray16.png"), np.full((4, 4, 3), 156, np.uint8))


def test_unreadable_file_is_reported(tmp_path):
    from PIL import Image

    from vim.data.image_files import BadImageError
    from vim.data.importer import import_folder
    from vim.metrics.images import load_image

    if _root_reads_anything():
        pytest.skip("running as root: a chmod 000 file is still readable, so there is no unreadable file to test")
    images = tmp_path / "images"
    images.mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(images / "good.png")
    (images / "locked.png").write_bytes((images / "good.png").read_bytes())
    (images / "locked.png").chmod(0)
    rows = [{"file": f, "caption": f} for f in ("good.png", "locked.png")]
    (images / "captions.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    report = import_folder(images, "locked", tmp_path / "data", resolution=8)
    assert report.imported == 1 and len(report.skipped) == 1
    assert report.skipped[0][0] == "locked.png" and "Permission denied" in report.skipped[0][1]
    with pytest.raises(BadImageError, match="Permission denied"):  # the FID pass reports the reason
        load_image(images / "locked.png")


# ------------------------------------------------------------------------------ prompts through the CLI

LONG = b"x" * 10_000


@pytest.mark.parametrize(
    ("argv", "file", "message"),
    [
        ([b""], None, "prompt 1: prompt is empty"),
        ([LONG], None, "prompt 1: prompt has 10000 characters; the limit is 2000"),
        ([b"a red\x07 circle"], None, "prompt 1: prompt contains control character U+0007 at position 5"),
        ([b"a red \xff circle"], None, "prompt 1: prompt contains an invalid UTF-8 byte 0xFF at position 6"),
        (
            [b"ok"],
            b"a red circle\nbad \xfe bytes\n",
            "prompt 3: prompt contains an invalid UTF-8 byte 0xFE at position 4",
        ),
        ([], b"a red circle\n" + LONG + b"\n", "prompt 2: prompt has 10000 characters; the limit is 2000"),
        ([], b"a red circle\n\x1b[31mred\n", "prompt 2: prompt contains control character U+001B at position 0"),
        ([], b"\n  \n", "no prompt given"),
    ],
    ids=["empty", "10k", "bell", "argv-byte", "file-byte", "file-10k", "file-escape", "file-blank"],
)
def test_cli_generate_refuses_bad_prompts_before_loading_anything(tmp_path, argv, file, message):
    """Raw bytes in argv and in --file, as a shell passes them; the prompt check runs before the bundle
    is even looked at, so a missing checkpoint must not be the error reported."""
    args = [*argv]
    if file is not None:
        (tmp_path / "prompts.txt").write_bytes(file)
        args += [b"--file", str(tmp_path / "prompts.txt").encode()]
    out = tmp_path / "out"
    cmd = [sys.executable.encode(), b"-m", b"vim.cli", b"generate", *args, b"--checkpoint", b"/nowhere"]
    done = subprocess.run([*cmd, b"-o", str(out).encode()], capture_output=True, timeout=120)
    err = done.stderr.decode()
    assert done.returncode == 2, err
    assert message in err and "Traceback" not in err
    assert not out.exists()


# ------------------------------------------------------------------- non-finite batches and states


class PoisonedCodes(SyntheticCodes):
    """Synthetic batches where the 1-based steps in `inf_grad` give a finite loss but non-finite
    gradients, and those in `nan` carry NaN in the batch itself (so the loss is NaN too)."""

    def __init__(self, cfg: config_lib.Config, inf_grad: set[int], nan: set[int]):
        super().__init__(cfg)
        self.inf_grad, self.nan = inf_grad, nan

    def __next__(self) -> dict:
        step = self.position + 1
        batch = super().__next__()
        b = self.cfg.data.batch_size
        batch["inf_grad"] = np.full(b, float(step in self.inf_grad), np.float32)
        batch["nan"] = np.full(b, np.nan if step in self.nan else 0.0, np.float32)
        return batch


def poisoned_task(cfg: config_lib.Config, break_state_at: int | None = None):
    """PartiTask whose loss reads the poison in the batch; with `break_state_at`, the train step also
    writes NaN into the params at that step (a bug past the NaN guard, which only checkpointing can catch)."""
    import jax
    import jax.numpy as jnp

    from vim.parti.train import PartiTask

    class Poisoned(PartiTask):
        def loss(self, params: dict, batch: dict, key: jax.Array | None) -> tuple[jax.Array, dict]:
            loss, aux = super().loss(params, batch, key)
            w = jax.tree.leaves(params)[0]
            # poisoned: 0 · sqrt(w − w) is 0, but its gradient is 0 · ∞ = NaN; else sqrt(w − w + 1): gradient 0.
            flag = jnp.max(batch["inf_grad"])
            return loss + 0.0 * jnp.sum(jnp.sqrt(w - w + 1.0 - flag)) + jnp.sum(batch["nan"]), aux

        def train_step(self, state: dict, batch: dict) -> tuple[dict, dict]:
            new, metrics = super().train_step(state, batch)
            if break_state_at is not None:
                broken = jax.tree.map(lambda x: x * jnp.nan, new["params"])
                params = jax.lax.cond(new["step"] == break_state_at, lambda: broken, lambda: new["params"])
                new = {**new, "params": params}
            return new, metrics

    return Poisoned(cfg)


def _restore_all(task, directory: Path) -> dict[int, dict]:
    import jax

    from vim.training.checkpoint import Checkpointer

    abstract = jax.eval_shape(task.init_state, jax.random.key_data(jax.random.key(0)))
    ckpt = Checkpointer(directory, use_async=False)
    try:
        return {s: jax.device_get(ckpt.restore(abstract, s)[0]) for s in ckpt.all_steps()}
    finally:
        ckpt.close()


def _finite(state: dict) -> bool:
    import jax

    return all(np.isfinite(x).all() for x in jax.tree.leaves(state) if np.asarray(x).dtype.kind == "f")


def test_non_finite_gradients_and_batches_are_skipped_and_never_checkpointed(tmp_path):
    import jax

    from vim.training.loop import fit

    cfg = reshard_cfg(config_lib.MeshConfig())
    cfg.train.num_steps, cfg.train.checkpoint_every, cfg.train.keep_checkpoints = 8, 1, 3
    task = poisoned_task(cfg)
    batches = lambda: PoisonedCodes(cfg, inf_grad={3, 4, 5}, nan={7})  # noqa: E731

    fit(cfg, tmp_path, task, batches, shardings_fn=task.shardings, stop_at=5)
    # Three skipped updates in a row, each checkpointed, with keep-last-3: every checkpoint kept is finite
    # and holds the state of step 2 exactly (the finite one the skips left untouched).
    kept = _restore_all(task, tmp_path / "checkpoints")
    assert sorted(kept) == [3, 4, 5]
    assert [int(kept[s]["skipped"]) for s in (3, 4, 5)] == [1, 2, 3]
    for s in (4, 5):
        for key in ("params", "ema", "opt_state"):
            same = jax.tree.map(np.array_equal, kept[3][key], kept[s][key])
            assert all(jax.tree.leaves(same)), (s, key)
    assert all(_finite(state) for state in kept.values())

    fit(cfg, tmp_path, task, batches, shardings_fn=task.shardings)  # resumes at step 6; NaN batch at 7
    metrics = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    by_step = {m["step"]: m for m in metrics if "loss" in m}
    assert [s for s in range(1, 9) if not by_step[s]["update_ok"]] == [3, 4, 5, 7]
    assert all(np.isfinite(by_step[s]["loss"]) for s in (3, 4, 5))  # finite loss: the gradient was caught
    assert by_step[7]["loss"] is None or not np.isfinite(by_step[7]["loss"])
    assert by_step[8]["skipped"] == 4 and by_step[8]["consecutive_skipped"] == 0
    kept = _restore_all(task, tmp_path / "checkpoints")
    assert sorted(kept) == [6, 7, 8] and all(_finite(state) for state in kept.values())


def test_a_non_finite_state_stops_training_and_keeps_the_last_finite_checkpoints(tmp_path):
    from vim.training.checkpoint import NonFiniteStateError
    from vim.training.loop import fit

    cfg = reshard_cfg(config_lib.MeshConfig())
    cfg.train.num_steps, cfg.train.checkpoint_every, cfg.train.keep_checkpoints = 6, 1, 2
    task = poisoned_task(cfg, break_state_at=4)
    with pytest.raises(NonFiniteStateError, match="step 4: the train state holds NaN/inf"):
        fit(cfg, tmp_path, task, lambda: PoisonedCodes(cfg, set(), set()), shardings_fn=task.shardings)
    # Step 4 was never written, so keep-last-2 did not rotate out step 2: the two newest finite remain.
    kept = _restore_all(task, tmp_path / "checkpoints")
    assert sorted(kept) == [2, 3] and all(_finite(state) for state in kept.values())
    assert int(kept[3]["step"]) == 3
