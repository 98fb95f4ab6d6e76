"""Exports: safetensors (reloaded by ganzoo.load_exported), TorchScript and ONNX each give the
same samples as the generator of the run for the same z."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import ganzoo
from ganzoo.cli import main

RECIPES = Path(__file__).resolve().parent.parent / "recipes"


@pytest.fixture(scope="module")
def runs(tmp_path_factory, fake_data):
    """An image run (DCGAN on CIFAR-10-format files, with an EMA) and a conditional point run."""
    root = tmp_path_factory.mktemp("export_runs")
    images, points = root / "images", root / "points"
    assert main(["run", str(RECIPES / "dcgan_cifar.yaml"), f"data.root={fake_data}",
                 "data.verify=false", "generator.ngf=4", "discriminator.ndf=4",
                 "train.steps=2", "train.batch_size=4", "train.ema_decay=0.9",
                 "train.device=cpu", f"train.run_dir={images}"]) == 0
    assert main(["run", str(RECIPES / "quickstart.yaml"), "conditional=true",
                 "generator.conditioning=concat", "discriminator.conditioning=projection",
                 "train.steps=2", "train.device=cpu", f"train.run_dir={points}"]) == 0
    return {"images": ganzoo.load_run(images), "points": ganzoo.load_run(points)}


def inputs(G, n=5):
    z = G.sample_latent(n, generator=torch.Generator().manual_seed(3))
    return (z, torch.arange(n) % G.num_classes) if G.conditional else (z,)


@pytest.mark.parametrize("kind", ["images", "points"])
def test_safetensors_export_reloads_the_same_generator(runs, kind, tmp_path):
    run = runs[kind]
    out = tmp_path / "export"
    assert main(["export", str(run.path), "--out", str(out)]) == 0
    assert {p.name for p in out.iterdir()} == {"model.safetensors", "config.yaml",
                                               "recipe.yaml", "README.md"}
    G, original = ganzoo.load_exported(out), run.generator()
    with torch.no_grad():
        assert torch.equal(G(*inputs(G)), original(*inputs(original)))
    assert torch.equal(ganzoo.sample(G, 6, seed=2), run.sample(6, seed=2))
    card = (out / "README.md").read_text()
    assert card.startswith("---\nlibrary_name: ganzoo\n")
    for section in ("## Training", "## Evaluation", "## Data licence", "## Use"):
        assert section in card
    assert "G = ganzoo.load_exported('.')" in card


def test_the_card_says_the_weights_and_the_data_licence(runs, tmp_path):
    out = tmp_path / "export"
    ganzoo.export(runs["images"], out)
    card = (out / "README.md").read_text()
    assert "the EMA of G (decay 0.9)" in card
    assert "CIFAR-10 (Krizhevsky, 2009)" in card
    assert "Not evaluated" in card


@pytest.mark.parametrize("kind", ["images", "points"])
def test_torchscript_export_gives_the_same_samples(runs, kind, tmp_path):
    run = runs[kind]
    out = tmp_path / "export"
    assert main(["export", str(run.path), "--out", str(out), "--format", "torchscript"]) == 0
    scripted = torch.jit.load(str(out / "generator.torchscript.pt"))
    original = run.generator()
    for n in (1, 7):  # the batch size is free
        with torch.no_grad():
            torch.testing.assert_close(scripted(*inputs(original, n)),
                                       original(*inputs(original, n)))


@pytest.mark.parametrize("kind", ["images", "points"])
def test_onnx_export_gives_the_same_samples(runs, kind, tmp_path):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    pytest.importorskip("onnxscript", reason="onnxscript is not installed")
    run = runs[kind]
    out = tmp_path / "export"
    assert main(["export", str(run.path), "--out", str(out), "--format", "onnx"]) == 0
    session = ort.InferenceSession(str(out / "generator.onnx"))
    original = run.generator()
    for n in (1, 7):
        feed = dict(zip(["z", "labels"], (t.numpy() for t in inputs(original, n)), strict=False))
        (got,) = session.run(None, feed)
        with torch.no_grad():
            np.testing.assert_allclose(got, original(*inputs(original, n)).numpy(),
                                       atol=1e-5, rtol=1e-4)


def test_an_export_never_overwrites(runs, tmp_path, capsys):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    assert main(["export", str(runs["points"].path), "--out", str(out)]) == 2
    assert "exists and is not an empty folder" in capsys.readouterr().err
    assert (out / "mine.txt").read_text() == "keep me"


def test_load_exported_refuses_a_folder_that_is_no_export(tmp_path):
    with pytest.raises(ganzoo.errors.GanzooError, match="is not a ganzoo export"):
        ganzoo.load_exported(tmp_path)
