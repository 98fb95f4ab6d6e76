"""The roles of a game's networks: plain data, importable without torch (``ganzoo list``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

#: the kinds of network a role may be (each a kind of ``ganzoo.kinds``)
NETWORK_KINDS = ("generator", "discriminator", "text_encoder")


@dataclass(frozen=True)
class Role:
    """One network of a game, as the recipe's section of the same name builds it.

    ``kind``: 'generator', 'discriminator' or 'text_encoder' (``NETWORK_KINDS``).
    ``optimizer``: the recipe section of the optimizer that updates it ('optim_g'); roles
    that name one section share one optimizer.
    ``field``: the data field a generator makes, the one a discriminator scores (a tuple:
    those fields side by side on the channels, as pix2pix's D sees input and output), or the
    caption field a text encoder reads.
    ``input``: a generator's input field (an image) in place of noise. ``paired``: for a
    generator with an input, whether the data's own ``field`` is the true output for that
    input (paired data, as pix2pix's), shown beside the output and measured against it.
    """

    kind: str
    optimizer: str
    field: str | tuple[str, ...] = "x"
    input: str | None = None
    paired: bool = False
    summary: str = ""

    @property
    def fields(self) -> tuple[str, ...]:
        """Every data field the role reads or makes."""
        made = (self.field,) if isinstance(self.field, str) else tuple(self.field)
        return made + ((self.input,) if self.input else ())


def roles_of_kind(roles: Mapping[str, Role], kind: str) -> list[str]:
    """The names of a game's roles of one kind ('generator', 'discriminator'), in order."""
    return [name for name, role in roles.items() if role.kind == kind]


def optimizer_groups(roles: Mapping[str, Role]) -> dict[str, list[str]]:
    """Optimizer section -> the roles it updates, both in the game's order."""
    groups: dict[str, list[str]] = {}
    for name, role in roles.items():
        groups.setdefault(role.optimizer, []).append(name)
    return groups
