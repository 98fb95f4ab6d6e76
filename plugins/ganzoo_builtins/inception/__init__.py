"""Inception feature extractors for FID, KID and precision/recall."""

from __future__ import annotations

from dataclasses import dataclass

from ganzoo import hookimpl


@dataclass
class ExtractorOptions:
    path: str = ""  # the weights file; see each extractor for what empty means


def build_torchscript(options: ExtractorOptions):
    """FID Inception (TF 2015-12-05) as TorchScript: offline FID, KID, PR; no IS"""
    from ganzoo_builtins.inception.extractors import TorchScriptInception

    return TorchScriptInception(options.path)


def build_fidelity(options: ExtractorOptions):
    """torch-fidelity's inception-v3-compat: FID, KID, PR and IS; downloads unless path is set"""
    from ganzoo_builtins.inception.extractors import FidelityInception

    return FidelityInception(options.path)


@hookimpl
def ganzoo_register_feature_extractors(register):
    register("inception_torchscript", build_torchscript, options=ExtractorOptions)
    register("inception", build_fidelity, options=ExtractorOptions)
