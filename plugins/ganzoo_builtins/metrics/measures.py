"""The built-in metrics, on top of the shared helpers of ganzoo.evaluation."""

from __future__ import annotations

from typing import Any

from ganzoo.interfaces import EvalContext, Metric


class FidelityMetric(Metric):
    """One of torch-fidelity's metrics; the evaluation computes all requested ones in one go
    (one go per set of options that disagree, such as two PR neighbourhoods)."""

    def __init__(self, key: str, directions: dict[str, str],
                 fidelity_options: dict[str, Any] | None = None):
        self.fidelity_key = key
        self.directions = directions
        #: keyword arguments of torch-fidelity's calculate_metrics, e.g. prc_neighborhood
        self.fidelity_options = dict(fidelity_options or {})

    def compute(self, ctx: EvalContext) -> dict[str, Any]:
        return ctx.fidelity(self.fidelity_key, **self.fidelity_options)


class ModeCoverage(Metric):
    directions = {"reverse_kl": "min", "kl_to_uniform": "min", "modes_covered": "max"}

    def compute(self, ctx: EvalContext) -> dict[str, Any]:
        return ctx.mode_coverage()
