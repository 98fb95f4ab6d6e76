"""The recipes ganzoo ships: the papers' set-ups, one YAML file each, found by name
(``ganzoo run quickstart``) through the same hook a third-party plugin ships its recipes by."""

from __future__ import annotations

from pathlib import Path

from ganzoo import hookimpl


@hookimpl
def ganzoo_recipe_folders() -> list[Path]:
    return [Path(__file__).parent]
