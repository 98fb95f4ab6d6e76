"""The zoo's built-in members against what their papers say: penalties on a linear critic,
the WGAN and hinge objectives, and the relativistic example plugin."""

from __future__ import annotations

import pytest
import torch

from ganzoo.components import build_one
from ganzoo.interfaces import Batch, DOutput, StepContext
from ganzoo.plugins import load_registry

REGISTRY = load_registry()
BGC_ALL = ["xflip", "rotate90", "xint", "scale", "rotate", "aniso", "xfrac", "brightness",
           "contrast", "lumaflip", "hue", "saturation"]


def linear_critic_context(w: torch.Tensor, n: int = 32, labels=None) -> StepContext:
    """A StepContext whose D is x -> w.x + 0.5: its gradient is w everywhere."""
    torch.manual_seed(0)
    real, fake = torch.randn(n, len(w)), torch.randn(n, len(w))
    return StepContext(step=1, player="discriminator", real=Batch(real, labels),
                       fake=Batch(fake, labels), score=lambda x, y: DOutput(x @ w + 0.5, {}),
                       discriminator=None, log=lambda *a: None,
                       fake_out=DOutput(fake @ w + 0.5))


def regularizer(name: str, **options):
    return build_one(REGISTRY, "regularizer", {"name": name, **options}, "regularizers[0]")


@pytest.mark.parametrize("w", [[3.0, -4.0], [0.6, 0.8], [0.1, 0.0]])
def test_gradient_penalty_on_a_linear_critic(w):
    w = torch.tensor(w)
    expected = (w.norm() - 1) ** 2  # the same at every interpolate
    assert regularizer("gradient_penalty").penalty(linear_critic_context(w)).item() == \
        pytest.approx(expected.item(), rel=1e-5, abs=1e-7)


def test_r1_on_a_linear_critic():
    w = torch.tensor([3.0, -4.0])
    assert regularizer("r1").penalty(linear_critic_context(w)).item() == pytest.approx(12.5)


def test_gradient_penalty_carries_labels_to_a_conditional_critic():
    seen = []

    def score(x, labels):
        seen.append(labels)
        return DOutput(x.sum(1), {})

    labels = torch.arange(4)
    ctx = StepContext(step=1, player="discriminator", real=Batch(torch.randn(4, 2), labels),
                      fake=Batch(torch.randn(4, 2), labels), score=score, discriminator=None,
                      log=lambda *a: None, fake_out=DOutput(torch.zeros(4)))
    regularizer("gradient_penalty").penalty(ctx)
    assert seen and torch.equal(seen[0], labels)


def test_weight_clip_bounds_every_weight():
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Linear(8, 1))
    with torch.no_grad():
        regularizer("weight_clip", clip=0.01).after_update(net)
    assert all(p.abs().max() <= 0.01 for p in net.parameters())
    assert regularizer("weight_clip").clip == 0.01  # WGAN's default c


def loss(name: str):
    return build_one(REGISTRY, "loss", {"name": name}, "loss")


def test_wasserstein_and_hinge_objectives():
    real, fake = torch.tensor([2.0, 0.5]), torch.tensor([-1.5, 0.25])
    wgan = loss("wasserstein")
    assert wgan.discriminator_loss(real, fake, None).item() == pytest.approx(-0.625 - 1.25)
    assert wgan.generator_loss(fake, None).item() == pytest.approx(0.625)
    hinge = loss("hinge")
    # max(0, 1 - 2) + max(0, 1 - 0.5) = 0.5 -> 0.25; max(0, 1 - 1.5) + max(0, 1.25) -> 0.625
    assert hinge.discriminator_loss(real, fake, None).item() == pytest.approx(0.25 + 0.625)
    assert hinge.generator_loss(fake, None).item() == pytest.approx(0.625)
    assert not wgan.outputs_are_logits and not hinge.outputs_are_logits


def test_relativistic_losses_of_the_example_plugin():
    import torch.nn.functional as F

    real, fake = torch.tensor([2.0, 1.0]), torch.tensor([0.0, -1.0])
    ctx = type("Ctx", (), {"real_logits": real})()
    rasgan, ralsgan = loss("rasgan"), loss("ralsgan")
    # E C(x) = 1.5, E C(G(z)) = -0.5
    d = F.softplus(-(real + 0.5)).mean() + F.softplus(fake - 1.5).mean()
    g = F.softplus(-(fake - 1.5)).mean() + F.softplus(real + 0.5).mean()
    assert rasgan.discriminator_loss(real, fake, ctx).item() == pytest.approx(d.item())
    assert rasgan.generator_loss(fake, ctx).item() == pytest.approx(g.item())
    d = ((real + 0.5 - 1) ** 2).mean() + ((fake - 1.5 + 1) ** 2).mean()
    assert ralsgan.discriminator_loss(real, fake, ctx).item() == pytest.approx(d.item())


# ---- networks -------------------------------------------------------------------------------

CONDITIONED = [("generator", "mlp", "concat", (1, 28, 28)),
               ("generator", "dcgan", "concat", (1, 28, 28)),
               ("generator", "resnet", "cbn", (3, 32, 32)),
               ("generator", "resnet", "concat", (3, 32, 32)),
               ("discriminator", "mlp", "concat", (1, 28, 28)),
               ("discriminator", "mlp", "projection", (1, 28, 28)),
               ("discriminator", "mlp", "acgan", (1, 28, 28)),
               ("discriminator", "dcgan", "concat", (1, 28, 28)),
               ("discriminator", "dcgan", "projection", (3, 32, 32)),
               ("discriminator", "dcgan", "acgan", (3, 32, 32)),
               ("discriminator", "resnet", "projection", (3, 32, 32)),
               ("discriminator", "resnet", "acgan", (3, 32, 32)),
               ("discriminator", "resnet", "concat", (3, 32, 32))]
SMALL = {"mlp": {"hidden_dims": [16]}, "dcgan": {}, "resnet": {}}
WIDTH = {"generator": {"dcgan": {"ngf": 8}, "resnet": {"ngf": 16}},
         "discriminator": {"dcgan": {"ndf": 8}, "resnet": {"ndf": 16}}}


@pytest.mark.parametrize("kind, name, mode, shape", CONDITIONED,
                         ids=lambda v: v if isinstance(v, str) else "x".join(map(str, v)))
def test_every_conditioning_reads_the_labels(kind, name, mode, shape):
    from ganzoo.interfaces import as_doutput

    options = {"name": name, "conditioning": mode, **SMALL[name], **WIDTH[kind].get(name, {})}
    torch.manual_seed(0)
    net = build_one(REGISTRY, kind, options, kind, shape, 10)
    assert net.conditional and net.num_classes == 10
    for module in net.modules():  # cBN starts as the identity: give each class its own values
        if isinstance(module, torch.nn.Embedding):
            torch.nn.init.normal_(module.weight)
    given = torch.randn(4, net.latent_dim) if kind == "generator" else torch.rand(4, *shape)
    a, b = (net(given, torch.full((4,), k)) for k in (0, 7))
    if mode == "acgan":  # the logit is unconditional; the class head is the extra output
        assert as_doutput(a).extra["class_logits"].shape == (4, 10)
        return
    if kind == "discriminator":
        a, b = as_doutput(a).logits, as_doutput(b).logits
    assert not torch.allclose(a, b)
    with pytest.raises(Exception, match="needs class labels"):
        build_one(REGISTRY, kind, options, kind, shape, None)


def test_spectral_norm_keeps_the_largest_singular_value_near_one():
    torch.manual_seed(0)
    D = build_one(REGISTRY, "discriminator", {"name": "dcgan", "ndf": 8, "spectral_norm": True},
                  "discriminator", (3, 32, 32), None)
    for _ in range(20):  # each forward pass in training mode runs one power iteration
        D(torch.rand(2, 3, 32, 32))
    for name, module in D.named_modules():
        if torch.nn.utils.parametrize.is_parametrized(module, "weight"):
            sigma = torch.linalg.matrix_norm(module.weight.flatten(1), ord=2)
            assert sigma.item() == pytest.approx(1.0, abs=0.05), name


def test_clustergan_prior_is_gaussian_then_a_uniform_one_hot_code(capsys):
    G = build_one(REGISTRY, "generator", {"name": "mlp", "latent_dim": 2, "hidden_dims": [16],
                                          "latent_categories": 5, "latent_std": 0.3},
                  "generator", (2,), None)
    assert G.latent_dim == 7 and G.net[0].in_features == 7
    z = G.sample_latent(20000, generator=torch.Generator().manual_seed(0))
    gaussian, code = z[:, :2], z[:, 2:]
    assert gaussian.std(dim=0) == pytest.approx(torch.full((2,), 0.3), abs=0.01)
    assert torch.equal(code.sum(dim=1), torch.ones(20000)) and set(code.unique().tolist()) == {0, 1}
    assert code.mean(dim=0) == pytest.approx(torch.full((5,), 0.2), abs=0.01)
    assert G(z[:4]).shape == (4, 2)
    assert "2 dimensions and a one-hot code of 5 categories" in G.latent_description()

    from ganzoo.cli import main

    # torch-fidelity draws z ~ N(0, I) itself: mapped to the same prior
    mapped = G.prior_from_normal(torch.randn(20000, 7, generator=torch.Generator().manual_seed(1)))
    assert mapped[:, :2].std(dim=0) == pytest.approx(torch.full((2,), 0.3), abs=0.01)
    assert torch.equal(mapped[:, 2:].sum(dim=1), torch.ones(20000))
    assert mapped[:, 2:].mean(dim=0) == pytest.approx(torch.full((5,), 0.2), abs=0.01)

    assert main(["show", "generator", "mlp", "latent_dim=2", "latent_categories=5"]) == 0
    assert "z (7, 5 of them a one-hot code)" in capsys.readouterr().out


def test_kaiming_init_keeps_the_signal_of_a_relu_mlp_generator():
    torch.manual_seed(0)
    options = {"name": "mlp", "latent_dim": 64, "hidden_dims": [512] * 4, "output": "linear"}
    signal = {}
    for init in ("default", "kaiming"):
        G = build_one(REGISTRY, "generator", {**options, "init": init}, "generator", (64,), None)
        signal[init] = G(torch.randn(256, 64)).pow(2).mean().sqrt().item()
    for layer in G.net:
        if isinstance(layer, torch.nn.Linear):  # He et al.: std sqrt(2 / fan_in), zero biases
            assert layer.weight.std().item() == pytest.approx((2 / layer.in_features) ** 0.5,
                                                              rel=0.05)
            assert not layer.bias.any()
    # He's init keeps the RMS of the signal (about 1 here); PyTorch's shrinks it layer by layer.
    assert 0.5 < signal["kaiming"] < 2 and signal["default"] < 0.1


def test_the_standard_prior_draws_what_it_always_drew():
    # latent_std 1 and no code must leave z (and so every seeded run) exactly as before.
    G = build_one(REGISTRY, "generator", {"name": "mlp", "latent_dim": 3, "hidden_dims": [16]},
                  "generator", (2,), None)
    z = G.sample_latent(8, generator=torch.Generator().manual_seed(5))
    assert torch.equal(z, torch.randn(8, 3, generator=torch.Generator().manual_seed(5)))
    assert G.prior_from_normal(z) is z


def test_show_prints_spectral_norm_layers_with_their_parameters(capsys):
    from ganzoo.cli import main

    assert main(["show", "discriminator", "resnet", "image_size=32", "ndf=8",
                 "attention=16"]) == 0
    out = capsys.readouterr().out
    assert "Conv2d + spectral norm" in out and "_SpectralNorm" not in out
    assert "attention.query" in out
    assert "spatial size: 32 -> 16 -> 8" in out.replace("\n", " ")


def test_pacgan_checks_the_batch_size_when_the_run_is_built(tmp_path, capsys):
    from pathlib import Path

    from ganzoo.cli import main

    recipe = Path(__file__).resolve().parent.parent / "recipes" / "pacgan_grid.yaml"
    assert main(["run", str(recipe), "train.batch_size=201", "train.steps=2",
                 f"train.run_dir={tmp_path / 'r'}"]) == 2
    assert ("train.batch_size: 201 is not a multiple of 2, the number of samples discriminator "
            "'pacgan' scores together") in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


# ---- augmentations --------------------------------------------------------------------------

def augmentation(name: str, **options):
    return build_one(REGISTRY, "augmentation", {"name": name, **options}, "augment")


def test_diffaugment_transforms_do_what_the_paper_says():
    x = torch.rand(64, 3, 16, 16) * 2 - 1
    torch.manual_seed(1)
    shifted = augmentation("diffaugment", policy=["translation"], translation=0.25)(x)
    # each image is moved by whole pixels: some row or column of zeros comes in, or none moved
    moved = [not torch.equal(a, b) for a, b in zip(shifted, x, strict=True)]
    assert any(moved) and not all(torch.equal(s, torch.zeros_like(s)) for s in shifted)
    torch.manual_seed(1)
    cut = augmentation("diffaugment", policy=["cutout"], cutout=0.5)(torch.ones(64, 3, 16, 16))
    zeros = (cut == 0).float().mean(dim=(1, 2, 3))
    assert 0.05 < zeros.mean() < 0.3  # squares of side 8 (a quarter), clipped at the borders
    assert ((cut == 0) | (cut == 1)).all()


def test_diffaugment_is_the_same_policy_for_real_and_fake_and_differentiable():
    aug = augmentation("diffaugment")
    real, fake = torch.rand(8, 3, 16, 16), torch.rand(8, 3, 16, 16, requires_grad=True)
    torch.manual_seed(3)
    a = aug(real)
    torch.manual_seed(3)
    b = aug(real)
    assert torch.equal(a, b)  # the transform is the policy and the RNG, nothing else
    aug(fake).sum().backward()
    assert fake.grad is not None and fake.grad.abs().sum() > 0


def test_adaptive_augmentation_raises_p_while_d_overfits():
    aug = augmentation("adaptive", interval=2, speed=64, target=0.6)
    for _ in range(4):
        aug.observe(torch.full((16,), 5.0))  # D sure that every real is real: sign = +1
    assert aug.log_values()["p"].item() == pytest.approx(1.0)  # +32/64 twice
    for _ in range(2):
        aug.observe(torch.full((16,), -5.0))
    assert aug.log_values()["p"].item() == pytest.approx(0.5)
    state = aug.state_dict()
    again = augmentation("adaptive", interval=2, speed=64)
    again.load_state_dict(state)
    assert again.log_values()["p"].item() == pytest.approx(0.5)


# ---- ADA's pipeline ---------------------------------------------------------------------------

def ada(ops, x, p=1.0, seed=0, **options):
    torch.manual_seed(seed)
    aug = augmentation("ada", pipeline=list(ops), p=p, target=None, **options)
    return aug(x)


def test_ada_pixel_blitting_moves_whole_pixels():
    """xflip, rotate90 and xint at p = 1: each image is itself mirrored or not, turned by a
    multiple of 90 degrees, or shifted by whole pixels (reflected in), up to float rounding."""
    x = torch.rand(16, 3, 16, 16) * 2 - 1
    close = lambda a, b: (a - b).abs().max() < 1e-5  # noqa: E731
    for a, b in zip(ada(["xflip"], x), x, strict=True):
        assert close(a, b) or close(a, b.flip(2))
    turns = [next(k for k in range(4) if close(a, torch.rot90(b, k, (1, 2))))
             for a, b in zip(ada(["rotate90"], x), x, strict=True)]
    assert len(set(turns)) > 1
    for a, b in zip(ada(["xint"], x), x, strict=True):  # 2 pixels at most (0.125 x 16)
        assert any(close(a[:, 2:-2, 2:-2], torch.roll(b, (dy, dx), (1, 2))[:, 2:-2, 2:-2])
                   for dy in range(-2, 3) for dx in range(-2, 3))


def test_ada_geometry_keeps_a_flat_image_flat_and_color_acts_on_luma_as_the_paper_says():
    flat = torch.full((32, 3, 8, 8), 0.3)
    assert torch.allclose(ada(["scale", "rotate", "aniso", "xfrac"], flat), flat, atol=1e-5)
    x = torch.rand(64, 3, 8, 8) * 2 - 1
    luma, chroma = x.mean(1, keepdim=True), x - x.mean(1, keepdim=True)
    hue = ada(["hue"], x)  # a rotation about the luma axis: luma and chroma's size kept
    assert torch.allclose(hue.mean(1, keepdim=True), luma, atol=1e-5) and not torch.allclose(hue, x)
    assert torch.allclose((hue - luma).norm(dim=1), chroma.norm(dim=1), atol=1e-4)
    flipped = ada(["lumaflip"], x)  # luma mirrored or kept, chroma kept
    assert torch.allclose(flipped - flipped.mean(1, keepdim=True), chroma, atol=1e-5)
    signs = (flipped.mean(1, keepdim=True) / luma).flatten(1).median(1).values
    assert set(signs.round().tolist()) == {-1.0, 1.0}
    saturated = ada(["saturation"], x)  # chroma scaled per image, luma kept
    assert torch.allclose(saturated.mean(1, keepdim=True), luma, atol=1e-5)
    brighter = ada(["brightness"], x)  # one offset per image on every pixel and channel
    offsets = (brighter - x).flatten(1)
    assert torch.allclose(offsets, offsets[:, :1].expand_as(offsets), atol=1e-5)
    grey = torch.rand(64, 1, 8, 8)
    assert torch.equal(ada(["hue", "saturation", "lumaflip"], grey), grey)  # RGB only


def test_ada_applies_each_transform_with_probability_p_and_is_differentiable_and_seeded():
    x = torch.rand(4000, 3, 4, 4)
    changed = (ada(["brightness"], x, p=0.3) - x).flatten(1).abs().amax(1) > 0
    assert 0.27 < changed.float().mean() < 0.33
    changed = (ada(["brightness"], x, p=0.6, color_scale=0.5) - x).flatten(1).abs().amax(1) > 0
    assert 0.27 < changed.float().mean() < 0.33
    assert torch.allclose(ada(BGC_ALL, x[:64], p=0.0), x[:64], atol=1e-5)
    y = (torch.rand(8, 3, 16, 16) * 2 - 1).requires_grad_(True)
    out = ada([*BGC_ALL, "cutout"], y, p=0.8)
    assert torch.equal(out, ada([*BGC_ALL, "cutout"], y, p=0.8))
    out.sum().backward()
    assert y.grad is not None and y.grad.abs().sum() > 0


def test_ada_p_is_tuned_fixed_or_on_a_schedule():
    tuned = augmentation("ada", interval=2, speed=64)  # target 0.6, as ADA
    for _ in range(4):
        tuned.observe(torch.full((16,), 5.0))
    assert tuned.log_values()["p"].item() == pytest.approx(1.0)
    fixed = augmentation("ada", p=0.3, target=None)
    fixed.observe(torch.full((16,), 5.0))
    assert fixed.log_values() == {"p": pytest.approx(torch.tensor(0.3))}
    ramp = augmentation("ada", p=0.55, target=None,
                        schedule={"name": "cosine", "initial": 0.0, "final": 1.0})
    values = []
    for step in (1, 6, 11):
        ramp.at_step(step, 11)
        values.append(ramp.log_values()["p"].item())
    assert values == pytest.approx([0.0, 0.275, 0.55])  # R3GAN's p, 0 -> 0.55 by half a cosine


@pytest.mark.parametrize(("options", "expected"), [
    ("{name: ada, schedule: {name: cosine}}", "augment.schedule: p follows either a schedule"),
    ("{name: ada, pipeline: [xflip, blur]}", "augment.pipeline: must be one of 'xflip'"),
])
def test_ada_options_it_cannot_honour_are_refused(capsys, tmp_path, fake_data, options,
                                                  expected):
    from pathlib import Path

    from helpers import one_line_error

    recipes = Path(__file__).resolve().parent.parent / "recipes"
    one_line_error(capsys, ["run", str(recipes / "dcgan_mnist.yaml"), "train.steps=2",
                            "train.device=cpu", f"train.run_dir={tmp_path / 'run'}",
                            f"data.root={fake_data}", "train.batch_size=8",
                            f"augment={options}"], expected)


@pytest.mark.slow
def test_conditional_samples_are_the_asked_for_digits(tmp_path, mnist_root):
    """A short ACGAN run on real MNIST: the shipped digit classifier recognises the class that
    was asked for far above chance (10%). docs/zoo.md has the full-length figure."""
    from pathlib import Path

    from ganzoo.cli import main
    from ganzoo.sampling import class_labels, generate, load_generator
    from ganzoo_builtins.mnist.classifier import classify, digit_classifier

    recipe = Path(__file__).resolve().parent.parent / "recipes" / "acgan_mnist.yaml"
    run = tmp_path / "acgan"
    assert main(["run", str(recipe), f"data.root={mnist_root}", "generator.ngf=16",
                 "discriminator.ndf=16", "train.steps=400", "train.device=cpu",
                 f"train.run_dir={run}"]) == 0
    G, _, _ = load_generator(run, REGISTRY, device="cpu")
    labels = class_labels(G, 500, "all")
    predicted = classify(digit_classifier(mnist_root), generate(G, 500, seed=1, labels=labels))
    assert (predicted == labels).float().mean() > 0.3  # 43% measured; chance is 10%


def test_show_traces_a_packing_discriminator_with_whole_packs(capsys):
    from pathlib import Path

    from ganzoo.cli import main

    recipe = Path(__file__).resolve().parent.parent / "recipes" / "pacgan_grid.yaml"
    assert main(["show", str(recipe)]) == 0
    out = capsys.readouterr().out
    assert "inner.net.1.linear" in out and "discriminator pacgan: 2 -> logit" in out
    assert "407,201" in out  # the paper's maxout D on packs of 2: 4 -> 3 x (200 x 5) -> 1
