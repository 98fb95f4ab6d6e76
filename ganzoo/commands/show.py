"""``ganzoo show``: G's and D's layers with output shapes, parameter counts and size arithmetic."""

from __future__ import annotations

import argparse
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf
from rich.console import Group
from rich.table import Table

from ganzoo.commands.common import load_registry_with_warnings, note, print_wide
from ganzoo.components import (
    build_network,
    build_one,
    conditional_classes,
    network_shape,
    takes_keyword,
)
from ganzoo.engine.runtime import seed_everything
from ganzoo.errors import GanzooError
from ganzoo.interfaces import Discriminator, Field, Generator, TextEncoder, default_fields
from ganzoo.recipe import component_options, game_sections
from ganzoo.registry import Component, Registry
from ganzoo.tracing import LayerRow, trace_layers


def recipe_fields(recipe: DictConfig, registry: Registry
                  ) -> tuple[dict[str, Field], int | None]:
    """The data's fields and class count, from the dataset's options alone where the plugin
    says how (else by loading it)."""
    component = registry.get("dataset", recipe.data.name)
    options = component_options(component, recipe.data, "data")
    needs_classes = bool(recipe.conditional)
    if component.fields is not None or component.sample_shape is not None:
        if not needs_classes or component.num_classes:
            classes = declared(component, "num_classes", options) if needs_classes else None
            if component.fields is not None:
                return dict(declared(component, "fields", options)), classes
            shape = tuple(declared(component, "sample_shape", options))
            return default_fields(shape, classes), classes
    dataset = build_one(registry, "dataset", recipe.data, "data")
    return dataset.fields, dataset.num_classes


def declared(component: Component, what: str, options: Any) -> Any:
    """A dataset's declared sample_shape or num_classes; a plugin's exception is one line."""
    try:
        return getattr(component, what)(options)
    except GanzooError:
        raise
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [""])[0]
        raise GanzooError(f"data: {component.where} failed to give its {what}: "
                          f"{type(exc).__name__}: {first}") from exc


def show_recipe(recipe: DictConfig, registry: Registry) -> Group:
    """Every network of the recipe's game, role by role, built for the data's fields."""
    seed_everything(0)
    fields, classes = recipe_fields(recipe, registry)
    num_classes = conditional_classes(recipe, classes)
    tables = []
    for role, spec in game_sections(recipe.game.name, registry).roles.items():
        network = build_network(registry, recipe, role, spec,
                                network_shape(role, spec, fields, num_classes))
        label = role if role == spec.kind else f"{role} ({spec.kind})"
        table = {"generator": generator_table, "text_encoder": text_encoder_table}.get(
            spec.kind, discriminator_table)
        tables.append(table(network, recipe[role].name, label))
    return Group(*tables)


def show_component(kind: str, name: str, assignments: list[str], registry: Registry) -> Table:
    """``ganzoo show generator dcgan image_size=64 ngf=32``: image_size, channels and shape
    (e.g. shape=2 or shape=1x28x28) set the sample shape, num_classes the classes of a
    conditional network; other keys are the component's options."""
    values: dict[str, Any] = dict(OmegaConf.from_dotlist(list(assignments)))
    shape = parse_shape(values.pop("shape", None), values.pop("image_size", 64),
                        values.pop("channels", 3))
    num_classes = values.pop("num_classes", None)
    input_shape = values.pop("input_shape", None)
    config = {"name": name, **values}
    extra = {}
    if kind == "generator" and takes_keyword(registry.get(kind, name).build, "input_shape"):
        # a G with an input: images of input_shape=CxHxW (default: the shape it makes)
        extra["input_shape"] = parse_shape(input_shape, 0, 0) if input_shape else shape
    seed_everything(0)
    model = build_one(registry, kind, config, kind, shape,
                      int(num_classes) if num_classes is not None else None, **extra)
    return generator_table(model, name) if kind == "generator" else discriminator_table(model, name)


def parse_shape(shape: Any, image_size: int, channels: int) -> tuple[int, ...]:
    if shape is None:
        return (int(channels), int(image_size), int(image_size))
    try:
        return tuple(int(part) for part in str(shape).split("x"))
    except ValueError:
        raise GanzooError(f"shape: expected sizes joined by 'x', e.g. 3x64x64 or 2 "
                          f"(got {shape!r})") from None


def example_labels(network: Generator | Discriminator, n: int = 2) -> torch.Tensor | None:
    """Labels for tracing a conditional network: classes 0, 1, ... of its classes."""
    if not network.conditional:
        return None
    return torch.arange(n) % (network.num_classes or 1)


def conditioning(network: Generator | Discriminator) -> str:
    return f", label of {network.num_classes} classes" if network.conditional else ""


def generator_table(G: Generator, name: str, role: str = "generator") -> Table:
    if G.input_shape:
        rows = trace_layers(G, torch.zeros(2, *G.input_shape), example_labels(G))
        title = (f"{role} {name}: image {format_shape(G.input_shape)}{conditioning(G)} -> "
                 f"{format_shape(G.image_shape)}")
        return layer_table(title, rows, first_size=G.input_shape[-1])
    rows = trace_layers(G, torch.zeros(2, G.latent_dim), example_labels(G))
    code = f", {G.latent_categories} of them a one-hot code" if G.latent_categories else ""
    title = (f"{role} {name}: z ({G.latent_dim}{code}){conditioning(G)} -> "
             f"{format_shape(G.image_shape)}")
    return layer_table(title, rows, first_size=1)


def discriminator_table(D: Discriminator, name: str, role: str = "discriminator") -> Table:
    n = max(2, D.batch_multiple)  # a packing D needs whole packs
    rows = trace_layers(D, torch.zeros(n, *D.image_shape), example_labels(D, n))
    size = D.image_shape[-1] if len(D.image_shape) == 3 else None
    return layer_table(f"{role} {name}: {format_shape(D.image_shape)}{conditioning(D)} "
                       "-> logit", rows, first_size=size)


def text_encoder_table(encoder: TextEncoder, name: str, role: str = "text_encoder") -> Table:
    tokens = torch.ones(2, encoder.max_words, dtype=torch.long)  # captions of the first word
    rows = trace_layers(encoder, tokens)
    return layer_table(f"{role} {name}: caption of {encoder.max_words} tokens "
                       f"({len(encoder.vocabulary)} words) -> embedding "
                       f"({encoder.embedding_dim})", rows, first_size=None)


def layer_table(title: str, rows: list[LayerRow], first_size: int | None) -> Table:
    sizes = spatial_path(rows, first_size)
    caption = f"spatial size: {' -> '.join(map(str, sizes))}" if len(sizes) > 1 else None
    table = Table(title=title, title_justify="left", caption=caption, caption_justify="left")
    table.add_column("layer", no_wrap=True)
    table.add_column("type", no_wrap=True)
    table.add_column("output shape", no_wrap=True)
    table.add_column("params", justify="right", no_wrap=True)
    table.add_column("size arithmetic", no_wrap=True)
    for row in rows:
        table.add_row(row.name, row.kind, format_shape(row.output_shape), f"{row.params:,}",
                      row.arithmetic)
    table.add_section()
    table.add_row("total", "", "", f"{sum(r.params for r in rows):,}", "")
    return table


def spatial_path(rows: list[LayerRow], first: int | None) -> list[int]:
    """The spatial sizes a network passes through, e.g. [1, 4, 8, 16, 32, 64]."""
    sizes = [first] if first else []
    for row in rows:
        if len(row.output_shape) == 3 and (not sizes or row.output_shape[-1] != sizes[-1]):
            sizes.append(row.output_shape[-1])
    return sizes


def format_shape(shape: tuple[int, ...]) -> str:
    return "x".join(str(s) for s in shape)


def show(args: argparse.Namespace) -> int:
    registry = load_registry_with_warnings()

    if args.target in ("generator", "discriminator"):
        if not args.rest or "=" in args.rest[0]:
            raise GanzooError(f"Name the {args.target} to show, e.g. "
                              f"'ganzoo show {args.target} dcgan image_size=64'.")
        print_wide(show_component(args.target, args.rest[0], args.rest[1:], registry))
        return 0
    from ganzoo.recipe import load_recipe

    notes: list[str] = []
    recipe = load_recipe(args.target, args.rest, registry, notes)
    for line in notes:
        note(line)
    print_wide(show_recipe(recipe, registry))
    return 0
