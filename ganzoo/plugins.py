"""Loading plugins: the built-ins first, then the ``ganzoo`` entry-point group.

Built-ins and third parties go through the same hooks. A plugin that fails to import, implements
a hook that does not exist, or registers something invalid is reported as broken and skipped; it
never stops the other plugins.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterable, Mapping
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pluggy

from ganzoo import hookspecs
from ganzoo.registry import KINDS, Component, PluginStatus, Register, Registry

ENTRY_POINT_GROUP = "ganzoo"
DISABLE_ENV = "GANZOO_DISABLE_PLUGINS"

#: Built-in plugin modules, registered exactly like third-party ones.
BUILTIN_PLUGINS: tuple[str, ...] = (
    "ganzoo_builtins.games",
    "ganzoo_builtins.mlp",
    "ganzoo_builtins.dcgan",
    "ganzoo_builtins.resnet",
    "ganzoo_builtins.pacgan",
    "ganzoo_builtins.biggan",
    "ganzoo_builtins.stylegan2",
    "ganzoo_builtins.r3gan",
    "ganzoo_builtins.losses",
    "ganzoo_builtins.gaussian_mixture",
    "ganzoo_builtins.mnist",
    "ganzoo_builtins.stacked_mnist",
    "ganzoo_builtins.cifar10",
    "ganzoo_builtins.celeba",
    "ganzoo_builtins.image_folder",
    "ganzoo_builtins.pairs",
    "ganzoo_builtins.pix2pix",
    "ganzoo_builtins.cyclegan",
    "ganzoo_builtins.superres",
    "ganzoo_builtins.infogan",
    "ganzoo_builtins.began",
    "ganzoo_builtins.text2image",
    "ganzoo_builtins.inception",
    "ganzoo_builtins.augment",
    "ganzoo_builtins.regularizers",
    "ganzoo_builtins.optimizers",
    "ganzoo_builtins.schedules",
    "ganzoo_builtins.loggers",
    "ganzoo_builtins.metrics",
    "ganzoo_builtins.recipes",
)


def get_plugin_manager() -> pluggy.PluginManager:
    """A fresh plugin manager that knows ganzoo's hooks and holds no plugins yet."""
    pm = pluggy.PluginManager("ganzoo")
    pm.add_hookspecs(hookspecs)
    return pm


def disabled_plugins() -> set[str]:
    """Plugin or package names listed, comma-separated, in GANZOO_DISABLE_PLUGINS."""
    return {n.strip() for n in os.environ.get(DISABLE_ENV, "").split(",") if n.strip()}


def load_registry(extra_plugins: Mapping[str, Any] | None = None) -> Registry:
    """Load every plugin into a fresh registry.

    ``extra_plugins`` (name -> module or object) are registered after the entry points;
    tests use it to add fake plugins in-process.
    """
    pm = get_plugin_manager()
    registry = Registry()
    candidates: list[tuple[str, str, Callable[[], Any], bool]] = [
        (module.rsplit(".", 1)[-1], "ganzoo", _importer(module), True)
        for module in BUILTIN_PLUGINS
    ]
    candidates += [(ep.name, _package_of(ep), ep.load, False) for ep in _entry_points()]
    candidates += [
        (name, "(in-process)", _given(obj), False) for name, obj in (extra_plugins or {}).items()
    ]

    off = disabled_plugins()
    seen = {c[0] for c in candidates} | {c[1] for c in candidates}
    registry.unknown_disabled = sorted(off - seen)
    for name, package, load, builtin in candidates:
        if name in off or package in off:
            registry.plugins.append(PluginStatus(name, package, "disabled", builtin=builtin))
            continue
        registry.plugins.append(_load_one(pm, registry, name, package, load, builtin))
    return registry


def _load_one(pm: pluggy.PluginManager, registry: Registry, name: str, package: str,
              load: Callable[[], Any], builtin: bool = False) -> PluginStatus:
    """Import, register and collect one plugin; any failure marks it broken and undoes it."""
    try:
        plugin = load()
        pm.register(plugin, name=name)
    except Exception as exc:  # a third party's import may raise anything
        return PluginStatus(name, package, "broken", _describe(exc), builtin)
    try:
        unknown = [c.name for c in pm.get_hookcallers(plugin) or [] if not c.has_spec()]
        if unknown:
            raise ValueError(f"implements unknown hook {unknown[0]!r}; see ganzoo.hookspecs")
        staged = _collect(pm, name, package, builtin)
        folders = _recipe_folders(pm, name)
    except Exception as exc:
        pm.unregister(plugin)
        return PluginStatus(name, package, "broken", _describe(exc), builtin)
    for component in staged:
        registry.add(component)
    registry.recipe_folders += [(name, folder) for folder in folders]
    return PluginStatus(name, package, builtin=builtin)


def _collect(pm: pluggy.PluginManager, name: str, package: str,
             builtin: bool = False) -> list[Component]:
    """Call each of the plugin's registration hooks, gathering what it registers."""
    staged: list[Component] = []
    for kind in KINDS.values():
        for impl in getattr(pm.hook, kind.hook).get_hookimpls():
            if impl.plugin_name == name:
                register = Register(kind.name, name, package, staged, builtin)
                impl.function(**({"register": register} if impl.argnames else {}))
    return staged


def _recipe_folders(pm: pluggy.PluginManager, name: str) -> list[Path]:
    """The existing folders the plugin's ``ganzoo_recipe_folders`` names."""
    folders: list[Path] = []
    for impl in pm.hook.ganzoo_recipe_folders.get_hookimpls():
        if impl.plugin_name == name:
            given = impl.function()
            if isinstance(given, (str, Path)):
                given = [given]
            if not isinstance(given, (list, tuple)) or not all(
                    isinstance(folder, (str, Path)) for folder in given):
                raise ValueError("ganzoo_recipe_folders must return a list of folder paths")
            folders += [Path(folder) for folder in given if Path(folder).is_dir()]
    return folders


def _entry_points() -> Iterable[Any]:
    return sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)


def _package_of(ep: Any) -> str:
    dist = getattr(ep, "dist", None)
    return dist.name if dist is not None else "?"


def _importer(module: str) -> Callable[[], Any]:
    return lambda: importlib.import_module(module)


def _given(obj: Any) -> Callable[[], Any]:
    return lambda: obj


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


def load_registry_with_warnings() -> Registry:
    """``load_registry()``, with a warning line for each broken plugin, each shadowed name and
    each unknown name in GANZOO_DISABLE_PLUGINS."""
    from ganzoo.console import warn

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
