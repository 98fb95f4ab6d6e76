"""``ganzoo run`` and ``ganzoo resume``: read the recipe and the overrides, then train in a
session (``ganzoo.session``: build, train with a progress bar, summarise)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ganzoo.console import console as default_console
from ganzoo.console import note
from ganzoo.engine.trainer import TrainResult
from ganzoo.plugins import load_registry_with_warnings
from ganzoo.recipe import load_recipe, train_options
from ganzoo.session import resume_run, run_recipe


def run(args: argparse.Namespace) -> int:
    registry = load_registry_with_warnings()
    notes: list[str] = []
    recipe = load_recipe(args.recipe, args.overrides, registry, notes)
    train_options(recipe)  # every mistake is reported before anything is built
    for line in notes:
        note(line)

    result = run_recipe(recipe, registry, name=Path(args.recipe).stem, console=default_console)
    return exit_code(result)


def resume(args: argparse.Namespace) -> int:
    result = resume_run(args.run_dir, args.overrides, load_registry_with_warnings(),
                        default_console)
    return exit_code(result)


def exit_code(result: TrainResult | None) -> int:
    """0, or 128 + the signal's number for a run a signal stopped (130 for Ctrl-C), as shells
    expect of a program that a signal interrupted."""
    return 128 + result.stopped_by if result is not None and result.stopped_by else 0
