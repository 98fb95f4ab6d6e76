"""pix2pix, a built-in game with an input: its networks as the paper's reference code builds
them, its step on pairs derived from faces, and PSNR/SSIM against the truth."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ganzoo.api import build
from ganzoo.cli import main

RECIPE = Path(__file__).resolve().parent.parent / "recipes" / "pix2pix_celeba_colour.yaml"


def test_the_networks_are_the_reference_codes_at_256_pixels():
    G = build("generator", "unet", image_shape=(3, 256, 256), input_shape=(3, 256, 256))
    D = build("discriminator", "patchgan", image_shape=(6, 256, 256))
    # the parameter counts of pix2pix's unet_256 and basic (70x70, n_layers=3) D
    assert sum(p.numel() for p in G.parameters()) == 54_413_955
    assert sum(p.numel() for p in D.parameters()) == 2_768_705
    assert sum(isinstance(m, torch.nn.Dropout) for m in G.modules()) == 3  # CD512 x 3
    with torch.no_grad():
        assert D(torch.zeros(1, 6, 256, 256)).shape == (1, 30 * 30)  # a logit per patch
        assert G.eval()(torch.zeros(1, 3, 256, 256)).shape == (1, 3, 256, 256)


def test_unet_refuses_sizes_it_cannot_take():
    from ganzoo.errors import GanzooError

    with pytest.raises(GanzooError, match="one power-of-2 size"):
        build("generator", "unet", image_shape=(3, 48, 48), input_shape=(1, 48, 48))
    with pytest.raises(GanzooError, match="square images"):
        build("generator", "unet", image_shape=(2,))


def test_psnr_and_ssim_are_the_textbook_values():
    from ganzoo_builtins.metrics.translation import as_output, psnr, ssim

    truth = torch.rand(2, 3, 32, 32) * 1.6 - 0.8
    assert torch.allclose(ssim(truth, truth), torch.ones(2))
    # 0.2 on [-1, 1] is 0.1 on [0, 1]: MSE 0.01, PSNR 20 dB
    assert torch.allclose(psnr(truth + 0.2, truth), torch.full((2,), 20.0), atol=1e-4)
    assert (ssim(truth.flip(-1), truth) < 0.5).all()
    gray = truth.mean(1, keepdim=True)
    assert as_output(gray, (3, 32, 32)).shape == (2, 3, 32, 32)
    assert as_output(gray[..., ::4, ::4], (3, 32, 32)).shape == (2, 3, 32, 32)


def test_pix2pix_colourizes_faces_end_to_end(tmp_path, fake_data, capsys):
    run = tmp_path / "colour"
    tiny = ["train.steps=4", "train.batch_size=4", "train.log_every=2", "train.num_samples=4",
            "train.sample_every=4", "train.checkpoint_every=4", "train.device=cpu",
            "generator.ngf=8", "discriminator.ndf=8", f"data.base.root={fake_data}/celeba",
            f"train.run_dir={run}"]
    assert main(["run", str(RECIPE), *tiny]) == 0
    last = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert {"d_loss", "g_loss", "l1", "g_gan", "d_real", "d_fake"} <= set(last)
    assert last["g_loss"] == pytest.approx(last["g_gan"] + 100 * last["l1"], rel=1e-4)

    from PIL import Image

    assert Image.open(run / "samples" / "step_0000004.png").size == (3 * 66 + 2, 4 * 66 + 2)
    capsys.readouterr()
    # the fake faces are all of the train split's numbers: evaluate on those
    assert main(["eval", str(run), "eval.ref=train", "eval.n=8"]) == 0
    saved = json.loads(next((run / "checkpoints").glob("*.eval.json")).read_text())
    saved = saved[-1] if isinstance(saved, list) else saved
    values = saved["metrics"]
    assert {"psnr", "ssim", "psnr_input", "ssim_input"} <= set(values)
    assert 0 < values["ssim_input"] <= 1 and values["psnr_input"] > 5
    assert saved["protocol"]["n_pairs"] == 8
