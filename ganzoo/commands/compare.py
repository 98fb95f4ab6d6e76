"""``ganzoo compare``: runs side by side in the terminal: metrics, time, recipe differences."""

from __future__ import annotations

import argparse

from ganzoo.commands.common import console, escape
from ganzoo.commands.report import open_runs


def compare(args: argparse.Namespace) -> int:
    from rich.table import Table

    from ganzoo.commands.common import print_wide
    from ganzoo.summary import differing_keys, format_value, summarize, summary_rows

    runs = open_runs(args.runs)
    summaries = [summarize(run) for run in runs]
    table = Table(title="runs", title_justify="left")
    table.add_column("")
    for s in summaries:
        table.add_column(escape(s.name), justify="right")
    # recipe values and run names are text, never markup: '[tensorboard]' must show as it is
    for label, values in summary_rows(summaries):
        table.add_row(escape(label), *map(escape, values))
    print_wide(table)
    if len(runs) > 1:
        differing = differing_keys(runs)
        if not differing:
            console.print("The recipes are the same (apart from their run folders).")
            return 0
        diff = Table(title="how the recipes differ", title_justify="left")
        diff.add_column("key")
        for s in summaries:
            diff.add_column(escape(s.name), justify="right")
        for key, values in differing.items():
            diff.add_row(escape(key), *(escape(format_value(v)) for v in values))
        print_wide(diff)
    return 0
