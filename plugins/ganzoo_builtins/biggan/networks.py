"""BigGAN's 32x32 networks (Brock et al., 2019; BigGAN-PyTorch's ``G_arch``/``D_arch`` at 32).

G: z = [z_0, z_1, z_2, z_3] (hierarchical; z whole when not), linear(z_0) -> ngf x 4 x 4, three
   up-blocks cBN -> ReLU -> up x2 -> conv3 -> cBN -> ReLU -> conv3 (shortcut: up x2 -> conv1),
   block k's cBNs reading c_k = [shared(y), z_k]: gain 1 + W_g c_k, bias W_b c_k; then
   BN -> ReLU -> conv3 -> tanh.
D: a first block conv3 -> ReLU -> conv3 -> pool (shortcut pool -> conv1), then pre-activation
   blocks ReLU -> conv3 -> ReLU -> conv3 (-> pool), 32 -> 16 -> 8 -> 8 -> 8, all ndf wide;
   ReLU, the sum over positions, linear(h) + embed(y) . h (projection).
Every convolution, linear layer and embedding has spectral norm but G's shared embedding
(BigGAN-PyTorch: SN there "seems to randomly cripple G"); weights are initialised before SN.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganzoo.errors import GanzooError
from ganzoo.interfaces import Discriminator, Generator
from ganzoo_builtins.biggan import BigGANDiscriminatorOptions, BigGANGeneratorOptions
from ganzoo_builtins.blocks import spectral

SIZE = 32
BLOCKS = 3  # up-blocks from 4x4 to 32x32


def check_size(image_shape: tuple[int, ...], who: str) -> None:
    if len(image_shape) != 3 or tuple(image_shape[1:]) != (SIZE, SIZE):
        raise GanzooError(f"{who}: biggan is BigGAN's CIFAR architecture and takes 32x32 "
                          f"images, not samples of shape {tuple(image_shape)}; set "
                          "data.image_size=32")


def initialised(module: nn.Conv2d | nn.Linear | nn.Embedding, init: str,
                sn: bool) -> nn.Module:
    """``module`` with its weight initialised as BigGAN-PyTorch's G_init/D_init says (biases
    left as PyTorch makes them, as there), then spectral norm when ``sn``: SN's power
    iteration starts from the initialised weight."""
    if init == "ortho":
        nn.init.orthogonal_(module.weight)
    elif init == "N02":
        nn.init.normal_(module.weight, 0.0, 0.02)
    else:
        nn.init.xavier_uniform_(module.weight)
    return spectral(module, sn)


def chunk_sizes(latent_dim: int, slots: int) -> list[int]:
    """``latent_dim`` cut into ``slots`` near-equal chunks that sum to it (BigGAN-PyTorch
    drops the remainder; here the first chunks take one entry more)."""
    base, extra = divmod(latent_dim, slots)
    return [base + (i < extra) for i in range(slots)]


class HierarchicalBatchNorm(nn.Module):
    """BigGAN's cBN: BN(x) * (1 + W_g c) + W_b c, c the block's condition (shared class
    embedding and z chunk side by side), W_g and W_b linear without bias (SN in G), so that
    the gain starts near 1. With no condition (an unconditional G with whole z): plain BN."""

    def __init__(self, channels: int, condition_dim: int, eps: float, init: str, sn: bool):
        super().__init__()
        self.condition_dim = condition_dim
        self.bn = nn.BatchNorm2d(channels, eps=eps, affine=not condition_dim)
        if condition_dim:
            self.gain = initialised(nn.Linear(condition_dim, channels, bias=False), init, sn)
            self.bias = initialised(nn.Linear(condition_dim, channels, bias=False), init, sn)

    def forward(self, x: Tensor, condition: Tensor | None) -> Tensor:
        out = self.bn(x)
        if not self.condition_dim:
            return out
        gain = 1 + self.gain(condition).view(-1, x.shape[1], 1, 1)
        return out * gain + self.bias(condition).view(-1, x.shape[1], 1, 1)


class Attention(nn.Module):
    """The self-attention of SAGAN's released code, as BigGAN uses it: queries and keys of
    C/8 channels, values of C/2, keys and values max-pooled 2x2, an output 1x1 conv back to
    C, and a gain gamma that starts at 0 (the block starts as the identity)."""

    def __init__(self, channels: int, init: str, sn: bool):
        super().__init__()
        self.inner, self.half = max(1, channels // 8), max(1, channels // 2)

        def conv(c_in: int, c_out: int) -> nn.Module:
            return initialised(nn.Conv2d(c_in, c_out, 1, bias=False), init, sn)

        self.theta, self.phi = conv(channels, self.inner), conv(channels, self.inner)
        self.g, self.o = conv(channels, self.half), conv(self.half, channels)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: Tensor) -> Tensor:
        n, _, h, w = x.shape
        theta = self.theta(x).flatten(2)  # (N, C/8, HW)
        phi = F.max_pool2d(self.phi(x), 2).flatten(2)  # (N, C/8, HW/4)
        g = F.max_pool2d(self.g(x), 2).flatten(2)  # (N, C/2, HW/4)
        beta = torch.softmax(theta.transpose(1, 2) @ phi, dim=-1)  # (N, HW, HW/4)
        o = self.o((g @ beta.transpose(1, 2)).view(n, self.half, h, w))
        return x + self.gamma * o


class GBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, condition_dim: int,
                 options: BigGANGeneratorOptions):
        super().__init__()
        init, sn, eps = options.init, options.spectral_norm, options.bn_eps
        self.bn1 = HierarchicalBatchNorm(c_in, condition_dim, eps, init, sn)
        self.conv1 = initialised(nn.Conv2d(c_in, c_out, 3, 1, 1), init, sn)
        self.bn2 = HierarchicalBatchNorm(c_out, condition_dim, eps, init, sn)
        self.conv2 = initialised(nn.Conv2d(c_out, c_out, 3, 1, 1), init, sn)
        self.shortcut = initialised(nn.Conv2d(c_in, c_out, 1), init, sn)

    def forward(self, x: Tensor, condition: Tensor | None) -> Tensor:
        h = F.interpolate(F.relu(self.bn1(x, condition)), scale_factor=2)
        h = self.conv2(F.relu(self.bn2(self.conv1(h), condition)))
        return h + self.shortcut(F.interpolate(x, scale_factor=2))


class DBlock(nn.Module):
    """BigGAN's D block, wide (the hidden width is the output's): the first sees the raw
    image and pools before its 1x1 shortcut; the others are pre-activation and pool after."""

    def __init__(self, c_in: int, c_out: int, down: bool, first: bool, init: str, sn: bool):
        super().__init__()
        self.first, self.down = first, down
        self.conv1 = initialised(nn.Conv2d(c_in, c_out, 3, 1, 1), init, sn)
        self.conv2 = initialised(nn.Conv2d(c_out, c_out, 3, 1, 1), init, sn)
        self.shortcut = (initialised(nn.Conv2d(c_in, c_out, 1), init, sn)
                         if c_in != c_out or down else nn.Identity())

    def pool(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(x, 2) if self.down else x

    def forward(self, x: Tensor) -> Tensor:
        h = x if self.first else F.relu(x)
        h = self.pool(self.conv2(F.relu(self.conv1(h))))
        skip = self.shortcut(self.pool(x)) if self.first else self.pool(self.shortcut(x))
        return h + skip


class BigGANGenerator(Generator):
    sampling_options = {
        "truncation": "redraw z's entries beyond T standard deviations (BigGAN's truncation "
                      "trick): samples of higher fidelity, less varied",
    }
    #: parameters the orthogonal regularization leaves out, by name prefix: the shared class
    #: embedding (BigGAN-PyTorch's blacklist)
    orthogonal_exclude: tuple[str, ...] = ("shared.",)

    def __init__(self, options: BigGANGeneratorOptions, image_shape: tuple[int, ...],
                 num_classes: int | None):
        super().__init__()
        check_size(image_shape, "generator")
        self.latent_dim, self.image_shape = options.latent_dim, tuple(image_shape)
        self.conditional, self.num_classes = num_classes is not None, num_classes
        self.hierarchical, self.ngf = options.hierarchical, options.ngf
        init, sn = options.init, options.spectral_norm
        self.chunks = chunk_sizes(options.latent_dim, BLOCKS + 1 if self.hierarchical else 1)
        if num_classes:  # no SN on the shared embedding, as BigGAN-PyTorch
            self.shared = initialised(nn.Embedding(num_classes, options.shared_dim), init, False)
        embedding = options.shared_dim if num_classes else 0
        conditions = ([embedding + size for size in self.chunks[1:]] if self.hierarchical
                      else [embedding] * BLOCKS)
        self.linear = initialised(nn.Linear(self.chunks[0], 16 * options.ngf), init, sn)
        self.blocks = nn.ModuleList(GBlock(options.ngf, options.ngf, dim, options)
                                    for dim in conditions)
        self.attention_after = 0
        if options.attention:
            sizes = [8 * 2 ** i for i in range(BLOCKS)]  # after each block: 8, 16, 32
            if options.attention not in sizes:
                raise GanzooError(f"generator.attention: {options.attention} is not a size G's "
                                  f"blocks reach ({', '.join(map(str, sizes))}); 0 turns "
                                  "attention off")
            self.attention_after = sizes.index(options.attention) + 1
            self.attention = Attention(options.ngf, init, sn)
        self.bn = nn.BatchNorm2d(options.ngf, eps=options.bn_eps)
        self.out = initialised(nn.Conv2d(options.ngf, image_shape[0], 3, 1, 1), init, sn)

    def conditions(self, z: Tensor, labels: Tensor | None) -> tuple[Tensor, list]:
        """The first linear layer's input and each block's cBN condition."""
        parts = list(torch.split(z, self.chunks, dim=1))
        first, rest = parts[0], parts[1:] if self.hierarchical else [None] * BLOCKS
        if not self.conditional:
            return first, rest
        y = self.shared(labels)
        return first, [y if part is None else torch.cat([y, part], dim=1) for part in rest]

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        first, conditions = self.conditions(z, labels)
        h = self.linear(first).view(z.shape[0], self.ngf, 4, 4)
        for i, (block, condition) in enumerate(zip(self.blocks, conditions, strict=True), 1):
            h = block(h, condition)
            if i == self.attention_after:
                h = self.attention(h)
        return torch.tanh(self.out(F.relu(self.bn(h))))

    def latent_description(self) -> str:
        if not self.hierarchical:
            return super().latent_description()
        return (f"z ~ N(0, I) of {self.latent_dim} dimensions, in chunks of "
                f"{', '.join(map(str, self.chunks))} (the first linear layer, then each block)")


class BigGANDiscriminator(Discriminator):
    def __init__(self, options: BigGANDiscriminatorOptions, image_shape: tuple[int, ...],
                 num_classes: int | None):
        super().__init__()
        check_size(image_shape, "discriminator")
        self.image_shape = tuple(image_shape)
        self.conditional, self.num_classes = num_classes is not None, num_classes
        init, sn, ndf = options.init, options.spectral_norm, options.ndf
        plan = [(image_shape[0], True), (ndf, True), (ndf, False), (ndf, False)]
        self.blocks = nn.ModuleList(DBlock(c_in, ndf, down, i == 0, init, sn)
                                    for i, (c_in, down) in enumerate(plan))
        sizes = [16, 8, 8, 8]  # after each block
        self.attention_after = 0
        if options.attention:
            if options.attention not in sizes:
                raise GanzooError(f"discriminator.attention: {options.attention} is not a size "
                                  "D's blocks reach (16, 8); 0 turns attention off")
            self.attention_after = sizes.index(options.attention) + 1
            self.attention = Attention(ndf, init, sn)
        self.linear = initialised(nn.Linear(ndf, 1), init, sn)
        if num_classes:
            self.embed = initialised(nn.Embedding(num_classes, ndf), init, sn)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        h = x
        for i, block in enumerate(self.blocks, 1):
            h = block(h)
            if i == self.attention_after:
                h = self.attention(h)
        h = F.relu(h).sum(dim=(2, 3))  # global sum pooling, as SNGAN
        out = self.linear(h).view(-1)
        if self.conditional:
            out = out + (self.embed(labels) * h).sum(dim=1)  # projection (Miyato & Koyama)
        return out
