"""Name -> component, per kind, remembering which plugin gave each one."""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ganzoo.errors import GanzooError
from ganzoo.kinds import KINDS, Kind

__all__ = ["KINDS", "Component", "Kind", "PluginStatus", "Register", "Registry"]


_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Component:
    """A registered component: how to build it and where it came from."""

    kind: str
    name: str
    build: Callable[..., Any]
    options: type | None
    summary: str
    plugin: str
    package: str
    # Datasets only: the sample shape and the number of classes given options, without loading
    # any data (for 'show').
    sample_shape: Callable[[Any], tuple[int, ...]] | None = None
    num_classes: Callable[[Any], int | None] | None = None

    @property
    def where(self) -> str:
        """'generator 'dcgan' (plugin 'dcgan')': how errors name a component."""
        return f"{self.kind} {self.name!r} (plugin {self.plugin!r})"

    def default_options(self) -> dict[str, Any]:
        """The options with their defaults, as plain values (empty when it takes none)."""
        if self.options is None:
            return {}
        return dataclasses.asdict(self.options())


@dataclass(frozen=True)
class PluginStatus:
    """A plugin as loaded: ok, broken (with why) or disabled."""

    name: str
    package: str
    state: str = "ok"
    error: str = ""


class Register:
    """Given to a plugin's ``ganzoo_register_*`` hook; call it once per component."""

    def __init__(self, kind: str, plugin: str, package: str, into: list[Component]):
        self._kind, self._plugin, self._package, self._into = kind, plugin, package, into

    def __call__(
        self,
        name: str,
        build: Callable[..., Any],
        *,
        options: type | None = None,
        summary: str | None = None,
        sample_shape: Callable[[Any], tuple[int, ...]] | None = None,
        num_classes: Callable[[Any], int | None] | None = None,
    ) -> None:
        kind = self._kind
        if not isinstance(name, str) or not _NAME.match(name):
            raise GanzooError(
                f"invalid {kind} name {name!r}: use lower-case letters, digits and '_'"
            )
        if not callable(build):
            raise GanzooError(f"{kind} {name!r}: build must be callable, got {build!r}")
        if options is not None and not (
            isinstance(options, type) and dataclasses.is_dataclass(options)
        ):
            raise GanzooError(f"{kind} {name!r}: options must be a dataclass type, got {options!r}")
        check_arity(kind, name, build)
        for extra, value in (("sample_shape", sample_shape), ("num_classes", num_classes)):
            if value is not None and not callable(value):
                raise GanzooError(f"{kind} {name!r}: {extra} must be callable")
        if options is not None:
            try:
                options()
            except TypeError as exc:
                raise GanzooError(
                    f"{kind} {name!r}: every option needs a default ({exc})"
                ) from None
        doc = (build.__doc__ or "").strip().splitlines()
        self._into.append(
            Component(
                kind=kind,
                name=name,
                build=build,
                options=options,
                summary=summary if summary is not None else (doc[0] if doc else ""),
                plugin=self._plugin,
                package=self._package,
                sample_shape=sample_shape,
                num_classes=num_classes,
            )
        )


def check_arity(kind: str, name: str, build: Callable[..., Any]) -> None:
    """``build`` must take the options and the kind's build arguments, positionally."""
    wanted = ("options", *KINDS[kind].build_args)
    try:
        signature = inspect.signature(build)
    except (TypeError, ValueError):  # some builtins have no signature: trust them
        return
    try:
        signature.bind(*wanted)
    except TypeError:
        raise GanzooError(
            f"{kind} {name!r}: build must take ({', '.join(wanted)}), but its signature is "
            f"{signature}"
        ) from None


@dataclass
class Registry:
    """Every component of every kind, plus the status of every plugin seen."""

    components: dict[str, dict[str, Component]] = field(
        default_factory=lambda: {kind: {} for kind in KINDS}
    )
    plugins: list[PluginStatus] = field(default_factory=list)
    # (kind, name) -> every plugin that registered it, when more than one did.
    conflicts: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def add(self, component: Component) -> None:
        """Add a component; a second one of the same kind and name is recorded as a conflict."""
        existing = self.components[component.kind].get(component.name)
        if existing is None:
            self.components[component.kind][component.name] = component
            return
        key = (component.kind, component.name)
        self.conflicts.setdefault(key, [existing.plugin]).append(component.plugin)

    def get(self, kind: str, name: str) -> Component:
        """The component called ``name``; an unknown or ambiguous name is a GanzooError."""
        plural = KINDS[kind].plural
        if (kind, name) in self.conflicts:
            plugins = " and ".join(repr(p) for p in self.conflicts[(kind, name)])
            raise GanzooError(
                f"{kind.capitalize()} {name!r} is registered by both plugins {plugins}. "
                f"Disable one with GANZOO_DISABLE_PLUGINS=<plugin>."
            )
        known = self.components[kind]
        if name in known:
            return known[name]
        message = f"Unknown {kind} {name!r}."
        close = difflib.get_close_matches(str(name), list(known), n=1)
        if close:
            message += f" Did you mean {close[0]!r}?"
        raise GanzooError(f"{message} See 'ganzoo list {plural}'.")

    def all(self, kind: str) -> list[Component]:
        """Every component of a kind, sorted by name."""
        return sorted(self.components[kind].values(), key=lambda c: c.name)

    @property
    def broken(self) -> list[PluginStatus]:
        return [p for p in self.plugins if p.state == "broken"]
