"""BEGAN, a built-in game whose D is an auto-encoder: its networks as the paper's Figure 1 and
reference code build them, its step (the objectives, k_t's control and M), exact resume with
k_t, and every command on a run of it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from helpers import (
    assert_onnx_export_gives_the_samples,
    evaluate_with_tiny_extractor,
    make_trainer,
    one_line_error,
)
from torch import nn

from ganzoo.api import build
from ganzoo.cli import main
from ganzoo.errors import GanzooError

RECIPE = Path(__file__).resolve().parent.parent / "recipes" / "began_celeba.yaml"


@pytest.fixture(scope="module")
def faces(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data root of 24 high-contrast 'faces' (black and white blocks): a fresh D
    reconstructs them far worse than G's first, flat, images, so k_t rises from the start."""
    import numpy as np
    from PIL import Image

    root = tmp_path_factory.mktemp("blocky")
    folder = root / "celeba" / "img_align_celeba"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(24):
        blocks = rng.integers(0, 2, (4, 4, 3), dtype=np.uint8) * 255
        image = Image.fromarray(blocks.repeat(8, 0).repeat(8, 1))
        image.save(folder / f"{i + 1:06d}.jpg", quality=95)
    return root


def tiny(fake_data: Path, *more: str) -> list[str]:
    """The recipe at 16x16 with n = 4 and h = z = 8, a few CPU steps on the faces of a data
    root."""
    return ["train.device=cpu", "train.batch_size=4", "data.image_size=16", "generator.ngf=4",
            "discriminator.ndf=4", "generator.latent_dim=8", "discriminator.hidden_dim=8",
            f"data.root={fake_data}/celeba", "train.num_samples=4", "train.log_every=1",
            "train.sample_every=3", "train.checkpoint_every=3", *more]


def convs(net: nn.Module) -> list[nn.Conv2d]:
    return [m for m in net.modules() if isinstance(m, nn.Conv2d)]


def test_the_networks_are_the_papers_at_64_pixels():
    G = build("generator", "began", image_shape=(3, 64, 64))
    D = build("discriminator", "began", image_shape=(3, 64, 64))
    assert G.latent_dim == 64 and G.decoder.fc.out_features == 8 * 8 * 64
    # the decoder: two 3x3 convs of n filters at 8, 16, 32 and 64 pixels, then one to RGB
    assert [(c.in_channels, c.out_channels, c.kernel_size) for c in convs(G)] == \
        [(64, 64, (3, 3))] * 8 + [(64, 3, (3, 3))]
    assert sum(isinstance(m, nn.ELU) for m in G.modules()) == 8
    assert not any(isinstance(m, nn.Tanh) for m in G.modules())  # linear, as the reference
    # the encoder: n filters, then n, 2n, 3n, 4n per scale, a stride-2 conv between scales
    encoder = convs(D.encoder)
    assert [c.out_channels for c in encoder] == [64, 64, 64, 64, 128, 128, 128, 192, 192, 192,
                                                 256, 256]
    assert [c.stride[0] for c in encoder].count(2) == 3
    assert (D.encoder.fc.in_features, D.encoder.fc.out_features) == (8 * 8 * 256, 64)
    assert sum(isinstance(m, nn.ELU) for m in D.encoder.modules()) == len(encoder)
    # D's decoder is G's architecture, fed h instead of z
    assert [p.shape for p in D.decoder.parameters()] == [p.shape for p in G.parameters()]
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    z = G.sample_latent(2)
    seen = {}
    G.decoder.blocks[0].register_forward_hook(lambda m, args, out: seen.setdefault("h0", args[0]))
    with torch.no_grad():
        out = D(x)
        h = D.encoder(x)
        assert G(z).shape == (2, 3, 64, 64)
        # no non-linearity after either fully connected layer: h and h0 are their outputs
        assert torch.equal(h, D.encoder.fc(D.encoder.net(x).flatten(1)))
        assert torch.equal(seen["h0"], G.decoder.fc(z).view(2, 64, 8, 8))
    assert out.extra["reconstruction"].shape == (2, 3, 64, 64) and h.shape == (2, 64)
    per_sample = (x - out.extra["reconstruction"]).abs().mean(dim=(1, 2, 3))
    torch.testing.assert_close(out.extra["error"], per_sample)
    torch.testing.assert_close(out.logits, -per_sample)  # higher: more like the real data


def test_skip_connections_feed_h0_to_every_later_scale():
    plain = build("generator", "began", image_shape=(3, 32, 32), ngf=8)
    skip = build("generator", "began", image_shape=(3, 32, 32), ngf=8, skip=True)
    # the blocks after the first take 2n channels: h0 upsampled beside the upsampled tensor
    assert [c.in_channels for c in convs(skip)] == [8, 8, 16, 8, 16, 8, 8]
    extra = sum(p.numel() for p in skip.parameters()) - sum(p.numel() for p in plain.parameters())
    assert extra == 2 * 8 * 8 * 9  # two first convs (16 pixels, 32 pixels) with n more inputs
    D = build("discriminator", "began", image_shape=(3, 32, 32), ndf=8, skip=True)
    assert [c.in_channels for c in convs(D.decoder)] == [8, 8, 16, 8, 16, 8, 8]


def test_z_is_uniform_on_minus_one_one():
    G = build("generator", "began", image_shape=(3, 16, 16), ngf=4)
    z = G.sample_latent(4000, generator=torch.Generator().manual_seed(0))
    assert z.shape == (4000, 64) and z.min() >= -1 and z.max() <= 1
    assert abs(z.mean().item()) < 0.01 and abs(z.var().item() - 1 / 3) < 0.01
    same = G.sample_latent(4000, generator=torch.Generator().manual_seed(0))
    assert torch.equal(z, same)
    # what torch-fidelity draws, N(0, I), is mapped onto the same law
    mapped = G.prior_from_normal(torch.randn(4000, 64, generator=torch.Generator().manual_seed(1)))
    assert mapped.min() >= -1 and mapped.max() <= 1 and abs(mapped.var().item() - 1 / 3) < 0.01
    assert "U(-1, 1)" in G.latent_description()


def test_the_networks_refuse_sizes_they_cannot_take():
    with pytest.raises(GanzooError, match=r"8 x 2\^k pixels"):
        build("generator", "began", image_shape=(3, 24, 24))
    with pytest.raises(GanzooError, match=r"8 x 2\^k pixels"):
        build("discriminator", "began", image_shape=(2,))


@pytest.mark.parametrize("gamma, lambda_k", [(0.5, 0.5), (0.01, 0.5)])
def test_each_step_plays_the_papers_objectives_and_controls_k(tmp_path, faces, gamma,
                                                              lambda_k):
    """L_D = L(x) - k_t L(G(z_D)), M = L(x) + |gamma L(x) - L_G| and
    k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L_G), 0, 1), step after step (a large gain
    moves k visibly; a small gamma drives it below 0, where it is clipped)."""
    trainer = make_trainer(tmp_path / "run", tiny(faces, f"game.gamma={gamma}",
                                                  f"game.lambda_k={lambda_k}"),
                           recipe="began_celeba.yaml")
    batches = trainer.c.dataset.batches(4, trainer.device, trainer.seed)
    k = 0.0
    for step in (1, 2, 3):
        stats = {name: float(value) for name, value in trainer.step(batches).items()}
        trainer.step_done = step
        assert stats["k_t"] == pytest.approx(k)
        assert stats["d_loss"] == pytest.approx(stats["l_real"] - k * stats["l_fake"], rel=1e-5)
        balance = gamma * stats["l_real"] - stats["g_loss"]
        assert stats["M"] == pytest.approx(stats["l_real"] + abs(balance), rel=1e-5)
        k = min(max(k + lambda_k * balance, 0.0), 1.0)
        assert float(trainer.game.k) == pytest.approx(k, abs=1e-7)
    assert (k > 0.01) if gamma == 0.5 else (k == 0.0)
    assert not {"d_real", "d_fake", "score_real", "score_fake"} & set(stats)


def test_three_steps_and_a_resume_equal_six_straight_with_k(tmp_path, faces):
    from test_resume import assert_same_state

    from ganzoo.engine.checkpoint import load_checkpoint

    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    assert main(["run", str(RECIPE), *tiny(faces, "train.steps=6"),
                 f"train.run_dir={straight}"]) == 0
    assert main(["run", str(RECIPE), *tiny(faces, "train.steps=3"),
                 f"train.run_dir={stopped}"]) == 0
    middle = load_checkpoint(stopped / "checkpoints" / "step_0000003.pt")
    assert main(["resume", str(stopped), "train.steps=6"]) == 0
    a = load_checkpoint(straight / "checkpoints" / "step_0000006.pt")
    b = load_checkpoint(stopped / "checkpoints" / "step_0000006.pt")
    assert_same_state(a, b)
    assert torch.equal(a["game"]["k"], b["game"]["k"])
    assert 0 < float(middle["game"]["k"]) < float(a["game"]["k"])  # k moved after the resume
    rows = [json.loads(line) for line in (stopped / "metrics.jsonl").read_text().splitlines()]
    straight_rows = [json.loads(line)
                     for line in (straight / "metrics.jsonl").read_text().splitlines()]
    assert [r["k_t"] for r in rows] == [r["k_t"] for r in straight_rows]
    assert [r["M"] for r in rows] == [r["M"] for r in straight_rows]


def test_the_halving_schedule_is_the_reference_codes():
    schedule = build("schedule", "halving", every=3)
    assert [schedule.factor(step, 10) for step in range(1, 11)] == \
        [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125]


def test_show_sample_eval_export_and_report_of_a_run(tmp_path, fake_data, capsys, monkeypatch):
    from PIL import Image


    assert main(["show", str(RECIPE), *tiny(fake_data)]) == 0
    shown = capsys.readouterr().out
    assert "generator began: z (8) -> 3x16x16" in shown
    assert "spatial size: 1 -> 8 -> 16" in shown and "spatial size: 16 -> 8 -> 16" in shown

    run = tmp_path / "run"
    assert main(["run", str(RECIPE), *tiny(fake_data, "train.steps=3"),
                 f"train.run_dir={run}"]) == 0
    assert main(["sample", str(run), "--n", "3", "--out", str(tmp_path / "faces")]) == 0
    faces = sorted((tmp_path / "faces").glob("*.png"))
    assert len(faces) == 3 and Image.open(faces[0]).size == (16, 16)

    registry, _ = evaluate_with_tiny_extractor(run, monkeypatch, 16, 3)
    assert_onnx_export_gives_the_samples(run, tmp_path / "model", registry)
    card = (tmp_path / "model" / "README.md").read_text()
    assert "game `began`" in card and "U(-1, 1)" in card

    assert main(["report", str(run), "--out", str(tmp_path / "report.html")]) == 0
    page = (tmp_path / "report.html").read_text()
    for name in ("M", "k_t"):  # BEGAN's values, each in a chart with its axis titles
        assert f'data-chart="{name}"' in page
        chart = page.split(f'data-chart="{name}"', 1)[1].split("</figure>", 1)[0]
        assert '<text class="axis-title" data-axis="x"' in chart and ">step</text>" in chart
        assert re.search(rf'<text class="axis-title" data-axis="y"[^>]*>{name}</text>', chart)


@pytest.mark.parametrize("changes, message", [
    (["loss.name=nonsaturating"],
     "loss.name: game 'began' plays BEGAN's own objectives, which need its k_t"),
    (["discriminator={name: dcgan, ndf: 4}", "data.image_size=32"],
     "discriminator.name: game 'began' needs an auto-encoder D"),
    (["data.image_size=24"], "BEGAN's networks take square images of 8 x 2^k pixels"),
    (["game.gamma=0"], "game.gamma: must be in (0, 1] (got 0"),
])
def test_what_began_cannot_play_is_one_line(tmp_path, fake_data, capsys, changes, message):
    changed = {change.split("=")[0] for change in changes}  # a key, or a whole section
    kept = [o for o in tiny(fake_data, "train.steps=1")
            if not any(o.split("=")[0] == key or o.startswith(f"{key}.") for key in changed)]
    one_line_error(capsys, ["run", str(RECIPE), *kept, *changes,
                            f"train.run_dir={tmp_path / 'run'}"], message)


def test_the_began_loss_is_refused_by_other_games(tmp_path, fake_data, capsys):
    one_line_error(capsys, ["run", str(RECIPE.parent / "dcgan_celeba.yaml"), "loss.name=began",
                            "train.steps=1", "train.batch_size=4", "train.device=cpu",
                            "data.image_size=32", "generator.ngf=4", "discriminator.ndf=4",
                            f"data.root={fake_data}/celeba", f"train.run_dir={tmp_path / 'run'}"],
                   "loss.name: loss 'began' is played by game 'began' only")
