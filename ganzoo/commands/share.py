"""``ganzoo export``: a trained generator, taken out of ganzoo."""

from __future__ import annotations

import argparse

from ganzoo.commands.common import console, escape


def export(args: argparse.Namespace) -> int:
    from ganzoo.exports import export as export_run

    written = export_run(args.run_dir, args.out, args.format,
                         weights="raw" if args.no_ema else "ema", checkpoint=args.checkpoint)
    console.print(f"wrote {escape(args.out)}: {', '.join(p.name for p in written)}")
    return 0


def open_runs(paths: list[str]):
    from ganzoo.api import Run

    return [Run(path) for path in paths]


def report(args: argparse.Namespace) -> int:
    from ganzoo.errors import GanzooError
    from ganzoo.report import write_report

    runs = open_runs(args.runs)
    try:
        path = write_report(runs, args.out)
    except OSError as exc:
        raise GanzooError(f"--out {args.out}: cannot write there ({exc.strerror or exc}); "
                          "choose a writable place") from None
    console.print(f"wrote {escape(str(path))}")
    return 0


def compare(args: argparse.Namespace) -> int:
    from rich.table import Table

    from ganzoo.commands.common import print_wide
    from ganzoo.summary import differing_keys, format_value, summarize, summary_rows

    runs = open_runs(args.runs)
    summaries = [summarize(run) for run in runs]
    table = Table(title="runs", title_justify="left")
    table.add_column("")
    for s in summaries:
        table.add_column(s.name, justify="right")
    for label, values in summary_rows(summaries):
        table.add_row(label, *values)
    print_wide(table)
    if len(runs) > 1:
        differing = differing_keys(runs)
        if not differing:
            console.print("The recipes are the same (apart from their run folders).")
            return 0
        diff = Table(title="how the recipes differ", title_justify="left")
        diff.add_column("key")
        for s in summaries:
            diff.add_column(s.name, justify="right")
        for key, values in differing.items():
            diff.add_row(key, *map(format_value, values))
        print_wide(diff)
    return 0
