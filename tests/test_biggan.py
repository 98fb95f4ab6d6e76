"""BigGAN, a built-in: its 32x32 networks as the paper and BigGAN-PyTorch build them (shared
class embedding, hierarchical z, cBN gains from [embedding, chunk], SN, attention, projection),
the orthogonal regularization's value and gradient, truncated sampling, and every command on
a tiny run of its recipe (show, run, sample --truncation, eval, export, exact resume)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganzoo.api import build
from ganzoo.cli import main
from ganzoo.components import build_one
from ganzoo.errors import GanzooError
from ganzoo.interfaces import Batch, DOutput, StepContext
from ganzoo.plugins import load_registry

RECIPE = Path(__file__).resolve().parent.parent / "recipes" / "biggan_cifar.yaml"
SHAPE = (3, 32, 32)


def small_g(**options):
    options = {"ngf": 8, "latent_dim": 20, "shared_dim": 6, **options}
    return build("generator", "biggan", image_shape=SHAPE, num_classes=10, **options)


def small_d(**options):
    return build("discriminator", "biggan", image_shape=SHAPE, num_classes=10, ndf=8,
                 **options)


def parametrized(module: nn.Module) -> bool:
    return nn.utils.parametrize.is_parametrized(module, "weight")


def test_the_cifar_networks_at_the_reference_width():
    """BigGAN-PyTorch's arch[32] with G_ch = D_ch = 64: ngf = ndf = 256 channels at every
    stage (built here 32 wide: the full width takes seconds to initialise); G's three up-blocks
    have 3x3, 3x3 and a 1x1 shortcut; D has four blocks, the last two without a (needed)
    shortcut; z of 128 in four chunks of 32, a shared embedding of 128."""
    from ganzoo_builtins.biggan import BigGANDiscriminatorOptions, BigGANGeneratorOptions

    defaults = BigGANGeneratorOptions()
    assert (defaults.ngf, defaults.latent_dim, defaults.shared_dim, defaults.attention,
            defaults.bn_eps, defaults.init) == (256, 128, 128, 0, 1e-4, "ortho")
    assert BigGANDiscriminatorOptions().ndf == 256
    G = build("generator", "biggan", image_shape=SHAPE, num_classes=10, ngf=32)
    D = build("discriminator", "biggan", image_shape=SHAPE, num_classes=10, ndf=32)
    assert G.chunks == [32, 32, 32, 32] and G.linear.in_features == 32
    assert G.linear.out_features == 4 * 4 * 32 and G.shared.weight.shape == (10, 128)
    for block in G.blocks:
        assert [(c.in_channels, c.out_channels, c.kernel_size[0]) for c in
                (block.conv1, block.conv2, block.shortcut)] == [(32, 32, 3), (32, 32, 3),
                                                                (32, 32, 1)]
        assert block.bn1.gain.in_features == 128 + 32 and block.bn1.bn.eps == 1e-4
    assert G.bn.eps == 1e-4 and G.out.out_channels == 3
    assert [isinstance(b.shortcut, nn.Conv2d) for b in D.blocks] == [True, True, False, False]
    assert D.blocks[0].conv1.in_channels == 3 and D.embed.weight.shape == (10, 32)
    assert not hasattr(G, "attention") and not hasattr(D, "attention")  # the CIFAR script's


def test_hierarchical_z_and_the_shared_embedding_feed_every_block():
    G = small_g()
    assert G.chunks == [5, 5, 5, 5] and sum(G.chunks) == G.latent_dim
    uneven = small_g(latent_dim=10)
    assert uneven.chunks == [3, 3, 2, 2] and uneven(uneven.sample_latent(2),
                                                   torch.arange(2)).shape == (2, *SHAPE)
    seen = []
    for block in G.blocks:
        for bn in (block.bn1, block.bn2):
            bn.gain.register_forward_hook(lambda m, args, out: seen.append(args[0]))
    z, labels = G.sample_latent(4), torch.tensor([0, 3, 3, 9])
    first = []
    G.linear.register_forward_hook(lambda m, args, out: first.append(args[0]))
    G(z, labels)
    assert torch.equal(first[0], z[:, :5])
    assert len(seen) == 6  # both cBNs of each of the three blocks
    embedded = G.shared(labels)
    for k, condition in enumerate(seen):
        chunk = z[:, 5 * (k // 2 + 1):5 * (k // 2 + 2)]
        assert torch.equal(condition, torch.cat([embedded, chunk], dim=1))
    flat = small_g(hierarchical=False)
    assert flat.chunks == [20] and flat.linear.in_features == 20
    assert all(b.bn1.gain.in_features == 6 for b in flat.blocks)  # the embedding only


def test_cbn_gain_is_one_plus_a_linear_of_the_condition():
    G = small_g()
    bn = G.blocks[0].bn1
    x, c = torch.randn(4, 8, 4, 4), torch.randn(4, 11)
    normed = F.batch_norm(x, None, None, training=True, eps=1e-4)
    gain, bias = bn.gain(c)[:, :, None, None], bn.bias(c)[:, :, None, None]
    torch.testing.assert_close(bn(x, c), normed * (1 + gain) + bias)
    assert bn.gain.bias is None and not bn.bn.affine
    bn = small_g(spectral_norm=False).blocks[0].bn1
    with torch.no_grad():  # zero weights: the gain is exactly 1, the bias 0
        bn.gain.weight.zero_()
        bn.bias.weight.zero_()
    torch.testing.assert_close(bn(x, c), normed)


def test_spectral_norm_everywhere_but_the_shared_embedding():
    G, D = small_g(attention=16), small_d(attention=16)
    for net in (G, D):
        layers = [m for m in net.modules() if isinstance(m, nn.Conv2d | nn.Linear | nn.Embedding)]
        unnormed = [m for m in layers if not parametrized(m)]
        assert unnormed == ([G.shared] if net is G else [])
    off = small_g(spectral_norm=False)
    assert not any(parametrized(m) for m in off.modules() if isinstance(m, nn.Conv2d))


def test_orthogonal_init_before_spectral_norm():
    G = small_g()
    w = G.blocks[0].conv1.parametrizations.weight.original.flatten(1)  # (8, 72): rows orthonormal
    torch.testing.assert_close(w @ w.t(), torch.eye(8), atol=1e-5, rtol=0)
    normal = small_g(init="N02").blocks[0].conv1.parametrizations.weight.original
    assert 0.015 < normal.std().item() < 0.025


def test_attention_where_configured():
    G, D = small_g(attention=16), small_d(attention=8)
    sizes = {}
    G.attention.register_forward_hook(lambda m, a, out: sizes.update(G=out.shape))
    D.attention.register_forward_hook(lambda m, a, out: sizes.update(D=out.shape))
    x = G(G.sample_latent(2), torch.arange(2))
    D(x, torch.arange(2))
    assert sizes == {"G": (2, 8, 16, 16), "D": (2, 8, 8, 8)}
    h = torch.randn(2, 8, 16, 16)
    assert torch.equal(G.attention(h), h)  # gamma starts at 0: the identity
    with torch.no_grad():
        G.attention.gamma.fill_(1.0)
    assert not torch.allclose(G.attention(h), h)
    with pytest.raises(GanzooError, match="generator.attention: 12 is not a size G's blocks"):
        small_g(attention=12)
    with pytest.raises(GanzooError, match="discriminator.attention: 32 is not a size D's"):
        small_d(attention=32)
    with pytest.raises(GanzooError, match="takes 32x32 images"):
        build("generator", "biggan", image_shape=(3, 64, 64))


def test_projection_adds_the_class_embedding_dot_features():
    D = small_d().eval()  # SN's power iteration stands still: both passes see one D
    x = torch.rand(3, *SHAPE) * 2 - 1
    features = {}
    D.linear.register_forward_hook(lambda m, args, out: features.update(h=args[0]))
    a, b = D(x, torch.tensor([1, 2, 3])), D(x, torch.tensor([4, 2, 7]))
    h = features["h"]
    difference = ((D.embed(torch.tensor([1, 2, 3])) - D.embed(torch.tensor([4, 2, 7]))) * h)
    torch.testing.assert_close(a - b, difference.sum(1))
    assert a[1] == b[1]
    unconditional = build("discriminator", "biggan", image_shape=SHAPE, ndf=8)
    assert not unconditional.conditional and not hasattr(unconditional, "embed")


# ---- the orthogonal regularization ---------------------------------------------------------

def context(network: nn.Module) -> StepContext:
    return StepContext(step=1, player="generator", real=Batch(torch.zeros(1, 2)),
                       fake=Batch(torch.zeros(1, 2)), score=None, discriminator=None,
                       log=lambda *a: None, fake_out=DOutput(torch.zeros(1)),
                       networks={"generator": network})


def orthogonal():
    return build_one(load_registry(), "regularizer", {"name": "orthogonal"}, "regularizers[0]")


class HandMade(nn.Module):
    orthogonal_exclude = ("shared.",)

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, (1, 2))  # weight (2, 1, 1, 2): rows [1, 0] and [1, 1]
        self.shared = nn.Embedding(3, 2)  # left out
        with torch.no_grad():
            self.conv.weight.copy_(torch.tensor([[1.0, 0.0], [1.0, 1.0]]).view(2, 1, 1, 2))


def test_the_orthogonal_penalty_on_a_hand_made_weight():
    """W W^T = [[1, 1], [1, 2]]: off the diagonal 1 and 1, so the penalty is (1 + 1) / 2 = 1;
    its gradient 2 (W W^T * (1 - I)) W = 2 [[1, 1], [1, 0]] is what BigGAN-PyTorch's ortho()
    adds per unit of strength; biases (1-D) and the shared embedding get none."""
    net = HandMade()
    regularizer = orthogonal()
    assert regularizer.player == "generator"
    value = regularizer.penalty(context(net))
    assert value.item() == pytest.approx(1.0)
    value.backward()
    torch.testing.assert_close(net.conv.weight.grad.view(2, 2),
                               torch.tensor([[2.0, 2.0], [2.0, 0.0]]))
    w = net.conv.weight.detach().view(2, 2)
    reference = 2 * ((w @ w.t()) * (1 - torch.eye(2))) @ w
    torch.testing.assert_close(net.conv.weight.grad.view(2, 2), reference)
    assert net.conv.bias.grad is None and net.shared.weight.grad is None


def test_the_orthogonal_penalty_is_zero_on_orthogonal_rows_and_reads_raw_weights():
    from ganzoo_builtins.biggan.orthogonal import regularized_weights

    G = small_g()
    names = [name for name, _ in regularized_weights(G)]
    assert not any(name.startswith("shared.") for name in names)
    assert "blocks.0.conv1.parametrizations.weight.original" in names
    assert "blocks.0.bn1.gain.parametrizations.weight.original" in names  # as the reference
    assert orthogonal().penalty(context(small_g(hierarchical=False, latent_dim=4))).item() > 0
    rows = nn.Linear(8, 3)
    nn.init.orthogonal_(rows.weight)
    assert orthogonal().penalty(context(rows)).item() == pytest.approx(0.0, abs=1e-10)


# ---- truncation ----------------------------------------------------------------------------

def test_truncation_redraws_z_within_the_threshold_reproducibly():
    G = small_g()
    assert "truncation" in G.sampling_options
    plain = G.sample_latent(500, generator=torch.Generator().manual_seed(0))
    with G.sampling(truncation=0.4):
        z = G.sample_latent(500, generator=torch.Generator().manual_seed(0))
        again = G.sample_latent(500, generator=torch.Generator().manual_seed(0))
    assert plain.abs().max() > 0.4 and z.abs().max() <= 0.4
    assert torch.equal(z, again) and z.shape == (500, 20)
    kept = plain.abs() <= 0.4
    assert torch.equal(z[0][kept[0]], plain[0][kept[0]])  # entries within stay as drawn


# ---- the recipe through the CLI ------------------------------------------------------------

def tiny(fake_data: Path, *more: str) -> list[str]:
    """The recipe at widths 4, z of 8 and a shared embedding of 4, 2 D steps per G step,
    batch 4, on the fake CIFAR-10 files."""
    return ["train.device=cpu", "train.batch_size=4", "generator.ngf=4", "discriminator.ndf=4",
            "generator.latent_dim=8", "generator.shared_dim=4", f"data.root={fake_data}",
            "data.verify=false", "train.n_critic=2", "train.num_samples=4", "train.log_every=1",
            "train.sample_every=2", "train.checkpoint_every=2", *more]


def test_list_shows_biggan_and_orthogonal(capsys, monkeypatch):
    from ganzoo.commands import common

    monkeypatch.setattr(common.console, "width", 300)
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if "biggan" in line]
    assert any("generator" in r for r in rows) and any("discriminator" in r for r in rows)
    assert any("orthogonal" in line and "regularizer" in line for line in out.splitlines())


def test_show_run_sample_eval_export_of_the_recipe(tmp_path, fake_data, capsys, monkeypatch):
    from PIL import Image
    from test_evaluation import TinyPlugin

    from ganzoo import plugins
    from ganzoo.plugins import load_registry as load

    assert main(["show", str(RECIPE), *tiny(fake_data)]) == 0
    assert "generator biggan" in capsys.readouterr().out

    run = tmp_path / "run"
    assert main(["run", str(RECIPE), *tiny(fake_data, "train.steps=2"),
                 f"train.run_dir={run}"]) == 0
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert all(r["orthogonal"] > 0 for r in rows if "orthogonal" in r) and "orthogonal" in rows[0]
    assert main(["sample", str(run), "--n", "3", "--truncation", "0.5",
                 "--out", str(tmp_path / "pictures")]) == 0
    pictures = sorted((tmp_path / "pictures").rglob("*.png"))  # a folder per class
    assert len(pictures) == 3 and Image.open(pictures[0]).size == (32, 32)

    registry = load(extra_plugins={"tiny": TinyPlugin()})
    monkeypatch.setattr(plugins, "load_registry", lambda extra_plugins=None: registry)
    assert main(["eval", str(run), "--n", "20", "--extractor", "tiny", "--metrics", "fid",
                 "--truncation", "1.0"]) == 0
    saved = json.loads((run / "checkpoints" / "step_0000002.eval.json").read_text())
    saved = saved[-1] if isinstance(saved, list) else saved
    assert saved["metrics"]["fid"] > 0 and saved["protocol"]["n_generated"] == 20

    import ganzoo

    out = tmp_path / "model"
    assert main(["export", str(run), "--out", str(out)]) == 0
    G = ganzoo.load_exported(out)
    original = ganzoo.load_run(run).generator()
    z, labels = G.sample_latent(4, generator=torch.Generator().manual_seed(1)), torch.arange(4)
    with torch.no_grad():
        assert torch.equal(G(z, labels), original(z, labels))
    assert type(G).__name__ == "BigGANGenerator" and G.chunks == [2, 2, 2, 2]


def test_two_steps_and_a_resume_equal_four_straight(tmp_path, fake_data):
    from test_resume import assert_same_state

    from ganzoo.engine.checkpoint import load_checkpoint

    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    assert main(["run", str(RECIPE), *tiny(fake_data, "train.steps=4"),
                 f"train.run_dir={straight}"]) == 0
    assert main(["run", str(RECIPE), *tiny(fake_data, "train.steps=2"),
                 f"train.run_dir={stopped}"]) == 0
    assert main(["resume", str(stopped), "train.steps=4"]) == 0
    a = load_checkpoint(straight / "checkpoints" / "step_0000004.pt")
    b = load_checkpoint(stopped / "checkpoints" / "step_0000004.pt")
    assert a["ema"] is not None  # the EMA of G is on in the recipe
    assert_same_state(a, b)
