"""What every command shares: the consoles, one-line warnings, loading the registry (all of
them the library's own, in ``ganzoo.console`` and ``ganzoo.plugins``)."""

from __future__ import annotations

from ganzoo.console import console, err_console, escape, note, print_wide, warn
from ganzoo.plugins import load_registry_with_warnings

__all__ = ["console", "err_console", "escape", "load_registry_with_warnings", "note",
           "print_wide", "warn"]
