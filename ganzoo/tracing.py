"""Layer-by-layer views of a network: output shapes, parameter counts and the size arithmetic.

The conv formulas are the ones users learn (DESIGN.md, section 1):
  convolution            H_out = floor((H_in + 2p - k) / s) + 1
  transposed convolution H_out = (H_in - 1)s - 2p + k + output_padding
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn


def conv_output_size(h_in: int, k: int, s: int = 1, p: int = 0, dilation: int = 1) -> int:
    return (h_in + 2 * p - dilation * (k - 1) - 1) // s + 1


def conv_transpose_output_size(h_in: int, k: int, s: int = 1, p: int = 0,
                               output_padding: int = 0, dilation: int = 1) -> int:
    return (h_in - 1) * s - 2 * p + dilation * (k - 1) + output_padding + 1


@dataclass(frozen=True)
class LayerRow:
    name: str
    kind: str
    output_shape: tuple[int, ...]
    params: int
    arithmetic: str  # e.g. "4 -> 8: (4-1)*2 - 2*1 + 4", empty where the size does not change


def size_arithmetic(module: nn.Module, h_in: int, h_out: int) -> str:
    """How this layer turned H_in into H_out, written out with its numbers."""
    if isinstance(module, nn.ConvTranspose2d):
        k, s, p, op = (module.kernel_size[0], module.stride[0], module.padding[0],
                       module.output_padding[0])
        extra = f" + {op}" if op else ""
        return f"{h_in} -> {h_out}: ({h_in}-1)*{s} - 2*{p} + {k}{extra}"
    if isinstance(module, nn.Conv2d):
        k, s, p = module.kernel_size[0], module.stride[0], module.padding[0]
        return f"{h_in} -> {h_out}: ⌊({h_in} + 2*{p} - {k})/{s}⌋ + 1"
    if h_in != h_out:
        return f"{h_in} -> {h_out}"
    return ""


def is_parametrized(module: nn.Module) -> bool:
    return nn.utils.parametrize.is_parametrized(module)


def layers_of(model: nn.Module) -> list[nn.Module]:
    """The layers a table shows: leaf modules, and parametrized ones (spectral norm) as a whole,
    never their parametrization's internals."""
    inner = {id(m) for module in model.modules() if is_parametrized(module)
             for m in module.parametrizations.modules()}
    return [m for m in model.modules() if id(m) not in inner and not isinstance(m, nn.Identity)
            and (is_parametrized(m) or not list(m.children()))]


def own_parameters(module: nn.Module) -> int:
    """Parameters of the layer itself; a parametrized layer's original weight counts."""
    if is_parametrized(module):
        return sum(p.numel() for p in module.parameters())
    return sum(p.numel() for p in module.parameters(recurse=False))


def kind_of(module: nn.Module) -> str:
    """'Conv2d', or 'Conv2d + spectral norm' for a spectrally normalized one."""
    name = type(module).__name__.removeprefix("Parametrized")
    if is_parametrized(module):
        kinds = {type(p).__name__.strip("_") for plist in module.parametrizations.values()
                 for p in plist}
        if "SpectralNorm" in kinds:
            return f"{name} + spectral norm"
    return name


@torch.no_grad()
def trace_layers(model: nn.Module, example: Tensor,
                 labels: Tensor | None = None) -> list[LayerRow]:
    """Run ``example`` (and ``labels``, for a conditional network) through ``model`` and
    describe every leaf layer in call order."""
    rows: list[LayerRow] = []
    names = {module: name for name, module in model.named_modules()}

    def record(module: nn.Module, inputs: tuple[Tensor, ...], output: Tensor) -> None:
        x = inputs[0] if inputs else output
        h_in = x.shape[-1] if x.dim() == 4 else 0
        h_out = output.shape[-1] if output.dim() == 4 else 0
        arithmetic = size_arithmetic(module, h_in, h_out) if h_in and h_out else ""
        rows.append(LayerRow(names[module], kind_of(module), tuple(output.shape[1:]),
                             own_parameters(module), arithmetic))

    leaves = layers_of(model)
    handles = [m.register_forward_hook(record) for m in leaves]
    was_training = model.training
    try:
        model.eval()
        model(example, labels) if labels is not None else model(example)
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return rows
