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

    fidelity_name = FIDELITY_NAME
    provides_isc = False

    def __init__(self, path: str = ""):
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
        register_torchscript_extractor()

    def fidelity_kwargs(self) -> dict:
        return {"feature_extractor_weights_path": str(self.path)}

    def weights_sha256(self) -> str:
        return sha256_of(self.path)


class FidelityInception(FeatureExtractor):
    """torch-fidelity's own 'inception-v3-compat' (its weights file, or its download)."""

    fidelity_name = "inception-v3-compat"
    provides_isc = True

    def __init__(self, path: str = ""):
        self.path = Path(path).expanduser() if path else None
        if self.path is not None and not self.path.is_file():
            raise GanzooError(f"eval.extractor_path: '{self.path}' does not exist (expected "
                              "torch-fidelity's weights-inception-2015-12-05-6726825d.pth).")

    def fidelity_kwargs(self) -> dict:
        return {"feature_extractor_weights_path": str(self.path)} if self.path else {}

    def weights_sha256(self) -> str:
        return sha256_of(self.path) if self.path else "torch-fidelity download (not hashed)"


def register_torchscript_extractor() -> None:
    """Make the TorchScript network known to torch-fidelity (once per process)."""
    from torch_fidelity.feature_extractor_base import FeatureExtractorBase
    from torch_fidelity.interpolate_compat_tensorflow import (
        interpolate_bilinear_2d_like_tensorflow1x,
    )
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY, register_feature_extractor

    if FIDELITY_NAME in FEATURE_EXTRACTORS_REGISTRY:
        return

    class Wrapped(FeatureExtractorBase):
        def __init__(self, name, features_list, feature_extractor_weights_path=None, **kwargs):
            super().__init__(name, features_list)
            with warnings.catch_warnings():  # TorchScript loading is deprecated, still works
                warnings.simplefilter("ignore", FutureWarning)
                self.net = torch.jit.load(feature_extractor_weights_path, map_location="cpu")
            self.net.eval()

        def forward(self, x: Tensor):
            # The same TF-1.x-compatible bilinear resize torch-fidelity's own Inception uses.
            x = interpolate_bilinear_2d_like_tensorflow1x(x.float(), size=(299, 299),
                                                          align_corners=False)
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

    register_feature_extractor(FIDELITY_NAME, Wrapped)
