"""``ganzoo eval``: a checkpoint's metrics, with their protocol, saved beside it."""

from __future__ import annotations

import argparse

from ganzoo.commands.common import console


def evaluate_checkpoint(args: argparse.Namespace) -> int:
    from ganzoo.api import evaluate
    from ganzoo.evaluation import result_tables

    metrics = args.metrics.split(",") if args.metrics is not None else None
    overrides = [*args.overrides, *([f"eval.extractor={args.extractor}"] if args.extractor else [])]
    result = evaluate(args.target, n=args.n, ref=args.ref, metrics=metrics,
                      extractor_path=args.extractor_path, overrides=overrides,
                      weights="raw" if args.no_ema else "ema", device=args.device,
                      truncation=args.truncation, resize=args.resize)
    saved = result.pop("saved")
    for table in result_tables(result):
        console.print(table)
    console.print(f"saved {saved}")
    return 0
