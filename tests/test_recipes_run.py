"""A tiny version of every recipe in recipes/ trains a few steps on the CPU."""

from __future__ import annotations

from pathlib import Path

import pytest

from ganzoo.cli import main

RECIPES = Path(__file__).resolve().parent.parent / "recipes"
SHRINK = ["generator.ngf=4", "discriminator.ndf=4"]


def data_override(recipe: str, fake_data: Path) -> list[str]:
    text = (RECIPES / recipe).read_text()
    if "name: unpaired_folders" in text:  # trainA/ and trainB/ of the fake faces, here
        for i, side in enumerate(("trainA", "trainB")):
            (Path(side)).mkdir(exist_ok=True)
            for face in sorted((fake_data / "celeba" / "img_align_celeba").iterdir())[i::2]:
                (Path(side) / face.name).symlink_to(face)
        return ["data.root=.", "data.image_size=32"]
    if "name: degraded" in text:  # pairs made from a base dataset: its root is data.base.root
        return [f"data.base.root={fake_data / 'celeba'}"]
    if "name: stacked_mnist" in text:
        return [f"data.root={fake_data}", "data.size=64"]
    if "name: mnist" in text:
        return [f"data.root={fake_data}"]
    if "name: cifar10" in text:
        return [f"data.root={fake_data}", "data.verify=false"]
    if "name: celeba" in text or "name: image_folder" in text:
        return [f"data.root={fake_data / 'celeba'}"]
    return []


def shrink(recipe: str) -> list[str]:
    text = (RECIPES / recipe).read_text()
    if "name: pacgan" in text and "name: dcgan" in text:
        return ["generator.ngf=4", "discriminator.inner.ndf=4"]
    if "name: dcgan" in text:
        return SHRINK
    if "name: resnet_translator" in text:  # CycleGAN: two generators, two discriminators
        return ["g_ab.ngf=4", "g_ba.ngf=4", "g_ab.n_blocks=1", "g_ba.n_blocks=1",
                "d_a.ndf=4", "d_b.ndf=4"]
    if "name: biggan" in text:
        return ["generator.ngf=8", "discriminator.ndf=8"]
    if "name: stylegan2" in text:
        return ["generator.ngf=8", "discriminator.ndf=8"]
    if "name: r3gan" in text:
        return ["generator.ngf=8", "discriminator.ndf=8"]
    if "name: resnet" in text or "name: unet" in text:
        return ["generator.ngf=8", "discriminator.ndf=8"]
    if "name: srresnet" in text:
        return ["generator.ngf=8", "generator.n_blocks=1", "discriminator.ndf=8"]
    if "name: rrdbnet" in text:
        return ["generator.ngf=8", "generator.n_blocks=1", "generator.growth=4",
                "discriminator.ndf=8"]
    return []


@pytest.mark.parametrize("recipe", sorted(p.name for p in RECIPES.glob("*.yaml")))
def test_tiny_version_of_each_recipe_trains(recipe, fake_data, in_tmp, tiny_train, capsys):
    code = main(["run", str(RECIPES / recipe), *tiny_train, *shrink(recipe),
                 *data_override(recipe, fake_data)])
    assert code == 0, capsys.readouterr().err
    (run,) = (in_tmp / "runs").iterdir()
    assert (run / "samples" / "step_0000003.png").is_file()


@pytest.mark.parametrize("loss", ["minimax", "nonsaturating", "mse", "hinge", "wasserstein"])
def test_dcgan_mnist_with_each_loss(loss, fake_data, in_tmp, tiny_train):
    assert main(["run", str(RECIPES / "dcgan_mnist.yaml"), *tiny_train, *SHRINK,
                 f"data.root={fake_data}", f"loss.name={loss}"]) == 0


def test_nearest_upsampling_trains(fake_data, in_tmp, tiny_train):
    assert main(["run", str(RECIPES / "dcgan_cifar.yaml"), *tiny_train, *SHRINK,
                 f"data.root={fake_data}", "data.verify=false",
                 "generator.upsample=nearest"]) == 0


def test_image_size_the_model_cannot_take(fake_data, in_tmp, tiny_train, capsys):
    assert main(["run", str(RECIPES / "dcgan_celeba.yaml"), *tiny_train,
                 f"data.root={fake_data / 'celeba'}", "data.image_size=48"]) == 2
    err = capsys.readouterr().err
    assert "dcgan cannot take 48x48 images; it supports 28, 32, 64, 128" in err
