"""Every registered generator and discriminator, built-in or not, keeps the interface contract."""

from __future__ import annotations

import pytest
import torch

from ganzoo.errors import GanzooError
from ganzoo.interfaces import Discriminator, Generator
from ganzoo.plugins import load_registry

REGISTRY = load_registry()
SHAPES = [(2,), (1, 28, 28), (3, 32, 32)]
# Option values that make the built-ins tiny; other components are built with their defaults.
SMALL = {"hidden_dims": [16, 16], "ngf": 4, "ndf": 4, "latent_dim": 8}


def build(component, shape):
    defaults = component.options() if component.options else None
    if defaults is not None:
        small = {k: v for k, v in SMALL.items() if hasattr(defaults, k)}
        defaults = component.options(**small)
    return component.build(defaults, shape)


def buildable(component):
    """The shapes a component accepts; it must accept at least one."""
    built = {}
    for shape in SHAPES:
        try:
            built[shape] = build(component, shape)
        except GanzooError:
            continue
    assert built, f"{component.kind} {component.name!r} accepts none of {SHAPES}"
    return built


@pytest.mark.parametrize("component", REGISTRY.all("generator"), ids=lambda c: c.name)
def test_generator_contract(component):
    for shape, G in buildable(component).items():
        assert isinstance(G, Generator) and tuple(G.image_shape) == shape
        z = G.sample_latent(4)
        assert z.shape == (4, G.latent_dim)
        out = G(z)
        assert out.shape == (4, *shape)
        assert torch.isfinite(out).all()
        if len(shape) == 3:
            assert out.min() >= -1 and out.max() <= 1
        out.square().mean().backward()
        assert any(p.grad is not None for p in G.parameters())


@pytest.mark.parametrize("component", REGISTRY.all("discriminator"), ids=lambda c: c.name)
def test_discriminator_contract(component):
    for shape, D in buildable(component).items():
        assert isinstance(D, Discriminator)
        x = torch.rand(4, *shape) * 2 - 1
        logits = D(x)
        assert logits.shape == (4,)
        assert torch.isfinite(logits).all()
        logits.sum().backward()
        assert any(p.grad is not None for p in D.parameters())


@pytest.mark.parametrize("kind", ["generator", "discriminator"])
def test_show_works_for_every_network(kind, capsys):
    from ganzoo.cli import main

    for component in REGISTRY.all(kind):
        for shape in buildable(component):
            shape_arg = "x".join(map(str, shape))
            small = [f"{k}={v}".replace(" ", "") for k, v in SMALL.items()
                     if component.options and hasattr(component.options(), k)]
            assert main(["show", kind, component.name, f"shape={shape_arg}", *small]) == 0, (
                capsys.readouterr().err)
            assert "total" in capsys.readouterr().out
