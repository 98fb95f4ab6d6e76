"""The two Inception networks, as torch-fidelity feature extractors."""

from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path

import torch
from torch import Tensor

from ganzoo.errors import GanzooError
from ganzoo.interfaces import FeatureExtractor

PATH_ENV = "GANZOO_FID_INCEPTION"
TORCHSCRIPT_FILE = "inception-2015-12-05-fid.torchscript.pt"
FIDELITY_NAME = "ganzoo-inception-torchscript"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_torchscript(path: Path) -> bool:
    """A TorchScript archive is a zip holding the module's code (``<name>/code/...``)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            return any("/code/" in name for name in archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


class TorchScriptInception(FeatureExtractor):
    """The FID Inception network of the StyleGAN3 FID tool, as a TorchScript archive.

    Input: images resized to 299x299 and scaled (x - 128) / 128; output: 2048 pool3 features.
    It has no logits layer, so it gives FID, KID and PR but not the Inception Score.
    """

    provides_isc = False

    def __init__(self, path: str = "", resize: str = "torch_fidelity"):
        self.resize = resize
        self.fidelity_name = FIDELITY_NAME + ("-clean" if resize == "clean" else "")
        given = path or os.environ.get(PATH_ENV, "")
        if not given:
            raise GanzooError(
                f"eval.extractor_path: the offline Inception network is not set. Pass "
                f"--extractor-path /path/to/{TORCHSCRIPT_FILE} or set ${PATH_ENV}."
            )
        self.path = Path(given).expanduser()
        if not self.path.is_file():
            raise GanzooError(f"eval.extractor_path: '{self.path}' does not exist "
                              f"(expected {TORCHSCRIPT_FILE}).")
        if not is_torchscript(self.path):
            raise GanzooError(f"eval.extractor_path: '{self.path}' is not a TorchScript archive "
                              f"(expected {TORCHSCRIPT_FILE}, see ../shared/models or "
                              "docs/evaluation.md)")
        register_torchscript_extractor(self.fidelity_name, RESIZES[resize])

    def fidelity_kwargs(self) -> dict:
        return {"feature_extractor_weights_path": str(self.path)}

    def weights_sha256(self) -> str:
        return sha256_of(self.path)


class FidelityInception(FeatureExtractor):
    """torch-fidelity's own 'inception-v3-compat' (its weights file, or its download)."""

    fidelity_name = "inception-v3-compat"
    provides_isc = True
    resize = "torch_fidelity (inside torch-fidelity's network)"

    def __init__(self, path: str = ""):
        self.path = Path(path).expanduser() if path else None
        if self.path is not None and not self.path.is_file():
            raise GanzooError(f"eval.extractor_path: '{self.path}' does not exist (expected "
                              "torch-fidelity's weights-inception-2015-12-05-6726825d.pth).")

    def fidelity_kwargs(self) -> dict:
        return {"feature_extractor_weights_path": str(self.path)} if self.path else {}

    def weights_sha256(self) -> str:
        return sha256_of(self.path) if self.path else "torch-fidelity download (not hashed)"


def fidelity_resize(x: Tensor) -> Tensor:
    """(N, 3, H, W) pixels in [0, 255] -> 299x299 by the TF-1.x-compatible bilinear resize that
    torch-fidelity's own Inception uses (the original FID code's)."""
    from torch_fidelity.interpolate_compat_tensorflow import (
        interpolate_bilinear_2d_like_tensorflow1x,
    )

    return interpolate_bilinear_2d_like_tensorflow1x(x.float(), size=(299, 299),
                                                     align_corners=False)


def clean_resize(x: Tensor) -> Tensor:
    """(N, 3, H, W) pixels in [0, 255] -> 299x299 as clean-fid's "clean" mode (Parmar et al.,
    2022, "On Aliased Resizing and Surprising Subtleties in GAN Evaluation"): each channel a
    float image resized by PIL's bicubic filter (antialiased), clipped to [0, 255]."""
    import numpy as np
    from PIL import Image

    planes = x.detach().float().cpu().numpy()
    out = np.empty((*planes.shape[:2], 299, 299), dtype=np.float32)
    for i, image in enumerate(planes):
        for c, plane in enumerate(image):
            resized = Image.fromarray(plane, mode="F").resize((299, 299), Image.Resampling.BICUBIC)
            out[i, c] = np.asarray(resized).clip(0, 255)
    return torch.from_numpy(out).to(x.device)


RESIZES = {"torch_fidelity": fidelity_resize, "clean": clean_resize}


def register_torchscript_extractor(name: str = FIDELITY_NAME, resize=fidelity_resize) -> None:
    """Make the TorchScript network, with its resize, known to torch-fidelity as ``name``
    (once per process)."""
    from torch_fidelity.feature_extractor_base import FeatureExtractorBase
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY, register_feature_extractor

    if name in FEATURE_EXTRACTORS_REGISTRY:
        return

    class Wrapped(FeatureExtractorBase):
        def __init__(self, name, features_list, feature_extractor_weights_path=None, **kwargs):
            super().__init__(name, features_list)
            with warnings.catch_warnings():  # TorchScript loading is deprecated, still works
                warnings.simplefilter("ignore", FutureWarning)
                self.net = torch.jit.load(feature_extractor_weights_path, map_location="cpu")
            self.net.eval()

        def forward(self, x: Tensor):
            x = resize(x)
            return (self.net((x - 128) / 128).float(),)

        @staticmethod
        def get_provided_features_list():
            return ("2048",)

        @staticmethod
        def get_default_feature_layer_for_metric(metric):
            return {"fid": "2048", "kid": "2048", "prc": "2048"}[metric]

        @staticmethod
        def can_be_compiled():
            return False

        @staticmethod
        def get_dummy_input_for_compile():
            return (torch.rand([1, 3, 299, 299]) * 255).to(torch.uint8)

    register_feature_extractor(name, Wrapped)
