"""Where ganzoo writes for people: the consoles, one-line warnings and notes, wide tables.

The library (training sessions, the Python API) and the commands share them."""

from __future__ import annotations

from rich.console import Console, RenderableType

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True, highlight=False)


def escape(text: str) -> str:
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def warn(message: str) -> None:
    err_console.print(f"[yellow]warning:[/] {escape(message)}")


def note(message: str) -> None:
    console.print(f"[yellow]note:[/] {escape(message)}")


def print_wide(renderable: RenderableType) -> None:
    """Print at the renderable's natural width, even past a narrow terminal's, uncut."""
    from rich.measure import Measurement

    width = Measurement.get(console, console.options.update_width(10_000), renderable).maximum
    wide = Console(width=max(console.width, width), file=console.file, soft_wrap=True)
    wide.print(renderable)
