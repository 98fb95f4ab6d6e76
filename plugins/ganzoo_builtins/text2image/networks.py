"""GAN-CLS's networks (Reed et al., 2016) and a text encoder to train with them.

G: the text embedding is compressed by a fully connected layer and a leaky ReLU (0.2) to 128
numbers, joined to z and decoded by DCGAN's transposed convolutions. D: DCGAN's strided
convolutions down to 4x4; there the compressed embedding, repeated over the 4x4 positions, is
joined on the channels, and a 1x1 convolution and a 4x4 one give the logit. Weights are drawn as
DCGAN's, N(0, 0.02) (BatchNorm's scales N(1, 0.02)). With no text (tracing, tools that sample
from z alone) G and D read the zero embedding.

The text encoder stands in for the paper's pre-trained char-CNN-RNN: word embeddings, a
temporal convolution, a GRU, and the GRU's outputs averaged over the caption's words, then a
linear layer to the embedding.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from ganzoo.interfaces import Discriminator, Generator, TextEncoder


def dcgan_init(network: nn.Module) -> None:
    for m in network.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear | nn.Conv1d):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def compression(text_dim: int, projected_dim: int) -> nn.Sequential:
    """The paper's text projection: FC to ``projected_dim``, then leaky ReLU (0.2)."""
    return nn.Sequential(nn.Linear(text_dim, projected_dim), nn.LeakyReLU(0.2))


def text_or_zeros(text: Tensor | None, n: int, text_dim: int, like: Tensor) -> Tensor:
    return text if text is not None else like.new_zeros(n, text_dim)


class TextToImageGenerator(Generator):
    """G(z, t): z joined to the compressed embedding of t, decoded from 4x4 by DCGAN's
    fractionally strided convolutions (BatchNorm and ReLU between, tanh out)."""

    def __init__(self, options: Any, image_shape: tuple[int, ...]):
        super().__init__()
        self.image_shape, self.latent_dim = image_shape, options.latent_dim
        self.text_dim = options.text_dim
        self.compress = compression(options.text_dim, options.projected_dim)
        channels, size = image_shape[0], image_shape[-1]
        width = options.ngf * size // 8
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(options.latent_dim + options.projected_dim, width, 4, 1, 0,
                               bias=False), nn.BatchNorm2d(width), nn.ReLU(True)]
        reached = 4
        while reached < size // 2:
            layers += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(width // 2), nn.ReLU(True)]
            width, reached = width // 2, reached * 2
        layers += [nn.ConvTranspose2d(width, channels, 4, 2, 1), nn.Tanh()]
        self.decode = nn.Sequential(*layers)
        dcgan_init(self)

    def forward(self, z: Tensor, text: Tensor | None = None) -> Tensor:
        """(N, latent_dim) and text embeddings (N, text_dim) -> (N, C, H, W)."""
        t = self.compress(text_or_zeros(text, len(z), self.text_dim, z).to(z.dtype))
        return self.decode(torch.cat([z, t], dim=1)[:, :, None, None])

    def latent_description(self) -> str:
        return (f"z ~ N(0, I) of {self.latent_dim} dimensions, beside a text embedding of "
                f"{self.text_dim} (ganzoo sample --text)")


class MatchingDiscriminator(Discriminator):
    """D(x, t): does image x look real and match text t. DCGAN's body down to 4x4, the
    compressed embedding repeated over 4x4 and joined on the channels, then 1x1 and 4x4
    convolutions to one logit."""

    def __init__(self, options: Any, image_shape: tuple[int, ...]):
        super().__init__()
        self.image_shape, self.text_dim = image_shape, options.text_dim
        channels, size = image_shape[0], image_shape[-1]
        width = options.ndf
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        reached = size // 2
        while reached > 4:
            layers += [nn.Conv2d(width, width * 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(width * 2), nn.LeakyReLU(0.2, True)]
            width, reached = width * 2, reached // 2
        self.body = nn.Sequential(*layers)
        self.compress = compression(options.text_dim, options.projected_dim)
        self.joint = nn.Sequential(
            nn.Conv2d(width + options.projected_dim, width, 1, bias=False),
            nn.BatchNorm2d(width), nn.LeakyReLU(0.2, True), nn.Conv2d(width, 1, 4, 1, 0))
        dcgan_init(self)

    def forward(self, x: Tensor, text: Tensor | None = None) -> Tensor:
        """(N, C, H, W) and text embeddings (N, text_dim) -> logits (N,)."""
        h = self.body(x)
        t = self.compress(text_or_zeros(text, len(x), self.text_dim, x).to(h.dtype))
        t = t[:, :, None, None].expand(-1, -1, h.shape[2], h.shape[3])
        return self.joint(torch.cat([h, t], dim=1)).flatten()


class SequenceGRU(nn.GRU):
    """A GRU that returns its outputs at every step alone (not the final state beside them)."""

    def forward(self, x: Tensor) -> Tensor:  # type: ignore[override]
        return super().forward(x)[0]


class CNNRNNEncoder(TextEncoder):
    """Words -> embedding (word_dim) -> temporal convolution (3 wide) and ReLU -> GRU -> the
    mean of its outputs over the caption's words -> linear to ``embedding_dim``."""

    def __init__(self, options: Any, caption_shape: tuple[int, ...],
                 vocabulary: tuple[str, ...]):
        super().__init__()
        self.vocabulary, self.max_words = tuple(vocabulary), int(caption_shape[0])
        self.embedding_dim = options.embedding_dim
        self.embed = nn.Embedding(len(self.vocabulary) + 1, options.word_dim, padding_idx=0)
        self.convolve = nn.Sequential(
            nn.Conv1d(options.word_dim, options.channels, 3, padding=1), nn.ReLU(True))
        self.rnn = SequenceGRU(options.channels, options.hidden, batch_first=True)
        self.out = nn.Linear(options.hidden, options.embedding_dim)

    def forward(self, tokens: Tensor) -> Tensor:
        tokens = tokens.long()
        words = (tokens > 0).unsqueeze(-1).to(self.out.weight.dtype)
        h = self.convolve(self.embed(tokens).transpose(1, 2)).transpose(1, 2)
        h = self.rnn(h)
        return self.out((h * words).sum(1) / words.sum(1).clamp(min=1))
