"""Name -> component, per kind, remembering which plugin gave each one."""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
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
    licence: str = ""  # datasets: the terms of the data, for model cards of exported models
    # Datasets whose batches hold other fields than x and labels: name -> Field, given options.
    fields: Callable[[Any], dict[str, Any]] | None = None
    # Games only: role name -> Role (ganzoo.interfaces), the recipe sections the game needs.
    roles: Any = None
    # Whether it is one of ganzoo's own plugins (BUILTIN_PLUGINS), which no distribution's
    # name can claim: a third party called 'ganzoo' is a third party.
    builtin: bool = False

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
    builtin: bool = False  # one of ganzoo's own plugins


class Register:
    """Given to a plugin's ``ganzoo_register_*`` hook; call it once per component."""

    def __init__(self, kind: str, plugin: str, package: str, into: list[Component],
                 builtin: bool = False):
        self._kind, self._plugin, self._package, self._into = kind, plugin, package, into
        self._builtin = builtin

    def __call__(
        self,
        name: str,
        build: Callable[..., Any],
        *,
        options: type | None = None,
        summary: str | None = None,
        sample_shape: Callable[[Any], tuple[int, ...]] | None = None,
        num_classes: Callable[[Any], int | None] | None = None,
        licence: str = "",
        fields: Callable[[Any], dict[str, Any]] | None = None,
        roles: Any = None,
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
        for extra, value in (("sample_shape", sample_shape), ("num_classes", num_classes),
                             ("fields", fields)):
            if value is not None and not callable(value):
                raise GanzooError(f"{kind} {name!r}: {extra} must be callable")
        if kind == "game":
            check_roles(name, roles)
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
                licence=licence,
                fields=fields,
                roles=dict(roles) if roles is not None else None,
                builtin=self._builtin,
            )
        )


def check_roles(name: str, roles: Any) -> None:
    """A game's roles: a non-empty mapping of section names to Roles of a network kind."""
    from ganzoo.roles import NETWORK_KINDS, Role

    if not isinstance(roles, Mapping) or not roles:
        raise GanzooError(f"game {name!r}: register it with roles={{name: Role(...), ...}}, "
                          f"the networks it plays with (got {roles!r})")
    for role, spec in roles.items():
        if not isinstance(role, str) or not _NAME.match(role) or role in RESERVED_SECTIONS:
            raise GanzooError(f"game {name!r}: role {role!r} cannot be a recipe section; use "
                              "lower-case letters, digits and '_', and not "
                              f"{', '.join(sorted(RESERVED_SECTIONS))}")
        if not isinstance(spec, Role) or spec.kind not in NETWORK_KINDS:
            kinds = ", ".join(repr(kind) for kind in NETWORK_KINDS)
            raise GanzooError(f"game {name!r}: role {role!r} must be a ganzoo.roles.Role "
                              f"of kind {kinds}")
        section = spec.optimizer
        if (not isinstance(section, str) or not _NAME.match(section)
                or section in RESERVED_SECTIONS or section in roles):
            raise GanzooError(f"game {name!r}: role {role!r} names optimizer section "
                              f"{section!r}, which cannot be a recipe section of its own; use "
                              "a name such as 'optim_g'")


#: recipe sections that are not a game's: no role and no optimizer section may take these names
#: (ganzoo.recipe.FIXED_SECTIONS, which imports this module; a test holds the two equal)
RESERVED_SECTIONS = frozenset({"game", "loss", "data", "conditional", "augment", "regularizers",
                               "train", "eval"})


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
    """Every component of every kind, plus the status of every plugin seen.

    When two plugins register one name, a built-in keeps the plain name and the other is
    reached as ``plugin:name``; between two third parties the plain name is ambiguous and
    ``plugin:name`` chooses. Any component can be named as ``plugin:name``.
    """

    components: dict[str, dict[str, Component]] = field(
        default_factory=lambda: {kind: {} for kind in KINDS}
    )
    plugins: list[PluginStatus] = field(default_factory=list)
    # (kind, name) -> every component registered under that name, when more than one was.
    conflicts: dict[tuple[str, str], list[Component]] = field(default_factory=dict)
    # Plugin or package names in GANZOO_DISABLE_PLUGINS that match nothing.
    unknown_disabled: list[str] = field(default_factory=list)
    # (plugin, folder) for each folder of recipes a plugin ships, in loading order.
    recipe_folders: list[tuple[str, Path]] = field(default_factory=list)

    def add(self, component: Component) -> None:
        """Add a component; a second one of the same kind and name is recorded as a conflict,
        and a built-in takes the plain name from a third party."""
        known = self.components[component.kind]
        existing = known.get(component.name)
        if existing is None:
            known[component.name] = component
            return
        self.conflicts.setdefault((component.kind, component.name), [existing]).append(component)
        if component.builtin:
            known[component.name] = component

    def get(self, kind: str, name: str) -> Component:
        """The component called ``name`` (or ``plugin:name``); an unknown or ambiguous name is
        a GanzooError that says what to write instead."""
        plural = KINDS[kind].plural
        if isinstance(name, str) and ":" in name:
            return self._qualified(kind, name)
        rivals = self.conflicts.get((kind, name), [])
        if rivals and not any(c.builtin for c in rivals):
            choices = " or ".join(repr(f"{c.plugin}:{name}") for c in rivals)
            raise GanzooError(f"{kind.capitalize()} {name!r} is registered by several plugins; "
                              f"choose one: {choices}.")
        known = self.components[kind]
        if name in known:
            return known[name]
        message = f"Unknown {kind} {name!r}."
        close = difflib.get_close_matches(str(name), list(known), n=1)
        if close:
            message += f" Did you mean {close[0]!r}?"
        message += f" See 'ganzoo list {plural}'."
        off = [p.name for p in self.plugins if p.state != "ok"]
        if off:
            message += f" (Disabled or broken plugins, which may give it: {', '.join(off)}.)"
        raise GanzooError(message)

    def _qualified(self, kind: str, name: str) -> Component:
        plugin, _, plain = name.partition(":")
        candidates = [self.components[kind].get(plain), *self.conflicts.get((kind, plain), [])]
        for component in candidates:
            if component is not None and component.plugin == plugin:
                return component
        raise GanzooError(f"Unknown {kind} {name!r}: plugin {plugin!r} registers no {kind} "
                          f"{plain!r}. See 'ganzoo list {KINDS[kind].plural}'.")

    def shadowed(self) -> list[tuple[Component, Component | None]]:
        """(component, the one that has its plain name, or None where the name is ambiguous)
        for every component that is reached only as ``plugin:name``."""
        found = []
        for (kind, name), rivals in sorted(self.conflicts.items()):
            owner = self.components[kind][name]
            has_builtin = owner.builtin
            for component in rivals:
                if component is not owner or not has_builtin:
                    found.append((component, owner if has_builtin else None))
        return found

    def all(self, kind: str) -> list[Component]:
        """Every component of a kind that its plain name reaches, sorted by name."""
        return sorted(self.components[kind].values(), key=lambda c: c.name)

    @property
    def broken(self) -> list[PluginStatus]:
        return [p for p in self.plugins if p.state == "broken"]
