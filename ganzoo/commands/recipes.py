"""``ganzoo recipes``: the recipes the plugins ship, and ``ganzoo recipes show NAME``."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from omegaconf import OmegaConf
from rich.table import Table

from ganzoo.commands.common import console, escape, load_registry_with_warnings
from ganzoo.commands.listing import origin
from ganzoo.errors import GanzooError
from ganzoo.recipe import find_recipe, shipped_recipes

SUMMARY_CHARS = 110


def list_recipes(args: argparse.Namespace) -> int:
    registry = load_registry_with_warnings()
    if args.action == "show":
        if not args.name:
            raise GanzooError("ganzoo recipes show: name the recipe to print, for example "
                              "'ganzoo recipes show quickstart'")
        print(find_recipe(args.name, registry).read_text(encoding="utf-8"), end="")
        return 0
    if args.name:
        raise GanzooError(f"ganzoo recipes: unexpected {args.name!r}; to print one, write "
                          f"'ganzoo recipes show {args.name}'")
    owners = {folder: plugin for plugin, folder in registry.recipe_folders}
    plugins = {p.name: p for p in registry.plugins}
    table = Table(title="shipped recipes: ganzoo run NAME (ganzoo recipes show NAME to copy one)",
                  title_justify="left")
    table.add_column("name", no_wrap=True)
    table.add_column("summary", overflow="fold", ratio=3)
    table.add_column("data it needs", overflow="fold", ratio=1)
    for name, path in shipped_recipes(registry).items():
        plugin = plugins[owners[path.parent]]
        shipper = ("" if plugin.builtin else
                   f" [dim]({origin(plugin.name, plugin.package, plugin.builtin)})[/]")
        table.add_row(name + shipper, escape(summary_of(path)), escape(data_needed(path)))
    console.print(table)
    return 0


def summary_of(path: Path) -> str:
    """The first sentence of the recipe's leading comment, cut to one line."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("#").strip())
    text = " ".join(lines)
    sentence = re.split(r"(?<=[a-z0-9)][.!?])\s", text, maxsplit=1)[0]
    return sentence if len(sentence) <= SUMMARY_CHARS else sentence[:SUMMARY_CHARS - 1] + "…"


def data_needed(path: Path) -> str:
    """'celeba (data.root)' for files the user must have, or the generated data's name."""
    try:
        data = OmegaConf.to_container(OmegaConf.load(path).get("data", {}), resolve=False)
    except Exception:  # a damaged third-party recipe: list it, loading it will say what is wrong
        return "?"
    if not isinstance(data, dict):
        return "?"
    names = []
    while isinstance(data, dict):
        names.append(str(data.get("name", "?")))
        if "root" in data:
            return f"{' over '.join(names)} (data.root)"
        data = data.get("base")
    return f"{' over '.join(names)} (generated, no files)"
