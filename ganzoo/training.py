"""Running a recipe from the command line: build, train with a progress bar, summarise."""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ganzoo.engine import Trainer, TrainResult, build_components
from ganzoo.recipe import TrainOptions
from ganzoo.registry import Registry
from ganzoo.runs import RunFolder


def run_recipe(recipe: DictConfig, options: TrainOptions, registry: Registry, name: str,
               console: Console) -> TrainResult:
    components = build_components(recipe, registry)
    run = RunFolder.create(recipe, name=name, run_dir=options.run_dir)
    trainer = Trainer(components, options, run, recipe)
    console.print(f"[bold]ganzoo[/] {name}: G={recipe.generator.name} D={recipe.discriminator.name}"
                  f" loss={recipe.loss.name} data={recipe.data.name} on {trainer.device}")
    console.print(f"  data: {components.dataset.description}")
    for warning in components.dataset.warnings:
        console.print(f"  [yellow]warning:[/] {warning}")
    console.print(f"  run folder: {run.path}")

    progress = Progress(
        TextColumn("[bold]train"), BarColumn(bar_width=12), MofNCompleteColumn(),
        TimeRemainingColumn(compact=True),
        TextColumn("{task.fields[stats]}"), console=console, transient=False,
    )
    with progress:
        task = progress.add_task("train", total=options.steps, stats="")

        def on_log(record: dict[str, Any]) -> None:
            progress.update(task, completed=record["step"], stats=format_stats(record))

        result = trainer.fit(on_log=on_log)
    console.print(summary_table(result, run))
    return result


def format_stats(record: dict[str, Any]) -> str:
    return (f"D {record['d_loss']:.3f} G {record['g_loss']:.3f} "
            f"D(x) {record['d_real']:.2f} D(G(z)) {record['d_fake']:.2f} "
            f"{record['images_per_s']:.0f} img/s")


def summary_table(result: TrainResult, run: RunFolder) -> Table:
    table = Table(title=f"done: {result.steps} steps in {result.seconds:.1f} s",
                  title_justify="left", show_header=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    if result.last:
        table.add_row("last losses", format_stats(result.last))
    table.add_row("samples", result.samples)
    table.add_row("metrics", str(run.metrics_path))
    table.add_row("checkpoint", result.checkpoint)
    return table
