"""Training throughput: ganzoo's engine against a plain PyTorch DCGAN loop, same machine, one run.

    python bench/throughput.py [--data-root ../shared/data] [--device auto]
        [--cases cifar,mnist,celeba] [--steps 10] [--warmup 3] [--rounds 2]
        [--batch-sizes 64,128,256] [--speed-options]

For each case (DCGAN-32 on CIFAR-10, DCGAN-28 on MNIST, DCGAN-64 on CelebA) it alternates
ganzoo's Trainer.step and bench/reference_dcgan.py's loop, each for the same number of steps
after a warm-up, for several rounds, and reports the median images/s of each and their ratio at
batch 64 (the reference's), then ganzoo at larger batches. Images/s counts the real images one
step consumes (one batch: n_critic = 1 in both).

FLOP/s: the FLOPs of one training step of the same G and D (both D updates' forward and
backward passes, G's forward, the G update's backward through D and G) are counted once with
torch.utils.flop_counter.FlopCounterMode (2 FLOPs per multiply-add, convolutions and matrix
products only), then multiplied by the measured steps/s. On CUDA the share of the device's dense
bf16 peak is printed too.

With --recipes (e.g. sngan_cifar,biggan_cifar,stylegan2_cifar,r3gan_cifar), each recipe's own
training step (its game, networks, n_critic and regularizers as written) is timed too, at each
batch size, with its TFLOP/s and share of the bf16 peak, in fp32 and with all four speed options;
images/s there counts the real images a step consumes (batch x n_critic). --recipe-overrides
(comma-separated key=value, applied last) shrinks them, e.g. for a dry run on the CPU.

With --speed-options, each speed option of the recipe (bf16 autocast, channels_last, fused
Adam, torch.compile) is measured on its own and all together against the fp32 baseline, at the
first batch size, on whatever device runs the benchmark: torch implements all four on the CPU
as on CUDA. The variants are timed in alternating rounds, like the main table.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, add_common_args, device_name, pick, sync, versions  # noqa: E402
from reference_dcgan import ReferenceLoop  # noqa: E402

RECIPE = {"mnist": "dcgan_mnist.yaml", "cifar": "dcgan_cifar.yaml", "celeba": "dcgan_celeba.yaml"}
LABEL = {"mnist": "DCGAN-28 MNIST", "cifar": "DCGAN-32 CIFAR-10", "celeba": "DCGAN-64 CelebA"}
# Dense bf16 peak FLOP/s by device name (vendor data sheets, SXM parts).
BF16_PEAK = {"H100": 989e12, "H200": 989e12, "A100": 312e12}
SPEED_OPTIONS = {
    "fp32 baseline": [],
    "bf16": ["train.precision=bf16"],
    "channels_last": ["train.channels_last=true"],
    "fused_adam": ["train.fused_adam=true"],
    "compile": ["train.compile=true"],
    "all four": ["train.precision=bf16", "train.channels_last=true", "train.fused_adam=true",
                 "train.compile=true"],
}


def case_root(case: str, data_root: Path) -> Path | None:
    """Where the case's files are under data_root, or None."""
    if case == "mnist":
        return data_root if (data_root / "MNIST/raw/train-images-idx3-ubyte").is_file() else None
    if case == "cifar":
        for name in ("cifar-10-batches-py", "cifar-10-batches-py-subset"):
            if (data_root / "cifar10" / name / "data_batch_1").is_file():
                return data_root / "cifar10" / name
        return None
    return data_root / "celeba" if (data_root / "celeba/img_align_celeba").is_dir() else None


def ganzoo_trainer(case: str, root: Path, batch_size: int, device: torch.device,
                   extra: list[str], run_dir: Path, recipe_file: str | None = None):
    """A Trainer of the case's DCGAN recipe (or of ``recipe_file``) and a function doing one
    of its steps."""
    from ganzoo.components import build_components
    from ganzoo.engine.runs import RunFolder
    from ganzoo.engine.trainer import Trainer
    from ganzoo.plugins import load_registry
    from ganzoo.recipe import load_recipe, train_options

    data = [f"data.root={root}"]
    if case == "cifar":
        data.append(f"data.verify={str(root.name == 'cifar-10-batches-py').lower()}")
    recipe = load_recipe(REPO / "recipes" / (recipe_file or RECIPE[case]),
                         [*data, f"train.batch_size={batch_size}", f"train.device={device}",
                          f"train.run_dir={run_dir}", *extra])
    components = build_components(recipe, load_registry())
    trainer = Trainer(components, train_options(recipe), RunFolder.create(recipe, case,
                                                                          str(run_dir)), recipe)
    batches = components.dataset.batches(batch_size, trainer.device, 0)
    return trainer, (lambda: trainer.step(batches))


def recipe_case(recipe: str) -> str:
    """The data case ('cifar' or 'celeba') a recipe of the zoo trains on."""
    text = (REPO / "recipes" / f"{recipe}.yaml").read_text()
    for case, name in (("cifar", "name: cifar10"), ("celeba", "name: celeba")):
        if name in text:
            return case
    raise SystemExit(f"--recipes: {recipe} trains on neither CIFAR-10 nor CelebA")


def recipes_table(args: argparse.Namespace, sizes: list[int], device: torch.device,
                  peak: float | None, tmp: Path):
    """Each recipe's own step: images/s and TFLOP/s at each batch size, fp32 and all four
    speed options."""
    from omegaconf import OmegaConf
    from rich.table import Table

    table = Table(title=f"the zoo's recipes on {device_name(device)} (median of {args.rounds} "
                        f"rounds of {args.steps} steps after {args.warmup} warm-up; images/s: "
                        "real images consumed, batch x n_critic)", title_justify="left")
    for column in ("recipe", "batch", "fp32 img/s", "all four img/s", "speed-up",
                   "TFLOP/s all four" + (" (% bf16 peak)" if peak else "")):
        table.add_column(column, justify="left" if column == "recipe" else "right")
    shrink = [o for o in args.recipe_overrides.split(",") if o]
    for recipe in args.recipes.split(","):
        case = recipe_case(recipe)
        root = case_root(case, args.data_root)
        if root is None:
            table.add_row(recipe, "-", f"skipped: no {case} files under {args.data_root}",
                          "", "", "")
            continue
        n_critic = OmegaConf.load(REPO / "recipes" / f"{recipe}.yaml").train.get("n_critic", 1)
        for batch in sizes:
            rates = {}
            for variant in ("fp32 baseline", "all four"):
                torch._dynamo.reset()
                trainer, step = ganzoo_trainer(case, root, batch, device,
                                               [*SPEED_OPTIONS[variant], *shrink],
                                               tmp / f"{recipe}-{batch}-{len(rates)}",
                                               f"{recipe}.yaml")
                if variant == "all four":
                    flops = flops_per_image(step, batch * n_critic)
                rates[variant] = statistics.median(
                    images_per_second(step, args.steps, args.warmup, batch * n_critic, device)
                    for _ in range(args.rounds))
                del trainer
            fast = rates["all four"]
            tflops = fast * flops / 1e12
            shown = f"{tflops:.3f}" + (f" ({100 * tflops * 1e12 / peak:.1f}%)" if peak else "")
            table.add_row(recipe, str(batch), f"{rates['fp32 baseline']:,.0f}", f"{fast:,.0f}",
                          f"{fast / rates['fp32 baseline']:.2f}x", shown)
        table.add_section()
    return table


def images_per_second(step: Callable[[], object], steps: int, warmup: int, batch_size: int,
                      device: torch.device) -> float:
    for _ in range(warmup):
        step()
    sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync(device)
    return steps * batch_size / (time.perf_counter() - start)


def flops_per_image(step: Callable[[], object], batch_size: int) -> float:
    counter = FlopCount()
    with counter:
        step()
    return counter.total / batch_size


class FlopCount(TorchDispatchMode):
    """The FLOPs of every op torch's flop counter has a formula for (matmuls, convolutions,
    attention), summed. torch's FlopCounterMode counts the same ops, but its module tracking
    breaks autograd.grad, and so every step with R1, R2 or a path length penalty."""

    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        from torch.utils.flop_counter import flop_registry

        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        formula = flop_registry.get(func._overloadpacket)
        if formula is not None:
            self.total += formula(*args, **kwargs, out_val=out)
        return out


def peak_flops(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((peak for key, peak in BF16_PEAK.items() if key in name), None)


def speed_options(case: str, root: Path, batch_size: int, device: torch.device,
                  args: argparse.Namespace, run_dir: Path) -> dict[str, float]:
    """Median images/s of ganzoo with each SPEED_OPTIONS variant, timed in alternating rounds."""
    # Two compiled variants live side by side, each D called on real, detached and differently
    # typed batches: more graphs of one forward than torch.compile keeps by default (8), past
    # which it would quietly run eagerly. One training run compiles at most three.
    torch._dynamo.reset()
    config = torch._dynamo.config
    limit = "recompile_limit" if hasattr(config, "recompile_limit") else "cache_size_limit"
    setattr(config, limit, 64)  # the name before torch 2.7: cache_size_limit
    steps = {name: ganzoo_trainer(case, root, batch_size, device, extra, run_dir / str(i))[1]
             for i, (name, extra) in enumerate(SPEED_OPTIONS.items())}
    rates: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(args.rounds):
        for name, step in steps.items():
            rates[name].append(images_per_second(step, args.steps, args.warmup, batch_size,
                                                 device))
    return {name: statistics.median(r) for name, r in rates.items()}


def speed_options_table(results: list[tuple[str, dict[str, float]]], batch_size: int,
                        device: torch.device, args: argparse.Namespace):
    from rich.table import Table

    table = Table(title=f"speed options on {device_name(device)}, batch {batch_size} "
                        f"({args.rounds} alternating rounds of {args.steps} steps, median)",
                  title_justify="left")
    table.add_column("case")
    for name in SPEED_OPTIONS:
        table.add_column(name, justify="right")
    for case, rates in results:
        base = rates["fp32 baseline"]
        table.add_row(LABEL[case], *(f"{rate:,.0f} img/s" if name == "fp32 baseline" else
                                     f"{rate:,.0f} ({rate / base:.2f}x)"
                                     for name, rate in rates.items()))
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser)
    parser.add_argument("--cases", default="cifar,mnist,celeba")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per round")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per side")
    parser.add_argument("--batch-sizes", default="64,128,256", help="for ganzoo; 64 first")
    parser.add_argument("--speed-options", action="store_true",
                        help="also measure each speed option on its own and all together")
    parser.add_argument("--recipes", default="", help="recipes whose own steps to time too, "
                        "e.g. sngan_cifar,biggan_cifar (comma-separated)")
    parser.add_argument("--recipe-batch-sizes", default="",
                        help="batch sizes for --recipes (default: --batch-sizes)")
    parser.add_argument("--recipe-overrides", default="",
                        help="key=value overrides for --recipes, comma-separated")
    args = parser.parse_args()
    device = pick(args.device)
    sizes = [int(b) for b in args.batch_sizes.split(",")]

    from rich.console import Console
    from rich.table import Table

    console = Console(width=130)  # the table is wider than a default 80-column pipe
    peak = peak_flops(device)
    table = Table(title=f"training throughput on {device_name(device)} ({args.rounds} rounds of "
                        f"{args.steps} steps after {args.warmup} warm-up, median)",
                  title_justify="left")
    for column in ("case", "batch", "ganzoo img/s", "reference img/s (batch 64)", "ratio",
                   "ganzoo TFLOP/s" + (" (% bf16 peak)" if peak else "")):
        table.add_column(column, justify="left" if column == "case" else "right")
    tmp = Path(tempfile.mkdtemp(prefix="ganzoo-bench-"))
    options_table: list[tuple[str, dict[str, float]]] = []
    for case in filter(None, args.cases.split(",")):
        root = case_root(case, args.data_root)
        if root is None:
            console.print(f"skipping {case}: its files are not under {args.data_root}")
            continue
        reference = ReferenceLoop(case, root, 64, device)
        ours: dict[int, float] = {}
        flops: float = 0.0
        for batch in sizes:
            trainer, step = ganzoo_trainer(case, root, batch, device, [], tmp / f"{case}{batch}")
            if not flops:
                flops = flops_per_image(step, batch)
            rates, reference_rates = [], []
            for _ in range(args.rounds if batch == sizes[0] else 1):
                rates.append(images_per_second(step, args.steps, args.warmup, batch, device))
                if batch == sizes[0]:
                    reference_rates.append(images_per_second(reference.step, args.steps,
                                                             args.warmup, 64, device))
            ours[batch] = statistics.median(rates)
            if reference_rates:
                reference_rate = statistics.median(reference_rates)
            del trainer
        for batch, rate in ours.items():
            tflops = rate * flops / 1e12
            shown = f"{tflops:.3f}" + (f" ({100 * tflops * 1e12 / peak:.1f}%)" if peak else "")
            best = " (best)" if rate == max(ours.values()) and len(ours) > 1 else ""
            table.add_row(LABEL[case], f"{batch}{best}", f"{rate:,.0f}", f"{reference_rate:,.0f}",
                          f"{rate / reference_rate:.2f}x", shown)
        table.add_section()
        if args.speed_options:
            options_table.append((case, speed_options(case, root, sizes[0], device, args,
                                                      tmp / f"{case}-options")))
    if args.cases:
        console.print(table)
    if options_table:
        console.print(speed_options_table(options_table, sizes[0], device, args))
    if args.recipes:
        recipe_sizes = [int(b) for b in (args.recipe_batch_sizes or args.batch_sizes).split(",")]
        console.print(recipes_table(args, recipe_sizes, device, peak, tmp))
    console.print(f"FLOPs per image (one training step, counted): see the method in this "
                  f"script's docstring. {versions()}")


if __name__ == "__main__":
    main()
