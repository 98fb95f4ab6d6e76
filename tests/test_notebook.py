"""A run in a notebook: its HTML card (escaped, embedding only the run's own pictures), its
curves as figures, and to_pil's scale."""

from __future__ import annotations

import pytest
import torch

import ganzoo
from ganzoo.cli import main
from ganzoo.errors import GanzooError


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nb") / "run<b>"
    assert main(["run", "quickstart", "train.steps=20", "train.log_every=10",
                 f"train.run_dir={folder}"]) == 0
    return ganzoo.load_run(folder)


def test_the_card_shows_steps_values_and_the_newest_samples_escaped(run):
    card = run._repr_html_()
    assert "run&lt;b&gt;" in card and "run<b>" not in card
    assert "checkpointed at step 20 of 20" in card and "d_loss" in card
    assert card.count("data:image/png;base64,") == 1 and "step_0000020.png" in card


def test_a_sample_picture_that_links_outside_the_run_is_never_embedded(run, tmp_path):
    outside = tmp_path / "secret.png"
    outside.write_bytes(b"\x89PNG not the run's")
    link = run.folder.samples_dir / "step_9999999.png"
    link.symlink_to(outside)
    try:
        card = run._repr_html_()
        assert "step_9999999.png" not in card and "step_0000020.png" in card
    finally:
        link.unlink()


def test_plot_gives_the_curves_as_figures(run):
    figures = run.plot()
    assert {"losses.png", "discriminator.png"} <= set(figures)
    ax = figures["losses.png"].axes[0]
    assert [line.get_label() for line in ax.lines] == ["D loss", "G loss"]
    assert list(ax.lines[0].get_xdata()) == [10, 20]


def test_to_pil_draws_small_images_larger():
    images = torch.rand(4, 3, 8, 8) * 2 - 1
    small, big = ganzoo.to_pil(images, nrow=2), ganzoo.to_pil(images, nrow=2, scale=3)
    assert big.size == (3 * small.width, 3 * small.height)
    assert big.getpixel((3 * 5, 3 * 5)) == small.getpixel((5, 5))
    for bad in (0, 2.5, True):
        with pytest.raises(GanzooError, match="scale must be a whole number"):
            ganzoo.to_pil(images, scale=bad)
