"""Metrics computed here from the evaluation's features (the layer FID uses): density and
coverage (Naeem et al., 2020) and intra-FID, the FID of each class of a conditional G."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ganzoo.errors import GanzooError
from ganzoo.interfaces import EvalContext, Metric, is_image_shape

#: distance-matrix entries held at once (64 MiB of float32): fakes are taken in chunks
CHUNK_ENTRIES = 1 << 24


def density_coverage(real: Tensor, fake: Tensor, k: int = 5,
                     chunk_entries: int = CHUNK_ENTRIES) -> dict[str, float]:
    """Density and coverage of ``fake`` (M, D) against ``real`` (N, D), as Naeem et al. (2020,
    "Reliable Fidelity and Diversity Metrics for Generative Models") define them, with
    B(X_i) the ball around real X_i of radius NND_k(X_i), the distance to its k-th nearest
    other real sample:

        density  = 1/(kM) sum_j sum_i 1[Y_j in B(X_i)]
        coverage = 1/N    sum_i 1[some Y_j in B(X_i)]

    Inside means strictly closer than the radius, as in the authors' prdc code."""
    if len(real) <= k:
        raise ValueError(f"k={k} needs more than {k} real samples (got {len(real)})")
    real, fake = real.float(), fake.float()
    rows = max(1, chunk_entries // len(real))
    # the k+1-th smallest distance of a real sample to the real ones: its own 0 comes first
    radii = torch.cat([torch.cdist(part, real).kthvalue(k + 1, dim=1).values
                       for part in real.split(rows)])
    inside = 0
    nearest = torch.full_like(radii, float("inf"))  # each real sample's nearest fake
    for part in fake.split(rows):
        distances = torch.cdist(part, real)  # (chunk of fakes, N)
        inside += int((distances < radii).sum())
        nearest = torch.minimum(nearest, distances.min(dim=0).values)
    return {"density": inside / (k * len(fake)),
            "coverage": float((nearest < radii).float().mean())}


def frechet_distance(fake: Tensor, real: Tensor) -> float:
    """FID between two sets of features, with torch-fidelity's statistics and formula (those
    of the ``fid`` metric)."""
    from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric

    stats = [fid_features_to_statistics(f.float()) for f in (fake, real)]
    return float(fid_statistics_to_metric(*stats, verbose=False)["frechet_inception_distance"])


def image_samples(ctx: EvalContext, what: str) -> bool:
    """Whether G makes images; where it makes points, a note says the metric is left out."""
    if is_image_shape(tuple(ctx.G.image_shape)):
        return True
    note = f"{what} is measured on image features; these samples are points"
    if note not in ctx.notes:
        ctx.notes.append(note)
    return False


class DensityCoverage(Metric):
    """density and coverage of eval.n samples (class-balanced) against eval.n reference
    images, on the features FID uses."""

    directions = {"density": "max", "coverage": "max"}

    def __init__(self, k: int = 5):
        self.k = k

    def compute(self, ctx: EvalContext) -> dict[str, Any]:
        if not image_samples(ctx, "dc (density and coverage)"):
            return {}
        fake, real = ctx.features()
        if len(real) <= self.k:
            raise GanzooError(f"eval.metrics: dc with k={self.k} needs more than {self.k} "
                              f"reference images (n={ctx.options.n}, {len(real)} reference "
                              "images); lower k or raise --n")
        device = next(ctx.G.parameters()).device
        return density_coverage(real.to(device), fake.to(device), self.k)


class IntraFID(Metric):
    """intra-FID: the FID of each class's samples against the reference images of that class
    (``intra_fid/<class>``), and their mean (``intra_fid``), for a conditional G."""

    def __init__(self, n: int | None = None):
        self.n = n  # per class; None: eval.n divided among the classes
        self.directions: dict[str, str] = {"intra_fid": "min"}

    def compute(self, ctx: EvalContext) -> dict[str, Any]:
        G, reference = ctx.G, ctx.reference
        if not (G.conditional and G.num_classes):
            raise GanzooError("eval.metrics: intra_fid is the FID of each class, for a "
                              "conditional generator; this one takes no labels: use fid, or "
                              "evaluate a run trained with conditional: true")
        if not reference.num_classes or "labels" not in reference.fields:
            raise GanzooError(f"eval.metrics: intra_fid needs the reference data's class "
                              f"labels; the {ctx.options.ref} split gives none: use fid, or "
                              "evaluate against labelled data")
        if reference.num_classes != G.num_classes:
            raise GanzooError(f"eval.metrics: intra_fid: the generator has {G.num_classes} "
                              f"classes, the reference data {reference.num_classes}; "
                              "evaluate against the data it was trained on")
        if not image_samples(ctx, "intra_fid"):
            return {}
        classes = G.num_classes
        n = self.n or max(2, ctx.options.n // classes)
        per_class, short = {}, []
        for c in range(classes):
            fake, real = ctx.features(label=c, n=n)
            if len(real) < 2:
                raise GanzooError(f"eval.metrics: intra_fid: the {ctx.options.ref} split holds "
                                  f"{len(real)} image(s) of class {c}, and a FID needs 2 or "
                                  "more; evaluate on another split (--ref) or drop intra_fid")
            if len(real) < n:
                short.append(f"{c} ({len(real)})")
            per_class[f"intra_fid/{c}"] = frechet_distance(fake, real)
        if short:
            ctx.notes.append(f"intra_fid: the {ctx.options.ref} split holds fewer than n={n} "
                             f"images of class {', '.join(short)}")
        ctx.protocol["intra_fid"] = (
            f"per class: {n} samples of the class (the same z for every class) against up to "
            f"{n} reference images of it, one epoch's random order; intra_fid is the mean "
            f"over the {classes} classes")
        self.directions = {"intra_fid": "min", **dict.fromkeys(per_class, "min")}
        return {"intra_fid": sum(per_class.values()) / classes, **per_class}
