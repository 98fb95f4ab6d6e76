"""What people look at: timelines, GIFs, curves, sample files and latent walks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganzoo.cli import main

RECIPES = Path(__file__).resolve().parent.parent / "recipes"
SHRINK = ["generator.ngf=4", "discriminator.ndf=4"]


@pytest.fixture(scope="module")
def image_run(tmp_path_factory, fake_data):
    run = tmp_path_factory.mktemp("runs") / "mnist"
    assert main(["run", str(RECIPES / "dcgan_mnist.yaml"), f"data.root={fake_data}", *SHRINK,
                 "train.steps=12", "train.batch_size=8", "train.log_every=2",
                 "train.sample_every=2", "train.checkpoint_every=6", "train.num_samples=16",
                 "train.ema_decay=0.9", "train.device=cpu", f"train.run_dir={run}"]) == 0
    return run


@pytest.fixture(scope="module")
def points_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "points"
    assert main(["run", str(RECIPES / "quickstart.yaml"), "train.steps=20", "train.log_every=5",
                 "train.sample_every=5", "train.device=cpu", f"train.run_dir={run}",
                 "generator.hidden_dims=[16]", "discriminator.hidden_dims=[16]"]) == 0
    return run


def test_a_run_ends_with_its_pictures(image_run):
    for name in ("timeline.png", "timeline.gif", "losses.png", "discriminator.png"):
        assert (image_run / name).is_file(), name
    timeline = Image.open(image_run / "timeline.png")
    # Six sample steps (2, 4, ..., 12): six rows of 28 px images with padding, shown at 3x.
    assert timeline.height == 6 * (28 + 4) * 3
    gif = Image.open(image_run / "timeline.gif")
    assert gif.n_frames == 6


def test_plot_redraws_on_demand(image_run, capsys):
    (image_run / "timeline.png").unlink()
    assert main(["plot", str(image_run)]) == 0
    assert "timeline.png" in capsys.readouterr().out
    assert (image_run / "timeline.png").is_file()


def test_plot_of_a_point_run_and_of_no_run(points_run, tmp_path, capsys):
    assert main(["plot", str(points_run)]) == 0
    assert Image.open(points_run / "timeline.gif").n_frames == 4
    assert main(["plot", str(tmp_path)]) == 2
    assert "has no samples/ pictures and no metrics.jsonl" in capsys.readouterr().err


def test_sample_writes_pngs_and_npz(image_run, tmp_path):
    assert main(["sample", str(image_run), "--n", "5", "--out", str(tmp_path / "pngs")]) == 0
    files = sorted((tmp_path / "pngs").iterdir())
    assert len(files) == 5 and Image.open(files[0]).size == (28, 28)
    checkpoint = image_run / "checkpoints" / "step_0000006.pt"
    assert main(["sample", str(checkpoint), "--n", "300", "--out", str(tmp_path / "s.npz"),
                 "--no-ema"]) == 0
    images = np.load(tmp_path / "s.npz")["images"]
    assert images.shape == (300, 28, 28, 1) and images.dtype == np.uint8


def test_sample_uses_the_ema_unless_asked_not_to(image_run, tmp_path):
    for flag, name in (([], "ema"), (["--no-ema"], "raw")):
        assert main(["sample", str(image_run), "--n", "4", "--out",
                     str(tmp_path / f"{name}.npz"), *flag]) == 0
    assert not np.array_equal(np.load(tmp_path / "ema.npz")["images"],
                              np.load(tmp_path / "raw.npz")["images"])


def test_sample_points_go_to_npz_only(points_run, tmp_path, capsys):
    assert main(["sample", str(points_run), "--n", "50", "--out", str(tmp_path / "p.npz")]) == 0
    assert np.load(tmp_path / "p.npz")["points"].shape == (50, 2)
    assert main(["sample", str(points_run), "--n", "5", "--out", str(tmp_path / "dir")]) == 2
    assert "makes points, not images" in capsys.readouterr().err


def test_interpolate_writes_a_latent_walk_grid(image_run, tmp_path):
    out = tmp_path / "walk.png"
    assert main(["interpolate", str(image_run), "--out", str(out), "--rows", "3",
                 "--steps", "5"]) == 0
    assert Image.open(out).size == (5 * 30 + 2, 3 * 30 + 2)


def test_slerp_ends_where_it_should():
    import torch

    from ganzoo.sampling import slerp

    a, b = torch.randn(1, 8), torch.randn(1, 8)
    t = torch.tensor([[0.0], [1.0]])
    ends = slerp(a, b, t)
    assert torch.allclose(ends[0], a[0], atol=1e-5) and torch.allclose(ends[1], b[0], atol=1e-5)
