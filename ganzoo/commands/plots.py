"""``ganzoo plot``: a run's timeline (PNG, GIF) and curves, drawn by ``ganzoo.plots``."""

from __future__ import annotations

import argparse
from pathlib import Path

from ganzoo.engine.runs import RunFolder
from ganzoo.errors import GanzooError
from ganzoo.plots import plot_run


def plot(args: argparse.Namespace) -> int:
    from ganzoo.console import console

    if not Path(args.run_dir).is_dir():
        raise GanzooError(f"Run folder not found: '{args.run_dir}'.")
    for path in plot_run(RunFolder(args.run_dir)):
        console.print(f"wrote {path}")
    return 0
