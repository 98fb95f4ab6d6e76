"""Each loss against its closed form, finite at extreme logits, and why non-saturating exists."""

from __future__ import annotations

import math

import pytest
import torch

from ganzoo.plugins import load_registry


def loss(name):
    component = load_registry().get("loss", name)
    return component.build(component.options() if component.options else None)


def logit(p):
    return math.log(p / (1 - p))


def losses_at(name, d_real, d_fake):
    """(L_D, L_G) when D says d_real on a real sample and d_fake on a fake one."""
    real, fake = torch.tensor([logit(d_real)]), torch.tensor([logit(d_fake)])
    fn = loss(name)
    return (fn.discriminator_loss(real, fake, None).item(), fn.generator_loss(fake, None).item())


@pytest.mark.parametrize("d_real, d_fake", [(0.9, 0.1), (0.5, 0.5), (0.7, 0.4), (0.99, 0.02)])
def test_bce_losses_match_their_closed_forms(d_real, d_fake):
    l_d = -math.log(d_real) - math.log(1 - d_fake)
    d, g = losses_at("minimax", d_real, d_fake)
    assert d == pytest.approx(l_d, rel=1e-5) and g == pytest.approx(math.log(1 - d_fake), rel=1e-5)
    d, g = losses_at("nonsaturating", d_real, d_fake)
    assert d == pytest.approx(l_d, rel=1e-5) and g == pytest.approx(-math.log(d_fake), rel=1e-5)


@pytest.mark.parametrize("real, fake", [(1.0, 0.0), (0.3, 0.8), (-2.0, 2.5)])
def test_least_squares_on_the_linear_output(real, fake):
    fn = loss("mse")
    r, f = torch.tensor([real]), torch.tensor([fake])
    assert fn.discriminator_loss(r, f, None).item() == pytest.approx(
        0.5 * (real - 1) ** 2 + 0.5 * fake**2)
    assert fn.generator_loss(f, None).item() == pytest.approx(0.5 * (fake - 1) ** 2)


@pytest.mark.parametrize("name", ["minimax", "nonsaturating", "mse"])
@pytest.mark.parametrize("value", [-100.0, 100.0])
def test_finite_in_value_and_gradient_at_extreme_logits(name, value):
    fn = loss(name)
    real = torch.full((4,), value, requires_grad=True)
    fake = torch.full((4,), -value, requires_grad=True)
    total = fn.discriminator_loss(real, fake, None) + fn.generator_loss(fake, None)
    total.backward()
    assert torch.isfinite(total)
    assert torch.isfinite(real.grad).all() and torch.isfinite(fake.grad).all()


def g_gradient(name, d_fake):
    fake = torch.tensor([logit(d_fake)], requires_grad=True)
    loss(name).generator_loss(fake, None).backward()
    return fake.grad.abs().item()


def test_minimax_gradient_vanishes_when_d_rejects_fakes_and_nonsaturating_does_not():
    """Early in training D(G(z)) ~ 0: log(1 - D) is flat there, -log D is steep."""
    for d_fake in (1e-2, 1e-4, 1e-6):
        minimax, nonsat = g_gradient("minimax", d_fake), g_gradient("nonsaturating", d_fake)
        # d/dl log(1 - sigmoid(l)) = -D(G(z));  d/dl -log sigmoid(l) = -(1 - D(G(z)))
        assert minimax == pytest.approx(d_fake, rel=1e-3)
        assert nonsat == pytest.approx(1 - d_fake, rel=1e-3)
    assert g_gradient("minimax", 1e-6) < 1e-5 < 0.99 < g_gradient("nonsaturating", 1e-6)


def test_every_loss_names_its_formula_in_ganzoo_list():
    registry = load_registry()
    for name in ("minimax", "nonsaturating", "mse"):
        summary = registry.get("loss", name).summary
        assert "L_D =" in summary and "L_G =" in summary
        assert "L_D =" in registry.get("loss", name).build.__doc__
