"""Density and coverage (dc) and intra-FID: the math on hand-made features, intra-FID against
the FID of each class computed by hand, and both through 'ganzoo eval' and best.pt."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import one_line_error
from test_evaluation import TinyFeatures, TinyPlugin, register_tiny_in_fidelity

from ganzoo.cli import main
from ganzoo.components import build_one
from ganzoo.data import InMemoryDataset
from ganzoo.errors import GanzooError
from ganzoo.evaluation import best_score, evaluate, result_order, to_uint8_rgb
from ganzoo.plugins import load_registry
from ganzoo.recipe import EvalOptions
from ganzoo_builtins.metrics.features import density_coverage

RECIPES = Path(__file__).resolve().parent.parent / "recipes"
TINY_CGAN = ["generator.hidden_dims=[16]", "discriminator.hidden_dims=[16]",
             "train.batch_size=8", "train.device=cpu"]


def column(values: list[float]) -> torch.Tensor:
    return torch.tensor(values).unsqueeze(1)


# ---- the math ------------------------------------------------------------------------------

def test_density_and_coverage_of_hand_made_points():
    real, fake = column([0, 1, 3, 6]), column([0.5, 2.5, 20])
    # k=1: radii 1, 1, 2, 3. 0.5 lies in the balls of 0 and 1, 2.5 in that of 3, 20 in none:
    # density 3 / (1 * 3); the nearest fake of 6 is 3.5 away, beyond 3: coverage 3/4.
    assert density_coverage(real, fake, k=1) == {"density": 1.0, "coverage": 0.75}
    # k=2: radii 3, 2, 3, 5. 0.5 lies in 3 balls (not 6's: 5.5 > 5), 2.5 in all 4, 20 in none:
    # density 7 / (2 * 3); every real has a fake inside its ball.
    result = density_coverage(real, fake, k=2)
    assert result["density"] == pytest.approx(7 / 6) and result["coverage"] == 1.0


def test_inside_means_strictly_closer_than_the_radius():
    # radius 1 for both reals; a fake exactly 1 away from 1 is outside its ball (prdc's '<')
    assert density_coverage(column([0, 1]), column([2]), k=1) == {"density": 0.0,
                                                                  "coverage": 0.0}


def test_identical_sets_are_covered_and_chunks_change_nothing():
    g = torch.Generator().manual_seed(0)
    real = torch.randn(60, 16, generator=g)
    same = density_coverage(real, real.clone(), k=5)
    assert same["coverage"] == 1.0 and 0.5 < same["density"] < 1.5
    fake = torch.randn(45, 16, generator=g) * 1.5 + 0.5
    whole = density_coverage(real, fake, k=5)
    assert density_coverage(real, fake, k=5, chunk_entries=70) == pytest.approx(whole)
    # the definitions, written out
    distances = torch.cdist(fake, real)
    radii = torch.cdist(real, real).sort(dim=1).values[:, 5]
    assert whole["density"] == pytest.approx(float((distances < radii).sum()) / (5 * 45))
    assert whole["coverage"] == pytest.approx(
        float((distances < radii).any(dim=0).float().mean()))
    assert whole["coverage"] < 1.0  # the shifted, wider fakes miss part of the reals
    with pytest.raises(ValueError, match="k=5 needs more than 5 real samples"):
        density_coverage(real[:5], fake, k=5)


# ---- intra-FID against the FID of each class by hand ---------------------------------------

def frechet_by_hand(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.double(), b.double()
    s1, s2 = torch.cov(a.T), torch.cov(b.T)
    root_trace = torch.linalg.eigvals(s1 @ s2).sqrt().real.sum()
    return float(((a.mean(0) - b.mean(0)) ** 2).sum() + s1.trace() + s2.trace()
                 - 2 * root_trace)


@pytest.fixture(scope="module")
def two_classes():
    """A conditional MLP G on 8x8 RGB, and 150 real images of each of two classes (class 0
    dark, class 1 bright), with the tiny extractor registered."""
    registry = load_registry(extra_plugins={"tiny": TinyPlugin()})
    torch.manual_seed(0)
    G = build_one(registry, "generator", {"name": "mlp", "latent_dim": 4, "hidden_dims": [16],
                                          "conditioning": "concat"}, "generator",
                  (3, 8, 8), 2).eval()
    g = torch.Generator().manual_seed(3)
    dark = (torch.rand(150, 3, 8, 8, generator=g) * 100).to(torch.uint8)
    bright = (155 + torch.rand(150, 3, 8, 8, generator=g) * 100).to(torch.uint8)
    images = torch.cat([dark, bright])
    labels = torch.cat([torch.zeros(150), torch.ones(150)]).long()
    reference = InMemoryDataset(images, labels, num_classes=2)
    return registry, G, reference


def test_intra_fid_is_the_fid_of_each_class_by_hand(two_classes):
    from torch_fidelity.noise import random_normal
    from torch_fidelity.utils import create_feature_extractor

    registry, G, reference = two_classes
    options = EvalOptions(n=300, metrics=["intra_fid", "fid"], extractor="tiny",
                          batch_size=512, seed=5)
    result = evaluate(G, reference, options, registry, dataset_name="two_classes")
    metrics = result["metrics"]
    register_tiny_in_fidelity()
    net = create_feature_extractor(TinyFeatures.fidelity_name, ["128"], cuda=False)
    by_hand = {}
    for c in (0, 1):
        # the samples of class c: one batch of torch-fidelity's normal z from the eval seed
        z = random_normal(np.random.RandomState(5), (150, G.latent_dim))
        with torch.no_grad():
            fakes = to_uint8_rgb(G(G.prior_from_normal(z), torch.full((150,), c)))
            real = reference.samples[reference.labels == c]
            by_hand[c] = frechet_by_hand(net(fakes)[0], net(real)[0])
    assert metrics["intra_fid/0"] == pytest.approx(by_hand[0], rel=1e-4)
    assert metrics["intra_fid/1"] == pytest.approx(by_hand[1], rel=1e-4)
    assert metrics["intra_fid"] == pytest.approx((by_hand[0] + by_hand[1]) / 2, rel=1e-4)
    assert abs(by_hand[0] - by_hand[1]) > 0.01 * by_hand[0]  # the classes differ
    assert result["directions"]["intra_fid"] == result["directions"]["intra_fid/1"] == "min"
    assert "150 samples of the class" in result["protocol"]["intra_fid"]
    assert best_score(result, "intra_fid") == (metrics["intra_fid"], "min")


def test_intra_fid_needs_labelled_reference_data_and_a_conditional_generator(two_classes):
    registry, G, reference = two_classes
    options = EvalOptions(n=40, metrics=["intra_fid"], extractor="tiny")
    unlabelled = InMemoryDataset(reference.samples)
    with pytest.raises(GanzooError, match="intra_fid needs the reference data's class labels"):
        evaluate(G, unlabelled, options, registry, dataset_name="no_labels")
    plain = build_one(registry, "generator", {"name": "mlp", "latent_dim": 4,
                                              "hidden_dims": [16]}, "generator", (3, 8, 8), None)
    with pytest.raises(GanzooError, match="intra_fid is the FID of each class"):
        evaluate(plain, reference, options, registry, dataset_name="two_classes")


def test_the_features_are_those_precision_and_recall_see(two_classes):
    """dc reads the very samples and reference images of the torch-fidelity pass: PR
    computed from ctx.features() is the pr metric's."""
    from torch_fidelity.metric_prc import prc_features_to_metric

    from ganzoo.evaluation import Evaluation

    registry, G, reference = two_classes
    options = EvalOptions(n=60, extractor="tiny", batch_size=16)
    ctx = Evaluation(G, reference, options, registry, fidelity_keys={"pr"}, notes=[],
                     protocol={"dataset": "two_classes"})
    fake, real = ctx.features()
    assert fake.shape == real.shape == (60, 128)
    ours = prc_features_to_metric(fake, real, prc_neighborhood=3, save_cpu_ram=True)
    theirs = ctx.fidelity("pr")
    assert (ours["precision"], ours["recall"]) == (theirs["precision"], theirs["recall"])
    assert ctx.protocol["n_generated"] == ctx.protocol["n_reference"] == 60


# ---- through 'ganzoo eval' and best.pt ------------------------------------------------------

@pytest.fixture
def tiny_registry(monkeypatch):
    from ganzoo import plugins

    registry = load_registry(extra_plugins={"tiny": TinyPlugin()})
    monkeypatch.setattr(plugins, "load_registry", lambda extra_plugins=None: registry)
    return registry


@pytest.fixture(scope="module")
def cgan_run(tmp_path_factory, fake_data) -> Path:
    """cgan_mnist (a conditional MLP G) on MNIST-format files, 2 steps."""
    run = tmp_path_factory.mktemp("dc") / "cgan"
    assert main(["run", str(RECIPES / "cgan_mnist.yaml"), f"data.root={fake_data}",
                 *TINY_CGAN, "train.steps=2", f"train.run_dir={run}"]) == 0
    return run


def test_dc_intra_fid_and_pr_in_ganzoo_eval(cgan_run, tiny_registry, capsys):
    run = cgan_run
    capsys.readouterr()
    assert main(["eval", str(run), "--n", "30", "--ref", "train", "--extractor", "tiny",
                 "--metrics", "fid,pr,dc,intra_fid"]) == 0
    out = capsys.readouterr().out
    assert "eval: class 9 samples through" in out
    saved = json.loads((run / "checkpoints" / "step_0000002.eval.json").read_text())
    metrics, directions = saved["metrics"], saved["directions"]
    assert {"fid", "precision", "recall", "density", "coverage", "intra_fid"} <= set(metrics)
    assert [f"intra_fid/{c}" in metrics for c in range(10)] == [True] * 10
    assert 0 <= metrics["coverage"] <= 1 and metrics["density"] >= 0
    assert 0 <= metrics["precision"] <= 1 and 0 <= metrics["recall"] <= 1
    assert directions["coverage"] == directions["density"] == "max"
    assert directions["intra_fid"] == "min"
    assert best_score(saved, "coverage") == (metrics["coverage"], "max")
    per_class = [metrics[f"intra_fid/{c}"] for c in range(10)]
    assert metrics["intra_fid"] == pytest.approx(sum(per_class) / 10)
    assert saved["protocol"]["n_generated"] == 30 and saved["protocol"]["n_reference"] == 30
    # 3 samples of each class; the fake train split holds 2 images of class 4
    assert "3 samples of the class" in saved["protocol"]["intra_fid"]
    assert any("fewer than n=3 images of class 4 (2)" in note for note in saved["notes"])


def test_dc_options_and_one_line_refusals(cgan_run, tiny_registry, capsys):
    run = cgan_run
    capsys.readouterr()
    # the same metric with two ks keeps both, named apart
    assert main(["eval", str(run), "--n", "40", "--ref", "train", "--extractor", "tiny",
                 "eval.metrics=[{name: dc, k: 3}, dc]"]) == 0
    capsys.readouterr()
    saved = max((run / "checkpoints").glob("step_0000002*.eval.json"), key=result_order)
    metrics = json.loads(saved.read_text())["metrics"]
    assert {"density[k=3]", "coverage[k=3]", "density", "coverage"} <= set(metrics)
    assert metrics["density[k=3]"] != metrics["density"]  # one pass of features, two radii
    # a class the split barely holds (the fake test split has a single 1)
    one_line_error(capsys, ["eval", str(run), "--n", "40", "--extractor", "tiny",
                            "--metrics", "intra_fid"],
                   "eval.metrics: intra_fid: the test split holds 1 image(s) of class 1")
    one_line_error(capsys, ["eval", str(run), "--n", "4", "--extractor", "tiny", "--ref",
                            "train", "--metrics", "dc"], "dc with k=5 needs more than 5")
    one_line_error(capsys, ["eval", str(run), "eval.metrics=[{name: intra_fid, n: 1}]"],
                   "eval.metrics[0].n: a FID needs 2 or more samples of each class (got 1)")


def test_intra_fid_is_refused_on_an_unconditional_run(tmp_path, fake_data, tiny_registry,
                                                       capsys):
    run = tmp_path / "mlp"
    assert main(["run", str(RECIPES / "mlp_mnist.yaml"), f"data.root={fake_data}",
                 *TINY_CGAN, "train.steps=2", f"train.run_dir={run}"]) == 0
    capsys.readouterr()
    one_line_error(capsys, ["eval", str(run), "--n", "8", "--extractor", "tiny", "--metrics",
                            "intra_fid"],
                   "eval.metrics: intra_fid is the FID of each class, for a conditional "
                   "generator; this one takes no labels: use fid, or evaluate a run trained "
                   "with conditional: true")


def test_intra_fid_picks_best_pt_during_training(tmp_path, fake_data, tiny_registry):
    from ganzoo.engine.checkpoint import load_checkpoint

    run = tmp_path / "cgan"
    assert main(["run", str(RECIPES / "cgan_mnist.yaml"), f"data.root={fake_data}",
                 *TINY_CGAN, "train.steps=2", "eval.every=2", "eval.n_during_training=20",
                 "eval.ref=train", "eval.extractor=tiny", "eval.metrics=[intra_fid]",
                 "eval.best=intra_fid", f"train.run_dir={run}"]) == 0
    [record] = [json.loads(line) for line in (run / "eval.jsonl").read_text().splitlines()]
    assert record["score"] == record["intra_fid"] and record["directions"]["intra_fid"] == "min"
    best = load_checkpoint(run / "checkpoints" / "best.pt")
    assert (best["step"], best["best_score"]) == (2, record["intra_fid"])
