"""The peer of bench/gpu.py's FID features: torchvision's `inception_v3` forward on a CUDA GPU (random weights).

    PYTHON_WITH_TORCHVISION bench/peers/torchvision_inception.py --sizes '{"batch": 256}' --steps 5

Run by the bench (bench/common.py `Peer`), one round per line read: the FID network users know from
torch, pool features (the classifier replaced by the identity), `batch` random 299×299 images on the
GPU; seconds per batch. Without a CUDA device it stops with a message (the comparison is a GPU one).
"""

from __future__ import annotations

import sys

import torch
import torchvision
from serve import arguments, serve, timer


def main() -> None:
    args = arguments(__doc__.splitlines()[0]).parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("torch has no CUDA device here: the torchvision comparison runs on GPUs only")
    model = torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=False).cuda().eval()
    model.fc = torch.nn.Identity()  # pool features, as FID uses
    images = torch.rand(args.sizes["batch"], 3, 299, 299, device="cuda")

    def work() -> None:
        with torch.no_grad():
            model(images)

    for _ in range(3):  # warm-up
        work()
    torch.cuda.synchronize()
    about = {
        "peer": f"torchvision {torchvision.__version__} inception_v3",
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "device": torch.cuda.get_device_name(),
    }
    serve(about, timer(work, args.steps, torch.cuda.synchronize))


if __name__ == "__main__":
    main()
