"""The zoo's built-in members against what their papers say: penalties on a linear critic,
the WGAN and hinge objectives, and the relativistic example plugin."""

from __future__ import annotations

import pytest
import torch

from ganzoo.components import build_one
from ganzoo.interfaces import Batch, DOutput, StepContext
from ganzoo.plugins import load_registry

REGISTRY = load_registry()


def linear_critic_context(w: torch.Tensor, n: int = 32, labels=None) -> StepContext:
    """A StepContext whose D is x -> w.x + 0.5: its gradient is w everywhere."""
    torch.manual_seed(0)
    real, fake = torch.randn(n, len(w)), torch.randn(n, len(w))
    return StepContext(step=1, player="discriminator", real=Batch(real, labels),
                       fake=Batch(fake, labels), score=lambda x, y: DOutput(x @ w + 0.5, {}),
                       discriminator=None, log=lambda *a: None,
                       fake_out=DOutput(fake @ w + 0.5))


def regularizer(name: str, **options):
    return build_one(REGISTRY, "regularizer", {"name": name, **options}, "regularizers[0]")


@pytest.mark.parametrize("w", [[3.0, -4.0], [0.6, 0.8], [0.1, 0.0]])
def test_gradient_penalty_on_a_linear_critic(w):
    w = torch.tensor(w)
    expected = (w.norm() - 1) ** 2  # the same at every interpolate
    assert regularizer("gradient_penalty").penalty(linear_critic_context(w)).item() == \
        pytest.approx(expected.item(), rel=1e-5, abs=1e-7)


def test_r1_on_a_linear_critic():
    w = torch.tensor([3.0, -4.0])
    assert regularizer("r1").penalty(linear_critic_context(w)).item() == pytest.approx(12.5)


def test_gradient_penalty_carries_labels_to_a_conditional_critic():
    seen = []

    def score(x, labels):
        seen.append(labels)
        return DOutput(x.sum(1), {})

    labels = torch.arange(4)
    ctx = StepContext(step=1, player="discriminator", real=Batch(torch.randn(4, 2), labels),
                      fake=Batch(torch.randn(4, 2), labels), score=score, discriminator=None,
                      log=lambda *a: None, fake_out=DOutput(torch.zeros(4)))
    regularizer("gradient_penalty").penalty(ctx)
    assert seen and torch.equal(seen[0], labels)


def test_weight_clip_bounds_every_weight():
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Linear(8, 1))
    with torch.no_grad():
        regularizer("weight_clip", clip=0.01).after_update(net)
    assert all(p.abs().max() <= 0.01 for p in net.parameters())
    assert regularizer("weight_clip").clip == 0.01  # WGAN's default c


def loss(name: str):
    return build_one(REGISTRY, "loss", {"name": name}, "loss")


def test_wasserstein_and_hinge_objectives():
    real, fake = torch.tensor([2.0, 0.5]), torch.tensor([-1.5, 0.25])
    wgan = loss("wasserstein")
    assert wgan.discriminator_loss(real, fake, None).item() == pytest.approx(-0.625 - 1.25)
    assert wgan.generator_loss(fake, None).item() == pytest.approx(0.625)
    hinge = loss("hinge")
    # max(0, 1 - 2) + max(0, 1 - 0.5) = 0.5 -> 0.25; max(0, 1 - 1.5) + max(0, 1.25) -> 0.625
    assert hinge.discriminator_loss(real, fake, None).item() == pytest.approx(0.25 + 0.625)
    assert hinge.generator_loss(fake, None).item() == pytest.approx(0.625)
    assert not wgan.outputs_are_logits and not hinge.outputs_are_logits


def test_relativistic_losses_of_the_example_plugin():
    import torch.nn.functional as F

    real, fake = torch.tensor([2.0, 1.0]), torch.tensor([0.0, -1.0])
    ctx = type("Ctx", (), {"real_logits": real})()
    rasgan, ralsgan = loss("rasgan"), loss("ralsgan")
    # E C(x) = 1.5, E C(G(z)) = -0.5
    d = F.softplus(-(real + 0.5)).mean() + F.softplus(fake - 1.5).mean()
    g = F.softplus(-(fake - 1.5)).mean() + F.softplus(real + 0.5).mean()
    assert rasgan.discriminator_loss(real, fake, ctx).item() == pytest.approx(d.item())
    assert rasgan.generator_loss(fake, ctx).item() == pytest.approx(g.item())
    d = ((real + 0.5 - 1) ** 2).mean() + ((fake - 1.5 + 1) ** 2).mean()
    assert ralsgan.discriminator_loss(real, fake, ctx).item() == pytest.approx(d.item())
