"""Super-resolution, built in: SRGAN's and ESRGAN's networks as their paper and reference code
give them, their steps against the same step written by hand, exact resume, the commands on a
run that enlarges faces 4x, and PSNR/SSIM with the options SR papers measure by."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import make_trainer, one_line_error
from torch import nn

from ganzoo.api import build
from ganzoo.cli import main
from ganzoo.errors import GanzooError

RECIPES = Path(__file__).resolve().parent.parent / "recipes"
SRGAN, ESRGAN = "srgan_celeba_x4.yaml", "esrgan_celeba_x4.yaml"
#: 16x16 faces from 4x4 inputs, tiny networks
TINY = ["train.steps=4", "train.batch_size=4", "train.log_every=1", "train.num_samples=4",
        "train.sample_every=4", "train.checkpoint_every=4", "train.device=cpu",
        "data.base.image_size=16", "discriminator.ndf=8", "discriminator.hidden=16",
        "game.pretrain_steps=2"]
TINY_G = {SRGAN: ["generator.ngf=8", "generator.n_blocks=1"],
          ESRGAN: ["generator.ngf=8", "generator.n_blocks=1", "generator.growth=4"]}


def tiny(recipe: str, fake_data: Path, *more: str) -> list[str]:
    return [*TINY, *TINY_G[recipe], f"data.base.root={fake_data}/celeba", *more]


# ---- the networks --------------------------------------------------------------------------

def test_srresnet_is_the_papers_generator():
    G = build("generator", "srresnet", image_shape=(3, 64, 64), input_shape=(3, 16, 16))
    convs = [m for m in G.modules() if isinstance(m, nn.Conv2d)]
    assert [c.kernel_size for c in (convs[0], convs[-1])] == [(9, 9), (9, 9)]
    assert len(G.blocks) == 16 and sum(isinstance(m, nn.BatchNorm2d) for m in G.modules()) == 33
    assert sum(isinstance(m, nn.PixelShuffle) for m in G.modules()) == 2  # x2 twice for x4
    assert isinstance(G.tail[-1], nn.Tanh)
    with torch.no_grad():
        assert G.eval()(torch.zeros(2, 3, 16, 16)).shape == (2, 3, 64, 64)
    x8 = build("generator", "srresnet", image_shape=(3, 64, 64), input_shape=(3, 8, 8))
    assert sum(isinstance(m, nn.PixelShuffle) for m in x8.modules()) == 3


def test_rrdbnet_and_the_discriminators_have_the_reference_codes_parameters():
    G = build("generator", "rrdbnet", image_shape=(3, 64, 64), input_shape=(3, 16, 16))
    # RRDBNet(3, 3, scale=4, num_feat=64, num_block=23, num_grow_ch=32) of ESRGAN's code
    assert sum(p.numel() for p in G.parameters()) == 16_697_987
    assert not any(isinstance(m, nn.BatchNorm2d) for m in G.modules())
    # its VGGStyleDiscriminator(3, 64) at 128 pixels: 10 convs down to 4x4, dense 100
    D = build("discriminator", "esrgan_vgg", image_shape=(3, 128, 128))
    assert sum(p.numel() for p in D.parameters()) == 14_499_401
    # SRGAN's D at its 96-pixel crops: 8 convs to 6x6x512, dense 1024, dense 1
    D = build("discriminator", "srgan_vgg", image_shape=(3, 96, 96))
    assert sum(p.numel() for p in D.parameters()) == 23_563_649
    convs = [m for m in D.modules() if isinstance(m, nn.Conv2d)]
    assert [c.stride[0] for c in convs] == [1, 2] * 4
    assert [c.out_channels for c in convs] == [64, 64, 128, 128, 256, 256, 512, 512]
    assert sum(isinstance(m, nn.BatchNorm2d) for m in D.modules()) == 7  # none on the first
    assert {m.negative_slope for m in D.modules() if isinstance(m, nn.LeakyReLU)} == {0.2}
    with torch.no_grad():
        assert D(torch.zeros(2, 3, 96, 96)).shape == (2,)


def test_rrdbnet_clamps_its_linear_output_and_passes_the_gradient_through():
    G = build("generator", "rrdbnet", image_shape=(3, 8, 8), input_shape=(3, 4, 4), ngf=4,
              n_blocks=1, growth=4)
    with torch.no_grad():
        G.tail[-1].bias.fill_(3.0)  # every linear output far above 1
    out = G(torch.zeros(2, 3, 4, 4))
    assert torch.equal(out, torch.ones_like(out))
    out.sum().backward()
    assert G.tail[-1].bias.grad.tolist() == [2 * 64.0] * 3  # d(sum)/d(bias), as if linear


def test_the_networks_refuse_shapes_they_cannot_take():
    with pytest.raises(GanzooError, match=r"output 64x64 must be the input 12x12 enlarged by "
                                          r"a power of 2"):
        build("generator", "srresnet", image_shape=(3, 64, 64), input_shape=(3, 12, 12))
    with pytest.raises(GanzooError, match="needs a game whose generator has an input"):
        build("generator", "rrdbnet", image_shape=(3, 64, 64))
    with pytest.raises(GanzooError, match=r"4 x a power of 2 pixels .*got 48"):
        build("discriminator", "esrgan_vgg", image_shape=(3, 48, 48))


def test_a_scale_that_does_not_fit_the_images_is_one_line(tmp_path, capsys, fake_data):
    root = f"data.base.root={fake_data}/celeba"
    one_line_error(capsys, ["run", str(RECIPES / SRGAN), root, "data.factor=3",
                            f"train.run_dir={tmp_path / 'a'}"],
                   "data.factor: 3 does not divide the base's 64x64 images")
    one_line_error(capsys, ["run", str(RECIPES / ESRGAN), root, "data.factor=3",
                            "data.base.image_size=48", f"train.run_dir={tmp_path / 'b'}"],
                   "generator 'rrdbnet': the output 48x48 must be the input "
                   "16x16 enlarged by a power of 2")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


# ---- the steps, against the same steps written by hand -------------------------------------

def hand_step(G, D, opt_g, opt_d, batch, kind: str) -> None:
    """One GAN step as the papers' code writes it: SRGAN (D, then G; non-saturating; MSE on
    [-1, 1]) or ESRGAN (G, then D; RaGAN with BCE on relative logits, each pair averaged; L1
    on [0, 1])."""
    bce = nn.BCEWithLogitsLoss()
    lr_image, hr_image = batch.source, batch.target
    sr = G(lr_image)

    def d_update():
        real, fake = D(hr_image), D(sr.detach())
        if kind == "srgan":
            loss = bce(real, torch.ones_like(real)) + bce(fake, torch.zeros_like(fake))
        else:
            loss = (bce(real - fake.mean(), torch.ones_like(real))
                    + bce(fake - real.mean(), torch.zeros_like(fake))) / 2
        opt_d.zero_grad()
        loss.backward(inputs=list(D.parameters()))
        opt_d.step()

    def g_update():
        fake = D(sr)
        if kind == "srgan":
            loss = ((sr - hr_image) ** 2).mean() + 1e-3 * bce(fake, torch.ones_like(fake))
        else:
            real = D(hr_image)
            gan = (bce(real - fake.mean(), torch.zeros_like(real))
                   + bce(fake - real.mean(), torch.ones_like(fake))) / 2
            loss = (sr - hr_image).abs().mean() / 2 + 5e-3 * gan
        opt_g.zero_grad()
        loss.backward(inputs=list(G.parameters()))
        opt_g.step()

    for update in (d_update, g_update) if kind == "srgan" else (g_update, d_update):
        update()


@pytest.mark.parametrize("recipe, kind", [(SRGAN, "srgan"), (ESRGAN, "esrgan")])
def test_the_game_plays_the_papers_step(tmp_path, fake_data, recipe, kind):
    """A content-only step, then two GAN steps, against the same steps by hand. Plain SGD on
    both sides: Adam would blow float noise up into whole steps where RaGAN's gradient is 0
    (a shift of every logit changes no relative logit, so D's last bias gets none)."""
    sgd = ["optim_g={name: sgd, lr: 0.01}", "optim_d={name: sgd, lr: 0.01}"]
    trainer = make_trainer(tmp_path / "run", tiny(recipe, fake_data, "game.pretrain_steps=1",
                                                  *sgd), recipe=recipe)
    G = copy.deepcopy(trainer.networks["generator"])
    D = copy.deepcopy(trainer.networks["discriminator"])
    D_before = copy.deepcopy(D.state_dict())
    batches = trainer.c.dataset.batches(4, torch.device("cpu"), trainer.seed)
    ours = trainer.c.dataset.batches(4, torch.device("cpu"), trainer.seed)
    for step in (1, 2, 3):
        trainer.step_done = step - 1
        stats = trainer.step(ours)
        if step == 1:  # the content loss alone; D waits
            assert set(stats) == {"g_loss", "content"}
            assert all(torch.equal(v, trainer.networks["discriminator"].state_dict()[k])
                       for k, v in D_before.items())
    opt_g = torch.optim.SGD(G.parameters(), lr=0.01)
    opt_d = torch.optim.SGD(D.parameters(), lr=0.01)
    batch = next(batches)
    content = ((G(batch.source) - batch.target) ** 2).mean() if kind == "srgan" else \
        (G(batch.source) - batch.target).abs().mean() / 2
    opt_g.zero_grad()
    content.backward()
    opt_g.step()
    for _ in (2, 3):
        hand_step(G, D, opt_g, opt_d, next(batches), kind)
    for mine, theirs in ((G, trainer.networks["generator"]),
                         (D, trainer.networks["discriminator"])):
        for name, value in mine.state_dict().items():
            torch.testing.assert_close(theirs.state_dict()[name], value, rtol=1e-5, atol=1e-6,
                                       msg=lambda text, name=name: f"{name}: {text}")
    weight = 1e-3 if kind == "srgan" else 5e-3
    assert float(stats["g_loss"]) == pytest.approx(
        float(stats["content"] + weight * stats["g_gan"]), rel=1e-5)


@pytest.mark.parametrize("recipe", [SRGAN, ESRGAN])
def test_resume_is_exact(tmp_path, fake_data, recipe):
    """Straight to 6 steps against 3, stopped, resumed to 6, across the end of pretraining."""
    from test_resume import assert_same_state

    from ganzoo.engine.checkpoint import load_checkpoint

    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    common = tiny(recipe, fake_data, "game.pretrain_steps=4", "train.checkpoint_every=3",
                  "train.sample_every=100")
    assert main(["run", str(RECIPES / recipe), *common, "train.steps=6",
                 f"train.run_dir={straight}"]) == 0
    assert main(["run", str(RECIPES / recipe), *common, "train.steps=3",
                 f"train.run_dir={stopped}"]) == 0
    assert main(["resume", str(stopped), "train.steps=6"]) == 0
    a = load_checkpoint(straight / "checkpoints" / "step_0000006.pt")
    b = load_checkpoint(stopped / "checkpoints" / "step_0000006.pt")
    assert a["optimizers"]["optim_d"]["state"]  # D was trained after pretraining
    assert_same_state(a, b)


# ---- a run, and the commands on it ---------------------------------------------------------

@pytest.fixture(scope="module")
def srgan_run(tmp_path_factory, fake_data) -> Path:
    run = tmp_path_factory.mktemp("srgan") / "run"
    assert main(["run", str(RECIPES / SRGAN), *tiny(SRGAN, fake_data),
                 f"train.run_dir={run}"]) == 0
    return run


def small_faces(folder: Path, n: int, size: int) -> Path:
    from PIL import Image

    folder.mkdir()
    pixels = np.random.default_rng(1).integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    for i, image in enumerate(pixels):
        Image.fromarray(image).save(folder / f"face_{i}.png")
    return folder


def test_show_and_the_sample_pictures_of_a_run(srgan_run, fake_data, capsys):
    from PIL import Image

    assert main(["show", str(RECIPES / SRGAN), *tiny(SRGAN, fake_data)]) == 0
    shown = capsys.readouterr().out
    assert "generator srresnet: image 3x4x4 -> 3x16x16" in shown
    assert "discriminator srgan_vgg: 3x16x16 -> logit" in shown
    # input (enlarged to show), output, truth: 4 rows of 16-pixel images
    assert Image.open(srgan_run / "samples" / "step_0000004.png").size == (3 * 18 + 2,
                                                                           4 * 18 + 2)
    last = json.loads((srgan_run / "metrics.jsonl").read_text().splitlines()[-1])
    assert {"d_loss", "g_loss", "content", "g_gan", "d_real", "d_fake"} <= set(last)


def test_translate_a_folder_and_refuse_larger_images(srgan_run, tmp_path, capsys):
    from ganzoo.api import registry
    from ganzoo.sampling import load_generator, to_uint8
    from ganzoo.translation import read_inputs

    folder = small_faces(tmp_path / "faces", 3, 4)
    out = tmp_path / "big.npz"
    assert main(["translate", str(srgan_run), "--input", str(folder), "--out", str(out)]) == 0
    enlarged = np.load(out)["images"]
    assert enlarged.shape == (3, 16, 16, 3) and enlarged.dtype == np.uint8
    G, _, _ = load_generator(srgan_run, registry(), device="cpu")
    with torch.no_grad():
        expected = to_uint8(G(read_inputs(folder))).permute(0, 2, 3, 1).numpy()
    assert np.array_equal(enlarged, expected)
    capsys.readouterr()
    larger = small_faces(tmp_path / "larger", 2, 8)
    one_line_error(capsys, ["translate", str(srgan_run), "--input", str(larger), "--out",
                            str(tmp_path / "no.npz")],
                   "the images are 3x8x8 (C x H x W), but this generator takes 3x4x4")


def test_the_onnx_export_enlarges_as_pytorch_does(srgan_run, tmp_path):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    pytest.importorskip("onnxscript", reason="onnxscript is not installed")
    import ganzoo

    assert main(["export", str(srgan_run), "--out", str(tmp_path / "model"),
                 "--format", "onnx"]) == 0
    images = torch.rand(3, 3, 4, 4) * 2 - 1
    with torch.no_grad():
        expected = ganzoo.load_exported(tmp_path / "model")(images)
    session = ort.InferenceSession(str(tmp_path / "model" / "generator.onnx"))
    (got,) = session.run(None, {"images": images.numpy()})
    assert got.shape == (3, 3, 16, 16)
    np.testing.assert_allclose(got, expected.numpy(), atol=1e-5)


def test_eval_measures_against_bicubic_and_the_report_shows_the_run(srgan_run, tmp_path,
                                                                    capsys):
    # the recipe's two entries, with a border the 16-pixel faces can spare
    assert main(["eval", str(srgan_run), "eval.ref=train", "eval.n=8", "eval.metrics=[psnr_ssim, "
                 "{name: psnr_ssim, y_channel: true, crop_border: 2}]"]) == 0
    saved = json.loads(next((srgan_run / "checkpoints").glob("*.eval.json")).read_text())
    saved = saved[-1] if isinstance(saved, list) else saved
    values, protocol = saved["metrics"], saved["protocol"]
    sr_protocol = "[y_channel=True,crop_border=2]"
    for name in ("psnr", "ssim", "psnr_input", "ssim_input"):
        assert name in values and f"{name}{sr_protocol}" in values
    assert values[f"psnr_input{sr_protocol}"] != values["psnr_input"]
    assert protocol["n_pairs"] == 8 and len(protocol["psnr_ssim"]) == 2
    assert "the luma Y (BT.601), 2 border pixels left out" in protocol["psnr_ssim"][1]
    assert all("MATLAB's imresize" in line for line in protocol["psnr_ssim"])
    assert main(["report", str(srgan_run), "--out", str(tmp_path / "report.html")]) == 0
    assert "srgan" in (tmp_path / "report.html").read_text()
    capsys.readouterr()
    one_line_error(capsys, ["eval", str(srgan_run), "eval.ref=train", "eval.n=8",
                            "eval.metrics=[{name: psnr_ssim, crop_border: 3}]"],
                   "crop_border 3 leaves 10 pixels of the 16x16 images")
    one_line_error(capsys, ["eval", str(srgan_run), "eval.ref=train", "eval.n=8",
                            "eval.metrics=[{name: psnr_ssim, data_range: 2}]"],
                   "eval.metrics[0].data_range: must be one of 1, 255 (got 2)")
    # the metric's own split: the fake faces are all of the train split
    one_line_error(capsys, ["eval", str(srgan_run), "eval.ref=train", "eval.n=8",
                            "eval.metrics=[{name: psnr_ssim, split: test}]"],
                   "no images of split 'test'")


# ---- PSNR and SSIM ---------------------------------------------------------------------------

def test_psnr_and_ssim_agree_with_torchmetrics():
    """torchmetrics pads the image (reflected) for its SSIM map; Wang et al.'s reference keeps
    the window inside the image: their maps agree wherever no reflected pixel enters."""
    metrics = pytest.importorskip("torchmetrics.functional.image",
                                  reason="torchmetrics is not installed")
    from ganzoo_builtins.metrics.translation import psnr_of, ssim_of

    x = torch.rand(3, 3, 32, 32, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    y = (x + 0.1 * torch.randn(x.shape, generator=torch.Generator().manual_seed(1),
                               dtype=torch.float64)).clamp(0, 1)
    for data_range in (1.0, 255.0):
        a, b = x * data_range, y * data_range
        theirs = metrics.peak_signal_noise_ratio(a, b, data_range=data_range, reduction="none",
                                                 dim=(1, 2, 3))
        torch.testing.assert_close(psnr_of(a, b, data_range), theirs)
        _, full = metrics.structural_similarity_index_measure(
            a, b, data_range=data_range, sigma=1.5, kernel_size=11, return_full_image=True)
        inside = full[..., 5:-5, 5:-5].flatten(1).mean(1)
        torch.testing.assert_close(ssim_of(a, b, data_range), inside)


def test_psnr_and_ssim_of_a_hand_computed_case():
    from ganzoo_builtins.metrics.translation import psnr_of, ssim_of

    # flat 0.5 against flat 0.6: MSE 0.01 is 20 dB; no variance, so SSIM is its luminance term
    # (2 * 0.5 * 0.6 + C1) / (0.5^2 + 0.6^2 + C1) with C1 = (0.01 L)^2
    a, b = torch.full((1, 1, 16, 16), 0.5), torch.full((1, 1, 16, 16), 0.6)
    assert psnr_of(a, b).item() == pytest.approx(20.0, abs=1e-4)
    assert ssim_of(a, b).item() == pytest.approx(0.6001 / 0.6101, abs=1e-6)
    assert ssim_of(a * 255, b * 255, 255).item() == pytest.approx(0.6001 / 0.6101, abs=1e-6)


def test_the_measure_options_are_the_sr_papers():
    from ganzoo_builtins.metrics.translation import as_measured

    red = torch.full((1, 3, 8, 8), -1.0)
    red[:, 0] = 1.0
    y = as_measured(red, y_channel=True, crop_border=2)
    assert y.shape == (1, 1, 4, 4)  # the luma alone, 2 pixels left out at each edge
    assert y[0, 0, 0, 0].item() == pytest.approx((16 + 65.481) / 255)  # MATLAB's rgb2ycbcr
    half = torch.full((1, 1, 2, 2), 0.0)  # 0.5 on [0, 1] is 127.5: a PNG holds 128
    assert as_measured(half, data_range=255)[0, 0, 0, 0].item() == 128.0


def test_the_bicubic_baseline_is_matlabs_imresize():
    from PIL import Image

    from ganzoo_builtins.metrics.translation import bicubic_enlarge, enlarging_matrix

    # output pixel 1 of 4 -> 8 sits at input x = 0.25: Keys' a = -0.5 weights at distances
    # 1.25, 0.25, 0.75, 1.75 are -0.0703125, 0.8671875, 0.2265625, -0.0234375; the tap at -1
    # mirrors onto pixel 0
    torch.testing.assert_close(enlarging_matrix(4, 8)[1],
                               torch.tensor([0.796875, 0.2265625, -0.0234375, 0.0],
                                            dtype=torch.float64))
    ramp = torch.arange(16, dtype=torch.float64).expand(1, 1, 16, 16)
    centres = (torch.arange(64, dtype=torch.float64) + 0.5) / 4 - 0.5
    torch.testing.assert_close(bicubic_enlarge(ramp, (64, 64))[0, 0, 0, 8:-8], centres[8:-8])
    # Pillow's bicubic is the same kernel (it renormalizes at the border, where MATLAB mirrors)
    image = np.random.default_rng(0).random((16, 16)).astype(np.float32)
    pillow = np.asarray(Image.fromarray(image, mode="F").resize((64, 64), Image.BICUBIC))
    ours = bicubic_enlarge(torch.from_numpy(image)[None, None], (64, 64))[0, 0].numpy()
    np.testing.assert_allclose(ours[8:-8, 8:-8], pillow[8:-8, 8:-8], atol=1e-5)
    # and not torch's bicubic, whose a = -0.75 is OpenCV's
    torchs = F.interpolate(torch.from_numpy(image)[None, None], size=(64, 64), mode="bicubic",
                           align_corners=False)[0, 0].numpy()
    assert np.abs(torchs - pillow)[8:-8, 8:-8].max() > 1e-2
