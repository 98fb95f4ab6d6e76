"""Every registered component of every kind, built-in or not, keeps its interface contract."""

from __future__ import annotations

import pytest
import torch

from ganzoo.components import build_one, takes_keyword
from ganzoo.errors import GanzooError
from ganzoo.interfaces import (
    Augmentation,
    Discriminator,
    Generator,
    Logger,
    Metric,
    Regularizer,
    Schedule,
    as_doutput,
)
from ganzoo.plugins import load_registry

REGISTRY = load_registry()
SHAPES = [(2,), (1, 28, 28), (3, 32, 32)]
# Option values that make the built-ins tiny; other components are built with their defaults.
SMALL = {"hidden_dims": [16, 16], "ngf": 4, "ndf": 4, "latent_dim": 8, "n_blocks": 1,
         "growth": 4}


def build(component, shape, num_classes=None):
    """Build through the registry's door (options checked, nested components allowed); a
    generator with an input is built to take images of the shape it makes."""
    fields = component.options() if component.options else None
    small = {k: v for k, v in SMALL.items() if fields is not None and hasattr(fields, k)}
    extra = {"input_shape": shape} if takes_keyword(component.build, "input_shape") else {}
    return build_one(REGISTRY, component.kind, {"name": component.name, **small},
                     component.kind, shape, num_classes, **extra)


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


def unconditional(component):
    """The networks that an unconditional run can use (conditional ones are tested below)."""
    return {shape: net for shape, net in buildable(component).items() if not net.conditional}


@pytest.mark.parametrize("component", REGISTRY.all("generator"), ids=lambda c: c.name)
def test_generator_contract(component):
    for shape, G in unconditional(component).items():
        assert isinstance(G, Generator) and tuple(G.image_shape) == shape
        if G.input_shape:  # a G with an input: images in place of z
            z = torch.rand(4, *G.input_shape) * 2 - 1
        else:
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
    for shape, D in unconditional(component).items():
        assert isinstance(D, Discriminator)
        x = torch.rand(4, *shape) * 2 - 1
        logits = as_doutput(D(x)).logits
        assert logits.shape[0] == 4 and logits.dim() in (1, 2)  # (N,) or (N, patches)
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


@pytest.mark.parametrize("kind", ["generator", "discriminator"])
def test_conditional_networks_take_labels(kind):
    """A conditional network, built for K classes, takes labels and responds to them."""
    for component in REGISTRY.all(kind):
        for shape in SHAPES:
            try:
                net = build(component, shape, 5)
            except GanzooError:
                continue
            if not net.conditional:
                continue
            assert net.num_classes == 5
            torch.manual_seed(0)
            given = torch.randn(4, net.latent_dim) if kind == "generator" else torch.rand(4, *shape)
            a = as_doutput(net(given, torch.zeros(4, dtype=torch.long))).logits \
                if kind == "discriminator" else net(given, torch.zeros(4, dtype=torch.long))
            b = as_doutput(net(given, torch.full((4,), 4))).logits \
                if kind == "discriminator" else net(given, torch.full((4,), 4))
            assert not torch.allclose(a, b), f"{component.name} ignores its labels"


def built(kind):
    return [(c, c.build(c.options() if c.options else None)) for c in REGISTRY.all(kind)]


@pytest.mark.parametrize("component, augmentation", built("augmentation"),
                         ids=lambda v: getattr(v, "name", ""))
def test_augmentation_contract(component, augmentation):
    assert isinstance(augmentation, Augmentation)
    for shape in SHAPES:
        x = (torch.rand(6, *shape) * 2 - 1).requires_grad_(True)
        out = augmentation(x)
        assert out.shape == x.shape and torch.isfinite(out).all()
        out.sum().backward()
        assert x.grad is not None, f"{component.name}: gradients must reach the input"
    augmentation.observe(torch.randn(6))
    state = augmentation.state_dict()
    augmentation.load_state_dict(state)
    for value in augmentation.log_values().values():
        assert value.numel() == 1


@pytest.mark.parametrize("component, regularizer", built("regularizer"),
                         ids=lambda v: getattr(v, "name", ""))
def test_regularizer_contract(component, regularizer):
    assert isinstance(regularizer, Regularizer)
    assert regularizer.player in ("discriminator", "generator")
    overridden = [name for name in ("penalty", "after_update", "select")
                  if getattr(type(regularizer), name) is not getattr(Regularizer, name)]
    assert overridden, f"{component.name} adds no penalty, no after-update action and no selection"


@pytest.mark.parametrize("component", REGISTRY.all("optimizer"), ids=lambda c: c.name)
def test_optimizer_contract(component):
    net = torch.nn.Linear(3, 1)
    optimizer = component.build(component.options() if component.options else None,
                                list(net.parameters()))
    assert isinstance(optimizer, torch.optim.Optimizer)
    before = net.weight.detach().clone()
    net(torch.randn(8, 3)).square().mean().backward()
    optimizer.step()
    assert not torch.equal(before, net.weight), f"{component.name} did not move the weights"
    assert all("lr" in group for group in optimizer.param_groups)


@pytest.mark.parametrize("component, schedule", built("schedule"),
                         ids=lambda v: getattr(v, "name", ""))
def test_schedule_contract(component, schedule):
    assert isinstance(schedule, Schedule)
    factors = [schedule.factor(step, 100) for step in range(1, 101)]
    assert all(isinstance(f, float) and 0 <= f <= 1 for f in factors)
    assert factors == [schedule.factor(step, 100) for step in range(1, 101)]  # pure


@pytest.mark.parametrize("component, metric", built("metric"), ids=lambda v: getattr(v, "name", ""))
def test_metric_contract(component, metric):
    assert isinstance(metric, Metric)
    assert set(metric.directions.values()) <= {"min", "max"}


@pytest.mark.parametrize("component", REGISTRY.all("logger"), ids=lambda c: c.name)
def test_logger_contract(component, tmp_path, monkeypatch):
    """Every logger takes a run's calls in order; one whose package is missing says so in
    one line (and is skipped here)."""
    monkeypatch.setenv("WANDB_MODE", "offline")  # W&B without an account or network
    monkeypatch.setenv("WANDB_SILENT", "true")
    try:
        logger = build_one(REGISTRY, "logger", {"name": component.name}, "train.loggers[0]")
    except GanzooError as exc:
        assert "not installed: pip install" in str(exc)
        pytest.skip(str(exc))
    assert isinstance(logger, Logger)
    logger.open(tmp_path, {"train": {"steps": 2}}, 0)
    logger.log_metrics({"step": 1, "d_loss": 0.5, "g_loss": 1.5}, 1)
    logger.log_images("samples", torch.rand(4, 3, 8, 8) * 2 - 1, 1)
    logger.log_evaluation({"fid": 12.0, "modes_covered": 3, "note": "text is not logged"}, 2)
    logger.close()
    assert any(tmp_path.iterdir()), "the logger wrote nothing into the run folder"


def test_wandb_online_without_a_network_logs_offline_within_seconds(tmp_path, monkeypatch,
                                                                   capsys):
    """wandb.init in online mode with no network waits minutes, then fails: the logger tries
    the server for a few seconds and logs offline instead, with a warning."""
    import socket
    import time

    pytest.importorskip("wandb")
    import wandb

    from ganzoo_builtins.loggers import writers

    def no_network(address, timeout=None):
        raise OSError(101, "Network is unreachable")

    modes = []
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(wandb, "init", lambda **kwargs: modes.append(kwargs["mode"]) or None)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    logger = build_one(REGISTRY, "logger", {"name": "wandb", "mode": "online"},
                       "train.loggers[0]")
    started = time.perf_counter()
    logger.open(tmp_path, {}, 0)
    assert time.perf_counter() - started < writers.REACH_TIMEOUT + 2
    assert modes == ["offline"]
    err = capsys.readouterr().err
    assert "api.wandb.ai:443 cannot be reached (Network is unreachable)" in err
    assert "logging offline" in err and err.count("\n") == 1
