"""Progress of long work other than training (evaluation, sampling): a rich bar with a time
estimate in a terminal (and in Jupyter where ipywidgets is installed), plain timestamped lines
every ``every`` seconds anywhere else (a file, a batch scheduler, a notebook without widgets),
and nothing without a console.

    with Tracker(console) as progress:
        advance = progress.task("generated", total=10_000)
        for batch in ...:
            advance(len(batch))
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

#: seconds between plain progress lines
PLAIN_EVERY = 20.0


def wants_bar(console: Console) -> bool:
    """Whether a live bar shows where ``console`` writes: a terminal, or Jupyter with the
    ipywidgets that rich draws its bar with there."""
    if console.is_jupyter:
        return importlib.util.find_spec("ipywidgets") is not None
    return console.is_terminal


class Tracker:
    """One or more counted tasks (``task(name, total)`` returns the function that advances
    it), shown as the console allows."""

    def __init__(self, console: Console | None, every: float = PLAIN_EVERY):
        self.console, self.every = console, every
        self.bar: Progress | None = None
        if console is not None and wants_bar(console):
            self.bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(bar_width=20),
                                MofNCompleteColumn(), TimeRemainingColumn(compact=True),
                                console=console, transient=False)

    def __enter__(self) -> Tracker:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.stop()

    def task(self, name: str, total: int) -> Callable[[int], None]:
        if self.console is None:
            return lambda n=1: None
        if self.bar is not None:
            task = self.bar.add_task(name, total=total)
            return lambda n=1: self.bar.advance(task, n)
        return PlainCount(self.console, name, total, self.every)


class PlainCount:
    """``14:02:11 generated 2,000/10,000 (20%), 35 s elapsed, about 140 s left``: at the first
    advance, then at the first after every ``every`` seconds, and when the count is reached."""

    def __init__(self, console: Console, name: str, total: int, every: float):
        self.console, self.name, self.total, self.every = console, name, total, every
        self.done, self.began, self.last = 0, time.monotonic(), None

    def __call__(self, n: int = 1) -> None:
        was, self.done = self.done, min(self.done + n, self.total)
        now = time.monotonic()
        finished = self.done >= self.total > was
        if not finished and self.last is not None and now - self.last < self.every:
            return
        self.last = now
        elapsed = now - self.began
        left = elapsed * (self.total - self.done) / max(self.done, 1)
        self.console.print(f"{time.strftime('%H:%M:%S')} {self.name} {self.done:,}/"
                           f"{self.total:,} ({self.done / max(self.total, 1):.0%}), "
                           f"{elapsed:.0f} s elapsed, about {left:.0f} s left",
                           markup=False, highlight=False, soft_wrap=True)
