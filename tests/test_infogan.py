"""InfoGAN, a built-in game whose D carries a second head: the paper's MNIST networks, the
latent with its codes, the information term's gradients, the code traversal, the code-to-digit
accuracy, and the engine's guarantees (exact resume, show, sample, export, bad input)."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import pytest
import torch
from helpers import make_trainer, one_line_error

import ganzoo
from ganzoo.api import build
from ganzoo.cli import main
from ganzoo.interfaces import DOutput
from ganzoo_builtins.infogan.game import information_terms
from ganzoo_builtins.infogan.measures import best_one_to_one, matched_accuracy

RECIPE = Path(__file__).resolve().parent.parent / "recipes" / "infogan_mnist.yaml"
TINY = ["train.batch_size=8", "train.log_every=1", "train.sample_every=3",
        "train.num_samples=4", "train.checkpoint_every=3", "train.device=cpu"]


def tiny(fake_data: Path, run: Path, steps: int = 3) -> list[str]:
    return [str(RECIPE), *TINY, f"train.steps={steps}", f"data.root={fake_data}",
            f"train.run_dir={run}"]


@pytest.fixture(scope="module")
def run(fake_data, tmp_path_factory):
    """A 3-step InfoGAN run on the fake MNIST files."""
    path = tmp_path_factory.mktemp("infogan") / "run"
    assert main(["run", *tiny(fake_data, path)]) == 0
    return ganzoo.load_run(path)


def test_the_networks_are_the_papers_mnist_ones():
    G = build("generator", "infogan", image_shape=(1, 28, 28))
    D = build("discriminator", "infogan", image_shape=(1, 28, 28))
    # Table 1 of the paper, every layer with a bias as in the reference code
    g = (74 * 1024 + 1024) + 2 * 1024 + (1024 * 7 * 7 * 128 + 7 * 7 * 128) + 2 * 7 * 7 * 128 \
        + (128 * 64 * 16 + 64) + 2 * 64 + (64 * 1 * 16 + 1)
    body = (1 * 64 * 16 + 64) + (64 * 128 * 16 + 128) + 2 * 128 + (7 * 7 * 128 * 1024 + 1024) \
        + 2 * 1024
    q = (1024 * 128 + 128) + 2 * 128 + (128 * 12 + 12)  # 10 categories + 2 means
    assert sum(p.numel() for p in G.parameters()) == g
    assert sum(p.numel() for p in D.parameters()) == body + (1024 + 1) + q
    leaks = {m.negative_slope for m in D.modules() if isinstance(m, torch.nn.LeakyReLU)}
    assert leaks == {0.1}
    with torch.no_grad():
        x = G.eval()(G.sample_latent(3))
        out = D.eval()(x)
    assert x.shape == (3, 1, 28, 28) and x.abs().max() <= 1
    assert isinstance(out, DOutput) and out.logits.shape == (3,)
    assert {k: tuple(v.shape) for k, v in out.extra.items()} == {"code_logits": (3, 10),
                                                                 "code_mean": (3, 2)}
    learned = build("discriminator", "infogan", image_shape=(1, 28, 28), categorical=0,
                    continuous=3, continuous_std="learned")
    with torch.no_grad():
        extra = learned.eval()(x).extra
    assert {k: tuple(v.shape) for k, v in extra.items()} == {"code_mean": (3, 3),
                                                             "code_log_std": (3, 3)}


def test_the_latent_is_noise_and_codes_from_their_prior():
    G = build("generator", "infogan", image_shape=(1, 28, 28))
    z = G.sample_latent(4000, generator=torch.Generator().manual_seed(0))
    assert z.shape == (4000, 74) and G.latent_dim == 74 and G.latent_categories == 10
    noise, continuous, categories = G.split_latent(z)
    assert noise.shape == (4000, 62) and continuous.shape == (4000, 2)
    assert noise.abs().max() <= 1 and continuous.abs().max() <= 1
    assert abs(continuous.mean()) < 0.05 and abs(continuous.var() - 1 / 3) < 0.02  # U(-1, 1)
    assert torch.equal(z[:, -10:].sum(1), torch.ones(4000))  # one-hot
    assert torch.bincount(categories, minlength=10).min() > 300  # uniform over 10
    assert torch.equal(G.join_latent(noise, continuous, categories), z)
    assert torch.equal(z, G.sample_latent(4000, generator=torch.Generator().manual_seed(0)))
    mapped = G.prior_from_normal(torch.randn(4000, 74))  # torch-fidelity draws N(0, I)
    noise, continuous, categories = G.split_latent(mapped)
    assert noise.abs().max() <= 1 and abs(continuous.var() - 1 / 3) < 0.02
    assert torch.equal(mapped[:, -10:].sum(1), torch.ones(4000))
    assert "62 Uniform(-1, 1) noise" in G.latent_description()


def test_the_information_term_is_the_codes_negative_log_likelihood():
    G = build("generator", "infogan", image_shape=(1, 28, 28), continuous=2)
    z = G.sample_latent(5, generator=torch.Generator().manual_seed(1))
    _, continuous, categories = G.split_latent(z)
    logits, mean, log_std = torch.randn(5, 10), torch.randn(5, 2), torch.randn(5, 2) * 0.3
    fixed = information_terms(G, z, DOutput(torch.zeros(5), {"code_logits": logits,
                                                             "code_mean": mean}))
    expected_ce = -torch.log_softmax(logits, 1)[torch.arange(5), categories].mean()
    normal = torch.distributions.Normal(mean, torch.ones(2))
    assert fixed["cross_entropy"].item() == pytest.approx(expected_ce.item(), rel=1e-5)
    assert fixed["gaussian_nll"].item() == pytest.approx(
        -normal.log_prob(continuous).sum(1).mean().item(), rel=1e-5)
    learned = information_terms(G, z, DOutput(torch.zeros(5), {
        "code_logits": logits, "code_mean": mean, "code_log_std": log_std}))
    normal = torch.distributions.Normal(mean, log_std.exp())
    assert learned["gaussian_nll"].item() == pytest.approx(
        -normal.log_prob(continuous).sum(1).mean().item(), rel=1e-5)


def parameters(net: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in net.named_parameters()}


def changed(before: dict[str, torch.Tensor], net: torch.nn.Module) -> set[str]:
    return {k for k, v in net.named_parameters() if not torch.equal(v, before[k])}


@pytest.mark.parametrize("weights", ["1", "0"])
def test_the_information_term_moves_g_and_q_only_in_their_own_updates(tmp_path, fake_data,
                                                                      weights):
    """D and Q's update moves D and Q (through the term on detached fakes), never G; G's
    update moves G only. With lambda 0 nothing reaches Q's head (it feeds no other loss)."""
    overrides = [*TINY, f"data.root={fake_data}", "train.steps=1",
                 f"game.categorical_weight={weights}", f"game.continuous_weight={weights}"]
    trainer = make_trainer(tmp_path / "run", overrides, recipe="infogan_mnist.yaml")
    G, D = trainer.networks["generator"], trainer.networks["discriminator"]
    moved = {}
    update = trainer.arena.update

    def spy(optimizer, loss):
        g, d = parameters(G), parameters(D)
        update(optimizer, loss)
        moved[optimizer] = (changed(g, G), changed(d, D))

    trainer.arena.update = spy
    batches = trainer.c.dataset.batches(8, trainer.device, 0)
    stats = trainer.step(batches)
    g_by_d, d_by_d = moved["optim_d"]
    g_by_g, d_by_g = moved["optim_g"]
    assert not g_by_d and not d_by_g  # each update moves its own network only
    assert len(g_by_g) == len(list(G.parameters()))
    q_head = {"q.3.weight", "q.3.bias"}
    assert (q_head <= d_by_d) == (weights == "1")
    assert {"head.weight", "body.0.weight"} <= d_by_d
    if weights == "1":
        assert math.isclose(stats["info"].item(), (stats["cross_entropy"]
                                                   + stats["gaussian_nll"]).item(), rel_tol=1e-6)
        assert 0 < stats["cross_entropy"].item() < 2 * math.log(10)


def test_exact_resume(tmp_path, fake_data):
    """3 steps, then resumed to 6, equal 6 straight: both networks and both optimizers."""
    from test_resume import assert_same_state

    from ganzoo.engine.checkpoint import load_checkpoint

    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    assert main(["run", *tiny(fake_data, straight, 6)]) == 0
    assert main(["run", *tiny(fake_data, stopped, 3)]) == 0
    assert main(["resume", str(stopped), "train.steps=6"]) == 0
    a = load_checkpoint(straight / "checkpoints" / "step_0000006.pt")
    b = load_checkpoint(stopped / "checkpoints" / "step_0000006.pt")
    assert set(a["networks"]) == {"generator", "discriminator"}
    assert_same_state(a, b)


def test_code_traversal_cli_and_api(run, tmp_path, capsys):
    from PIL import Image

    walk = tmp_path / "walk.png"
    assert main(["interpolate", str(run.path), "--code", "0", "--rows", "3",
                 "--out", str(walk)]) == 0
    assert Image.open(walk).size == (10 * 30 + 2, 3 * 30 + 2)  # a column per category
    assert main(["interpolate", str(run.path), "--code", "2", "--rows", "2", "--steps", "5",
                 "--out", str(walk)]) == 0
    assert Image.open(walk).size == (5 * 30 + 2, 2 * 30 + 2)
    grid = run.interpolate(rows=2, steps=5, code=2)
    G = run.generator()
    z = G.sample_latent(2, generator=torch.Generator().manual_seed(0))
    walked, columns = G.traverse_code(2, z, 5)
    noise, continuous, categories = G.split_latent(walked)
    assert columns == 5 and torch.equal(categories, torch.tensor([0] * 5 + [1] * 5))
    assert torch.equal(continuous[:, 1], torch.linspace(-2, 2, 5).repeat(2))
    assert torch.equal(continuous[:5, 0], z[0, 62].repeat(5))  # all else fixed along a row
    assert torch.equal(noise[5:], z[1:, :62].repeat(5, 1))
    with torch.no_grad():
        assert torch.equal(grid, G(walked))
    _, _, categories = G.split_latent(G.traverse_code(0, z, 5)[0])
    assert torch.equal(categories, torch.arange(10).repeat(2))
    capsys.readouterr()
    one_line_error(capsys, ["interpolate", str(run.path), "--code", "3", "--out", str(walk)],
                   "--code: expected a code from 0 to 2 (0: categorical, 10 categories;")
    one_line_error(capsys, ["interpolate", str(run.path), "--code", "-1", "--out", str(walk)],
                   "(got -1)")


def test_a_generator_without_codes_has_no_traversal(tmp_path, fake_data, capsys):
    plain = tmp_path / "dcgan"
    assert main(["run", str(RECIPE.with_name("dcgan_mnist.yaml")), *TINY, "train.steps=1",
                 "generator.ngf=4", "discriminator.ndf=4", f"data.root={fake_data}",
                 f"train.run_dir={plain}"]) == 0
    capsys.readouterr()
    one_line_error(capsys, ["interpolate", str(plain), "--code", "0", "--out",
                            str(tmp_path / "w.png")],
                   "--code: this generator has no latent codes to traverse")


def test_show_sample_and_export(run, tmp_path, capsys, fake_data):
    assert main(["show", str(RECIPE), f"data.root={fake_data}"]) == 0
    shown = capsys.readouterr().out
    assert "generator infogan: z (74, 10 of them a one-hot code) -> 1x28x28" in shown
    assert "discriminator infogan: 1x28x28 -> logit" in shown and "q.3" in shown
    out = tmp_path / "samples.npz"
    assert main(["sample", str(run.path), "--n", "12", "--out", str(out)]) == 0
    import numpy as np

    assert np.load(out)["images"].shape == (12, 28, 28, 1)
    export = tmp_path / "export"
    assert main(["export", str(run.path), "--out", str(export)]) == 0
    G = ganzoo.load_exported(export)
    assert G.latent_codes == run.generator().latent_codes
    assert torch.equal(ganzoo.sample(G, 6, seed=2), run.sample(6, seed=2))
    assert "InfoGAN's codes: a one-hot categorical code of 10" in \
        (export / "README.md").read_text()


def test_the_code_accuracy_metric(run, capsys):
    assert main(["eval", str(run.path), "--metrics", "code_accuracy", "eval.n=20",
                 "eval.ref=train"]) == 0
    saved = json.loads(next((run.path / "checkpoints").glob("*.eval.json")).read_text())
    saved = saved[-1] if isinstance(saved, list) else saved
    assert 0.1 <= saved["metrics"]["code_accuracy"] <= 1  # 2 of each category: >= 1 in 10
    assert saved["protocol"]["code_accuracy_samples"] == 20


def test_q_classifies_real_digits_through_the_best_map(run):
    from ganzoo_builtins.infogan.measures import load_discriminator, q_digit_accuracy

    D = load_discriminator(run.path, run.registry)
    images = torch.randint(0, 256, (30, 1, 28, 28), dtype=torch.uint8)
    result = q_digit_accuracy(D, images, torch.arange(30) % 10)
    assert result["images"] == 30 and 0.1 <= result["accuracy"] <= 1


def test_the_best_one_to_one_map_is_exact():
    rng = torch.Generator().manual_seed(0)
    for rows, columns in [(1, 1), (3, 3), (4, 2), (2, 5), (5, 5)]:
        counts = torch.randint(0, 20, (rows, columns), generator=rng).tolist()
        pairs = best_one_to_one(counts)
        assert len({r for r, _ in pairs}) == len({c for _, c in pairs}) == len(pairs)
        k = min(rows, columns)
        brute = max(sum(counts[r][c] for r, c in zip(rs, cs, strict=True))
                    for rs in itertools.permutations(range(rows), k)
                    for cs in itertools.permutations(range(columns), k))
        assert sum(counts[r][c] for r, c in pairs) == brute
    codes = torch.arange(10).repeat(3)
    digits = (codes * 7 + 3) % 10  # a permutation of the digits
    accuracy, mapping = matched_accuracy(codes, digits, 10)
    assert accuracy == 1.0 and mapping[1] == 0
    digits[:3] = (digits[:3] + 1) % 10
    assert matched_accuracy(codes, digits, 10)[0] == pytest.approx(27 / 30)


@pytest.mark.parametrize("change, message", [
    (["generator.categorical=0", "generator.continuous=0"],
     "generator.categorical: InfoGAN needs at least one code (got categorical 0 and "
     "continuous 0)"),
    (["generator.categorical=1"], "generator.categorical: must be 0 (no categorical code) or "
                                  "at least 2 categories (got 1)"),
    (["discriminator.continuous_std=free"], "discriminator.continuous_std: must be one of"),
    (["game.categorical_weight=-1"], "game.categorical_weight: must be 0 or more (got -1"),
    (["discriminator.continuous=3"], "discriminator.continuous: Q reads 10 categories and 3 "
                                     "continuous codes, but the generator draws 10 and 2"),
    (["discriminator.name=dcgan"], "discriminator.name: game 'infogan' needs a discriminator "
                                   "with a Q head"),
    (["data.image_size=30"], "generator 'infogan' takes square images whose size is a "
                             "multiple of 4"),
])
def test_bad_input_is_one_line(tmp_path, fake_data, capsys, change, message):
    one_line_error(capsys, ["run", *tiny(fake_data, tmp_path / "bad", 1), *change], message)
