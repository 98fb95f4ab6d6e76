"""Evaluation: metric behaviour, mode measures with known answers, the digit classifier, and
'ganzoo eval' end to end."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from helpers import make_trainer
from torch import nn

from ganzoo import hookimpl
from ganzoo.cli import main
from ganzoo.evaluation import _ReferenceImages
from ganzoo.interfaces import FeatureExtractor
from ganzoo.modes import mixture_coverage
from ganzoo.plugins import load_registry

RECIPES = Path(__file__).resolve().parent.parent / "recipes"


# ---- a tiny feature extractor, so the torch-fidelity path is tested everywhere -------------

class TinyFeatures(FeatureExtractor):
    fidelity_name = "ganzoo-test-tiny"

    def fidelity_kwargs(self):
        return {}

    def weights_sha256(self):
        return "fixed-random"


def register_tiny_in_fidelity():
    from torch_fidelity.feature_extractor_base import FeatureExtractorBase
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY, register_feature_extractor

    if TinyFeatures.fidelity_name in FEATURE_EXTRACTORS_REGISTRY:
        return

    class Tiny(FeatureExtractorBase):
        def __init__(self, name, features_list, **kwargs):
            super().__init__(name, features_list)
            torch.manual_seed(0)
            self.net = nn.Sequential(nn.Conv2d(3, 16, 3, 2), nn.ReLU(), nn.Conv2d(16, 32, 3, 2),
                                     nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten())

        def forward(self, x):
            return (self.net(x.float() / 127.5 - 1),)

        @staticmethod
        def get_provided_features_list():
            return ("128",)

        @staticmethod
        def get_default_feature_layer_for_metric(metric):
            return "128"

        @staticmethod
        def can_be_compiled():
            return False

        @staticmethod
        def get_dummy_input_for_compile():
            return torch.zeros(1, 3, 8, 8, dtype=torch.uint8)

    register_feature_extractor(TinyFeatures.fidelity_name, Tiny)


class TinyPlugin:
    @hookimpl
    def ganzoo_register_feature_extractors(self, register):
        def build(options):
            """a fixed random conv net (tests only)"""
            register_tiny_in_fidelity()
            return TinyFeatures()

        register("tiny", build)


def fidelity(a, b, extractor_name, cache=None, **extra):
    """Metrics between a and b; with ``cache`` (a folder), b's features are computed once."""
    import torch_fidelity

    cached = {"cache": True, "cache_root": str(cache), "input2_cache_name": "reference"}
    return torch_fidelity.calculate_metrics(
        input1=_ReferenceImages(a), input2=_ReferenceImages(b), fid=True, kid=True, prc=True,
        kid_subset_size=min(len(a), len(b)), feature_extractor=extractor_name, cuda=False,
        verbose=False, save_cpu_ram=True, **(cached if cache else {"cache": False}), **extra)


def noisy(images, amount, seed=0):
    g = torch.Generator().manual_seed(seed)
    noise = torch.randn(images.shape, generator=g) * 255 * amount
    return (images.float() + noise).clamp(0, 255).to(torch.uint8)


def some_images(n=200, size=32):
    """Smooth random images: enough structure for features to tell them apart from noise."""
    g = torch.Generator().manual_seed(1)
    small = torch.rand(n, 3, 4, 4, generator=g)
    return (nn.functional.interpolate(small, size=size, mode="bilinear") * 255).to(torch.uint8)


def test_feature_extractors_are_a_registry_kind():
    registry = load_registry(extra_plugins={"tiny": TinyPlugin()})
    names = {c.name for c in registry.all("feature_extractor")}
    assert {"inception_torchscript", "inception", "tiny"} <= names


def test_fid_kid_pr_are_zero_or_one_on_identical_sets_and_worsen_with_noise():
    register_tiny_in_fidelity()
    clean = some_images()
    same = fidelity(clean, clean, TinyFeatures.fidelity_name)
    assert abs(same["frechet_inception_distance"]) < 1e-3
    assert abs(same["kernel_inception_distance_mean"]) < 1e-3
    assert same["precision"] == same["recall"] == 1.0
    fids, kids = [], []
    for amount in (0.05, 0.2, 0.6):
        result = fidelity(clean, noisy(clean, amount), TinyFeatures.fidelity_name)
        fids.append(result["frechet_inception_distance"])
        kids.append(result["kernel_inception_distance_mean"])
    assert 0 < fids[0] < fids[1] < fids[2]
    assert kids[0] < kids[1] < kids[2]
    assert result["precision"] < 0.5  # heavy noise lies off the real manifold


@pytest.mark.slow
def test_real_fid_inception_behaves_the_same(inception_path, tmp_path):
    from ganzoo_builtins.inception.extractors import FIDELITY_NAME, TorchScriptInception

    TorchScriptInception(str(inception_path))
    clean = some_images(24)
    kw = {"feature_extractor_weights_path": str(inception_path), "cache": tmp_path}
    assert abs(fidelity(clean, clean, FIDELITY_NAME, **kw)["frechet_inception_distance"]) < 1e-2
    # The clean set is always the second input: its features are computed once, then cached.
    low = fidelity(noisy(clean, 0.1), clean, FIDELITY_NAME, **kw)["frechet_inception_distance"]
    high = fidelity(noisy(clean, 0.5), clean, FIDELITY_NAME, **kw)["frechet_inception_distance"]
    assert 0 < low < high


# ---- mode measures with known answers --------------------------------------------------------

def grid():
    dataset = load_registry().get("dataset", "gaussian_mixture")
    return dataset.build(dataset.options())


def test_mode_measures_on_samples_of_the_mixture_itself():
    data = grid()
    points = next(data.batches(5000, torch.device("cpu"), 0)).x
    result = data.mode_coverage(points)
    assert result["modes_covered"] == 25 and result["modes_total"] == 25
    # In 2-D, the mass of a Gaussian within 3 std is 1 - exp(-9/2), about 98.9%.
    assert result["high_quality_share"] == pytest.approx(1 - math.exp(-4.5), abs=0.005)
    assert result["reverse_kl"] < 0.01
    assert result["mode_spread"] == pytest.approx(1.0, abs=0.03)


def test_mode_spread_sees_modes_narrower_than_the_data():
    data = grid()
    real = next(data.batches(5000, torch.device("cpu"), 0))
    narrow = data.modes[real.labels] + 0.5 * (real.x - data.modes[real.labels])
    result = data.mode_coverage(narrow)
    # Every point is now within 1.5 std of its mode: a perfect high-quality share, half the width.
    assert result["high_quality_share"] == 1.0 and result["modes_covered"] == 25
    assert result["mode_spread"] == pytest.approx(0.5, abs=0.02)


def test_mode_measures_when_all_points_sit_on_one_mode():
    data = grid()
    points = data.modes[7] + 0.05 * torch.randn(2500, 2)
    result = data.mode_coverage(points)
    assert result["modes_covered"] == 1
    assert result["reverse_kl"] == pytest.approx(math.log(25), rel=1e-6)


def test_mode_measures_when_points_are_off_every_mode():
    data = grid()
    points = data.modes + 1.0  # halfway between modes, far beyond 3 std
    result = mixture_coverage(points, data.modes, data.std)
    assert result["modes_covered"] == 0 and result["high_quality_share"] == 0.0
    assert math.isnan(result["reverse_kl"]) and math.isnan(result["mode_spread"])


def test_a_mode_needs_a_fifth_of_its_fair_share():
    data = grid()
    # 2,500 samples: 20 or more near a mode covers it (PacGAN's rule); 19 do not.
    points = torch.cat([data.modes[0] + torch.zeros(2481, 2), data.modes[1] + torch.zeros(19, 2)])
    assert mixture_coverage(points, data.modes, data.std)["modes_covered"] == 1
    points = torch.cat([data.modes[0] + torch.zeros(2480, 2), data.modes[1] + torch.zeros(20, 2)])
    assert mixture_coverage(points, data.modes, data.std)["modes_covered"] == 2


# ---- the digit classifier and the MNIST family ---------------------------------------------

@pytest.fixture(scope="session")
def classifier(mnist_root):
    from ganzoo_builtins.mnist.classifier import digit_classifier

    return digit_classifier(mnist_root)


def test_digit_classifier_reaches_99_percent(mnist_root, classifier):
    from ganzoo_builtins.mnist.classifier import accuracy, load_split

    images, labels = load_split(mnist_root, "test")
    assert accuracy(classifier, images, labels) >= 0.99


def test_digit_coverage_of_real_digits_and_of_one_digit(mnist_root, classifier):
    mnist = load_registry().get("dataset", "mnist")
    test = mnist.build(mnist.options(root=str(mnist_root), split="test"))
    real = next(test.batches(2000, torch.device("cpu"), 0)).x
    result = test.mode_coverage(real)
    assert result["digit_classes_covered"] == 10 and result["kl_to_uniform"] < 0.02
    sevens = test.samples[test.labels == 7][:500].float() / 127.5 - 1
    collapsed = test.mode_coverage(sevens)
    assert collapsed["digit_classes_covered"] == 1
    assert collapsed["kl_to_uniform"] > 2.0


@pytest.mark.slow
def test_stacked_mnist_has_a_thousand_modes(mnist_root, classifier):
    stacked = load_registry().get("dataset", "stacked_mnist")
    data = stacked.build(stacked.options(root=str(mnist_root), size=26000))
    assert data.image_shape == (3, 28, 28) and data.num_classes == 1000
    assert len(torch.unique(data.labels)) > 990
    real = next(data.batches(26000, torch.device("cpu"), 0)).x
    result = data.mode_coverage(real)
    assert result["modes_covered"] > 980 and result["modes_total"] == 1000


# ---- ganzoo eval end to end ----------------------------------------------------------------

def test_eval_on_a_quickstart_run(tmp_path, capsys):
    run = tmp_path / "qs"
    assert main(["run", str(RECIPES / "quickstart.yaml"), "train.steps=30", "train.device=cpu",
                 f"train.run_dir={run}", "generator.hidden_dims=[16]",
                 "discriminator.hidden_dims=[16]"]) == 0
    capsys.readouterr()
    assert main(["eval", str(run), "--n", "2500"]) == 0
    out = capsys.readouterr().out
    for field in ("modes_covered", "high_quality_share", "reverse_kl", "mode_spread",
                  "n_mode_samples"):
        assert field in out
    saved = json.loads((run / "checkpoints" / "step_0000030.eval.json").read_text())
    assert saved["metrics"]["modes_total"] == 25
    assert saved["protocol"]["metrics"] == ["modes"]  # added: the data has known modes
    assert saved["protocol"]["ganzoo"] and saved["protocol"]["step"] == 30


def test_eval_with_the_tiny_extractor_protocol_and_kid_note(tmp_path, fake_data, monkeypatch,
                                                            capsys):
    from ganzoo import plugins

    registry = load_registry(extra_plugins={"tiny": TinyPlugin()})
    monkeypatch.setattr(plugins, "load_registry", lambda extra_plugins=None: registry)
    run = tmp_path / "cifar"
    assert main(["run", str(RECIPES / "dcgan_cifar.yaml"), f"data.root={fake_data}",
                 "data.verify=false", "generator.ngf=4", "discriminator.ndf=4",
                 "train.steps=4", "train.batch_size=8", "train.device=cpu",
                 f"train.run_dir={run}"]) == 0
    capsys.readouterr()
    assert main(["eval", str(run), "--n", "40", "--extractor", "tiny",
                 "--metrics", "fid,kid,pr,is"]) == 0
    out = capsys.readouterr().out  # not a terminal: progress as timestamped lines
    for what in ("samples", "reference images"):
        assert f" eval: {what} through {TinyFeatures.fidelity_name} 40/40 (100%), " in out, out
    saved = json.loads((run / "checkpoints" / "step_0000004.eval.json").read_text())
    metrics, protocol = saved["metrics"], saved["protocol"]
    assert {"fid", "kid_mean", "kid_std", "precision", "recall"} <= set(metrics)
    assert metrics["is_mean"] == "not available with this extractor"
    assert protocol["n_generated"] == 40 and protocol["n_reference"] == 40
    assert protocol["kid_subset_size"] == 20 and protocol["feature_extractor"] == "tiny"
    assert metrics["kid_std"] > 0  # subsets of half of n differ from each other
    assert protocol["extractor_weights_sha256"] == "fixed-random"
    assert protocol["reference_split"] == "train" and protocol["torch_fidelity"]
    assert protocol["resize"] == "the extractor's own"  # the protocol names how images resize
    assert any("KID subset size 20, half of n" in note for note in saved["notes"])


def test_eval_during_training_keeps_the_best_checkpoint(tmp_path):
    run = tmp_path / "qs"
    assert main(["run", str(RECIPES / "quickstart.yaml"), "train.steps=20", "train.device=cpu",
                 "eval.every=5", "eval.n_during_training=500", f"train.run_dir={run}",
                 "generator.hidden_dims=[16]", "discriminator.hidden_dims=[16]"]) == 0
    records = [json.loads(line) for line in (run / "eval.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [5, 10, 15, 20]
    best = min(records, key=lambda r: r["score"])
    from ganzoo.engine.checkpoint import load_checkpoint

    state = load_checkpoint(run / "checkpoints" / "best.pt")
    assert state["step"] == best["step"] and state["best_score"] == best["score"]


@pytest.mark.slow
def test_eval_on_a_real_mnist_run_with_the_offline_extractor(tmp_path, mnist_root,
                                                            inception_path, classifier, capsys):
    run = tmp_path / "mnist"
    assert main(["run", str(RECIPES / "dcgan_mnist.yaml"), f"data.root={mnist_root}",
                 "generator.ngf=8", "discriminator.ndf=8", "train.steps=10",
                 "train.batch_size=16", "train.device=cpu", f"train.run_dir={run}"]) == 0
    capsys.readouterr()
    assert main(["eval", str(run), "--n", "24", f"--extractor-path={inception_path}"]) == 0
    out = capsys.readouterr().out
    for field in ("fid", "kid_mean", "precision", "recall", "digit_classes_covered",
                  "kl_to_uniform", "extractor_weights_sha256", "reference_split"):
        assert field in out, field
    saved = json.loads((run / "checkpoints" / "step_0000010.eval.json").read_text())
    assert saved["protocol"]["reference_split"] == "test"
    # The hash listed in shared/models/SHA256SUMS:
    assert saved["protocol"]["extractor_weights_sha256"].startswith("7ff4a85c")


def test_missing_offline_extractor_is_one_clear_line(tmp_path, fake_data, capsys, monkeypatch):
    monkeypatch.delenv("GANZOO_FID_INCEPTION", raising=False)
    run = tmp_path / "m"
    assert main(["run", str(RECIPES / "dcgan_mnist.yaml"), f"data.root={fake_data}",
                 "generator.ngf=4", "discriminator.ndf=4", "train.steps=2",
                 "train.batch_size=8", "train.device=cpu", f"train.run_dir={run}"]) == 0
    capsys.readouterr()
    assert main(["eval", str(run), "--n", "8"]) == 2
    err = capsys.readouterr().err
    assert "eval.extractor_path: the offline Inception network is not set" in err


def test_best_checkpoint_survives_a_resume(tmp_path):
    """A worse score after a resume must not replace the best from before the stop."""
    from ganzoo.engine.checkpoint import load_checkpoint

    fids = {5: 3.0, 10: 1.0, 15: 2.0}  # the best (1.0) comes before the stop at step 10

    def trainer(steps, existing=False):
        return make_trainer(tmp_path, [f"train.steps={steps}", "train.checkpoint_every=5",
                                       "train.device=cpu", "generator.hidden_dims=[8]",
                                       "discriminator.hidden_dims=[8]"],
                            evaluator=lambda G, step: {"metrics": {"fid": fids[step]}},
                            eval_every=5, existing=existing)

    first = trainer(10)
    first.fit()
    first.run.unlock()
    resumed = trainer(15, existing=True)
    resumed.load_state_dict(load_checkpoint(tmp_path / "checkpoints" / "step_0000010.pt"))
    resumed.fit()
    best = load_checkpoint(tmp_path / "checkpoints" / "best.pt")
    assert (best["step"], best["best_score"]) == (10, 1.0)
