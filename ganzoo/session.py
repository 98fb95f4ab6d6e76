"""A training session: build what the recipe names, open (or reopen) its run folder, train
with progress, evaluate, draw the pictures and summarise. ``ganzoo run`` / ``resume`` and
``ganzoo.train`` both go through ``run_recipe``.

Under torchrun every rank runs this; rank 0 alone creates the run folder and prints.
"""

from __future__ import annotations

import contextlib
import signal
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ganzoo.components import build_components
from ganzoo.engine import distributed, finetune
from ganzoo.engine.runs import RunFolder
from ganzoo.engine.runtime import stop_on_signals
from ganzoo.engine.trainer import Trainer, TrainResult
from ganzoo.errors import GanzooError
from ganzoo.progress import wants_bar
from ganzoo.recipe import describe, flatten, train_options
from ganzoo.registry import Registry

#: what a resumed run may change: when and where it writes, how long it goes, the device and
#: speed options, evaluation, the EMA's decay and schedule, and (for each optimizer section of
#: the game) the learning rates and the schedules of lr and beta2, applied from the next step.
#: Anything else would make the checkpoint continue a different run.
RESUMABLE = ("train.steps", "train.log_every", "train.sample_every", "train.num_samples",
             "train.checkpoint_every", "train.keep_checkpoints", "train.tensorboard",
             "train.device", "train.precision", "train.channels_last", "train.fused_adam",
             "train.compile", "train.run_dir", "train.ema_decay", "train.ema_schedule",
             "train.lr_g", "train.lr_d", "eval.")


def check_resume_changes(saved: DictConfig, new: DictConfig,
                         registry: Registry | None = None) -> None:
    """Refuse, in one line, an override that a resumed run could not honour."""
    from ganzoo.plugins import load_registry
    from ganzoo.recipe import game_sections

    optimizers = game_sections(saved.game.name, registry or load_registry()).optimizers
    resumable = RESUMABLE + tuple(f"{key}.{option}" for key in optimizers
                                  for option in ("lr", "schedule", "beta2_schedule"))
    before, after = flatten(OmegaConf.to_container(saved)), flatten(OmegaConf.to_container(new))
    for key in sorted(set(before) | set(after)):
        if before.get(key) != after.get(key) and not key.startswith(resumable):
            raise GanzooError(
                f"{key}: cannot change when resuming (it was {before.get(key)!r}, now "
                f"{after.get(key)!r}); resume without it, or start a new run with "
                "'ganzoo run' and a new train.run_dir")


def run_recipe(recipe: DictConfig, registry: Registry, name: str, console: Console,
               resume_dir: str | Path | None = None) -> TrainResult | None:
    """Train as the recipe says; with ``resume_dir``, continue that run from its newest good
    checkpoint. Returns the result on rank 0 (None on other ranks)."""
    options = train_options(recipe)
    dist = distributed.setup(options.device)
    run = None
    try:
        components = build_components(recipe, registry)
        start = finetune.prepare(components, options.init_from, options.freeze_d,
                                 resuming=resume_dir is not None)
        evaluator, every = make_evaluator(recipe, registry)
        run = open_run_folder(recipe, name, options.run_dir, resume_dir, dist)
        trainer = Trainer(components, options, run, recipe, dist, evaluator, every,
                          best=recipe.eval.best, start=start)
        say = console.print if dist.is_main else (lambda *a, **k: None)
        from rich.markup import escape  # paths and messages may hold [brackets]
        if resume_dir is not None:
            state, path, problems = trainer.checkpoints.latest_good()
            for problem in problems:
                say(f"[yellow]warning:[/] {escape(problem)} Falling back to an older checkpoint.")
            trainer.load_state_dict(state, where=str(path))
            if dist.is_main:
                run.truncate_metrics(trainer.step_done)
            say(f"resuming {escape(str(run.path))} from {path.name} (step {trainer.step_done})")
        say(f"[bold]ganzoo[/] {name}: {describe(recipe)} on {trainer.device}"
            + (f" x {dist.world_size} processes" if dist.enabled else ""))
        say(f"  data: {escape(components.dataset.description)}")
        for warning in components.dataset.warnings:
            say(f"  [yellow]warning:[/] {escape(warning)}")
        for note in trainer.notes:
            say(f"  [yellow]note:[/] {escape(note)}")
        say(f"  run folder: {escape(str(run.path))}")
        if trainer.step_done >= options.steps:
            say(f"nothing to do: the run is at step {trainer.step_done} of {options.steps}; "
                "raise train.steps to continue it")
            return None
        warned = list(components.dataset.warnings)
        with stop_on_signals(trainer), writes_to(run.path):
            result = train_with_progress(trainer, options.steps,
                                         console if dist.is_main else None)
        if result.stopped_by:
            say(f"[yellow]stopped by {signal.Signals(result.stopped_by).name} at step "
                f"{result.steps}[/]: checkpoint {escape(result.checkpoint)} written. Continue "
                f"with: ganzoo resume {escape(str(run.path))}")
        for warning in components.dataset.warnings:  # a streamed dataset finds bad files late
            if warning not in warned:
                say(f"[yellow]warning:[/] {escape(warning)}")
        if dist.is_main:
            from ganzoo.plots import plot_run
            from ganzoo.report import NotAReport, write_report
            from ganzoo.run import Run

            plot_run(run)
            try:
                write_report([Run(run.path)], run.path / "report.html")
            except NotAReport as exc:  # the run is whole: only its report is not written
                say(f"[yellow]warning:[/] {escape(str(exc.path))} is not a report ganzoo "
                    "wrote: it is left as it is, and the run's report is not written; move "
                    "it away, then: ganzoo report "
                    f"{escape(str(run.path))} --out {escape(str(exc.path))}")
            console.print(summary_table(result, run, dist))
            return result
        return None
    finally:
        if run is not None:
            run.unlock()
        distributed.teardown(dist)


@contextlib.contextmanager
def writes_to(run_dir: Path):
    """A write into the run folder that fails (made read-only, a full disk) ends the run in one
    line; a checkpoint is written whole or not at all, so the earlier ones stay usable."""
    from ganzoo.files import CheckpointWriteError, write_failure

    try:
        yield
    except CheckpointWriteError:
        raise
    except OSError as exc:
        where = f" '{exc.filename}'" if getattr(exc, "filename", None) else ""
        raise GanzooError(f"run folder '{run_dir}': a write{where} failed "
                          f"({write_failure(exc, run_dir)}); the checkpoints written before it "
                          f"are kept: make the folder writable or free space, then: ganzoo "
                          f"resume {run_dir}") from None


def resume_run(run_dir: str | Path, overrides: list[str] | tuple[str, ...], registry: Registry,
               console: Console) -> TrainResult | None:
    """Continue the run in ``run_dir`` from its newest good checkpoint (``ganzoo resume``);
    ``overrides`` may change what does not alter the trained networks (train.steps)."""
    from ganzoo.recipe import load_recipe

    run_dir = Path(run_dir)
    if not (run_dir / "recipe.yaml").is_file():
        raise GanzooError(f"'{run_dir}' is not a ganzoo run folder (no recipe.yaml in it).")
    recipe = load_recipe(run_dir / "recipe.yaml", [*overrides, f"train.run_dir={run_dir}"],
                         registry)
    train_options(recipe)
    check_resume_changes(load_recipe(run_dir / "recipe.yaml", registry=registry), recipe, registry)
    return run_recipe(recipe, registry, name=run_dir.name, console=console, resume_dir=run_dir)


def open_run_folder(recipe: DictConfig, name: str, run_dir: str | None,
                    resume_dir: str | Path | None, dist: distributed.Dist) -> RunFolder:
    """Rank 0 creates (or, to resume, opens) the run folder and locks it; the other ranks get
    its path, or the same one-line error."""
    run, path, error = None, None, None
    if dist.is_main:
        try:
            if resume_dir is not None:
                run = RunFolder(resume_dir)
                run.lock()
            else:
                run = RunFolder.create(recipe, name, run_dir)
            path = run.path
        except GanzooError as exc:
            error = str(exc)
    path, error = distributed.broadcast((path, error), dist)
    if error is not None:
        raise GanzooError(error)
    return run if run is not None else RunFolder(path)


def make_evaluator(recipe: DictConfig, registry: Registry):
    """(evaluate(G, step), every) for evaluation during training, or (None, 0) when it is off."""
    import dataclasses

    from ganzoo.evaluation import build_metrics, evaluate, extractor_spec, reference_dataset
    from ganzoo.recipe import eval_options

    options = eval_options(recipe)
    build_metrics(list(options.metrics), registry)  # a wrong name is said before training
    try:
        registry.get("feature_extractor", extractor_spec(options)["name"])
    except GanzooError as exc:
        raise GanzooError(f"eval.extractor: {exc}") from None
    if not options.every:
        return None, 0

    reference, note, reference_options = reference_dataset(recipe, registry, options.ref)
    small = dataclasses.replace(options, n=options.n_during_training)

    def evaluator(G, step):
        return evaluate(G, reference, small, registry, dataset_name=recipe.data.name,
                        split_note=note, reference_options=reference_options,
                        extra={"step": step})

    return evaluator, options.every


#: where output is not a terminal (a file, a batch scheduler's log): a plain progress line at
#: the first log step, then at the first log step after each this many seconds
PLAIN_PROGRESS_EVERY = 30.0


def train_with_progress(trainer: Trainer, total: int, console: Console | None) -> TrainResult:
    """Train with progress: a rich bar with a time estimate in a terminal, plain timestamped
    lines otherwise (a bar redrawn into a file shows nothing until the run ends)."""
    if console is None:
        return trainer.fit()
    if not wants_bar(console):  # a file, a scheduler's log, a notebook without ipywidgets
        return trainer.fit(on_log=PlainProgress(console, total, trainer.step_done))
    progress = Progress(
        TextColumn("[bold]train"), BarColumn(bar_width=12), MofNCompleteColumn(),
        TimeRemainingColumn(compact=True),
        TextColumn("{task.fields[stats]}"), console=console, transient=False,
    )
    with progress:
        task = progress.add_task("train", total=total, completed=trainer.step_done, stats="")

        def on_log(record: dict[str, Any]) -> None:
            progress.update(task, completed=record["step"], stats=format_stats(record))

        return trainer.fit(on_log=on_log)


class PlainProgress:
    """Progress as plain lines, e.g. ``14:02:11 step 850/3,000 (28%), 35 s elapsed, about 89 s
    left: D 1.109 G 11.814 ... 101 img/s``: one at the first log step, then one at the first log
    step after every ``every`` seconds, and one at the last step."""

    def __init__(self, console: Console, total: int, start: int,
                 every: float = PLAIN_PROGRESS_EVERY):
        import time

        self.console, self.total, self.start, self.every = console, total, start, every
        self.began, self.last = time.monotonic(), None
        self.clock = time

    def __call__(self, record: dict[str, Any]) -> None:
        now, step = self.clock.monotonic(), int(record["step"])
        if self.last is not None and now - self.last < self.every and step < self.total:
            return
        self.last = now
        elapsed = now - self.began
        left = elapsed * (self.total - step) / max(step - self.start, 1)
        self.console.print(
            f"{self.clock.strftime('%H:%M:%S')} step {step:,}/{self.total:,} "
            f"({step / self.total:.0%}), {elapsed:.0f} s elapsed, about {left:.0f} s left: "
            f"{format_stats(record)}", markup=False, highlight=False, soft_wrap=True)


#: how the progress line names the usual statistics; any other logged value shows by its name
LABELS = {"d_loss": "D", "g_loss": "G", "d_real": "D(x)", "d_fake": "D(G(z))",
          "score_real": "D(x) score", "score_fake": "D(G(z)) score"}


def format_stats(record: dict[str, Any]) -> str:
    """The progress line: the losses and D's outputs first, then every other logged value."""
    shown = [name for name in LABELS if name in record]
    shown += [name for name in record if name not in LABELS
              and name not in ("step", "images_per_s", "elapsed_s")]
    parts = [f"{LABELS.get(name, name)} {format_number(record[name])}" for name in shown]
    return " ".join([*parts, f"{record['images_per_s']:.0f} img/s"])


def format_number(value: Any) -> str:
    if not isinstance(value, float):
        return str(value)
    return f"{value:.3f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"


def summary_table(result: TrainResult, run: RunFolder, dist: distributed.Dist) -> Table:
    done = result.steps - result.started_at
    title = f"done: {done:,} steps in {result.seconds:.1f} s" + (
        f" (resumed at step {result.started_at:,}; the run is at step {result.steps:,})"
        if result.started_at else "")
    table = Table(title=title,
                  title_justify="left", show_header=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    if result.last:
        table.add_row("last losses", format_stats(result.last))
    table.add_row("samples", result.samples)
    table.add_row("metrics", str(run.metrics_path))
    table.add_row("checkpoint", result.checkpoint)
    table.add_row("pictures", f"{run.path / 'timeline.png'}, timeline.gif, losses.png, "
                              "discriminator.png")
    table.add_row("report", str(run.path / "report.html"))
    if dist.enabled:
        table.add_row("ranks", f"{dist.world_size} processes; parameters identical across ranks: "
                               f"{'yes' if result.ranks_agree else 'NO'}")
    return table
