"""Inception feature extractors for FID, KID and precision/recall."""

from __future__ import annotations

from dataclasses import dataclass

from ganzoo import hookimpl
from ganzoo.options import one_of


@dataclass
class ExtractorOptions:
    path: str = ""  # the weights file; see each extractor for what empty means
    # how images reach 299x299: torch_fidelity (its TF-1.x-compatible bilinear resize, as the
    # original FID code) | clean (clean-fid's: PIL bicubic on float pixels, Parmar et al. 2022)
    resize: str = "torch_fidelity"

    def __post_init__(self) -> None:
        one_of("resize", self.resize, ("torch_fidelity", "clean"))


def build_torchscript(options: ExtractorOptions):
    """FID Inception (TF 2015-12-05) as TorchScript: offline FID, KID, PR; no IS"""
    from ganzoo_builtins.inception.extractors import TorchScriptInception

    return TorchScriptInception(options.path, options.resize)


def build_fidelity(options: ExtractorOptions):
    """torch-fidelity's inception-v3-compat: FID, KID, PR and IS; downloads unless path is set"""
    from ganzoo.errors import GanzooError
    from ganzoo_builtins.inception.extractors import FidelityInception

    if options.resize != "torch_fidelity":
        raise GanzooError("eval.extractor.resize: torch-fidelity's own Inception resizes inside "
                          "itself; for clean-fid's resize use inception_torchscript")
    return FidelityInception(options.path)


@hookimpl
def ganzoo_register_feature_extractors(register):
    register("inception_torchscript", build_torchscript, options=ExtractorOptions)
    register("inception", build_fidelity, options=ExtractorOptions)
