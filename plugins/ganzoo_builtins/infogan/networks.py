"""InfoGAN's MNIST networks, as the paper's appendix (Table 1) and its reference code build them.

G: z (noise, continuous codes, one-hot category) -> FC 1024 BN ReLU -> FC (H/4)^2 x 128 BN ReLU
-> 4x4 up-conv 64 stride 2 BN ReLU -> 4x4 up-conv C stride 2 -> tanh (images in [-1, 1]).
D: 4x4 conv 64 stride 2 lReLU -> 4x4 conv 128 stride 2 BN lReLU -> FC 1024 BN lReLU, the body
shared by D's head (FC 1) and Q's (FC 128 BN lReLU -> FC to the codes' parameters). Leaky
ReLUs leak 0.1, as the paper says. Every layer has a bias, as in the reference code.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ganzoo.interfaces import Discriminator, DOutput, Generator

LEAK = 0.1


def init_weights(module: nn.Module) -> None:
    """The reference code's: convolutions N(0, 0.02) truncated at 2 std, up-convolutions and
    linear layers N(0, 0.02), biases 0, BatchNorm gamma N(1, 0.02) and beta 0."""
    if isinstance(module, nn.Conv2d):
        nn.init.trunc_normal_(module.weight, 0.0, 0.02, -0.04, 0.04)
    elif isinstance(module, nn.ConvTranspose2d | nn.Linear):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
    else:
        return
    nn.init.zeros_(module.bias)


class InfoGANGenerator(Generator):
    """G(z, c). z is laid out [noise, continuous codes, one-hot category], so the one-hot code
    ends z as ``latent_categories`` says; the order of an FC layer's inputs is immaterial.

    ``latent_codes`` names the codes (the categorical one first) and ``traverse_code`` walks
    one of them, for ``ganzoo interpolate --code K``."""

    def __init__(self, options, image_shape: tuple[int, ...]):
        super().__init__()
        self.image_shape = image_shape
        self.noise_dim = options.noise_dim
        self.code_layout = (options.categorical, options.continuous)
        self.latent_categories = options.categorical
        self.latent_dim = options.noise_dim + options.continuous + options.categorical
        side = image_shape[1] // 4
        self.side = side
        self.fc = nn.Sequential(
            nn.Linear(self.latent_dim, 1024), nn.BatchNorm1d(1024), nn.ReLU(),
            nn.Linear(1024, 128 * side * side), nn.BatchNorm1d(128 * side * side), nn.ReLU())
        self.up = nn.Sequential(
            nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.BatchNorm2d(64), nn.ReLU(),
            nn.ConvTranspose2d(64, image_shape[0], 4, 2, 1), nn.Tanh())
        self.apply(init_weights)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.up(self.fc(z).view(-1, 128, self.side, self.side))

    # ---- the latent: noise and codes ------------------------------------------------------

    @property
    def latent_codes(self) -> tuple[str, ...]:
        """One line per code, in the order ``--code K`` counts them."""
        categorical, continuous = self.code_layout
        codes = [f"categorical, {categorical} categories"] if categorical else []
        return (*codes, *(f"continuous {i + 1}, Uniform(-1, 1)" for i in range(continuous)))

    def sample_latent(self, n: int, device: torch.device | str | None = None,
                      generator: torch.Generator | None = None) -> Tensor:
        """Noise and continuous codes Uniform(-1, 1), the category uniform."""
        categorical, continuous = self.code_layout
        uniform = torch.rand(n, self.noise_dim + continuous, device=device,
                             generator=generator) * 2 - 1
        categories = (torch.randint(categorical, (n,), device=device, generator=generator)
                      if categorical else None)
        return self.join_latent(uniform[:, :self.noise_dim], uniform[:, self.noise_dim:],
                                categories)

    def prior_from_normal(self, z: Tensor) -> Tensor:
        """N(0, I) entries through their CDF onto Uniform(-1, 1); the category is the argmax of
        the entries in its place, uniform over the categories."""
        categorical, _ = self.code_layout
        uniform = torch.special.ndtr(z[:, :self.latent_dim - categorical]) * 2 - 1
        categories = z[:, -categorical:].argmax(dim=1) if categorical else None
        return self.join_latent(uniform[:, :self.noise_dim], uniform[:, self.noise_dim:],
                                categories)

    def join_latent(self, noise: Tensor, continuous: Tensor,
                    categories: Tensor | None) -> Tensor:
        """z from its parts: the noise (N, noise_dim), the continuous codes (N, continuous)
        and the categories (N,) (None without a categorical code)."""
        parts = [noise, continuous]
        if categories is not None:
            parts.append(nn.functional.one_hot(categories, self.code_layout[0]).to(noise.dtype))
        return torch.cat(parts, dim=1)

    def split_latent(self, z: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
        """z's parts: noise, continuous codes, categories (None without a categorical code)."""
        categorical, continuous = self.code_layout
        noise, rest = z[:, :self.noise_dim], z[:, self.noise_dim:]
        categories = rest[:, continuous:].argmax(dim=1) if categorical else None
        return noise, rest[:, :continuous], categories

    def traverse_code(self, code: int, z: Tensor, steps: int) -> tuple[Tensor, int]:
        """Latents for a traversal of code ``code``: row r keeps z[r]'s other parts and walks
        the code along its columns, through every category of the categorical code, or
        through ``steps`` values from -2 to 2 of a continuous one (beyond the prior's [-1, 1],
        as the paper's figures). A continuous code's row r has category r mod K. Returns
        (rows x columns latents, row after row, and the number of columns)."""
        categorical, _ = self.code_layout
        noise, continuous, categories = self.split_latent(z)
        rows = len(z)
        if categorical and code == 0:
            columns = categorical
            walked = torch.arange(columns, device=z.device).repeat(rows)
            return self.join_latent(noise.repeat_interleave(columns, 0),
                                    continuous.repeat_interleave(columns, 0), walked), columns
        index = code - (1 if categorical else 0)
        continuous = continuous.repeat_interleave(steps, 0)
        continuous[:, index] = torch.linspace(-2, 2, steps, device=z.device).repeat(rows)
        if categorical:
            categories = (torch.arange(rows, device=z.device) % categorical).repeat_interleave(
                steps)
        return self.join_latent(noise.repeat_interleave(steps, 0), continuous, categories), steps

    def latent_description(self) -> str:
        categorical, continuous = self.code_layout
        codes = [f"a one-hot categorical code of {categorical}"] if categorical else []
        if continuous:
            codes.append(f"{continuous} continuous code{'s' * (continuous > 1)} "
                         "Uniform(-1, 1)")
        return (f"z of {self.noise_dim} Uniform(-1, 1) noise dimensions and InfoGAN's codes: "
                f"{' and '.join(codes)}")


class InfoGANDiscriminator(Discriminator):
    """D and Q on one body. ``forward`` returns a DOutput: D's logits (N,) and Q's outputs in
    ``extra``: ``code_logits`` (N, K) for the categorical code, ``code_mean`` (N, C) for the
    continuous ones and, with ``continuous_std: learned``, ``code_log_std`` (N, C)."""

    def __init__(self, options, image_shape: tuple[int, ...]):
        super().__init__()
        self.image_shape = image_shape
        self.code_layout = (options.categorical, options.continuous)
        self.learned_std = options.continuous_std == "learned"
        side = image_shape[1] // 4
        self.body = nn.Sequential(
            nn.Conv2d(image_shape[0], 64, 4, 2, 1), nn.LeakyReLU(LEAK),
            nn.Conv2d(64, 128, 4, 2, 1), nn.BatchNorm2d(128), nn.LeakyReLU(LEAK),
            nn.Flatten(), nn.Linear(128 * side * side, 1024), nn.BatchNorm1d(1024),
            nn.LeakyReLU(LEAK))
        self.head = nn.Linear(1024, 1)
        outputs = options.categorical + options.continuous * (2 if self.learned_std else 1)
        self.q = nn.Sequential(nn.Linear(1024, 128), nn.BatchNorm1d(128), nn.LeakyReLU(LEAK),
                               nn.Linear(128, outputs))
        self.apply(init_weights)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> DOutput:
        h = self.body(x)
        return DOutput(self.head(h).squeeze(1), self.posterior(self.q(h)))

    def posterior(self, q: Tensor) -> dict[str, Tensor]:
        """Q's flat output split into the codes' parameters."""
        categorical, continuous = self.code_layout
        extra = {"code_logits": q[:, :categorical]} if categorical else {}
        if continuous:
            extra["code_mean"] = q[:, categorical:categorical + continuous]
            if self.learned_std:
                extra["code_log_std"] = q[:, categorical + continuous:]
        return extra


HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def gaussian_nll(x: Tensor, mean: Tensor, log_std: Tensor | None = None) -> Tensor:
    """-log N(x; mean, std^2), summed over the codes and averaged over the batch (std 1
    where ``log_std`` is None)."""
    if log_std is None:
        return (HALF_LOG_2PI + 0.5 * (x - mean) ** 2).sum(1).mean()
    return (HALF_LOG_2PI + log_std + 0.5 * ((x - mean) * torch.exp(-log_std)) ** 2).sum(1).mean()
