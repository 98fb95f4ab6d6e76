"""R3GAN (Huang et al., 2024): its networks' blocks, init and resampling as the paper's config E
builds them, the RpGAN loss's values and gradients, R1 and R2 on a hand-made D, and every
command on a tiny run of the CIFAR-10 recipe, resumed exactly."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from helpers import assert_onnx_export_gives_the_samples, evaluate_with_tiny_extractor, make_trainer
from torch import nn

from ganzoo.api import build
from ganzoo.cli import main
from ganzoo.errors import GanzooError
from ganzoo.interfaces import DOutput

RECIPES = Path(__file__).resolve().parent.parent / "recipes"
RECIPE = RECIPES / "r3gan_cifar.yaml"
NORMS = (nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm, nn.InstanceNorm2d, nn.LocalResponseNorm)


def tiny(fake_data: Path, *more: str) -> list[str]:
    """The CIFAR-10 recipe at 8x8 (two stages), width 4, z of 8, batch 4, on the fake data."""
    return ["train.device=cpu", "train.batch_size=4", "data.image_size=8", "generator.ngf=4",
            "discriminator.ndf=4", "generator.latent_dim=8", f"data.root={fake_data}",
            "data.verify=false", "train.num_samples=4", "train.log_every=1",
            "train.sample_every=3", "train.checkpoint_every=3", *more]


def residual_blocks(net: nn.Module) -> list[nn.Module]:
    from ganzoo_builtins.r3gan.networks import ResidualBlock

    return [m for m in net.modules() if isinstance(m, ResidualBlock)]


def test_the_blocks_are_grouped_inverted_bottlenecks_without_normalization():
    G = build("generator", "r3gan", image_shape=(3, 32, 32), ngf=32)
    D = build("discriminator", "r3gan", image_shape=(3, 32, 32), ndf=32)
    for net in (G, D):
        blocks = residual_blocks(net)
        assert len(blocks) == 2 * 4  # 2 blocks at each of 4, 8, 16 and 32 pixels
        for block in blocks:
            assert (block.expand.in_channels, block.expand.out_channels) == (32, 64)
            assert block.expand.kernel_size == (1, 1) and block.project.kernel_size == (1, 1)
            assert block.grouped.kernel_size == (3, 3) and block.grouped.groups == 64 // 16
            assert (block.project.in_channels, block.project.out_channels) == (64, 32)
        assert not [m for m in net.modules() if isinstance(m, NORMS)]
        assert not [m for m in net.modules() if nn.utils.parametrize.is_parametrized(m)]
        convs = [m for m in net.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
        assert all(m.bias is None for m in convs)  # the biases sit in the activations
    # the paper's CIFAR-10 widths: 768 channels widened to 1,536 in 96 groups of 16
    full = build("generator", "r3gan", image_shape=(3, 32, 32))
    grouped = residual_blocks(full)[0].grouped
    assert (grouped.in_channels, grouped.groups) == (1536, 96)
    assert 20e6 < sum(p.numel() for p in full.parameters()) < 21.5e6


def test_a_fresh_block_is_the_identity_and_the_branch_init_is_fixup_scaled():
    from ganzoo_builtins.r3gan.networks import LEAKY_GAIN

    G = build("generator", "r3gan", image_shape=(3, 32, 32), ngf=64)
    blocks = residual_blocks(G)
    x = torch.randn(2, 64, 8, 8)
    for block in blocks:
        assert torch.count_nonzero(block.project.weight) == 0
        assert torch.equal(block(x), x)
    # the first two convs: N(0, gain^2 / fan_in), gain = He's for leaky ReLU 0.2 x L^(-1/4)
    gain = LEAKY_GAIN * len(blocks) ** -0.25
    expand = torch.cat([b.expand.weight.flatten() for b in blocks])
    assert expand.std().item() == pytest.approx(gain / math.sqrt(64), rel=0.03)
    grouped = torch.cat([b.grouped.weight.flatten() for b in blocks])
    assert grouped.std().item() == pytest.approx(gain / math.sqrt(16 * 9), rel=0.03)
    # a trained block is no longer the identity: the branch is live once project moves
    with torch.no_grad():
        blocks[0].project.weight.normal_()
    assert not torch.allclose(blocks[0](x), x)


def test_resampling_is_bilinear_and_widths_follow_the_presets():
    from ganzoo_builtins.r3gan.networks import Downsample, Upsample, stage_widths

    x = torch.randn(1, 3, 8, 8)
    up = Upsample(3)(x)
    bilinear = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    assert up.shape == (1, 3, 16, 16)
    torch.testing.assert_close(up[..., 1:-1, 1:-1], bilinear[..., 1:-1, 1:-1])
    flat = torch.full((1, 2, 8, 8), 3.0)
    down = Downsample(2)(flat)
    assert down.shape == (1, 2, 4, 4)
    torch.testing.assert_close(down[..., 1:-1, 1:-1], torch.full((1, 2, 2, 2), 3.0))
    assert stage_widths(768, 32) == [768] * 4
    assert stage_widths(768, 256) == [768] * 4 + [384, 192, 96]  # the FFHQ-256 preset
    D = build("discriminator", "r3gan", image_shape=(3, 64, 64), ndf=16)
    assert D.from_image.out_channels == 8 and D.basis.groups == 16  # 64 px: 8, then 16 wide


def test_g_starts_from_a_learned_basis_and_d_ends_in_a_depthwise_one():
    G = build("generator", "r3gan", image_shape=(3, 16, 16), ngf=8, latent_dim=8)
    assert G.basis.shape == (8, 4, 4) and G.modulation.in_features == 8
    seen = {}
    G.stages[0].register_forward_hook(lambda m, args, out: seen.setdefault("h", args[0]))
    z = torch.randn(3, 8)
    G(z)
    torch.testing.assert_close(seen["h"], G.basis[None] * G.modulation(z)[:, :, None, None])
    D = build("discriminator", "r3gan", image_shape=(1, 16, 16), ndf=8)
    assert (D.basis.kernel_size, D.basis.groups, D.basis.out_channels) == ((4, 4), 8, 8)
    assert D(torch.randn(5, 1, 16, 16)).shape == (5,)
    assert not [m for m in G.modules() if isinstance(m, nn.Linear) and m is not G.modulation]


def test_conditioning_concat_in_g_and_projection_in_d():
    G = build("generator", "r3gan", image_shape=(3, 8, 8), ngf=4, latent_dim=8,
              conditioning="concat", num_classes=5)
    D = build("discriminator", "r3gan", image_shape=(3, 8, 8), ndf=4,
              conditioning="projection", num_classes=5)
    z, x = torch.randn(4, 8), torch.rand(4, 3, 8, 8) * 2 - 1
    zeros, fours = torch.zeros(4, dtype=torch.long), torch.full((4,), 4)
    assert G.modulation.in_features == 16 and not torch.allclose(G(z, zeros), G(z, fours))
    features = D.linear(D.basis(nn.Sequential(D.from_image, *D.stages)(x)).flatten(1))
    torch.testing.assert_close(D(x, fours), (features * D.embed(fours)).sum(1))


def test_sizes_it_cannot_take_are_refused():
    for shape in [(1, 28, 28), (3, 24, 24), (2,), (3, 4, 4)]:
        with pytest.raises(GanzooError, match=r"4 x 2\^k pixels"):
            build("generator", "r3gan", image_shape=shape)
    with pytest.raises(GanzooError, match="needs class labels"):
        build("discriminator", "r3gan", image_shape=(3, 8, 8), conditioning="projection")


class Context:
    """What a loss or penalty reads from the step: D (``score``), the batches' D inputs."""

    def __init__(self, D, real_x=None, fake_x=None, real_logits=None):
        self.score = lambda x, labels: DOutput(D(x))
        self.real_x, self.fake_x, self.real_logits = real_x, fake_x, real_logits
        self.real = self.fake = type("NoLabels", (), {"labels": None})()


def test_rpgan_values_and_gradients_on_hand_made_logits():
    loss = build("loss", "rpgan")
    real = torch.tensor([2.0, 0.0, -1.0], requires_grad=True)
    fake = torch.tensor([0.0, 1.0, -1.0], requires_grad=True)
    d = loss.discriminator_loss(real, fake, None)
    expected = (F.softplus(torch.tensor(-2.0)) + F.softplus(torch.tensor(1.0))
                + math.log(2)) / 3  # each real against its own fake: 2, -1 and 0 apart
    assert d.item() == pytest.approx(expected.item())
    d.backward()
    margin = (real - fake).detach()
    torch.testing.assert_close(real.grad, -torch.sigmoid(-margin) / 3)
    torch.testing.assert_close(fake.grad, torch.sigmoid(-margin) / 3)
    # G's loss is D's with the roles swapped, and moves only the fakes
    fake.grad = None
    g = loss.generator_loss(fake, Context(None, real_logits=real.detach()))
    assert g.item() == pytest.approx(
        loss.discriminator_loss(fake, real, None).item())
    g.backward()
    torch.testing.assert_close(fake.grad, -torch.sigmoid(margin) / 3)
    # shifting every logit by a constant changes nothing: only pairs' differences count
    assert loss.discriminator_loss(real + 5, fake + 5, None).item() == pytest.approx(d.item())
    assert loss.outputs_are_logits is False
    with pytest.raises(GanzooError, match="pairs each real sample with one fake"):
        loss.discriminator_loss(real, fake[:2], None)


def test_r1_and_r2_on_a_hand_made_d():
    """D(x) = sum(a * x): every input gradient is a, so each penalty is |a|^2 / 2; with
    D(x) = w sum(x^2) it is 2 w^2 E||x||^2, trained through w (d/dw = 4 w E||x||^2)."""
    a = torch.tensor([[[1.0, -2.0], [0.5, 3.0]]])

    def linear(x):
        return (a * x).flatten(1).sum(1)

    x = torch.randn(6, 1, 2, 2)
    r1, r2 = build("regularizer", "r1"), build("regularizer", "r2")
    half_a2 = 0.5 * a.square().sum().item()
    assert r1.penalty(Context(linear, real_x=x)).item() == pytest.approx(half_a2)
    assert r2.penalty(Context(linear, fake_x=x.clone().requires_grad_())).item() == \
        pytest.approx(half_a2)
    w = torch.tensor(0.7, requires_grad=True)
    penalty = r2.penalty(Context(lambda v: w * v.square().flatten(1).sum(1), fake_x=x))
    energy = x.square().flatten(1).sum(1).mean()
    assert penalty.item() == pytest.approx((2 * 0.7**2 * energy).item(), rel=1e-5)
    penalty.backward()
    assert w.grad.item() == pytest.approx((4 * 0.7 * energy).item(), rel=1e-5)


def test_rpgan_and_r2_train_any_network(tmp_path, capsys):
    """The MLP quickstart with RpGAN, R1 and R2: G's loss reads D(x) in its own update."""
    run = tmp_path / "mlp"
    assert main(["run", str(RECIPES / "quickstart.yaml"), "loss.name=rpgan",
                 "regularizers=[{name: r1, weight: 0.1}, {name: r2, weight: 0.1}]",
                 "train.steps=4", "train.batch_size=16", "train.log_every=1",
                 "train.device=cpu", "train.sample_every=4", f"train.run_dir={run}"]) == 0
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 4
    for row in rows:
        assert math.isfinite(row["g_loss"]) and math.isfinite(row["d_loss"])
        assert "score_real" in row and "d_real" not in row  # a critic's scores, not D(x)
        # at the start D hardly separates the pairs: both losses near log 2
        assert abs(row["d_loss"] - math.log(2)) < 0.3 and abs(row["g_loss"] - math.log(2)) < 0.3
    assert any("r2" in key for key in rows[0]), rows[0]


def test_show_run_sample_eval_export_and_exact_resume(tmp_path, fake_data, capsys,
                                                      monkeypatch):
    from PIL import Image
    from test_resume import assert_same_state

    from ganzoo.engine.checkpoint import load_checkpoint

    assert main(["show", str(RECIPE), *tiny(fake_data)]) == 0
    shown = capsys.readouterr().out
    assert "generator r3gan" in shown and "discriminator r3gan" in shown

    # every schedule (lr, gamma, beta2, the EMA's half-life) spans the run's 6 steps: a run
    # stopped after step 3 (as a signal stops it) and resumed ends where the straight run does
    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    assert main(["run", str(RECIPE), *tiny(fake_data, "train.steps=6"),
                 f"train.run_dir={straight}"]) == 0
    trainer = make_trainer(stopped, tiny(fake_data, "train.steps=6"), RECIPE.name)
    trainer.fit(on_log=lambda row: row["step"] == 3 and setattr(trainer, "stop_signal", 15))
    assert trainer.step_done == 3
    trainer.run.unlock()  # as the stopped process would on exit
    assert main(["resume", str(stopped)]) == 0
    a = load_checkpoint(straight / "checkpoints" / "step_0000006.pt")
    b = load_checkpoint(stopped / "checkpoints" / "step_0000006.pt")
    assert_same_state(a, b)
    assert a["ema"] is not None  # the recipe's EMA of G, restored too
    rows = [json.loads(line) for line in (stopped / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(1, 7))
    assert all(math.isfinite(r["g_loss"]) for r in rows)

    run = stopped
    assert main(["sample", str(run), "--n", "3", "--out", str(tmp_path / "images")]) == 0
    images = sorted((tmp_path / "images").rglob("*.png"))
    assert len(images) == 3 and Image.open(images[0]).size == (8, 8)

    registry, _ = evaluate_with_tiny_extractor(run, monkeypatch, 16, 6)
    assert_onnx_export_gives_the_samples(run, tmp_path / "model", registry, num_classes=10)


def test_ganzoo_list_names_the_parts(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    rows = {tuple(cell.strip() for cell in line.split("│")[1:3]) for line in out.splitlines()
            if "│" in line}
    for row in [("r3gan", "generator"), ("r3gan", "discriminator"), ("rpgan", "loss"),
                ("r2", "regularizer"), ("r1", "regularizer")]:
        assert row in rows, row
