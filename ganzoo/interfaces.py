"""The four abstract bases every component implements.

A Generator maps latent vectors to samples; a Discriminator maps samples to logits; a Loss turns
logits into the two players' objectives; a Dataset hands the engine endless batches of real samples.
Samples are images of shape (C, H, W) scaled to [-1, 1], or points of shape (D,) for toy data.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence

import torch
from torch import Tensor, nn


class Generator(nn.Module, ABC):
    """G: z ~ N(0, I) of length ``latent_dim`` -> a sample of ``image_shape``.

    Image generators return values in [-1, 1] (a tanh output), matching how datasets scale images.
    """

    latent_dim: int
    image_shape: tuple[int, ...]

    @abstractmethod
    def forward(self, z: Tensor) -> Tensor:
        """(N, latent_dim) -> (N, *image_shape)."""

    def sample_latent(
        self,
        n: int,
        device: torch.device | str | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Draw n latent vectors from the standard normal prior p(z)."""
        return torch.randn(n, self.latent_dim, device=device, generator=generator)


class Discriminator(nn.Module, ABC):
    """D: a sample -> the logit l of the probability that it is real, D = sigmoid(l)."""

    image_shape: tuple[int, ...]

    @abstractmethod
    def forward(self, x: Tensor) -> Tensor:
        """(N, *image_shape) -> logits of shape (N,); no sigmoid inside."""


class Loss(ABC):
    """The two objectives of the game, written on D's raw outputs (logits) for stability.

    Both methods also receive what a regulariser such as a gradient penalty would need:
    the real and fake batches and the discriminator itself.
    """

    @abstractmethod
    def discriminator_loss(
        self, real_logits: Tensor, fake_logits: Tensor, *, real: Tensor, fake: Tensor,
        discriminator: Discriminator,
    ) -> Tensor:
        """A scalar that D minimises; ``fake`` is detached from G."""

    @abstractmethod
    def generator_loss(
        self, fake_logits: Tensor, *, fake: Tensor, discriminator: Discriminator
    ) -> Tensor:
        """A scalar that G minimises, with gradients flowing through a D that is not updated."""


class Dataset(ABC):
    """Real samples, delivered as endless batches on the training device."""

    image_shape: tuple[int, ...]
    num_classes: int | None = None
    #: Problems worth a warning line that did not stop loading (e.g. skipped corrupt files).
    #: A dataset that reads its files while training may add to them as it goes.
    warnings: Sequence[str] = ()

    @abstractmethod
    def __len__(self) -> int:
        """How many distinct samples there are (for toy distributions: how many one epoch holds)."""

    @abstractmethod
    def batches(self, batch_size: int, device: torch.device, seed: int,
                start: int = 0) -> Iterator[Tensor]:
        """Yield batches forever, scaled as G's output is (images in [-1, 1]), on ``device``.

        Batch k depends only on (seed, k), and the first batch yielded is batch ``start``:
        a resumed run sees exactly the batches it would have seen.
        """

    @property
    def description(self) -> str:
        """One line saying what was loaded and how batches are delivered."""
        return f"{len(self)} samples of shape {tuple(self.image_shape)}"

    def mode_coverage(self, samples: Tensor) -> dict[str, float] | None:
        """For data with known modes: how well ``samples`` (generated, on the CPU) cover them.

        None where the dataset has no such measure (the default).
        """
        return None


class FeatureExtractor(ABC):
    """Images -> features for FID, KID and precision/recall (and IS, where it has logits).

    It names a feature extractor registered with torch-fidelity, which does the metric math,
    and the weights file it uses, whose hash goes into every result's protocol.
    """

    #: the name registered with ``torch_fidelity.register_feature_extractor``
    fidelity_name: str
    #: whether it has the logits the Inception Score needs
    provides_isc: bool = False

    @abstractmethod
    def fidelity_kwargs(self) -> dict:
        """Extra keyword arguments for ``torch_fidelity.calculate_metrics``."""

    @abstractmethod
    def weights_sha256(self) -> str:
        """The SHA-256 of the weights used, for the protocol."""


def is_image_shape(shape: tuple[int, ...]) -> bool:
    """Images are (C, H, W); anything else (such as (2,)) is a point cloud."""
    return len(shape) == 3
