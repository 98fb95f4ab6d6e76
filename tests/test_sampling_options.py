"""Sampling options declared by G (truncation), refused overrides of the trained networks in
eval and sample, and metrics that take options (eval.metrics entries as mappings)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import one_line_error

import ganzoo
from ganzoo.cli import main
from ganzoo.errors import GanzooError

RECIPES = Path(__file__).resolve().parent.parent / "recipes"
TINY = ["train.device=cpu", "generator.hidden_dims=[16]", "discriminator.hidden_dims=[16]"]


@pytest.fixture(scope="module")
def points_run(tmp_path_factory) -> Path:
    """The quickstart (an MLP G, which declares truncation), 20 steps, small networks."""
    run = tmp_path_factory.mktemp("sampling") / "qs"
    assert main(["run", str(RECIPES / "quickstart.yaml"), "train.steps=20", *TINY,
                 f"train.run_dir={run}"]) == 0
    return run


@pytest.fixture(scope="module")
def image_run(tmp_path_factory, fake_data) -> Path:
    """An MLP G on MNIST-format files: images, so interpolate and the image metrics apply."""
    run = tmp_path_factory.mktemp("sampling") / "mnist"
    assert main(["run", str(RECIPES / "mlp_mnist.yaml"), f"data.root={fake_data}",
                 "train.steps=2", "train.batch_size=8", *TINY, f"train.run_dir={run}"]) == 0
    return run


# ---- truncation ----------------------------------------------------------------------------

def test_truncation_bounds_z_and_changes_samples_reproducibly(points_run, tmp_path, capsys):
    run = ganzoo.load_run(points_run)
    G = run.generator()
    assert "truncation" in G.sampling_options
    rng = torch.Generator().manual_seed(0)
    plain = G.sample_latent(4000, generator=torch.Generator().manual_seed(0))
    with G.sampling(truncation=0.5):
        assert G.sampling_values == {"truncation": 0.5}
        z = G.sample_latent(4000, generator=rng)
    assert G.sampling_values == {}  # only inside the block
    gaussian = G.latent_dim - G.latent_categories
    assert plain[:, :gaussian].abs().max() > 0.5 * G.latent_std  # there was something to redraw
    assert z[:, :gaussian].abs().max() <= 0.5 * G.latent_std  # in std units of the Gaussian part
    assert torch.equal(z[:, gaussian:], plain[:, gaussian:])  # the codes are the same draws

    truncated = run.sample(500, seed=3, truncation=0.5)
    assert torch.equal(truncated, run.sample(500, seed=3, truncation=0.5))  # seeded
    assert not torch.equal(truncated, run.sample(500, seed=3))
    assert not torch.equal(truncated, run.sample(500, seed=3, truncation=1.5))

    out = tmp_path / "t.npz"
    assert main(["sample", str(points_run), "--n", "500", "--seed", "3", "--truncation", "0.5",
                 "--out", str(out)]) == 0
    np.testing.assert_array_equal(np.load(out)["points"], truncated.numpy())
    one_line_error(capsys, ["sample", str(points_run), "--truncation", "0", "--out",
                            str(tmp_path / "zero.npz")], "--truncation: must be a number "
                                                         "greater than 0")
    assert not (tmp_path / "zero.npz").exists()


def test_prior_from_normal_truncates_to_the_same_law():
    G = ganzoo.build("generator", "mlp", image_shape=(2,), latent_dim=4, hidden_dims=[8])
    z = torch.randn(20000, 4, generator=torch.Generator().manual_seed(0))
    with G.sampling(truncation=1.0):
        mapped = G.prior_from_normal(z)
        redrawn = G.sample_latent(20000, generator=torch.Generator().manual_seed(1))
    assert mapped.abs().max() <= 1.0
    assert abs(mapped.std() - redrawn.std()) < 0.01  # N(0, 1) truncated at 1: std 0.54
    assert abs(float(mapped.std()) - 0.5378) < 0.01


def test_an_undeclared_sampling_option_is_one_line(points_run, tmp_path, capsys, monkeypatch):
    from ganzoo_builtins.mlp.networks import MLPGenerator

    monkeypatch.setattr(MLPGenerator, "sampling_options", {})
    for command in (["sample", str(points_run), "--out", str(tmp_path / "x.npz")],
                    ["eval", str(points_run), "--n", "100"]):
        one_line_error(capsys, [*command, "--truncation", "0.7"],
                       "--truncation: generator 'mlp' takes no sampling option 'truncation'; "
                       "it takes none")
    assert not list(tmp_path.iterdir())
    G = ganzoo.build("generator", "dcgan", image_shape=(1, 28, 28), ngf=4)
    with pytest.raises(GanzooError, match="takes no sampling option 'truncation'; it takes none"):
        ganzoo.sample(G, 4, truncation=0.7)
    ganzoo.sample(G, 4, truncation=None)  # None: no option


def test_the_protocol_records_the_truncation(points_run, capsys):
    assert main(["eval", str(points_run), "--n", "500", "--truncation", "0.75"]) == 0
    assert "truncation" in capsys.readouterr().out
    saved = json.loads((points_run / "checkpoints" / "step_0000020.eval.json").read_text())
    assert saved["protocol"]["truncation"] == 0.75
    result = ganzoo.evaluate(points_run, n=500, save=False)
    assert "truncation" not in result["protocol"]
    truncated = ganzoo.evaluate(points_run, n=500, save=False, truncation=0.75)
    assert truncated["protocol"]["truncation"] == 0.75
    assert truncated["metrics"] == saved["metrics"]  # the same seeded samples
    assert truncated["metrics"]["mode_spread"] != result["metrics"]["mode_spread"]


def test_interpolate_with_truncation(image_run, tmp_path):
    run = ganzoo.load_run(image_run)
    plain = run.interpolate(rows=2, steps=3, seed=1)
    grid = run.interpolate(rows=2, steps=3, seed=1, truncation=0.5)
    assert grid.shape == (6, 1, 28, 28)
    assert torch.equal(grid, run.interpolate(rows=2, steps=3, seed=1, truncation=0.5))
    assert not torch.equal(grid, plain)
    assert main(["interpolate", str(image_run), "--rows", "2", "--steps", "3",
                 "--truncation", "0.5", "--out", str(tmp_path / "walk.png")]) == 0
    assert (tmp_path / "walk.png").is_file()


def test_the_export_card_names_the_sampling_options(points_run, tmp_path):
    ganzoo.export(points_run, tmp_path / "export")
    card = (tmp_path / "export" / "README.md").read_text()
    assert "# with G.sampling(truncation=...): redraw z's Gaussian entries" in card


# ---- eval and sample cannot change the trained networks -----------------------------------

@pytest.mark.parametrize("override, expected", [
    ("generator.ngf=999", "generator.ngf=999: eval cannot change the trained generator"),
    ("generator.truncation=0.0", "use --truncation for sampling options"),
    ("discriminator.hidden_dims=[4]", "eval cannot change the trained discriminator"),
    ("~generator.init", "~generator.init: eval cannot change the trained generator"),
    ("train.steps=3", "train.steps=3: eval cannot change how the run was trained"),
    ("loss.name=minimax", "only eval.* and data.* overrides apply"),
])
def test_eval_refuses_overrides_of_the_trained_run(points_run, capsys, override, expected):
    one_line_error(capsys, ["eval", str(points_run), override], expected)


def test_sample_and_interpolate_refuse_overrides(points_run, image_run, tmp_path, capsys):
    one_line_error(capsys, ["sample", str(points_run), "generator.ngf=999", "--out",
                            str(tmp_path / "x.npz")],
                   "generator.ngf=999: sample cannot change the trained generator")
    one_line_error(capsys, ["sample", str(points_run), "--out", str(tmp_path / "x.npz"),
                            "eval.n=5"], "eval.n=5: sample cannot change how the run was "
                                         "trained")
    one_line_error(capsys, ["interpolate", str(image_run), "generator.latent_dim=3", "--out",
                            str(tmp_path / "w.png")], "interpolate cannot change the trained "
                                                      "generator")
    assert not list(tmp_path.iterdir())


def test_eval_and_data_overrides_still_apply(points_run):
    result = ganzoo.evaluate(points_run, n=300, save=False, overrides=["eval.seed=2",
                                                                       "data.std=0.1"])
    assert result["protocol"]["seed"] == 2 and result["protocol"]["n_mode_samples"] == 300


# ---- metrics with options ------------------------------------------------------------------

@pytest.mark.parametrize("entries, expected", [
    ("[modes, {name: fid, bogus: 1}]", "eval.metrics[1].bogus: metric 'fid' takes no options"),
    ("[{name: pr, kk: 5}]", "eval.metrics[0].kk: unknown key; expected one of: k"),
    ("[{name: pr, k: 0}]", "eval.metrics[0].k: must be greater than 0 (got 0)"),
    ("[{k: 5}]", "eval.metrics[0].name: missing; name the metric"),
    ("[fid, prr]", "eval.metrics[1].name: Unknown metric 'prr'. Did you mean 'pr'?"),
])
def test_metric_options_are_checked_with_their_key_path(points_run, capsys, entries, expected):
    one_line_error(capsys, ["eval", str(points_run), f"eval.metrics={entries}"], expected)


def test_a_bad_metric_option_stops_a_run_before_its_folder(tmp_path, capsys):
    run = tmp_path / "run"
    one_line_error(capsys, ["run", str(RECIPES / "quickstart.yaml"), "train.steps=2", *TINY,
                            "eval.metrics=[{name: pr, kk: 5}]", f"train.run_dir={run}"],
                   "eval.metrics[0].kk: unknown key")
    assert not run.exists()


def test_a_mapping_entry_without_options_is_the_name(points_run):
    result = ganzoo.evaluate(points_run, n=300, save=False, metrics=[{"name": "modes"}])
    assert result["protocol"]["metrics"] == ["modes"]
    assert "modes_covered" in result["metrics"]


def test_pr_neighbours_k_is_used_and_kept_apart(image_run, monkeypatch):
    from test_evaluation import TinyPlugin

    from ganzoo import plugins
    from ganzoo.plugins import load_registry

    registry = load_registry(extra_plugins={"tiny": TinyPlugin()})
    monkeypatch.setattr(plugins, "load_registry", lambda extra_plugins=None: registry)
    entries = ["fid", "pr", {"name": "pr", "k": 30}]
    result = ganzoo.evaluate(image_run, n=48, ref="train", save=False, metrics=entries,
                             overrides=["eval.extractor=tiny"])
    metrics, directions = result["metrics"], result["directions"]
    assert {"fid", "precision", "recall", "precision[k=30]", "recall[k=30]"} <= set(metrics)
    assert directions["precision[k=30]"] == "max"
    assert result["protocol"]["metrics"][:3] == ["fid", "pr", {"name": "pr", "k": 30}]
    # larger neighbourhoods cover more: never lower, and here higher
    assert metrics["precision[k=30]"] >= metrics["precision"]
    assert metrics["recall[k=30]"] >= metrics["recall"]
    assert (metrics["precision[k=30]"], metrics["recall[k=30]"]) != (metrics["precision"],
                                                                     metrics["recall"])
    # alone, an entry with options keeps the plain names; its k is in the protocol
    alone = ganzoo.evaluate(image_run, n=48, ref="train", save=False,
                            metrics=[{"name": "pr", "k": 30}], overrides=["eval.extractor=tiny"])
    assert alone["metrics"]["precision"] == metrics["precision[k=30]"]
    assert alone["protocol"]["metrics"][0] == {"name": "pr", "k": 30}
    with pytest.raises(GanzooError, match="pr with k=60 needs more than 60 samples"):
        ganzoo.evaluate(image_run, n=48, ref="train", save=False,
                        metrics=[{"name": "pr", "k": 60}], overrides=["eval.extractor=tiny"])


def test_the_metrics_flag_still_takes_names(image_run, monkeypatch, capsys):
    from test_evaluation import TinyPlugin

    from ganzoo import plugins
    from ganzoo.plugins import load_registry

    registry = load_registry(extra_plugins={"tiny": TinyPlugin()})
    monkeypatch.setattr(plugins, "load_registry", lambda extra_plugins=None: registry)
    assert main(["eval", str(image_run), "--n", "32", "--ref", "train", "--extractor", "tiny",
                 "--metrics", "fid,kid"]) == 0
    saved = json.loads((image_run / "checkpoints" / "step_0000002.eval.json").read_text())
    assert saved["protocol"]["metrics"][:2] == ["fid", "kid"]
    assert {"fid", "kid_mean"} <= set(saved["metrics"])


def test_conditional_samples_as_pngs_read_back_with_their_classes(tmp_path):
    """'ganzoo sample --out folder/' of a conditional G writes a sub-folder per class, which
    the project's own image_folder dataset (labels=true) reads back with the same labels."""
    from ganzoo.components import build_one
    from ganzoo.plugins import load_registry
    from ganzoo.sampling import write_samples

    # 12 classes, class k drawn k + 1 times: sorted folder names must follow the numbers
    labels = torch.cat([torch.full((k + 1,), k) for k in range(12)])
    images = torch.rand(len(labels), 3, 8, 8) * 2 - 1
    write_samples(images, tmp_path / "out", labels)
    assert sorted(p.name for p in (tmp_path / "out").iterdir())[:3] == ["00", "01", "02"]
    dataset = build_one(load_registry(), "dataset",
                        {"name": "image_folder", "root": str(tmp_path / "out"), "image_size": 8,
                         "labels": True}, "data")
    assert dataset.num_classes == 12
    assert sorted(dataset.labels.tolist()) == sorted(labels.tolist())
