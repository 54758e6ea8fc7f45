"""Where users train: Parti training MFU, guided sampling, tokenizer training and FID features on a GPU.

    python bench/gpu.py                                  # on a CUDA GPU: the paper sizes below
    python bench/gpu.py --peer-python PY                 # + parti-pytorch at the same sizes (needs it in PY)
    python bench/gpu.py --small                          # anywhere, e.g. the CPU in CI: small sizes, same code

Prints one JSON line per measure, each with the device, and a summary JSON object last:
- `parti_train` / `parti_train_no_remat`: the `parti-350m` preset (386 M parameters, 128 text + 1,024
  image tokens, 8,192 codes, bf16 compute, remat as the preset says / off) at batch 32: s/step, image
  tokens/s and MFU (see `parti_step_flops`).
- `sample_guided_b1`: one guided (CFG 3) 1,024-token image from the same model: s/image, ms/token.
- `sample_b64`: 64 guided images at once: image tokens/s.
- `tokenizer_train`: the `vitvq-base` preset's train step (256², GAN + logit-Laplace) at batch 32: img/s.
- `fid_features`: vim's Inception pool features at batch 256 (weights found as `vim fid` finds them):
  img/s, and torchvision's `inception_v3` on the same device (bench/peers/torchvision_inception.py,
  under --peer-python or this Python) where torch with CUDA is installed.

With --peer-python, parti-pytorch (bench/peers/parti.py, bf16 autocast on a GPU) trains at the same sizes
and batch, its rounds alternating with vim's `parti_train` rounds (bench/common.py): that record and the
summary get `ratio`, the median over rounds of vim's image tokens/s over the peer's in the same round,
and `ratio_spread`, their lowest and highest (null without a peer, `peer_missing` saying why).
parti-pytorch's sampler has no key/value cache; bench/sample.py races it at the CPU's matched size.

`--small` shrinks every size so the whole script runs on a 2-core CPU in under a minute; its numbers
say only that the code runs. Results go in bench/results/ with the machine named.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys

from common import (
    Peer,
    interleave,
    paired_ratios,
    parti_peer_sizes,
    peer_arguments,
    round_timer,
    start_peers,
    train_rounds,
)

ROUNDS = 3  # timed rounds of every measure (median)


@dataclasses.dataclass(frozen=True)
class Sizes:
    parti_preset: str = "parti-350m"
    parti_overrides: tuple = ()  # PartiConfig fields replaced for --small
    parti_batch: int = 32
    sample_batch: int = 64
    tokenizer_preset: str = "vitvq-base"
    tokenizer_overrides: tuple = ()
    tokenizer_batch: int = 32
    fid_batch: int = 256
    steps: int = 10  # timed steps per round (median of ROUNDS rounds)


FULL = Sizes()
SMALL = Sizes(
    parti_overrides=(
        ("width", 64), ("encoder_layers", 1), ("decoder_layers", 2), ("heads", 2), ("mlp_dim", 128),
        ("text_vocab_size", 256), ("text_length", 16), ("image_vocab_size", 256), ("image_grid", 4),
        ("logits_chunk", 8),
    ),
    parti_batch=4,
    sample_batch=4,
    tokenizer_overrides=(
        ("image_size", 32), ("width", 32), ("encoder_layers", 1), ("decoder_layers", 1), ("heads", 2),
        ("mlp_dim", 64), ("codebook_size", 64), ("disc_width", 8), ("perceptual_images", 1),
    ),
    tokenizer_batch=2,
    fid_batch=2,
    steps=2,
)  # fmt: skip


def parti_step_flops(pc, batch: int) -> float:
    """Model FLOPs of one Parti training step, counted by hand (remat's recomputation is not counted).

    Per sequence, with T = pc.text_length text tokens, N = pc.image_grid² image tokens, D = pc.width,
    A = heads × head_dim, F = pc.mlp_dim, Le / Ld encoder / decoder blocks, V = image codes:
      forward matmuls = 2 × (weights each token multiplies) per token:
        encoder  T · Le · (4·D·A + 2·D·F)                    self-attention projections + MLP
        decoder  N · Ld · (4·D·A + 2·D·A + 2·D·F)            self-attn q/k/v/out, cross-attn q/out, MLP
               + T · Ld · 2·D·A                               cross-attention keys/values of the text
        logits   N · D · V
      forward attention = 2 × 2 × A × (T²·Le + N²·Ld + N·T·Ld)   scores and weighted sums, full squares
      training = 3 × forward (the backward pass costs two forwards).
    MFU = this / step time / the device's measured matmul rate (bf16 8192³ on a GPU, f32 2048³ on a CPU,
    1024³ under --small).
    """
    t, n, d, f = pc.text_length, pc.image_grid**2, pc.width, pc.mlp_dim
    a = pc.heads * pc.head_dim
    le, ld, v = pc.encoder_layers, pc.decoder_layers, pc.image_vocab_size
    weights = t * le * (4 * d * a + 2 * d * f) + n * ld * (6 * d * a + 2 * d * f) + t * ld * 2 * d * a + n * d * v
    attention = 2 * a * (t * t * le + n * n * ld + n * t * ld)
    return 3 * batch * (2 * weights + 2 * attention)


def emit(record: dict) -> dict:
    print(json.dumps(record), flush=True)
    return record


def timed(fn, steps: int, peers: dict[str, Peer] | None = None) -> tuple[float, list[float], dict]:
    """Median seconds per call over ROUNDS rounds of `steps` calls (fn returns something to wait for),
    the rounds, and the seconds of every side where peers take their turns between vim's rounds."""
    seconds = interleave(ROUNDS, {"vim": round_timer(fn, steps), **(peers or {})})
    return *vim_rounds(seconds), seconds


def vim_rounds(seconds: dict) -> tuple[float, list[float]]:
    """vim's median seconds and its rounds."""
    return statistics.median(seconds["vim"]), [round(r, 5) for r in seconds["vim"]]


def peer_fields(seconds: dict, work: float, unit: str) -> dict:
    """The peer's median throughput and the paired ratios, where a peer took turns."""
    if "peer" not in seconds:
        return {}
    return {f"peer_{unit}": round(work / statistics.median(seconds["peer"]), 1)} | paired_ratios(
        seconds["vim"], seconds["peer"]
    )


def parti_config(sizes: Sizes):
    from vim import config as config_lib

    cfg = config_lib.preset(sizes.parti_preset, "parti")
    cfg.parti = dataclasses.replace(cfg.parti, **dict(sizes.parti_overrides))
    cfg.train = dataclasses.replace(cfg.train, microbatches=1)  # the preset splits the paper's 8,192; 32 fit
    return cfg


def bench_parti_train(sizes: Sizes, peak: float, remat: bool | None, device: str, peers: dict | None = None) -> dict:
    import jax
    import numpy as np

    from vim.parti.train import PartiTask

    cfg = parti_config(sizes)
    if remat is not None:
        cfg.parti = dataclasses.replace(cfg.parti, remat=remat)
    pc, b = cfg.parti, sizes.parti_batch
    task = PartiTask(cfg)
    state = jax.jit(task.init_state)(jax.random.key_data(jax.random.key(0)))
    rng = np.random.default_rng(0)
    batch = {
        "codes": jax.numpy.asarray(rng.integers(0, pc.image_vocab_size, (b, pc.image_grid**2)), np.int32),
        "text_ids": jax.numpy.asarray(rng.integers(4, pc.text_vocab_size, (b, pc.text_length)), np.int32),
    }
    times, step = train_rounds(task, state, batch, sizes.steps, ROUNDS, peers or {})
    seconds, rounds = vim_rounds(times)
    flops = parti_step_flops(pc, b)
    tokens = b * pc.image_grid**2
    return {
        "measure": "parti_train" if remat is None else "parti_train_no_remat",
        "device": device,
        "preset": sizes.parti_preset + (" (small)" if sizes.parti_overrides else ""),
        "params": step["params"],
        "batch": b,
        "remat": pc.remat,
        "compute_dtype": pc.compute_dtype,
        "optimizer": cfg.train.optimizer,
        "step_s": round(seconds, 5),
        "step_s_rounds": rounds,
        "image_tokens_per_s": round(tokens / seconds, 1),
        "model_tflop_per_step": round(flops / 1e12, 4),
        "mfu": round(flops / seconds / peak, 4),
    } | peer_fields(times, tokens, "image_tokens_per_s")


def bench_sampling(sizes: Sizes, device: str) -> list[dict]:
    import jax
    import jax.numpy as jnp
    import numpy as np
    from flax import nnx

    from vim.config import SampleConfig
    from vim.parti.model import Parti
    from vim.parti.sample import sample_codes, settings_arrays, weights_in_compute_dtype

    pc = parti_config(sizes).parti
    graphdef, state = nnx.split(Parti(pc, rngs=nnx.Rngs(0)))

    @jax.jit
    def draw(state, text_ids_bt, seeds_b, settings):
        return sample_codes(nnx.merge(graphdef, state), text_ids_bt, seeds_b, settings, guided=True)

    settings = settings_arrays(SampleConfig(cfg_scale=3.0, temperature=1.0))
    n = pc.image_grid**2
    out = []
    for b, name in ((1, "sample_guided_b1"), (sizes.sample_batch, f"sample_b{sizes.sample_batch}")):
        ids = jnp.asarray(np.random.default_rng(0).integers(4, pc.text_vocab_size, (b, pc.text_length)), jnp.int32)
        draw(state, ids, jnp.arange(b), settings).block_until_ready()  # compile
        seconds, rounds, _ = timed(
            lambda b=b, ids=ids: draw(state, ids, jnp.arange(b), settings), max(1, sizes.steps // 5)
        )
        out.append(
            {
                "measure": name,
                "device": device,
                "batch": b,
                "tokens_per_image": n,
                "s_per_batch": round(seconds, 5),
                "s_rounds": rounds,
                "ms_per_token": round(1e3 * seconds / n, 4),
                "image_tokens_per_s": round(b * n / seconds, 1),
                "weights_dtype": str(weights_in_compute_dtype(nnx.merge(graphdef, state)).logits.kernel[...].dtype),
                "compute_dtype": pc.compute_dtype,
            }
        )
    return out


def bench_tokenizer(sizes: Sizes, device: str) -> dict:
    import jax
    import jax.numpy as jnp
    import numpy as np

    from vim import config as config_lib
    from vim.tokenizer.train import TokenizerTask

    cfg = config_lib.preset(sizes.tokenizer_preset, "tokenizer")
    cfg.tokenizer = dataclasses.replace(cfg.tokenizer, **dict(sizes.tokenizer_overrides))
    tc, b = cfg.tokenizer, sizes.tokenizer_batch
    task = TokenizerTask(cfg)
    state = jax.jit(task.init_state)(jax.random.key_data(jax.random.key(0)))
    images = jnp.asarray(np.random.default_rng(0).integers(0, 256, (b, tc.image_size, tc.image_size, 3), np.uint8))
    times, _ = train_rounds(task, state, {"image": images}, sizes.steps, ROUNDS, {})
    seconds, rounds = vim_rounds(times)
    return {
        "measure": "tokenizer_train",
        "device": device,
        "preset": sizes.tokenizer_preset + (" (small)" if sizes.tokenizer_overrides else ""),
        "batch": b,
        "compute_dtype": tc.compute_dtype,
        "gan": tc.adversarial_weight > 0,
        "step_s": round(seconds, 5),
        "step_s_rounds": rounds,
        "img_per_s": round(b / seconds, 2),
    }


def bench_fid(sizes: Sizes, device: str, peer: argparse.Namespace) -> list[dict]:
    import numpy as np

    from vim.metrics.features import Extractor

    try:
        extractor = Extractor(batch_size=sizes.fid_batch)
    except FileNotFoundError as e:
        return [{"measure": "fid_features", "device": device, "skipped": str(e).splitlines()[0]}]
    images = np.random.default_rng(0).uniform(0, 255, (sizes.fid_batch, 299, 299, 3)).astype(np.float32)
    extractor.fetch(extractor.submit(images))  # compile
    steps = max(1, sizes.steps // 2)
    sizes_json = json.dumps({"batch": sizes.fid_batch})
    peers, missing = start_peers(peer, "torchvision_inception.py", "--sizes", sizes_json, "--steps", str(steps))
    seconds, rounds, times = timed(lambda: extractor.submit(images)[0][0], steps, peers)
    return [
        {
            "measure": "fid_features",
            "device": device,
            "batch": sizes.fid_batch,
            "weights": str(extractor.info),
            "s_per_batch": round(seconds, 5),
            "s_rounds": rounds,
            "img_per_s": round(sizes.fid_batch / seconds, 1),
        }
        | peer_fields(times, sizes.fid_batch, "img_per_s"),
        {
            "measure": "fid_features_torchvision",
            "device": device,
            "batch": sizes.fid_batch,
            "about": peers["peer"].about,
            "s_per_batch": round(statistics.median(times["peer"]), 5),
            "img_per_s": round(sizes.fid_batch / statistics.median(times["peer"]), 1),
        }
        if peers
        else {"measure": "fid_features_torchvision", "skipped": missing},
    ]


def parti_peers(args: argparse.Namespace, sizes: Sizes, backend: str) -> tuple[dict[str, Peer], str | None]:
    """parti-pytorch at the same sizes under --peer-python, on the GPU under bf16 autocast where vim computes
    in bf16 there. Started after JAX took its share of a GPU's memory, as the peer ran before."""
    pc = parti_config(sizes).parti
    peer_args = ["--sizes", json.dumps(parti_peer_sizes(pc, sizes.parti_batch)), "--steps", str(sizes.steps)]
    if backend != "cpu":
        peer_args += ["--device", "cuda", *(["--bf16"] if pc.compute_dtype == "bfloat16" else [])]
    return start_peers(args, "parti.py", *peer_args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="small sizes (any machine; CI runs this on the CPU)")
    peer_arguments(parser, "import parti_pytorch")  # and torch with CUDA on a GPU
    parser.add_argument("--skip", default="", help="comma-separated measures to leave out, e.g. fid,tokenizer")
    parser.add_argument("--steps", type=int, help="timed steps per round")
    args = parser.parse_args()
    sizes = SMALL if args.small else FULL
    if args.steps:
        sizes = dataclasses.replace(sizes, steps=args.steps)

    import jax
    import jax.numpy as jnp

    from vim.config import MeshConfig
    from vim.perf import cpu_model, matmul_peak_flops
    from vim.sharding import make_mesh

    backend = jax.default_backend()
    device = jax.devices()[0].device_kind if backend != "cpu" else f"cpu: {cpu_model()}"
    if backend == "cpu" and not args.small:
        print("note: no GPU backend; the paper sizes on a CPU take very long (use --small)", file=sys.stderr)
    if backend == "cpu":
        side = 1024 if args.small else 2048  # --small only shows that the code runs
        peak, peak_what = matmul_peak_flops(side), f"f32 {side}³ matmul"
    else:
        peak, peak_what = matmul_peak_flops(8192, 20, jnp.bfloat16), "bf16 8192³ matmul"
    emit({"measure": "matmul_peak", "device": device, "jax": jax.__version__, "what": peak_what,
          "tflop_per_s": round(peak / 1e12, 2)})  # fmt: skip
    skip = set(filter(None, args.skip.split(",")))
    results, missing = [], "--skip parti"
    # One device: these are per-chip numbers, and the model's sharding constraints run under a mesh.
    with jax.set_mesh(make_mesh(MeshConfig(data=1, fsdp=1, model=1), jax.devices()[:1])):
        if "parti" not in skip:
            peers, missing = parti_peers(args, sizes, backend) if "peer" not in skip else ({}, "--skip peer")
            results.append(emit(bench_parti_train(sizes, peak, None, device, peers)))
            results.append(emit(bench_parti_train(sizes, peak, False, device)))
        if "sample" not in skip:
            results += [emit(r) for r in bench_sampling(sizes, device)]
        if "tokenizer" not in skip:
            results.append(emit(bench_tokenizer(sizes, device)))
        if "fid" not in skip:
            torch_python = argparse.Namespace(peer_python=args.peer_python or sys.executable, peer_threads=None)
            results += [emit(r) for r in bench_fid(sizes, device, torch_python)]
    by = {r.get("measure"): r for r in results}
    train, sample1 = by.get("parti_train", {}), by.get("sample_guided_b1", {})
    emit(
        {
            "bench": "gpu",
            "device": device,
            "small": args.small,
            "parti_mfu": train.get("mfu"),
            "parti_image_tokens_per_s": train.get("image_tokens_per_s"),
            "sample_s_per_image": sample1.get("s_per_batch"),
            "tokenizer_img_per_s": by.get("tokenizer_train", {}).get("img_per_s"),
            "fid_img_per_s": by.get("fid_features", {}).get("img_per_s"),
            "ratio": train.get("ratio"),
            "ratio_spread": train.get("ratio_spread"),
            **({} if train.get("ratio") else {"peer_missing": missing}),
            "mfu": train.get("mfu"),
            "cpu": cpu_model(),
            "matmul_peak_tflop_s": round(peak / 1e12, 2),
            "matmul_peak_what": peak_what,
        }
    )


if __name__ == "__main__":
    main()
