"""Why the streamed world trained at ~700 images/s per run on an H200 (issue 17, gpu_run.sh): the input
pipeline alone by grain worker count, the Parti train step alone on synthetic batches, and whether the
GPU's tokenizer writes the CPU's codes (f32 matmuls there default to lower precision).

    python docs/results/faithfulness-scaling/gpu_diag.py codes      # here (CPU): writes the reference codes
    python docs/results/faithfulness-scaling/gpu_diag.py measure    # on the GPU: one JSON line per measure
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

BUNDLE = Path("checkpoints/shapes-tiny")
REFERENCE = Path(__file__).with_name("cpu_codes.npz")
N_IMAGES = 512


def test_images() -> np.ndarray:
    from vim.config import WorldConfig
    from vim.world.dataset import make_examples

    return np.stack([e["image"] for e in make_examples(WorldConfig(), "test", range(N_IMAGES))])


def encode(images: np.ndarray, precision: str | None = None) -> np.ndarray:
    import jax

    from vim.bundle import load_bundle

    tok = load_bundle(BUNDLE).tokenizer
    x = jax.numpy.asarray(images, jax.numpy.float32) / 255.0
    if precision is None:
        return np.asarray(tok.encode(x))
    with jax.default_matmul_precision(precision):
        return np.asarray(tok.encode(x))


def stream_cfg(batch: int, workers: int):
    from vim import config as config_lib

    cfg = config_lib.preset("tiny", "parti")
    cfg.data.dataset, cfg.data.world.num_train = "shapes-stream", 100_000_000
    cfg.text.model_path = str(BUNDLE / "text_tokenizer.model")
    cfg.data.batch_size, cfg.data.num_workers = batch, workers
    return cfg


def pipeline_rate(workers: int, seconds: float = 12.0, batch: int = 256) -> float:
    from vim.data.pipeline import make_batches

    it = make_batches(stream_cfg(batch, workers), "train", process_index=0, process_count=1)
    next(it)
    start, n = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        next(it)
        n += 1
    return n * batch / (time.perf_counter() - start)


def step_rate(batch: int = 256, steps: int = 50) -> dict:
    """Parti's train step alone, on cached-code batches (no tokenizer, no input pipeline)."""
    import jax

    from vim.parti.train import PartiTask

    cfg = stream_cfg(batch, 0)
    task = PartiTask(cfg)
    state = jax.jit(task.init_state)(jax.random.key_data(jax.random.key(0)))
    rng = np.random.default_rng(0)
    data = {
        "codes": jax.numpy.asarray(rng.integers(0, 1024, (batch, 64)), jax.numpy.int32),
        "text_ids": jax.numpy.asarray(rng.integers(4, 512, (batch, 32)), jax.numpy.int32),
        "text_mask": jax.numpy.asarray(np.arange(32)[None] < rng.integers(3, 32, (batch, 1))),
    }
    step = jax.jit(task.train_step, donate_argnums=0)
    state, m = step(state, data)
    jax.block_until_ready(m)
    start = time.perf_counter()
    for _ in range(steps):
        state, m = step(state, data)
    jax.block_until_ready(m)
    per_step = (time.perf_counter() - start) / steps
    return {"s_per_step": per_step, "images_per_s": batch / per_step}


def main() -> None:
    if sys.argv[1] == "codes":
        np.savez_compressed(REFERENCE, codes=encode(test_images()).astype(np.int16))
        print(f"wrote {REFERENCE}")
        return
    import jax

    print(json.dumps({"device": str(jax.devices()[0]), "jax": jax.__version__}), flush=True)
    reference = np.load(REFERENCE)["codes"]
    images = test_images()
    for precision in (None, "highest"):
        codes = encode(images, precision)
        print(
            json.dumps(
                {
                    "measure": "codes_equal_cpu",
                    "precision": precision or "default",
                    "fraction_equal": float((codes == reference).mean()),
                }
            ),
            flush=True,
        )
    print(json.dumps({"measure": "train_step_synthetic", **step_rate()}), flush=True)
    for workers in (0, 4, 14):
        print(
            json.dumps({"measure": "pipeline", "workers": workers, "images_per_s": pipeline_rate(workers)}), flush=True
        )


if __name__ == "__main__":
    main()
