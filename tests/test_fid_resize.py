"""FID's resize, as either library does it: torch-fidelity's TF-1.x-compatible bilinear resize
(the default) or clean-fid's antialiased "clean" one, chosen by the extractor's ``resize`` option
and named in the protocol; each checked against its own library."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganzoo.errors import GanzooError
from ganzoo.plugins import load_registry


def some_pixels(n: int = 2, size: int = 32, seed: int = 0) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed).integers(0, 256, (n, 3, size, size),
                                                                 dtype=np.uint8))


def test_the_clean_resize_is_clean_fids_own():
    resize = pytest.importorskip("cleanfid.resize")
    from ganzoo_builtins.inception.extractors import clean_resize

    pixels = some_pixels()
    theirs = resize.make_resizer("PIL", False, "bicubic", (299, 299))
    expected = np.stack([theirs(image.permute(1, 2, 0).numpy()).transpose(2, 0, 1)
                         for image in pixels])
    assert np.abs(clean_resize(pixels).numpy() - expected).max() < 1e-4


def test_the_default_resize_is_torch_fidelitys_and_the_two_differ_on_fine_detail():
    from torch_fidelity.interpolate_compat_tensorflow import (
        interpolate_bilinear_2d_like_tensorflow1x,
    )

    from ganzoo_builtins.inception.extractors import clean_resize, fidelity_resize

    pixels = some_pixels()
    theirs = interpolate_bilinear_2d_like_tensorflow1x(pixels.float(), size=(299, 299),
                                                       align_corners=False)
    assert torch.equal(fidelity_resize(pixels), theirs)
    checkers = (torch.arange(64)[:, None] + torch.arange(64)[None, :]) % 2 * 255
    board = checkers.expand(1, 3, 64, 64).to(torch.uint8)  # a 2-pixel period: pure aliasing
    assert (fidelity_resize(board) - clean_resize(board)).abs().mean() > 20


def test_the_resize_is_an_option_of_the_extractor_and_refused_where_it_cannot_apply():
    from ganzoo.components import build_one

    registry = load_registry()
    with pytest.raises(GanzooError, match="eval.extractor.resize: must be one of"):
        build_one(registry, "feature_extractor", {"name": "inception_torchscript",
                                                  "resize": "lanczos"}, "eval.extractor")
    with pytest.raises(GanzooError, match="torch-fidelity's own Inception resizes inside"):
        build_one(registry, "feature_extractor", {"name": "inception", "resize": "clean"},
                  "eval.extractor")


@pytest.mark.slow
def test_features_through_the_clean_resize_agree_with_clean_fids_pipeline(inception_path,
                                                                           tmp_path):
    """The same network fed by clean-fid's own file reading and resize, and by ours."""
    fid = pytest.importorskip("cleanfid.fid")
    from PIL import Image
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

    from ganzoo_builtins.inception.extractors import TorchScriptInception

    pixels = some_pixels(6, 32, seed=1)
    for i, image in enumerate(pixels):
        Image.fromarray(image.permute(1, 2, 0).numpy()).save(tmp_path / f"{i}.png")
    ours = TorchScriptInception(str(inception_path), resize="clean")
    assert ours.fidelity_name.endswith("-clean") and ours.resize == "clean"
    wrapped = FEATURE_EXTRACTORS_REGISTRY[ours.fidelity_name](
        ours.fidelity_name, ["2048"], feature_extractor_weights_path=str(inception_path))
    with torch.no_grad():
        mine = wrapped(pixels)[0].numpy()

    class Network(torch.nn.Module):  # clean-fid hands a model float pixels in [0, 255]
        def forward(self, x):
            return wrapped.net((x - 128) / 128)

    theirs = fid.get_folder_features(str(tmp_path), Network(), num_workers=0, batch_size=6,
                                     device=torch.device("cpu"), mode="clean", verbose=False)
    assert np.abs(mine - theirs).max() < 1e-3 * np.abs(theirs).max()
