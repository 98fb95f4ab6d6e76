"""What a run comes to, and how runs differ: shared by ``ganzoo report`` and ``ganzoo compare``.

Everything here reads run folders only (recipe.yaml, metrics.jsonl, eval.jsonl, *.eval.json).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from omegaconf import OmegaConf

from ganzoo.recipe import flatten
from ganzoo.run import Run

#: logged values that are bookkeeping, not curves of the game
BOOKKEEPING = ("step", "elapsed_s", "images_per_s")
#: recipe keys that differ between any two runs without making them different experiments
NOT_A_DIFFERENCE = ("train.run_dir",)


@dataclass
class RunSummary:
    """One run in a few numbers."""

    name: str
    steps: int  # the last logged step
    seconds: float  # training time, summed over resumed segments
    final: dict[str, float] = field(default_factory=dict)  # the last metrics.jsonl record
    evaluation: dict[str, Any] = field(default_factory=dict)  # each measure's newest value
    best: dict[str, float] = field(default_factory=dict)  # best value of each evaluated metric
    directions: dict[str, str] = field(default_factory=dict)


def summarize(run: Run) -> RunSummary:
    rows = run.metrics
    last = rows[-1] if rows else {}
    summary = RunSummary(run.name, int(last.get("step", 0)), training_seconds(rows),
                         final={k: v for k, v in last.items()
                                if k not in BOOKKEEPING and isinstance(v, int | float)})
    evaluations = run.evaluations
    for evaluation in evaluations:
        summary.directions.update(evaluation.get("directions", {}))
        # the newest value of each measure: a later evaluation of other metrics (KID, then
        # FID) adds its values to the earlier one's instead of hiding them
        summary.evaluation.update(numbers(evaluation["metrics"]))
    for name, direction in summary.directions.items():
        values = [numbers(e["metrics"]).get(name) for e in evaluations]
        values = [v for v in values if v is not None and math.isfinite(v)]  # NaN: no best
        if values:
            summary.best[name] = min(values) if direction == "min" else max(values)
    return summary


def numbers(values: dict[str, Any]) -> dict[str, float]:
    return {k: v for k, v in values.items()
            if isinstance(v, int | float) and not isinstance(v, bool)
            and k not in ("step", "score")}


def summary_rows(summaries: list[RunSummary]) -> list[tuple[str, list[str]]]:
    """(what, value per run) for a table with a column per run: steps, time, the last logged
    values, the newest value of each evaluated measure (floats, and counts that have a
    direction, such as modes covered) and the best of each measure that has a direction."""
    rows = [("steps", [f"{s.steps:,}" for s in summaries]),
            ("time", [format_seconds(s.seconds) for s in summaries])]
    directions = {k: d for s in summaries for k, d in s.directions.items()}

    def union(attribute: str) -> list[str]:
        return sorted({k for s in summaries for k in getattr(s, attribute)})

    rows += [(f"last {k}", [format_value(s.final.get(k)) for s in summaries])
             for k in union("final")]
    rows += [(f"{k} (newest eval)", [format_value(s.evaluation.get(k)) for s in summaries])
             for k in union("evaluation")
             if k in directions or any(isinstance(s.evaluation.get(k), float) for s in summaries)]
    rows += [(f"best {k} ({directions[k]})", [format_value(s.best.get(k)) for s in summaries])
             for k in union("best")]
    return rows


def training_seconds(rows: list[dict[str, Any]]) -> float:
    """elapsed_s restarts at 0 when a run is resumed: add up each segment's last value."""
    total, previous = 0.0, 0.0
    for row in rows:
        elapsed = row.get("elapsed_s") or 0.0
        if elapsed < previous:
            total += previous
        previous = elapsed
    return total + previous


def flat_recipe(run: Run) -> dict[str, Any]:
    """The resolved recipe as {'train.steps': 3000, ...}."""
    return flatten(OmegaConf.to_container(run.recipe, resolve=True))


def differing_keys(runs: list[Run]) -> dict[str, list[Any]]:
    """The recipe keys whose values are not the same in every run: key -> value per run
    (None where a run's recipe lacks the key)."""
    recipes = [flat_recipe(run) for run in runs]
    keys = sorted(set().union(*recipes))
    return {key: [recipe.get(key) for recipe in recipes] for key in keys
            if key not in NOT_A_DIFFERENCE
            and len({repr(recipe.get(key)) for recipe in recipes}) > 1}


def format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return "[" + ", ".join(map(format_value, value)) + "]"
    return "-" if value is None else str(value)


def format_seconds(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"
