"""What every command shares: the consoles, one-line warnings, loading the registry."""

from __future__ import annotations

from rich.console import Console, RenderableType

from ganzoo.registry import Registry

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True, highlight=False)


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


def print_wide(renderable: RenderableType) -> None:
    """Print at the renderable's natural width, even past a narrow terminal's, uncut."""
    from rich.measure import Measurement

    width = Measurement.get(console, console.options.update_width(10_000), renderable).maximum
    wide = Console(width=max(console.width, width), file=console.file, soft_wrap=True)
    wide.print(renderable)
