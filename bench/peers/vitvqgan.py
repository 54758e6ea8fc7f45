"""The peer of bench/tokenizer_train.py: parti-pytorch's `VitVQGanVAE` training at vim's tokenizer sizes.

    PEER_PYTHON bench/peers/vitvqgan.py --sizes '{"dim": 128, ...}' --steps 10

Run by the bench (bench/common.py `Peer`), one round per line read; a Python for it as for
bench/peers/parti.py, whose `vq_gan` this trains (VQ codebook, not lookup-free quantization; no VGG
perceptual or GAN loss, as vim's side trains). `--sizes` (from vim's TokenizerConfig): dim, layers
(encoder and decoder blocks each), image_size, patch, codebook, batch. A round is `--steps` AdamW steps
on one fixed random batch; seconds per step.
"""

from __future__ import annotations

import sys
from importlib.metadata import version

import torch
from parti import vq_gan
from serve import arguments, serve, timer


def main() -> None:
    args = arguments(__doc__.splitlines()[0]).parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads or torch.get_num_threads())
    s = args.sizes
    vae = vq_gan(s["dim"], s["image_size"], s["patch"], s["layers"], s["codebook"])
    images = torch.rand(s["batch"], 3, s["image_size"], s["image_size"])
    optimizer = torch.optim.AdamW(vae.parameters(), lr=1e-4)

    def work() -> None:
        loss = vae(images, return_loss=True)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for _ in range(3):  # warm-up
        work()
    about = {
        "peer": f"parti-pytorch {version('parti-pytorch')} VitVQGanVAE",
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "threads": torch.get_num_threads(),
        "params": sum(p.numel() for p in vae.parameters()),
    }
    serve(about, timer(work, args.steps))


if __name__ == "__main__":
    main()
