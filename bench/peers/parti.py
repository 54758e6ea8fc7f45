"""The peer of bench/parti_train.py, bench/sample.py and bench/gpu.py: parti-pytorch's `Parti` at vim's sizes.

    PEER_PYTHON bench/peers/parti.py --sizes '{"dim": 256, ...}' --mode train --steps 10

Run by the benches (bench/common.py `Peer`), one round per line read. A Python for it:
`python -m venv PEER && PEER/bin/pip install parti-pytorch==0.2.0` (it brings torch and torchvision).

`--sizes` (from vim's PartiConfig, bench/common.py `parti_peer_sizes`): dim, depth (decoder blocks), heads,
dim_head, ff_mult, text_length, image_grid (tokens per side), codebook, batch. parti-pytorch encodes text
with a pretrained T5 it would download, so it gets fixed random text embeddings of width `dim` instead:
vim's text encoder is inside vim's side of every comparison, the peer's costs it nothing. parti-pytorch
needs a VQ-GAN to know its image grid and codebook; a small one is built for that and then detached, as
both sides work on codes only.

Modes: `train`, a round of `--steps` AdamW steps (forward, loss, backward, update) on fixed random codes,
seconds per step; `sample`, one `generate` of `batch` images per round (classifier-free guidance
`--cond-scale`, top-k keeping `1 - --filter-thres` of the codebook), seconds per batch. `--device cuda`
runs on the GPU, with `--bf16` under bf16 autocast.
"""

from __future__ import annotations

import sys
from importlib.metadata import version

import parti_pytorch.parti_pytorch as pp
import torch
from parti_pytorch import VitVQGanVAE
from serve import arguments, serve, timer

PATCH = 8  # pixels per code side of the detached VQ-GAN: only image_grid × PATCH matters


def vq_gan(dim: int, image_size: int, patch: int, layers: int, codebook: int) -> VitVQGanVAE:
    """parti-pytorch's ViT-VQGAN with a VQ codebook (not lookup-free quantization), no VGG or GAN loss."""
    plain = {"lookup_free_quantization": False, "use_vgg_and_gan": False}
    return VitVQGanVAE(
        dim=dim, image_size=image_size, encdec_patch_size=patch, layers=layers, codebook_size=codebook, **plain
    )


def build(sizes: dict, device: str) -> pp.Parti:
    pp.get_encoded_dim = lambda name: sizes["dim"]  # Parti asks for T5's width even when given another
    vae = vq_gan(64, sizes["image_grid"] * PATCH, PATCH, 1, sizes["codebook"])
    model = pp.Parti(
        dim=sizes["dim"],
        depth=sizes["depth"],
        heads=sizes["heads"],
        dim_head=sizes["dim_head"],
        ff_mult=sizes["ff_mult"],
        vae=vae,
        text_embed_dim=sizes["dim"],
        max_text_len=sizes["text_length"],
        cond_drop_prob=0.1,
    )
    model.vae = None  # codes only: generate returns codes instead of decoding them
    return model.to(device)


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("train", "sample"), default="train")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast (CUDA)")
    parser.add_argument("--cond-scale", type=float, default=3.0)
    parser.add_argument("--filter-thres", type=float, default=0.9)
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads or torch.get_num_threads())
    s, device = args.sizes, args.device
    model = build(s, device)
    batch, tokens = s["batch"], s["image_grid"] ** 2
    embeds = torch.randn(batch, s["text_length"], s["dim"], device=device)
    mask = torch.ones(batch, s["text_length"], dtype=torch.bool, device=device)
    autocast = torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=args.bf16)
    wait = torch.cuda.synchronize if device.startswith("cuda") else lambda: None

    if args.mode == "train":
        codes = torch.randint(0, s["codebook"], (batch, tokens), device=device)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=device.startswith("cuda") or None)

        def work() -> None:
            with autocast:
                loss = model(text_token_embeds=embeds, text_mask=mask, image_token_ids=codes, return_loss=True)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

        model.train()
    else:
        model.encode_texts = lambda texts, output_device=None: (embeds, mask)

        def work() -> None:
            with autocast:
                model.generate(["_"] * batch, cond_scale=args.cond_scale, filter_thres=args.filter_thres)

        model.eval()
    for _ in range(1 if args.mode == "sample" else 3):  # warm-up
        work()
    wait()
    about = {
        "peer": f"parti-pytorch {version('parti-pytorch')}",
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "mode": args.mode,
        "device": device,
        "threads": torch.get_num_threads(),
        "params": sum(p.numel() for p in model.parameters()),
    }
    serve(about, timer(work, args.steps if args.mode == "train" else 1, wait))


if __name__ == "__main__":
    main()
