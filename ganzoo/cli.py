"""The ``ganzoo`` command: thin sub-commands over the registry, the recipe and the engine.

Bad input ends with one line on stderr and exit code 2; ``--debug`` adds the traceback.
torch is imported only by the commands that need it, so ``ganzoo list`` and ``--help`` stay quick.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console, RenderableType
from rich.table import Table

from ganzoo import __version__
from ganzoo.errors import GanzooError
from ganzoo.registry import KINDS, Registry

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True, highlight=False)

LIST_CHOICES = [k.plural for k in KINDS.values()] + ["plugins"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    # KEY=VALUE overrides may also follow options (argparse stops collecting them there).
    if extra and hasattr(args, "overrides") and all("=" in e and not e.startswith("-")
                                                    for e in extra):
        args.overrides = [*args.overrides, *extra]
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0
    try:
        return args.handler(args) or 0
    except GanzooError as exc:
        if args.debug:
            traceback.print_exc()
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}")
        return 2
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/]")
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ganzoo",
        description="A plugin-based zoo of Generative Adversarial Networks on PyTorch.",
        epilog="Start with: ganzoo run recipes/quickstart.yaml",
    )
    parser.add_argument("--version", action="version", version=f"ganzoo {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    p = sub.add_parser("list", help="list available components and plugins",
                       description="List every registered component (or plugins), with the "
                                   "plugin and package that gives it.")
    p.add_argument("what", nargs="?", choices=LIST_CHOICES, metavar="WHAT",
                   help=f"one of: {', '.join(LIST_CHOICES)} (default: all components)")
    p.set_defaults(handler=cmd_list)

    p = sub.add_parser("run", help="train (and sample) as a recipe says",
                       description="Train a GAN as a YAML recipe says. Any key can be "
                                   "overridden: ganzoo run r.yaml train.steps=100 loss.name=mse")
    p.add_argument("recipe", help="path of a recipe .yaml file")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                   help="dotlist overrides, e.g. train.steps=100 data.root=../data")
    p.set_defaults(handler=cmd_run)

    p = sub.add_parser("resume", help="continue a run from its newest good checkpoint",
                       description="Continue a run exactly where its newest good checkpoint "
                                   "left it. Overrides may extend it: train.steps=20000")
    p.add_argument("run_dir", help="the run folder (runs/<recipe>-<timestamp>)")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="dotlist overrides")
    p.set_defaults(handler=cmd_resume)

    p = sub.add_parser("plot", help="draw a run's timeline (PNG, GIF) and curves",
                       description="Write timeline.png, timeline.gif, losses.png and "
                                   "discriminator.png into a run folder, from its files.")
    p.add_argument("run_dir", help="the run folder")
    p.set_defaults(handler=cmd_plot)

    p = sub.add_parser("sample", help="write samples from a trained generator",
                       description="Write N samples from a run's newest good checkpoint (or a "
                                   "checkpoint file): PNG files in a folder, or one .npz.")
    p.add_argument("target", help="a run folder or a checkpoint .pt file")
    p.add_argument("--n", type=int, default=64, help="how many samples (default 64)")
    p.add_argument("--out", required=True, help="a folder for PNG files, or FILE.npz")
    p.add_argument("--seed", type=int, default=0, help="seed of the latent vectors")
    p.add_argument("--class", dest="label", metavar="K",
                   help="conditional G: class K, or 'all' for every class equally (default)")
    p.add_argument("--no-ema", action="store_true", help="use G's raw weights, not the EMA")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, mps")
    p.set_defaults(handler=cmd_sample)

    p = sub.add_parser("eval", help="FID, KID, PR (and IS) and mode coverage of a generator",
                       description="Evaluate a run's newest good checkpoint (or a checkpoint "
                                   "file) against its recipe's dataset, print the results with "
                                   "their protocol and save them as JSON beside the checkpoint.",
                       epilog="Defaults come from the recipe's eval section. KEY=VALUE "
                              "overrides change the recipe, e.g. data.root=../data.")
    p.add_argument("target", help="a run folder or a checkpoint .pt file")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="recipe overrides")
    p.add_argument("--n", type=int, help="generated images (default: eval.n, 50000)")
    p.add_argument("--ref", help="reference split: train or test (default: eval.ref)")
    p.add_argument("--metrics", help="comma-separated metric names, e.g. fid,kid,pr,is "
                                     "(see 'ganzoo list metrics'; default: eval.metrics)")
    p.add_argument("--extractor", help="feature extractor (see 'ganzoo list feature_extractors')")
    p.add_argument("--extractor-path", help="the extractor's weights file")
    p.add_argument("--no-ema", action="store_true", help="use G's raw weights, not the EMA")
    p.add_argument("--device", default="auto")
    p.set_defaults(handler=cmd_eval)

    p = sub.add_parser("interpolate", help="write a latent-walk grid",
                       description="Each row walks (spherically) from one random z to another.")
    p.add_argument("target", help="a run folder or a checkpoint .pt file")
    p.add_argument("--out", required=True, help="the PNG file to write")
    p.add_argument("--rows", type=int, default=8)
    p.add_argument("--steps", type=int, default=10, help="images per row")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--class", dest="label", metavar="K",
                   help="conditional G: walk within class K (default: row r in class r mod K)")
    p.add_argument("--no-ema", action="store_true", help="use G's raw weights, not the EMA")
    p.add_argument("--device", default="auto")
    p.set_defaults(handler=cmd_interpolate)

    p = sub.add_parser(
        "show", help="show G's and D's layers, shapes, parameters and size arithmetic",
        description="Show the layers of a recipe's networks, or of one component: "
                    "ganzoo show recipes/dcgan_celeba.yaml | "
                    "ganzoo show generator dcgan image_size=64 ngf=32",
        epilog="For one component, image_size (default 64) and channels (default 3), or "
               "shape=2 / shape=1x28x28, set the sample shape; other keys are its options.")
    p.add_argument("target", help="a recipe .yaml file, or 'generator' / 'discriminator'")
    p.add_argument("rest", nargs="*", metavar="ARG",
                   help="for a recipe: KEY=VALUE overrides; for a component: NAME [KEY=VALUE...]")
    p.set_defaults(handler=cmd_show)
    for p in sub.choices.values():
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show tracebacks for errors")
    return parser


def escape(text: str) -> str:
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def load_registry_with_warnings() -> Registry:
    from ganzoo.plugins import load_registry

    registry = load_registry()
    for plugin in registry.broken:
        err_console.print(f"[yellow]warning:[/] plugin {plugin.name!r} ({plugin.package}) is "
                          f"broken and was skipped: {escape(plugin.error)}")
    return registry


def cmd_list(args: argparse.Namespace) -> int:
    registry = load_registry_with_warnings()
    if args.what == "plugins":
        console.print(plugins_table(registry))
        return 0
    kinds = [k for k in KINDS.values() if args.what in (None, k.plural)]
    table = Table(title="ganzoo components", title_justify="left")
    for column in ("name", "kind", "plugin/package"):
        table.add_column(column, no_wrap=True)
    table.add_column("summary", overflow="fold")
    for kind in kinds:
        for c in registry.all(kind.name):
            table.add_row(c.name, c.kind, origin(c.plugin, c.package), escape(c.summary))
        table.add_section()
    for plugin in registry.broken:
        table.add_row("-", "[red]broken[/]", origin(plugin.name, plugin.package),
                      escape(plugin.error))
    console.print(table)
    return 0


def origin(plugin: str, package: str) -> str:
    """'mlp' for a built-in, 'hinge/ganzoo-hinge' for a third party."""
    return plugin if package == "ganzoo" else f"{plugin}/{package}"


def plugins_table(registry: Registry) -> Table:
    table = Table(title="ganzoo plugins", title_justify="left")
    for column in ("plugin", "package", "state", "components / error"):
        table.add_column(column, overflow="fold")
    for p in registry.plugins:
        names = [f"{c.kind} {c.name}" for kind in KINDS for c in registry.all(kind)
                 if c.plugin == p.name]
        state = {"ok": "[green]ok[/]", "broken": "[red]broken[/]"}.get(p.state, p.state)
        table.add_row(p.name, p.package, state, escape(p.error) if p.error else ", ".join(names))
    return table


def cmd_run(args: argparse.Namespace) -> int:
    from ganzoo.recipe import load_recipe, train_options

    registry = load_registry_with_warnings()
    recipe = load_recipe(args.recipe, args.overrides)
    train_options(recipe)  # every mistake is reported before anything is built

    from ganzoo.commands.training import run_recipe

    run_recipe(recipe, registry, name=Path(args.recipe).stem, console=console)
    return 0


def cmd_resume(args: argparse.Namespace) -> int:
    from ganzoo.recipe import load_recipe, train_options

    run_dir = Path(args.run_dir)
    if not (run_dir / "recipe.yaml").is_file():
        raise GanzooError(f"'{run_dir}' is not a ganzoo run folder (no recipe.yaml in it).")
    registry = load_registry_with_warnings()
    recipe = load_recipe(run_dir / "recipe.yaml", [*args.overrides, f"train.run_dir={run_dir}"])
    train_options(recipe)

    from ganzoo.commands.training import run_recipe

    run_recipe(recipe, registry, name=run_dir.name, console=console, resume_dir=run_dir)
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from ganzoo.commands.plots import plot_run
    from ganzoo.engine.runs import RunFolder

    if not Path(args.run_dir).is_dir():
        raise GanzooError(f"Run folder not found: '{args.run_dir}'.")
    for path in plot_run(RunFolder(args.run_dir)):
        console.print(f"wrote {path}")
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    if args.n <= 0:
        raise GanzooError(f"--n: must be greater than 0 (got {args.n})")
    from ganzoo.sampling import class_labels, generate, load_generator, write_samples

    G, _, _ = load_generator(args.target, load_registry_with_warnings(), not args.no_ema,
                             args.device)
    labels = class_labels(G, args.n, args.label)
    samples = generate(G, args.n, args.seed, labels=labels)
    console.print(f"wrote {write_samples(samples, Path(args.out), labels)}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
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
    reference, note = reference_dataset(recipe, registry, options.ref)
    result = evaluate(G, reference, options, registry, dataset_name=recipe.data.name,
                      split_note=note,
                      extra={"checkpoint": str(checkpoint), "step": int(state["step"]),
                             "weights": "ema" if state.get("ema") is not None and not args.no_ema
                             else "generator"})
    path = save_result(result, checkpoint.with_suffix(".eval.json"))
    for table in result_tables(result):
        console.print(table)
    console.print(f"saved {path}")
    return 0


def cmd_interpolate(args: argparse.Namespace) -> int:
    if args.rows <= 0 or args.steps < 2:
        raise GanzooError("--rows must be at least 1 and --steps at least 2")
    from ganzoo.pictures import save_image_grid
    from ganzoo.sampling import interpolation_grid, load_generator

    G, _, _ = load_generator(args.target, load_registry_with_warnings(), not args.no_ema,
                             args.device)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    grid = interpolation_grid(G, args.rows, args.steps, args.seed, args.label)
    save_image_grid(grid, out, nrow=args.steps)
    console.print(f"wrote {out}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    registry = load_registry_with_warnings()
    from ganzoo.commands.show import show_component, show_recipe

    if args.target in ("generator", "discriminator"):
        if not args.rest or "=" in args.rest[0]:
            raise GanzooError(f"Name the {args.target} to show, e.g. "
                              f"'ganzoo show {args.target} dcgan image_size=64'.")
        print_wide(show_component(args.target, args.rest[0], args.rest[1:], registry))
        return 0
    from ganzoo.recipe import load_recipe

    print_wide(show_recipe(load_recipe(args.target, args.rest), registry))
    return 0


def print_wide(renderable: RenderableType) -> None:
    """Print at the renderable's natural width, even past a narrow terminal's, uncut."""
    from rich.measure import Measurement

    width = Measurement.get(console, console.options.update_width(10_000), renderable).maximum
    wide = Console(width=max(console.width, width), file=console.file, soft_wrap=True)
    wide.print(renderable)


if __name__ == "__main__":
    sys.exit(main())
