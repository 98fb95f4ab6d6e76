"""The training tricks of later GANs: bCR and zCR (consistency), LeCam, top-k training of G
and x-flips, each checked for the value and the gradient it must produce, then all together
in a tiny run that resumes exactly."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from helpers import assert_steps_read_no_value, make_trainer, one_line_error

from ganzoo.cli import main
from ganzoo.components import RegularizerEntry
from ganzoo.engine.arena import Arena, StepLog
from ganzoo.engine.checkpoint import load_checkpoint
from ganzoo.errors import GanzooError
from ganzoo.interfaces import Batch, DOutput, Generator, StepContext
from ganzoo_builtins.augment.transforms import XFlip, flip
from ganzoo_builtins.regularizers import TopKOptions
from ganzoo_builtins.regularizers.consistency import (
    BalancedConsistency,
    LatentConsistency,
    reflect_translation,
)
from ganzoo_builtins.regularizers.lecam import LeCam
from ganzoo_builtins.regularizers.topk import TopK

RECIPES = Path(__file__).resolve().parent.parent / "recipes"
SHAPE = (2, 4, 4)


class LinearD(torch.nn.Module):
    """D(x) = <w, x>: every penalty on it has a closed form."""

    def __init__(self, size: int):
        super().__init__()
        self.w = torch.nn.Parameter(torch.randn(size))

    def forward(self, x, labels=None):
        return x.flatten(1) @ self.w


class LinearG(Generator):
    """G(z) = z A, shaped as images."""

    def __init__(self, latent_dim: int = 3, shape: tuple[int, ...] = SHAPE):
        super().__init__()
        self.latent_dim, self.image_shape = latent_dim, shape
        self.A = torch.nn.Parameter(torch.randn(latent_dim, int(torch.Size(shape).numel())))

    def forward(self, z, labels=None):
        return (z @ self.A).view(-1, *self.image_shape)


def context(D, player: str, real: Batch, fake: Batch, networks=None, logs=None) -> StepContext:
    def score(x, labels=None):
        if isinstance(x, Batch):
            x = x.x
        return DOutput(D(x))

    return StepContext(step=1, player=player, real=real, fake=fake, score=score,
                       discriminator=D, log=(logs if logs is not None else {}).__setitem__,
                       fake_out=score(fake.x), real_out=score(real.x), networks=networks)


# ---- bCR ---------------------------------------------------------------------------------

def test_bcr_penalty_and_its_gradient_on_a_linear_d():
    torch.manual_seed(0)
    D = LinearD(32)
    real, fake = torch.randn(5, *SHAPE), torch.randn(5, *SHAPE)
    bcr = BalancedConsistency(real=10.0, fake=4.0, mirror=True, translation=0.125)
    bcr.transform = lambda x: x.flip(3)  # a known T
    logs: dict = {}
    penalty = bcr.penalty(context(D, "discriminator", Batch(x=real), Batch(x=fake), logs=logs))
    dr = (real - real.flip(3)).flatten(1)  # D(x) - D(T(x)) = <w, x - T(x)>
    df = (fake - fake.flip(3)).flatten(1)
    w = D.w.detach()
    expected = 10 * ((dr @ w) ** 2).mean() + 4 * ((df @ w) ** 2).mean()
    assert torch.allclose(penalty, expected)
    assert torch.allclose(logs["bcr_real"], ((dr @ w) ** 2).mean())
    (grad,) = torch.autograd.grad(penalty, D.w)
    expected_grad = (20 * ((dr @ w)[:, None] * dr).mean(0)
                     + 8 * ((df @ w)[:, None] * df).mean(0))
    assert torch.allclose(grad, expected_grad, atol=1e-5)


def test_bcr_transform_flips_and_shifts_with_reflection():
    x = torch.arange(2 * 8 * 8, dtype=torch.float32).view(1, 2, 8, 8).repeat(64, 1, 1, 1) + 1
    torch.manual_seed(3)
    dy, dx = torch.randint(-1, 2, (64, 1)), torch.randint(-1, 2, (64, 1))
    torch.manual_seed(3)
    out = reflect_translation(x, 0.125)  # 1 pixel each way at 8 px
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1), mode="reflect")
    for i in range(64):
        a, b = 1 - int(dy[i]), 1 - int(dx[i])
        assert torch.equal(out[i], padded[i, :, a:a + 8, b:b + 8])
    assert (out != 0).all()  # reflected pixels, never zeros
    assert len({(int(a), int(b)) for a, b in zip(dy, dx, strict=True)}) > 4
    bcr = BalancedConsistency(10.0, 10.0, mirror=True, translation=0.0)
    torch.manual_seed(1)
    chosen = torch.rand(64, 1, 1, 1) < 0.5
    torch.manual_seed(1)
    assert torch.equal(bcr.transform(x), torch.where(chosen, x.flip(3), x))


def test_bcr_is_refused_on_points(capsys, tmp_path):
    one_line_error(capsys, ["run", str(RECIPES / "quickstart.yaml"), "regularizers=[{name: bcr}]",
                            f"train.run_dir={tmp_path / 'r'}"],
                   "regularizers[0].name: 'bcr' transforms images, but dataset "
                   "'gaussian_mixture' gives samples of shape (2,)")


# ---- zCR ---------------------------------------------------------------------------------

def test_zcr_d_term_is_the_squared_change_of_d_and_leaves_g_alone():
    torch.manual_seed(0)
    D, G = LinearD(32), LinearG()
    z = torch.randn(6, 3)
    fake = Batch(x=G(z).detach(), z=z)
    zcr = LatentConsistency(sigma=0.03, generator="generator")
    torch.manual_seed(7)
    dz = 0.03 * torch.randn_like(z)
    ctx = context(D, "discriminator", Batch(x=torch.randn(6, *SHAPE)), fake,
                  networks={"generator": G, "discriminator": D})
    torch.manual_seed(7)
    penalty = zcr.penalty(ctx)
    moved = (dz @ G.A).detach()  # G(z + dz) - G(z)
    assert penalty > 0
    assert torch.allclose(penalty, ((moved @ D.w.detach()) ** 2).mean(), rtol=1e-4)
    grad_w, grad_a = torch.autograd.grad(penalty, [D.w, G.A], allow_unused=True)
    assert grad_a is None  # G's samples are detached in D's term
    assert torch.allclose(grad_w, 2 * ((moved @ D.w.detach())[:, None] * moved).mean(0),
                          rtol=1e-4, atol=1e-7)


def test_zcr_g_term_is_minus_the_squared_change_of_g():
    torch.manual_seed(0)
    D, G = LinearD(32), LinearG()
    z = torch.randn(6, 3)
    fake = Batch(x=G(z), z=z)
    zcr = LatentConsistency(sigma=0.03, generator="generator")
    torch.manual_seed(7)
    dz = 0.03 * torch.randn_like(z)
    ctx = context(D, "generator", Batch(x=torch.randn(6, *SHAPE)), fake,
                  networks={"generator": G, "discriminator": D})
    torch.manual_seed(7)
    penalty = zcr.penalty(ctx)
    assert penalty < 0
    assert torch.allclose(penalty, -((dz @ G.A) ** 2).mean())
    (grad,) = torch.autograd.grad(penalty, G.A)
    assert torch.allclose(grad, -2 * dz.T @ (dz @ G.A) / (dz @ G.A).numel(), atol=1e-8)
    with torch.no_grad():  # a step down the objective spreads G's samples apart
        before = ((dz @ G.A) ** 2).mean()
        after = ((dz @ (G.A - 1e3 * grad)) ** 2).mean()
    assert after > before


def test_zcr_needs_fakes_made_from_noise():
    D = LinearD(32)
    ctx = context(D, "discriminator", Batch(x=torch.randn(2, *SHAPE)),
                  Batch(x=torch.randn(2, *SHAPE), source=torch.randn(2, *SHAPE)))
    with pytest.raises(GanzooError, match="zcr needs fakes drawn from noise"):
        LatentConsistency(0.03, "generator").penalty(ctx)


# ---- LeCam -------------------------------------------------------------------------------

def lecam_context(real_logits, fake_logits, step):
    ctx = SimpleNamespace(step=step, real_logits=real_logits, fake_logits=fake_logits, logs={})
    ctx.log = ctx.logs.__setitem__
    return ctx


def test_lecam_anchors_follow_emas_and_the_penalty_pulls_towards_them():
    lecam = LeCam(decay=0.9, start=1, one_sided=False)
    assert lecam.penalty(lecam_context(torch.tensor([1.0, 3.0]), torch.tensor([-2.0]), 1)) is None
    assert lecam.alpha_real == 2.0 and lecam.alpha_fake == -2.0  # step 1: the batch's means
    real = torch.tensor([4.0, 0.0], requires_grad=True)
    fake = torch.tensor([-1.0, 1.0], requires_grad=True)
    penalty = lecam.penalty(lecam_context(real, fake, 2))
    alpha_r, alpha_f = 0.9 * 2.0 + 0.1 * 2.0, 0.9 * -2.0 + 0.1 * 0.0
    assert torch.allclose(lecam.alpha_real, torch.tensor(alpha_r))
    assert torch.allclose(lecam.alpha_fake, torch.tensor(alpha_f))
    expected = ((real - alpha_f) ** 2).mean() + ((fake - alpha_r) ** 2).mean()
    assert torch.allclose(penalty, expected)
    grad_r, grad_f = torch.autograd.grad(penalty, [real, fake])  # the anchors carry none
    assert torch.allclose(grad_r, (real - alpha_f).detach())  # 2 (D(x) - alpha_F) / 2
    assert torch.allclose(grad_f, (fake - alpha_r).detach())


def test_lecam_one_sided_only_pulls_what_crossed_the_anchor():
    lecam = LeCam(decay=0.99, start=0, one_sided=True)
    lecam.alpha_real, lecam.alpha_fake = torch.tensor(1.0), torch.tensor(-1.0)
    real = torch.tensor([2.0, -3.0], requires_grad=True)
    fake = torch.tensor([3.0, -1.0], requires_grad=True)
    penalty = lecam.penalty(lecam_context(real, fake, 5))
    a_r = 0.99 * 1.0 + 0.01 * -0.5
    a_f = 0.99 * -1.0 + 0.01 * 1.0
    expected = (real[0] - a_f) ** 2 / 2 + (a_r - fake[1]) ** 2 / 2
    assert torch.allclose(penalty, expected)
    grad_r, grad_f = torch.autograd.grad(penalty, [real, fake])
    assert grad_r[1] == 0 and grad_f[0] == 0 and grad_r[0] > 0 and grad_f[1] < 0


def test_lecam_state_dict_round_trip_resumes_exactly():
    a, b = LeCam(0.99, 0, True), LeCam(0.99, 0, True)
    assert a.state_dict() == {}
    for step in range(1, 4):
        a.penalty(lecam_context(torch.randn(4), torch.randn(4), step))
    b.load_state_dict(a.state_dict())
    real, fake = torch.randn(4), torch.randn(4)
    assert torch.equal(a.penalty(lecam_context(real, fake, 4)),
                       b.penalty(lecam_context(real, fake, 4)))
    assert torch.equal(a.alpha_real, b.alpha_real) and torch.equal(a.alpha_fake, b.alpha_fake)


# ---- top-k -------------------------------------------------------------------------------

def test_topk_schedule_decays_per_epoch_down_to_nu():
    topk = TopK(gamma=0.5, nu=0.25, epoch_images=16)
    assert [topk.k(8, step) for step in (1, 2, 3, 4, 5, 6, 100)] == [8, 8, 4, 4, 2, 2, 2]
    paper = TopK(**vars(TopKOptions()))  # gamma 0.99, nu 0.5, a CIFAR-10 epoch
    assert paper.k(64, 1) == 64 and paper.k(64, 782) == 64 and paper.k(64, 783) == 63
    assert paper.k(64, 10**6) == 32
    with pytest.raises(ValueError, match="nu: must be in"):
        TopKOptions(nu=2)


def test_topk_keeps_exactly_the_k_fakes_d_finds_most_real_and_only_they_train_g():
    torch.manual_seed(0)
    x = torch.randn(8, 5, requires_grad=True)
    w = torch.randn(5)
    logits = x @ w
    fake = Batch(x=x, z=torch.randn(8, 3), labels=torch.arange(8))
    out = DOutput(logits, {"class_logits": torch.randn(8, 10)})
    entry = RegularizerEntry("topk", TopK(gamma=0.5, nu=0.25, epoch_images=16))
    arena = SimpleNamespace(selected=set(), regularizers=[entry], log=StepLog())
    kept, kept_out = Arena.select(arena, "generator", 3, fake, out)  # epoch 1: k = 4
    best = set(torch.argsort(logits, descending=True)[:4].tolist())
    assert set(kept.labels.tolist()) == best and len(kept) == 4
    assert torch.equal(kept_out.logits, logits[kept.labels])
    assert torch.equal(kept_out.extra["class_logits"], out.extra["class_logits"][kept.labels])
    assert torch.equal(kept.z, fake.z[kept.labels])
    assert arena.log.values["topk_kept"] == 4
    (grad,) = torch.autograd.grad(-kept_out.logits.mean(), x)
    dropped = [i for i in range(8) if i not in best]
    assert (grad[dropped] == 0).all()
    assert torch.allclose(grad[sorted(best)], -w.expand(4, 5) / 4)


def test_topk_is_refused_by_a_game_that_does_not_select():
    entry = RegularizerEntry("topk", TopK(0.99, 0.5, 100))
    arena = SimpleNamespace(selected=set(), regularizers=[entry])
    with pytest.raises(GanzooError, match="regularizers\\[0\\].name: 'topk' picks the fakes"):
        Arena.check_selection(arena, SimpleNamespace())
    arena.selected.add("generator")
    Arena.check_selection(arena, SimpleNamespace())


# ---- x-flips -----------------------------------------------------------------------------

def test_xflip_flips_each_image_with_p_and_is_seeded():
    x = torch.randn(1000, 1, 2, 3, requires_grad=True)
    assert torch.equal(XFlip(1.0)(x), x.flip(3)) and torch.equal(XFlip(0.0)(x), x)
    torch.manual_seed(5)
    chosen = torch.rand(1000, 1, 1, 1) < 0.5
    torch.manual_seed(5)
    out = XFlip(0.5)(x)
    assert torch.equal(out, torch.where(chosen, x.flip(3), x))
    assert 0.45 < chosen.float().mean() < 0.55
    torch.manual_seed(5)
    assert torch.equal(flip(x, 0.5), out)  # the same seed, the same flips
    (grad,) = torch.autograd.grad(out[:, :, :, 0].sum(), x)  # flipped ones take it from the end
    assert torch.equal(grad[:, 0, 0, 2] == 1, chosen.view(-1))
    points = torch.randn(4, 2)
    assert XFlip(1.0)(points) is points


# ---- all together, in a tiny run -----------------------------------------------------------

TRICKS = ("regularizers=[{name: bcr}, {name: zcr, weight: 5}, {name: zcr, weight: 0.5, role: "
          "generator}, {name: lecam, weight: 0.3, start: 1}, "
          "{name: topk, gamma: 0.5, nu: 0.5, epoch_images: 8}]")
TINY = ["generator.ngf=4", "discriminator.ndf=4", "data.verify=false",
        "augment={name: xflip}", "train.batch_size=4", "train.device=cpu", "train.log_every=1",
        "train.sample_every=1000", "train.num_samples=4", "train.checkpoint_every=2", TRICKS]


def test_all_tricks_train_together_and_resume_exactly(fake_data, tmp_path, capsys):
    data = f"data.root={fake_data}"
    straight = make_trainer(tmp_path / "straight", [*TINY, data, "train.steps=3"],
                            "dcgan_cifar.yaml")
    straight.fit()
    stopped = make_trainer(tmp_path / "stopped", [*TINY, data, "train.steps=2"],
                           "dcgan_cifar.yaml")
    stopped.fit()
    stopped.run.unlock()
    assert main(["resume", str(tmp_path / "stopped"), "train.steps=3"]) == 0, \
        capsys.readouterr().err
    a = load_checkpoint(tmp_path / "straight/checkpoints/step_0000003.pt")
    b = load_checkpoint(tmp_path / "stopped/checkpoints/step_0000003.pt")
    for role, weights in a["networks"].items():
        for name, tensor in weights.items():
            assert torch.equal(tensor, b["networks"][role][name]), f"{role}.{name}"
    lecam = a["regularizers"][3]
    assert set(lecam) == {"alpha_real", "alpha_fake"}
    assert torch.equal(lecam["alpha_real"], b["regularizers"][3]["alpha_real"])
    assert torch.equal(lecam["alpha_fake"], b["regularizers"][3]["alpha_fake"])
    lines = [json.loads(line) for line in (tmp_path / "straight/metrics.jsonl").open()]
    steps = {r["step"]: r for r in lines if "topk_kept" in r}
    assert [steps[s]["topk_kept"] for s in (1, 2, 3)] == [4, 4, 2]  # an epoch of 8 images
    last = steps[3]
    assert last["zcr"] > 0 and last["zcr_2"] < 0  # D's term and G's, with their signs
    assert last["bcr"] >= 0 and "lecam" in last and "lecam" not in steps[1]  # after start


def test_the_tricks_read_no_value_back_during_a_step(fake_data, tmp_path, monkeypatch):
    # On a GPU each read would stall the step: k, the anchors and every term stay tensors.
    trainer = make_trainer(tmp_path, ["generator.ngf=4", "discriminator.ndf=4",
                                      "train.batch_size=4", "train.device=cpu",
                                      "train.fused_adam=true", "augment={name: xflip}",
                                      TRICKS.replace("start: 1", "start: 0"),
                                      f"data.root={fake_data}"], "dcgan_mnist.yaml")
    batches = trainer.c.dataset.batches(4, trainer.device, 0)
    trainer.step(batches)  # the first step creates the optimizers' state
    stats = assert_steps_read_no_value(trainer, batches, monkeypatch, range(2, 4))
    assert {"bcr", "zcr", "zcr_2", "lecam", "topk_kept"} <= set(stats)


# ---- penalty weights over the run ----------------------------------------------------------

def test_a_penalty_weight_follows_its_schedule_over_the_run(tmp_path):
    """regularizers[i].schedule: any learning-rate schedule, as a factor of the weight (R3GAN's
    gamma, cosine from 0.05 to 0.005): the step's penalty is weight x factor(step)."""
    trainer = make_trainer(tmp_path / "run", [
        "train.steps=11", "train.device=cpu",
        "regularizers=[{name: r1, weight: 2, schedule: {name: cosine, final: 0.1}}, "
        "{name: r1, weight: 2}]"])
    scheduled, constant = trainer.c.regularizers
    assert scheduled.weight_at(1) == pytest.approx(2.0)
    assert scheduled.weight_at(11) == pytest.approx(0.2)
    assert scheduled.weight_at(6) == pytest.approx(2 * (0.1 + 0.9 * 0.5), rel=0.05)
    assert constant.weight_at(11) == 2.0
    for entry in (scheduled, constant):
        entry.regularizer.penalty = lambda ctx: torch.tensor(1.0)
    ctx = SimpleNamespace(step=11, score=None)
    assert float(trainer.arena.penalties("discriminator", ctx)) == pytest.approx(2.2)


@pytest.mark.parametrize(("schedule", "expected"), [
    ("3", "regularizers[0].schedule: a schedule such as {name: cosine, final: 0.1} (got 3)"),
    ("{name: cosine, warmup: 50}", "regularizers[0].schedule.warmup: 50 steps of warm-up in a "
                                   "run of 4 (train.steps)"),
    ("{name: cosine, final: 2}", "regularizers[0].schedule.final: must be in [0, 1]"),
])
def test_a_schedule_a_penalty_cannot_follow_is_refused(capsys, tmp_path, schedule, expected):
    one_line_error(capsys, ["run", str(RECIPES / "quickstart.yaml"), "train.steps=4",
                            "train.device=cpu", f"train.run_dir={tmp_path / 'run'}",
                            f"regularizers=[{{name: r1, schedule: {schedule}}}]"], expected)
