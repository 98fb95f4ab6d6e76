"""``ganzoo eval``: a checkpoint's metrics, with their protocol, saved beside it."""

from __future__ import annotations

import argparse

from ganzoo.commands.common import console, load_registry_with_warnings


def evaluate_checkpoint(args: argparse.Namespace) -> int:
    from ganzoo.evaluation import evaluate, reference_dataset, result_tables, save_result
    from ganzoo.recipe import compose, eval_options
    from ganzoo.sampling import load_generator

    registry = load_registry_with_warnings()
    G, state, checkpoint = load_generator(args.target, registry, not args.no_ema, args.device)
    flags = {"n": args.n, "ref": args.ref, "extractor": args.extractor,
             "extractor_path": args.extractor_path,
             "metrics": f"[{args.metrics}]" if args.metrics is not None else None}
    overrides = [*args.overrides, *(f"eval.{k}={v}" for k, v in flags.items() if v is not None)]
    recipe = compose(state["recipe"], overrides, where=str(checkpoint))
    options = eval_options(recipe)
    reference, note, reference_options = reference_dataset(recipe, registry, options.ref)
    result = evaluate(G, reference, options, registry, dataset_name=recipe.data.name,
                      split_note=note, reference_options=reference_options,
                      extra={"checkpoint": str(checkpoint), "step": int(state["step"]),
                             "weights": "ema" if state.get("ema") is not None and not args.no_ema
                             else "generator"})
    path = save_result(result, checkpoint.with_suffix(".eval.json"))
    for table in result_tables(result):
        console.print(table)
    console.print(f"saved {path}")
    return 0
