"""``ganzoo list``: every registered component (or plugin), with where it comes from."""

from __future__ import annotations

import argparse

from rich.table import Table

from ganzoo.commands.common import console, escape, load_registry_with_warnings
from ganzoo.kinds import KINDS
from ganzoo.registry import Component, Registry


def list_components(args: argparse.Namespace) -> int:
    registry = load_registry_with_warnings()
    if args.what == "plugins":
        console.print(plugins_table(registry))
        return 0
    kinds = [k for k in KINDS.values() if args.what in (None, k.plural)]
    table = Table(title="ganzoo components", title_justify="left")
    for column in ("name", "kind", "plugin/package"):
        table.add_column(column, no_wrap=True)
    table.add_column("summary", overflow="fold")
    shadowed = registry.shadowed()
    hidden = {id(c) for c, _ in shadowed}
    for kind in kinds:
        for c in registry.all(kind.name):
            if id(c) not in hidden:
                table.add_row(c.name, c.kind, origin(c.plugin, c.package, c.builtin), summary(c))
        for c, owner in shadowed:
            if c.kind == kind.name:
                table.add_row(f"{c.plugin}:{c.name}", c.kind,
                              origin(c.plugin, c.package, c.builtin),
                              f"[yellow]({conflict_note(owner)})[/] {escape(c.summary)}")
        table.add_section()
    for plugin in registry.broken:
        table.add_row("-", "[red]broken[/]", origin(plugin.name, plugin.package, plugin.builtin),
                      escape(plugin.error))
    console.print(table)
    return 0


def summary(c: Component) -> str:
    """The component's one line; a game's also names its roles (the recipe's sections)."""
    if not c.roles:
        return escape(c.summary)
    roles = ", ".join(f"{name} ({role.kind})" for name, role in c.roles.items())
    return f"{escape(c.summary)} [dim]roles: {escape(roles)}[/]"


def conflict_note(owner: Component | None) -> str:
    """Why a component is reached only as plugin:name."""
    if owner is None:
        return "name shared by several plugins"
    return f"plain name taken by the built-in {owner.plugin!r}"


def origin(plugin: str, package: str, builtin: bool) -> str:
    """'mlp' for a built-in, 'rasgan/ganzoo-relativistic' for a third party (one whose
    distribution is called 'ganzoo' too)."""
    return plugin if builtin else f"{plugin}/{package}"


def plugins_table(registry: Registry) -> Table:
    table = Table(title="ganzoo plugins", title_justify="left")
    for column in ("plugin", "package", "state", "components / error"):
        table.add_column(column, overflow="fold")
    shadowed = registry.shadowed()
    hidden = {id(c) for c, _ in shadowed}
    for p in registry.plugins:
        names = [f"{c.kind} {c.name}" for kind in KINDS for c in registry.all(kind)
                 if c.plugin == p.name and id(c) not in hidden]
        names += [f"{c.kind} {c.plugin}:{c.name} ({conflict_note(owner)})"
                  for c, owner in shadowed if c.plugin == p.name]
        state = {"ok": "[green]ok[/]", "broken": "[red]broken[/]"}.get(p.state, p.state)
        table.add_row(p.name, p.package, state, escape(p.error) if p.error else ", ".join(names))
    return table
