"""The ``ganzoo`` command: its arguments, and dispatch to ``ganzoo.commands.<module>``.

Each sub-command names its handler as 'module:function'; the module is imported only when the
command runs, so ``ganzoo list`` and ``--help`` never import torch. Bad input ends with one line
on stderr and exit code 2; ``--debug`` adds the traceback.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable, Sequence
from importlib import import_module

from ganzoo import __version__
from ganzoo.commands.common import err_console, escape
from ganzoo.errors import GanzooError
from ganzoo.kinds import KINDS

LIST_CHOICES = [k.plural for k in KINDS.values()] + ["plugins"]


#: the environment variables ganzoo and its built-in plugins read (GANZOO_DATA_ROOT: its tests
#: and benchmarks, for the real data)
ENVIRONMENT = ("GANZOO_CACHE", "GANZOO_DISABLE_PLUGINS", "GANZOO_FID_INCEPTION",
               "GANZOO_DATA_ROOT")


def warn_unknown_environment() -> None:
    """A GANZOO_* variable that nothing reads is most likely misspelt: say so, once."""
    import difflib
    import os

    from ganzoo.console import warn

    for name in sorted(n for n in os.environ if n.startswith("GANZOO_") and n not in ENVIRONMENT):
        close = difflib.get_close_matches(name, ENVIRONMENT, n=1)
        warn(f"${name} is set, but ganzoo reads no such variable"
             + (f"; did you mean ${close[0]}?" if close else "")
             + f" (it reads {', '.join('$' + n for n in ENVIRONMENT)})")


def main(argv: Sequence[str] | None = None) -> int:
    warn_unknown_environment()
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
        return handler(args.handler)(args) or 0
    except GanzooError as exc:
        if args.debug:
            traceback.print_exc()
            for problem in getattr(exc, "problems", ()):
                err_console.print(f"  {escape(problem)}")
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}")
        return 2
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/]")
        return 130


def handler(name: str) -> Callable[[argparse.Namespace], int | None]:
    """'ganzoo.commands.sample:sample' -> that function."""
    module, function = name.split(":")
    return getattr(import_module(module), function)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ganzoo",
        description="A plugin-based zoo of Generative Adversarial Networks on PyTorch.",
        epilog="Start with: ganzoo run quickstart",
    )
    parser.add_argument("--version", action="version", version=f"ganzoo {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    p = sub.add_parser("list", help="list available components and plugins",
                       description="List every registered component (or plugins), with the "
                                   "plugin and package that gives it.")
    p.add_argument("what", nargs="?", choices=LIST_CHOICES, metavar="WHAT",
                   help=f"one of: {', '.join(LIST_CHOICES)} (default: all components)")
    p.set_defaults(handler="ganzoo.commands.listing:list_components")

    p = sub.add_parser("recipes", help="list the shipped recipes, or print one",
                       description="List the recipes the plugins ship (run one by name: ganzoo "
                                   "run quickstart), or print one to copy and edit: ganzoo "
                                   "recipes show quickstart > mine.yaml")
    p.add_argument("action", nargs="?", choices=("list", "show"), default="list")
    p.add_argument("name", nargs="?", help="with show: the recipe to print")
    p.set_defaults(handler="ganzoo.commands.recipes:list_recipes")

    p = sub.add_parser("run", help="train (and sample) as a recipe says",
                       description="Train a GAN as a YAML recipe says. Any key can be "
                                   "overridden: ganzoo run r.yaml train.steps=100 loss.name=mse")
    p.add_argument("recipe", help="a recipe .yaml file, or a shipped recipe's name "
                                  "(ganzoo recipes lists them)")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                   help="dotlist overrides, e.g. train.steps=100 data.root=../data")
    p.set_defaults(handler="ganzoo.commands.run:run")

    p = sub.add_parser("resume", help="continue a run from its newest good checkpoint",
                       description="Continue a run exactly where its newest good checkpoint "
                                   "left it. Overrides may extend it: train.steps=20000")
    p.add_argument("run_dir", help="the run folder (runs/<recipe>-<timestamp>)")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="dotlist overrides")
    p.set_defaults(handler="ganzoo.commands.run:resume")

    p = sub.add_parser("plot", help="draw a run's timeline (PNG, GIF) and curves",
                       description="Write timeline.png, timeline.gif, losses.png and "
                                   "discriminator.png into a run folder, from its files.")
    p.add_argument("run_dir", help="the run folder")
    p.set_defaults(handler="ganzoo.commands.plots:plot")

    p = sub.add_parser("sample", help="write samples from a trained generator",
                       description="Write N samples from a run's newest good checkpoint (or a "
                                   "checkpoint file): PNG files in a folder, or one .npz.")
    p.add_argument("target", help="a run folder or a checkpoint .pt file")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help=argparse.SUPPRESS)
    p.add_argument("--n", type=int, default=64, help="how many samples (default 64)")
    p.add_argument("--out", required=True, help="a folder for PNG files, or FILE.npz")
    p.add_argument("--seed", type=int, default=0, help="seed of the latent vectors")
    p.add_argument("--truncation", type=float, metavar="T",
                   help="a sampling option of G (see its sampling_options; the MLP has it): "
                        "z's Gaussian entries beyond T std are drawn again (BigGAN's trick)")
    p.add_argument("--class", dest="label", metavar="K",
                   help="conditional G: class K, or 'all' for every class equally (default)")
    p.add_argument("--text", action="append", metavar="CAPTION",
                   help="a G conditioned on text: draw what CAPTION says (given several "
                        "times, the samples take the captions in turn)")
    p.add_argument("--no-ema", action="store_true", help="use G's raw weights, not the EMA")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, mps")
    p.set_defaults(handler="ganzoo.commands.sample:sample")

    p = sub.add_parser("eval", help="FID, KID, PR (and IS) and mode coverage of a generator",
                       description="Evaluate a run's newest good checkpoint (or a checkpoint "
                                   "file) against its recipe's dataset, print the results with "
                                   "their protocol and save them as JSON beside the checkpoint.",
                       epilog="Defaults come from the recipe's eval section. KEY=VALUE "
                              "overrides change its eval and data sections, e.g. "
                              "data.root=../data or 'eval.metrics=[fid, {name: pr, k: 5}]'; "
                              "the trained networks stay as they are.")
    p.add_argument("target", help="a run folder or a checkpoint .pt file")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="recipe overrides")
    p.add_argument("--n", type=int, help="generated images (default: eval.n, 50000)")
    p.add_argument("--ref", help="reference split: train or test (default: eval.ref)")
    p.add_argument("--metrics", help="comma-separated metric names, e.g. fid,kid,pr,is "
                                     "(see 'ganzoo list metrics'; default: eval.metrics)")
    p.add_argument("--extractor", help="feature extractor (see 'ganzoo list feature_extractors')")
    p.add_argument("--extractor-path", help="the extractor's weights file")
    p.add_argument("--resize", choices=("torch_fidelity", "clean"),
                   help="how images reach the extractor's 299x299: torch-fidelity's "
                        "TF-1.x-compatible bilinear resize (the default) or clean-fid's "
                        "antialiased bicubic one; the protocol names it")
    p.add_argument("--truncation", type=float, metavar="T",
                   help="sample with z's Gaussian entries beyond T std drawn again (BigGAN's "
                        "truncation trick; a sampling option of G), recorded in the protocol")
    p.add_argument("--no-ema", action="store_true", help="use G's raw weights, not the EMA")
    p.add_argument("--device", default="auto")
    p.set_defaults(handler="ganzoo.commands.evaluate:evaluate_checkpoint")

    p = sub.add_parser("interpolate", help="write a latent-walk grid",
                       description="Each row walks (spherically) from one random z to another; "
                                   "with --code K, each row walks latent code K of a generator "
                                   "with codes (InfoGAN), all else fixed.")
    p.add_argument("target", help="a run folder or a checkpoint .pt file")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help=argparse.SUPPRESS)
    p.add_argument("--out", required=True, help="the PNG file to write")
    p.add_argument("--rows", type=int, default=8)
    p.add_argument("--steps", type=int, default=10, help="images per row")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--truncation", type=float, metavar="T",
                   help="draw the rows' ends with z's Gaussian entries beyond T std drawn again "
                        "(BigGAN's truncation trick; a sampling option of G)")
    p.add_argument("--class", dest="label", metavar="K",
                   help="conditional G: walk within class K (default: row r in class r mod K)")
    p.add_argument("--code", type=int, metavar="K",
                   help="traverse latent code K (from 0) in the columns: each category of a "
                        "categorical code, --steps values from -2 to 2 of a continuous one")
    p.add_argument("--no-ema", action="store_true", help="use G's raw weights, not the EMA")
    p.add_argument("--device", default="auto")
    p.set_defaults(handler="ganzoo.commands.sample:interpolate")

    p = sub.add_parser("translate", help="apply a generator with an input to images",
                       description="Translate images with a run's generator that takes an image "
                       "in place of z (pix2pix, CycleGAN, super-resolution): a file, a folder "
                       "of images or a .npz of images, of the generator's input shape.")
    p.add_argument("target", help="a run folder, a checkpoint file or an export folder")
    p.add_argument("--input", required=True, help="an image, a folder of images or a .npz")
    p.add_argument("--out", required=True, help="a .npz file or a folder for PNG files")
    p.add_argument("--role", default=None,
                   help="which generator of the game (default: its primary one, e.g. g_ab; "
                   "g_ba translates the other way)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--no-ema", action="store_true", help="the raw weights, not their EMA")
    p.add_argument("--device", default="auto")
    p.set_defaults(handler="ganzoo.commands.translate:translate")

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
    p.set_defaults(handler="ganzoo.commands.show:show")
    p = sub.add_parser(
        "export", help="write a run's generator as safetensors (+ TorchScript or ONNX)",
        description="Write the sampling generator of a run as safetensors weights, its config, "
                    "the resolved recipe and a README model card: a folder laid out as a "
                    "Hugging Face model repository. Load it with ganzoo.load_exported(DIR).")
    p.add_argument("run_dir", help="the run folder")
    p.add_argument("--out", required=True, help="a new (or empty) folder")
    p.add_argument("--format", default="safetensors",
                   choices=["safetensors", "torchscript", "onnx"],
                   help="torchscript and onnx are written beside the safetensors weights")
    p.add_argument("--checkpoint", help="a checkpoint of the run (default: the newest good one), "
                                        "e.g. best.pt")
    p.add_argument("--no-ema", action="store_true", help="use G's raw weights, not the EMA")
    p.set_defaults(handler="ganzoo.commands.export:export")

    p = sub.add_parser("report", help="write a self-contained HTML report of one or more runs",
                       description="One HTML file, images embedded, no network: samples over "
                                   "training, curves, evaluations with their protocol and the "
                                   "recipe; for several runs, their curves overlaid, a table "
                                   "of their metrics and the recipe keys in which they differ.")
    p.add_argument("runs", nargs="+", metavar="RUN", help="run folders")
    p.add_argument("--out", default="report.html", help="the HTML file (default report.html)")
    p.set_defaults(handler="ganzoo.commands.report:report")

    p = sub.add_parser("compare", help="compare runs in the terminal: metrics, time, recipes",
                       description="A table of the runs' last logged values, newest and best "
                                   "evaluations, steps and time, and of the recipe keys in which "
                                   "they differ.")
    p.add_argument("runs", nargs="+", metavar="RUN", help="run folders")
    p.set_defaults(handler="ganzoo.commands.compare:compare")

    for p in sub.choices.values():
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show tracebacks for errors")
    return parser


if __name__ == "__main__":
    sys.exit(main())
