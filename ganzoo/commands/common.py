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
        warn(f"plugin {plugin.name!r} ({plugin.package}) is broken and was skipped: "
             f"{plugin.error}")
    for component, owner in registry.shadowed():
        qualified = f"{component.plugin}:{component.name}"
        if owner is not None:
            warn(f"plugin {component.plugin!r} registers {component.kind} {component.name!r}, "
                 f"which the built-in plugin {owner.plugin!r} has: recipes get the built-in; "
                 f"write {qualified!r} for the plugin's")
        else:
            warn(f"{component.kind} {component.name!r} is registered by several plugins: "
                 f"write {qualified!r} (or another plugin's) to choose")
    for name in registry.unknown_disabled:
        warn(f"GANZOO_DISABLE_PLUGINS names {name!r}, which is no plugin or package; see "
             "'ganzoo list plugins'")
    return registry


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
