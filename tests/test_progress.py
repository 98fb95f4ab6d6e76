"""Progress wherever a run goes: plain timestamped lines where output is not a terminal."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from ganzoo.cli import main
from ganzoo.session import PlainProgress

RECIPES = Path(__file__).resolve().parent.parent / "recipes"


class Clock:
    def __init__(self):
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    @staticmethod
    def strftime(fmt: str) -> str:
        return "12:00:00"


def record(step: int) -> dict:
    return {"step": step, "d_loss": 1.0, "g_loss": 2.0, "images_per_s": 100.0}


def test_plain_lines_come_at_the_first_log_then_every_30_seconds_and_at_the_end():
    out = io.StringIO()
    progress = PlainProgress(Console(file=out, width=200), total=1000, start=0)
    progress.clock = clock = Clock()
    progress.began = 0.0
    for step, at in ((100, 5.0), (200, 20.0), (300, 36.0), (400, 50.0), (1000, 55.0)):
        clock.now = at
        progress(record(step))
    lines = out.getvalue().splitlines()
    assert [line.split()[2] for line in lines] == ["100/1,000", "300/1,000", "1,000/1,000"]
    assert lines[0] == ("12:00:00 step 100/1,000 (10%), 5 s elapsed, about 45 s left: D 1.000 "
                        "G 2.000 100 img/s")


def test_a_run_whose_output_is_not_a_terminal_prints_progress_lines(tmp_path, capsys):
    assert main(["run", str(RECIPES / "quickstart.yaml"), "train.steps=100", "train.log_every=50",
                 "train.device=cpu", f"train.run_dir={tmp_path / 'run'}"]) == 0
    out = capsys.readouterr().out
    assert " step 50/100 (50%), " in out and " step 100/100 (100%), " in out
    assert "about" in out and "s left: D " in out


def test_counted_work_shows_plain_lines_every_few_seconds_and_at_the_end(monkeypatch):
    from ganzoo import progress

    clock = Clock()
    monkeypatch.setattr(progress.time, "monotonic", clock.monotonic)
    monkeypatch.setattr(progress.time, "strftime", Clock.strftime)
    out = io.StringIO()
    with progress.Tracker(Console(file=out, width=200), every=20) as tracker:
        advance = tracker.task("eval: sampled", total=1000)
        for at in (1.0, 10.0, 22.0, 30.0, 35.0):
            clock.now = at
            advance(200)
    lines = out.getvalue().splitlines()
    assert [line.split()[3] for line in lines] == ["200/1,000", "600/1,000", "1,000/1,000"]
    assert lines[1] == "12:00:00 eval: sampled 600/1,000 (60%), 22 s elapsed, about 15 s left"


def test_a_bar_in_a_terminal_and_in_jupyter_only_with_ipywidgets(monkeypatch):
    import importlib.util

    from ganzoo.progress import wants_bar

    assert wants_bar(Console(file=io.StringIO(), force_terminal=True))
    assert not wants_bar(Console(file=io.StringIO()))
    notebook = Console(file=io.StringIO(), force_jupyter=True)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    assert not wants_bar(notebook)  # no widgets: plain lines, never an empty cell
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: object())
    assert wants_bar(notebook)
