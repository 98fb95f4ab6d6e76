"""``ganzoo report``: one self-contained HTML file of one or more runs."""

from __future__ import annotations

import argparse

from ganzoo.commands.common import console, escape


def open_runs(paths: list[str]):
    from ganzoo.run import Run

    return [Run(path) for path in paths]


def report(args: argparse.Namespace) -> int:
    from ganzoo.errors import GanzooError
    from ganzoo.report import NotAReport, write_report

    runs = open_runs(args.runs)
    try:
        path = write_report(runs, args.out)
    except NotAReport as exc:  # a report replaces a report of ours, never another file
        raise GanzooError(f"--out {args.out}: {exc.reason}") from None
    except OSError as exc:
        raise GanzooError(f"--out {args.out}: cannot write there ({exc.strerror or exc}); "
                          "choose a writable place") from None
    console.print(f"wrote {escape(str(path))}")
    return 0
