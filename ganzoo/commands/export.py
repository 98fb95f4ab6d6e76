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
