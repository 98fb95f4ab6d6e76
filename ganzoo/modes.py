"""Mode-collapse measures (as in the VEEGAN and PacGAN papers), from mode assignments.

Datasets with known modes call these from ``Dataset.mode_coverage``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

#: A mode counts as covered when it holds at least this fraction of its fair share (n / K) of
#: the samples. 0.2 is PacGAN's rule for the 25-Gaussian grid: 20 of 2,500 samples.
COVERED_SHARE = 0.2


def reverse_kl_to_uniform(counts: Tensor) -> float:
    """KL(q || uniform) of the mode histogram q: 0 when every mode is equally likely,
    log(K) when all samples fall into one mode."""
    total = counts.sum().item()
    if total == 0:
        return float("nan")
    q = counts.double() / total
    k = len(counts)
    return float(sum(p * math.log(p * k) for p in q.tolist() if p > 0))


def coverage_from_assignments(modes: Tensor, num_modes: int, n_total: int,
                              min_count: float | None = None) -> dict[str, float]:
    """Covered modes and the reverse KL, from the mode each kept sample belongs to."""
    counts = torch.bincount(modes, minlength=num_modes)
    threshold = COVERED_SHARE * n_total / num_modes if min_count is None else min_count
    return {"modes_covered": int((counts >= threshold).sum()), "modes_total": num_modes,
            "covered_if_at_least": math.ceil(threshold),
            "reverse_kl": reverse_kl_to_uniform(counts)}


#: E[r^2 | r <= 3 std] / std^2 for a 2-D isotropic Gaussian: r^2 / std^2 is exponential with
#: mean 2, cut at 9. The data's own high-quality points have this mean squared distance.
TRUNCATED_MEAN_SQUARE = 2 * (1 - 5.5 * math.exp(-4.5)) / (1 - math.exp(-4.5))


def mixture_coverage(points: Tensor, centres: Tensor, std: float) -> dict[str, float]:
    """For a mixture of Gaussians: modes covered, high-quality share, reverse KL, mode spread.

    A sample is high quality when it lies within 3 std of some mode; only those are assigned.
    The high-quality share alone rewards modes narrower than the data's, so ``mode_spread``
    gives the RMS distance of those samples to their mode over the data's own (1: as wide as
    the data; 0.5: half as wide).
    """
    distance, nearest = torch.cdist(points.float(), centres.float()).min(dim=1)
    good = distance <= 3 * std
    result = coverage_from_assignments(nearest[good], len(centres), len(points))
    spread = float("nan")
    if good.any():
        spread = float(distance[good].square().mean().sqrt() / (std * TRUNCATED_MEAN_SQUARE ** 0.5))
    return {"modes_covered": result["modes_covered"], "modes_total": len(centres),
            "high_quality_share": float(good.float().mean()),
            "reverse_kl": result["reverse_kl"], "mode_spread": spread,
            "covered_if_at_least": result["covered_if_at_least"]}
