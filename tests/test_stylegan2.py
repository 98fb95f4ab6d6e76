"""StyleGAN2 (Karras et al., 2020): weight demodulation, equalized learning rate, noise inputs
fixed in eval mode, style mixing, truncation toward the mean w, the path length penalty and its
running mean, and a tiny run of the CIFAR-10 recipe through the CLI (show, sample with
truncation, eval, ONNX export, exact resume)."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from helpers import one_line_error

from ganzoo.cli import main
from ganzoo.components import build_one
from ganzoo.engine.checkpoint import load_checkpoint
from ganzoo.interfaces import Batch
from ganzoo.plugins import load_registry
from ganzoo.sampling import generate, load_generator
from ganzoo_builtins.stylegan2.networks import EqualConv2d, EqualLinear, modulated_conv
from ganzoo_builtins.stylegan2.path_length import PathLength

RECIPES = Path(__file__).resolve().parent.parent / "recipes"
REGISTRY = load_registry()
TINY_NETS = ["generator.ngf=4", "generator.latent_dim=8", "discriminator.ndf=4",
             "data.image_size=8"]


def tiny_g(**options):
    return build_one(REGISTRY, "generator", {"name": "stylegan2", "ngf": 4, "latent_dim": 8,
                                             **options}, "generator", (3, 8, 8), None)


def tiny_run_args(fake_data: Path, run: Path, steps: int) -> list[str]:
    return ["run", str(RECIPES / "stylegan2_cifar.yaml"), f"data.root={fake_data}",
            "data.verify=false", *TINY_NETS, f"train.steps={steps}", "train.batch_size=8",
            "train.checkpoint_every=2", "train.log_every=1", "train.sample_every=2",
            "train.num_samples=4", "train.device=cpu", "regularizers.0.every=2",
            f"train.run_dir={run}"]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, fake_data) -> Path:
    """4 steps at 8 px, ngf 4: R1 at steps 2 and 4, the path length penalty at step 4."""
    run = tmp_path_factory.mktemp("stylegan2") / "run"
    assert main(tiny_run_args(fake_data, run, 4)) == 0
    return run


# ---- the layers ---------------------------------------------------------------------------

def test_demodulation_gives_unit_output_std_per_channel():
    torch.manual_seed(0)
    x = torch.randn(8, 32, 10, 10)
    weight = torch.randn(16, 32, 3, 3) / math.sqrt(32 * 9)
    styles = torch.exp(torch.randn(8, 32))  # far from 1: modulation alone changes the scale
    inner = (slice(None), slice(None), slice(1, -1), slice(1, -1))  # past the zero padding
    out = modulated_conv(x, styles, weight, demodulate=True)[inner]
    std = out.transpose(0, 1).flatten(1).std(dim=1)  # per output channel
    assert std.shape == (16,)
    torch.testing.assert_close(std, torch.ones(16), atol=0.12, rtol=0)
    plain = modulated_conv(x, styles, weight, demodulate=False)[inner]
    assert (plain.transpose(0, 1).flatten(1).std(dim=1) - 1).abs().max() > 0.3


def test_equalized_learning_rate_scales_weights_at_run_time():
    torch.manual_seed(0)
    conv = EqualConv2d(16, 8, 3)
    assert conv.scale == pytest.approx(1 / math.sqrt(16 * 9))
    assert conv.weight.std().item() == pytest.approx(1.0, abs=0.1)  # stored as N(0, 1)
    x = torch.randn(2, 16, 5, 5)
    torch.testing.assert_close(conv(x), torch.nn.functional.conv2d(
        x, conv.weight / math.sqrt(16 * 9), conv.bias, padding=1))
    mapping = EqualLinear(256, 256, lr_mul=0.01)  # the mapping MLP's lr multiplier
    assert mapping.weight.std().item() == pytest.approx(100, rel=0.05)
    effective = mapping.weight * mapping.scale
    assert effective.std().item() == pytest.approx(1 / 16, rel=0.05)
    mapping(torch.ones(1, 256)).sum().backward()  # the stored weight's gradient is scaled too
    torch.testing.assert_close(mapping.weight.grad, torch.full((256, 256), 0.01 / 16))


# ---- noise, style mixing, truncation -------------------------------------------------------

def test_eval_mode_uses_fixed_noise_and_training_draws_fresh_noise():
    G = tiny_g(style_mixing=0.0)
    with torch.no_grad():
        for module in G.modules():
            if hasattr(module, "noise_strength"):
                module.noise_strength.fill_(1.0)  # starts at 0: make the noise show
    assert sum(name.endswith(".noise") for name in G.state_dict()) == 3  # one per conv layer
    z = G.sample_latent(3, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert not torch.equal(G(z), G(z))  # training: fresh noise every call
        G.eval()
        assert torch.equal(G(z), G(z))
        assert torch.equal(generate(G, 4, seed=5), generate(G, 4, seed=5))
        assert not torch.equal(generate(G, 4, seed=5), generate(G, 4, seed=6))


def test_style_mixing_happens_with_probability_0_9_at_a_crossover_point():
    G = tiny_g()
    torch.manual_seed(0)
    z = torch.randn(4000, 8)
    with torch.no_grad():
        ws = G.ws(z)
        own = G.mapping(z)[:, None, :]
    assert ws.shape == (4000, G.num_ws, 8)
    first = (ws == own).all(dim=2)  # (N, num_ws): the layer has the sample's own w
    assert first[:, 0].all()  # the crossover point is at least 1
    mixed = ~first[:, -1]
    assert 0.87 < mixed.float().mean().item() < 0.93
    cut = first.sum(dim=1)
    assert torch.equal(first, torch.arange(G.num_ws)[None, :] < cut[:, None])  # one switch
    assert set(cut[mixed].tolist()) == set(range(1, G.num_ws))
    G.eval()
    with torch.no_grad():
        assert torch.equal(G.ws(z[:50]), own[:50].expand(-1, G.num_ws, -1))  # none in eval


def test_truncation_zero_gives_the_mean_image_for_every_z():
    G = tiny_g()
    with torch.no_grad():
        G(torch.randn(64, 8))  # training tracks the mean w
        assert G.w_avg.abs().sum() > 0
        G.eval()
        z = torch.randn(4, 8)
        with G.sampling(truncation=0.0):
            images = G(z)
            assert torch.equal(G.sample_latent(3, generator=torch.Generator().manual_seed(0)),
                               torch.randn(3, 8, generator=torch.Generator().manual_seed(0)))
        assert torch.equal(images, images[:1].expand_as(images))
        with G.sampling(truncation=1.0):
            assert torch.equal(G(z), G(z))
            one = G(z)
        assert torch.equal(one, G(z))
        with G.sampling(truncation=0.5):
            assert not torch.equal(G(z), one)


def test_a_side_that_is_not_a_power_of_two_is_one_line(fake_data, tmp_path, capsys):
    one_line_error(capsys, [*tiny_run_args(fake_data, tmp_path / "run", 1),
                            "data.image_size=24"],
                   "generator: stylegan2 takes square images whose side is a power of two")
    assert not (tmp_path / "run").exists()


# ---- the path length penalty ---------------------------------------------------------------

class LinearG:
    """images = (1/L) sum_l M w_l: J_w^T y is M^T y / L for every layer's w."""

    def __init__(self, layers: int = 3, w_dim: int = 5):
        self.M = torch.randn(w_dim, 2, 4, 4, generator=torch.Generator().manual_seed(7))
        self.layers, self.w_dim = layers, w_dim

    def images_and_ws(self, n, device=None):
        ws = torch.randn(n, self.layers, self.w_dim).requires_grad_(True)
        return torch.einsum("nld,dchw->nchw", ws, self.M) / self.layers, ws


def test_path_length_penalty_value_and_its_running_mean():
    G, penalty = LinearG(), PathLength(decay=0.01, batch_shrink=2)
    ctx = SimpleNamespace(networks={"generator": G}, player="generator",
                          fake=Batch(x=torch.zeros(8, 2, 4, 4)), fake_x=torch.zeros(8, 2, 4, 4))
    torch.manual_seed(0)
    value = penalty.penalty(ctx)
    torch.manual_seed(0)
    G.images_and_ws(4)  # the same draws: ws, then y
    y = torch.randn(4, 2, 4, 4) / 4  # / sqrt(H W)
    lengths = torch.einsum("dchw,nchw->nd", G.M, y).norm(dim=1) / G.layers
    mean = 0.01 * lengths.mean()  # from a = 0
    torch.testing.assert_close(penalty.mean, mean)
    torch.testing.assert_close(value, (lengths - mean).square().mean())
    second = penalty.penalty(ctx)
    assert second.item() > 0 and 0 < penalty.mean.item() != mean.item()
    restored = PathLength()
    restored.load_state_dict(penalty.state_dict())
    assert torch.equal(restored.mean, penalty.mean)


def test_path_length_penalty_trains_the_stylegan2_generator():
    G = tiny_g()
    ctx = SimpleNamespace(networks={"generator": G}, player="generator",
                          fake=Batch(x=torch.zeros(8, 3, 8, 8)), fake_x=torch.zeros(8, 3, 8, 8))
    value = PathLength().penalty(ctx)
    value.backward()
    assert torch.isfinite(value) and value > 0
    assert G.mapping.layers[0].weight.grad.abs().sum() > 0
    assert G.convs[0].weight.grad.abs().sum() > 0


def test_path_length_refuses_a_generator_without_ws():
    from ganzoo.errors import GanzooError

    ctx = SimpleNamespace(networks={"generator": torch.nn.Linear(2, 2)}, player="generator",
                          fake=Batch(x=torch.zeros(2, 2)), fake_x=torch.zeros(2, 2))
    with pytest.raises(GanzooError, match="path_length needs a generator that returns its w"):
        PathLength().penalty(ctx)


# ---- the recipe through the CLI ------------------------------------------------------------

def test_the_tiny_run_shows_samples_with_truncation_and_evaluates(tiny_run, tmp_path, capsys):
    assert main(["show", str(RECIPES / "stylegan2_cifar.yaml"), *TINY_NETS]) == 0
    assert "ToRGB" in capsys.readouterr().out
    assert main(["sample", str(tiny_run), "--n", "3", "--truncation", "0.7", "--out",
                 str(tmp_path / "faces")]) == 0
    assert len(list((tmp_path / "faces").glob("*.png"))) == 3
    G, _, _ = load_generator(tiny_run, REGISTRY, device="cpu")
    with G.sampling(truncation=0.7):
        truncated = generate(G, 3, seed=0)
    assert not torch.equal(truncated, generate(G, 3, seed=0))
    assert truncated.min() >= -1 and truncated.max() <= 1  # linear output clamped in eval
    one_line_error(capsys, ["sample", str(tiny_run), "--truncation", "-0.5", "--out",
                            str(tmp_path / "bad")], "--truncation: psi, a number >= 0")
    assert main(["eval", str(tiny_run), "--n", "8", "--metrics", "kit_brightness"]) == 0


def test_onnx_export_gives_the_same_samples(tiny_run, tmp_path):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    pytest.importorskip("onnxscript", reason="onnxscript is not installed")
    out = tmp_path / "export"
    assert main(["export", str(tiny_run), "--out", str(out), "--format", "onnx"]) == 0
    session = ort.InferenceSession(str(out / "generator.onnx"))
    G, _, _ = load_generator(tiny_run, REGISTRY, device="cpu")
    for n in (1, 5):
        z = G.sample_latent(n, generator=torch.Generator().manual_seed(3))
        (got,) = session.run(None, {"z": z.numpy()})
        with torch.no_grad():
            np.testing.assert_allclose(got, G(z).numpy(), atol=1e-5, rtol=1e-4)


def test_a_resumed_run_ends_where_the_straight_run_does(tiny_run, fake_data, tmp_path):
    stopped = tmp_path / "stopped"
    assert main(tiny_run_args(fake_data, stopped, 2)) == 0
    assert main(["resume", str(stopped), "train.steps=4"]) == 0
    a = load_checkpoint(tiny_run / "checkpoints" / "step_0000004.pt")
    b = load_checkpoint(stopped / "checkpoints" / "step_0000004.pt")
    for section in ("networks", "ema"):
        for role, weights in a[section].items():
            for name, tensor in weights.items():
                assert torch.equal(tensor, b[section][role][name]), f"{role}.{name}"
    assert a["networks"]["generator"]["w_avg"].abs().sum() > 0
    (r1, path_length) = a["regularizers"]
    assert path_length["mean"] > 0  # the penalty ran at step 4 and its mean moved
    assert torch.equal(path_length["mean"], b["regularizers"][1]["mean"])
