"""Small checks for components' option dataclasses, called from ``__post_init__``.

They raise ValueError("field: what is wrong"); the recipe loader prefixes the section's key path,
so the user reads ``generator.output: must be one of 'auto', 'tanh', 'linear' (got 'sigmoid')``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any


def one_of(field: str, value: Any, allowed: Iterable[Any]) -> None:
    allowed = list(allowed)
    if value not in allowed:
        names = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"{field}: must be one of {names} (got {value!r})")


def positive(field: str, value: float | int | None, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if value is None or value <= 0:
        raise ValueError(f"{field}: must be greater than 0 (got {value!r})")
    if not math.isfinite(value):
        raise ValueError(f"{field}: must be finite (got {value!r})")


def positive_list(field: str, values: Iterable[int]) -> None:
    for v in values:
        if v <= 0:
            raise ValueError(f"{field}: every entry must be greater than 0 (got {list(values)!r})")
