"""The notes' transposed-convolution examples and the size formulas, checked against torch."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganzoo.commands.show import spatial_path
from ganzoo.plugins import load_registry
from ganzoo.tracing import conv_output_size, conv_transpose_output_size, trace_layers


def conv_transpose(x, kernel, stride=1, padding=0, output_padding=0):
    layer = nn.ConvTranspose2d(1, 1, kernel.shape[-1], stride, padding, output_padding,
                               bias=False)
    with torch.no_grad():
        layer.weight.copy_(kernel.view(1, 1, *kernel.shape))
        return layer(x.view(1, 1, *x.shape))[0, 0]


def test_each_input_value_scales_the_kernel_and_the_copies_add_up():
    """Input [[0,1],[2,3]] * kernel [[4,1],[2,3]], stride 1 -> [[0,4,1],[8,16,6],[4,12,9]]."""
    out = conv_transpose(torch.tensor([[0., 1.], [2., 3.]]), torch.tensor([[4., 1.], [2., 3.]]))
    assert out.tolist() == [[0, 4, 1], [8, 16, 6], [4, 12, 9]]


def test_ones_with_ones_and_the_implicit_padding():
    """2x2 ones * 2x2 ones -> [[1,2,1],[2,4,2],[1,2,1]]: the same as a plain convolution of the
    input padded by k - p - 1 = 1, with the kernel flipped."""
    ones = torch.ones(2, 2)
    out = conv_transpose(ones, ones)
    assert out.tolist() == [[1, 2, 1], [2, 4, 2], [1, 2, 1]]
    padded = nn.functional.pad(ones.view(1, 1, 2, 2), (1, 1, 1, 1))
    as_conv = nn.functional.conv2d(padded, ones.flip(0, 1).view(1, 1, 2, 2))[0, 0]
    assert torch.equal(as_conv, out)


def test_stride_two_inserts_zeros_between_the_inputs():
    """A 2x2 [[a,b],[c,d]] becomes [[a,0,b,0],[0,0,0,0],[c,0,d,0],[0,0,0,0]]."""
    a, b, c, d = 1., 2., 3., 4.
    out = conv_transpose(torch.tensor([[a, b], [c, d]]), torch.ones(1, 1), stride=2,
                         output_padding=1)
    assert out.tolist() == [[a, 0, b, 0], [0, 0, 0, 0], [c, 0, d, 0], [0, 0, 0, 0]]


@pytest.mark.parametrize("h_in, k, s, p, op", [(1, 4, 1, 0, 0), (4, 4, 2, 1, 0), (7, 4, 2, 1, 0),
                                               (5, 3, 2, 1, 1), (2, 2, 1, 0, 0)])
def test_transposed_conv_output_size_formula(h_in, k, s, p, op):
    layer = nn.ConvTranspose2d(1, 1, k, s, p, op)
    assert layer(torch.zeros(1, 1, h_in, h_in)).shape[-1] == conv_transpose_output_size(
        h_in, k, s, p, op)


@pytest.mark.parametrize("size", [28, 32, 64, 128])
@pytest.mark.parametrize("upsample", ["transposed", "nearest"])
def test_formulas_hold_at_every_layer_of_every_dcgan_resolution(size, upsample):
    registry = load_registry()
    shape = (3, size, size)
    G = registry.get("generator", "dcgan").build(
        registry.get("generator", "dcgan").options(ngf=4, upsample=upsample), shape, None)
    D = registry.get("discriminator", "dcgan").build(
        registry.get("discriminator", "dcgan").options(ndf=4), shape, None)
    for model, example in ((G, torch.zeros(2, G.latent_dim)), (D, torch.zeros(2, *shape))):
        sizes = {}

        def keep(module, inputs, output, sizes=sizes):
            sizes[module] = (inputs[0].shape[-1], output.shape[-1])

        for m in model.modules():
            if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
                m.register_forward_hook(keep)
        model.eval()
        model(example)
        assert sizes
        for m, (h_in, h_out) in sizes.items():
            k, s, p = m.kernel_size[0], m.stride[0], m.padding[0]
            if isinstance(m, nn.ConvTranspose2d):
                assert h_out == conv_transpose_output_size(h_in, k, s, p, m.output_padding[0])
            else:
                assert h_out == conv_output_size(h_in, k, s, p)
    base = 7 if size == 28 else 4
    g_path = spatial_path(trace_layers(G, torch.zeros(2, G.latent_dim)), 1)
    assert g_path[:2] == [1, base] and g_path[-1] == size
    assert all(b == 2 * a for a, b in zip(g_path[1:], g_path[2:], strict=False))


def test_show_celeba_recipe_goes_from_1_to_64(capsys):
    from pathlib import Path

    from ganzoo.cli import main

    recipe = Path(__file__).resolve().parent.parent / "recipes" / "dcgan_celeba.yaml"
    assert main(["show", str(recipe)]) == 0
    out = capsys.readouterr().out
    assert "spatial size: 1 -> 4 -> 8 -> 16 -> 32 -> 64" in out
    assert "4 -> 8: (4-1)*2 - 2*1 + 4" in out
    assert "3,576,704" in out  # DCGAN-64 G's parameter count
    assert "spatial size: 64 -> 32 -> 16 -> 8 -> 4 -> 1" in out


def test_show_one_component_and_its_errors(capsys):
    from ganzoo.cli import main

    assert main(["show", "generator", "dcgan", "image_size=32", "ngf=8"]) == 0
    assert "1 -> 4 -> 8 -> 16 -> 32" in capsys.readouterr().out
    assert main(["show", "generator", "dcgan", "image_size=48"]) == 2
    assert "dcgan cannot take 48x48 images; it supports 28, 32, 64, 128" in capsys.readouterr().err
    assert main(["show", "discriminator", "mlp", "shape=2"]) == 0
    assert main(["show", "generator"]) == 2
