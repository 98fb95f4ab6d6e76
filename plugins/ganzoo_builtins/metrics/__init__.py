"""Evaluation metrics: FID, KID, precision/recall and IS through torch-fidelity, density and
coverage and per-class FID on the same features, mode coverage where the dataset knows its
modes, and PSNR/SSIM for generators with an input.

The torch-fidelity metrics of one evaluation share one pass over the samples' features.
"""

from __future__ import annotations

from dataclasses import dataclass

from ganzoo import hookimpl
from ganzoo.options import one_of, positive


@dataclass
class PROptions:
    # each sample's neighbourhood is the ball to its k-th nearest neighbour among its own
    # kind; Kynkäänniemi et al. (2019) use 3. Larger k: larger balls, higher precision and
    # recall. eval.metrics: [{name: pr, k: 5}]
    k: int = 3

    def __post_init__(self) -> None:
        positive("k", self.k)


@dataclass
class DCOptions:
    # each real sample's ball reaches its k-th nearest real neighbour; Naeem et al. (2020)
    # use 5. eval.metrics: [{name: dc, k: 3}]
    k: int = 5

    def __post_init__(self) -> None:
        positive("k", self.k)


@dataclass
class IntraFIDOptions:
    # samples of each class, and at most as many reference images of it; null: eval.n
    # divided among the classes. eval.metrics: [{name: intra_fid, n: 5000}]
    n: int | None = None

    def __post_init__(self) -> None:
        positive("n", self.n, allow_none=True)
        if self.n is not None and self.n < 2:
            raise ValueError(f"n: a FID needs 2 or more samples of each class (got {self.n})")


@dataclass
class PSNRSSIMOptions:
    # the data split the pairs come from; null: the reference split, eval.ref
    split: str | None = None
    # pixels left out at each edge before measuring (super-resolution papers: the scale)
    crop_border: int = 0
    # 1: measure on [0, 1] | 255: on 8-bit values, each image rounded as a saved PNG holds it
    data_range: int = 1
    y_channel: bool = False  # measure the luma Y of BT.601 YCbCr alone, as SR papers report

    def __post_init__(self) -> None:
        if self.split is not None and (not isinstance(self.split, str) or not self.split):
            raise ValueError(f"split: must be a split name such as test (got {self.split!r})")
        if self.crop_border < 0:
            raise ValueError(f"crop_border: must be 0 or more (got {self.crop_border})")
        one_of("data_range", self.data_range, (1, 255))


def build_fid(options: None):
    """FID (Heusel et al., 2017): Fréchet distance of Inception features; lower is better"""
    from ganzoo_builtins.metrics.measures import FidelityMetric

    return FidelityMetric("fid", {"fid": "min"})


def build_kid(options: None):
    """KID (Bińkowski et al., 2018): kernel distance, unbiased; kid_mean, kid_std"""
    from ganzoo_builtins.metrics.measures import FidelityMetric

    return FidelityMetric("kid", {"kid_mean": "min"})


def build_pr(options: PROptions):
    """precision and recall (Kynkäänniemi et al., 2019) of Inception features; k neighbours"""
    from ganzoo_builtins.metrics.measures import FidelityMetric

    return FidelityMetric("pr", {"precision": "max", "recall": "max"},
                          {"prc_neighborhood": options.k})


def build_dc(options: DCOptions):
    """density and coverage (Naeem et al., 2020) of Inception features; k neighbours"""
    from ganzoo_builtins.metrics.features import DensityCoverage

    return DensityCoverage(options.k)


def build_intra_fid(options: IntraFIDOptions):
    """intra-FID: FID of each class against its real images, and the mean (conditional G)"""
    from ganzoo_builtins.metrics.features import IntraFID

    return IntraFID(options.n)


def build_is(options: None):
    """Inception Score (Salimans et al., 2016); needs an extractor with logits"""
    from ganzoo_builtins.metrics.measures import FidelityMetric

    return FidelityMetric("is", {"is_mean": "max"})


def build_modes(options: None):
    """mode coverage: modes covered and the KL of the mode histogram (datasets with modes)"""
    from ganzoo_builtins.metrics.measures import ModeCoverage

    return ModeCoverage()


def build_psnr_ssim(options: PSNRSSIMOptions):
    """PSNR and SSIM of a translation against the truth, beside the input's own (paired data;
    a small input enlarged bicubically); split, crop_border, data_range, y_channel"""
    from ganzoo_builtins.metrics.translation import PSNRSSIM

    return PSNRSSIM(options)


@hookimpl
def ganzoo_register_metrics(register):
    register("fid", build_fid)
    register("kid", build_kid)
    register("pr", build_pr, options=PROptions)
    register("dc", build_dc, options=DCOptions)
    register("intra_fid", build_intra_fid, options=IntraFIDOptions)
    register("is", build_is)
    register("modes", build_modes)
    register("psnr_ssim", build_psnr_ssim, options=PSNRSSIMOptions)
