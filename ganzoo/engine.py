"""The training loop. It knows the four interfaces and never a plugin by name."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf
from torch import Tensor

from ganzoo.checkpoint import save_atomic
from ganzoo.errors import GanzooError
from ganzoo.interfaces import Dataset, Discriminator, Generator, Loss, is_image_shape
from ganzoo.pictures import save_image_grid, save_point_cloud
from ganzoo.recipe import COMPONENT_SECTIONS, TrainOptions, component_options
from ganzoo.registry import Registry
from ganzoo.runs import RunFolder

METRICS = ("d_loss", "g_loss", "d_real", "d_fake")  # d_real = mean D(x), d_fake = mean D(G(z))
POINTS_IN_PICTURE = 2000


@dataclass
class Components:
    generator: Generator
    discriminator: Discriminator
    loss: Loss
    dataset: Dataset


EXPECTED = {"dataset": Dataset, "generator": Generator, "discriminator": Discriminator,
            "loss": Loss}


def build_one(registry: Registry, section: str, config: DictConfig, *args: Any) -> Any:
    """Build the component a recipe section names, after checking its options."""
    kind = COMPONENT_SECTIONS[section]
    component = registry.get(kind, config.name)
    value = component.build(component_options(component, config, section), *args)
    if not isinstance(value, EXPECTED[kind]):
        raise GanzooError(
            f"{section}.name: {kind} {component.name!r} (plugin {component.plugin!r}) built "
            f"a {type(value).__name__}, not a ganzoo {EXPECTED[kind].__name__}"
        )
    return value


def build_components(recipe: DictConfig, registry: Registry) -> Components:
    """Build the recipe's dataset, generator, discriminator and loss.

    Seeds every RNG first (``train.seed``), so that initial weights are reproducible too.
    The dataset comes first: the networks take their sample shape from it.
    """
    seed_everything(int(recipe.train.seed))
    dataset = build_one(registry, "data", recipe.data)
    shape = tuple(dataset.image_shape)
    return Components(
        generator=build_one(registry, "generator", recipe.generator, shape),
        discriminator=build_one(registry, "discriminator", recipe.discriminator, shape),
        loss=build_one(registry, "loss", recipe.loss),
        dataset=dataset,
    )


def pick_device(name: str = "auto") -> torch.device:
    """cuda, then mps, then cpu for 'auto'; otherwise the device named, if it is there."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise GanzooError(f"train.device: {name!r} asked for, but no CUDA GPU is available; "
                          "use train.device=auto or cpu")
    if name == "mps" and not (getattr(torch.backends, "mps", None)
                              and torch.backends.mps.is_available()):
        raise GanzooError("train.device: 'mps' asked for, but it is not available; use auto or cpu")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)
    try:
        import numpy as np

        np.random.seed(seed)
    except ImportError:  # numpy is optional for the loop itself
        pass


class MetricMeter:
    """Sums per-step statistics on the device; ``flush`` reads them back in one sync."""

    def __init__(self, device: torch.device):
        self.total = torch.zeros(len(METRICS), device=device)
        self.count = 0

    def add(self, stats: Tensor) -> None:
        self.total += stats
        self.count += 1

    def flush(self) -> dict[str, float]:
        values = (self.total / max(self.count, 1)).tolist()
        self.total.zero_()
        self.count = 0
        return dict(zip(METRICS, values, strict=True))


@dataclass
class TrainResult:
    steps: int
    seconds: float
    last: dict[str, float]
    checkpoint: str
    samples: str


class Trainer:
    """One GAN run: the D and G updates of the game, repeated, with metrics and samples."""

    def __init__(self, components: Components, options: TrainOptions, run: RunFolder,
                 recipe: DictConfig | None = None):
        self.c, self.options, self.run = components, options, run
        self.recipe = OmegaConf.to_container(recipe, resolve=True) if recipe is not None else {}
        self.device = pick_device(options.device)
        seed_everything(options.seed)
        self.G = components.generator.to(self.device)
        self.D = components.discriminator.to(self.device)
        betas = (options.beta1, options.beta2)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=options.lr_g, betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=options.lr_d, betas=betas)
        self.is_image = is_image_shape(tuple(self.G.image_shape))
        n_fixed = options.num_samples if self.is_image else POINTS_IN_PICTURE
        fixed = torch.Generator().manual_seed(options.seed + 1)
        self.fixed_z = self.G.sample_latent(n_fixed, generator=fixed).to(self.device)
        # The latents of training have their own stream, independent of other RNG users.
        self.latent_rng = torch.Generator(device=self.device).manual_seed(options.seed + 2)

    def step(self, batches: Iterator[Tensor]) -> Tensor:
        """``n_critic`` D updates, then one G update; returns the step's statistics, on device."""
        G, D, loss = self.G, self.D, self.c.loss
        # (1) Update D on a real batch (target 1) and a detached fake batch (target 0).
        for _ in range(self.options.n_critic):
            real = next(batches)
            fake = G(G.sample_latent(real.shape[0], self.device, self.latent_rng))
            real_logits, fake_logits = D(real), D(fake.detach())
            d_loss = loss.discriminator_loss(real_logits, fake_logits, real=real,
                                             fake=fake.detach(), discriminator=D)
            self.opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            self.opt_d.step()
        # (2) Update G through a frozen D (no D update; gradients still flow through it),
        # reusing the last fake batch: G has not changed since it was drawn.
        D.requires_grad_(False)
        g_loss = loss.generator_loss(D(fake), fake=fake, discriminator=D)
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt_g.step()
        D.requires_grad_(True)
        with torch.no_grad():
            return torch.stack([d_loss.detach(), g_loss.detach(),
                                torch.sigmoid(real_logits).mean(),
                                torch.sigmoid(fake_logits).mean()])

    def fit(self, on_log: Callable[[dict[str, Any]], None] | None = None) -> TrainResult:
        """Train for ``options.steps`` steps, logging, sampling and checkpointing as it goes."""
        o = self.options
        batches = self.c.dataset.batches(o.batch_size, self.device, o.seed)
        meter = MetricMeter(self.device)
        record: dict[str, Any] = {}
        start = time.perf_counter()
        last_log_time, last_log_step = start, 0
        for step in range(1, o.steps + 1):
            meter.add(self.step(batches))
            if step % o.log_every == 0 or step == o.steps:
                now = time.perf_counter()
                record = {"step": step, **meter.flush(),
                          "images_per_s": (step - last_log_step) * o.batch_size
                          / max(now - last_log_time, 1e-9),
                          "elapsed_s": now - start}
                last_log_time, last_log_step = now, step
                self.run.log(record)
                self._check_finite(record)
                if on_log:
                    on_log(record)
            if step % o.sample_every == 0 or step == o.steps:
                self.save_samples(step)
        checkpoint = self.save_checkpoint(o.steps)
        return TrainResult(steps=o.steps, seconds=time.perf_counter() - start, last=record,
                           checkpoint=str(checkpoint), samples=str(self.run.sample_path(o.steps)))

    @torch.no_grad()
    def save_samples(self, step: int) -> None:
        """The picture of G's output for the fixed z (for points: with real ones beside)."""
        self.G.eval()
        fake = self.G(self.fixed_z)
        self.G.train()
        path = self.run.sample_path(step)
        if self.is_image:
            save_image_grid(fake, path)
        else:
            real = next(self.c.dataset.batches(fake.shape[0], self.device, self.options.seed))
            save_point_cloud(real[:, :2], fake[:, :2], path, title=f"step {step}")

    def save_checkpoint(self, step: int) -> str:
        state = {"step": step, "generator": self.G.state_dict(),
                 "discriminator": self.D.state_dict(), "recipe": self.recipe}
        return str(save_atomic(state, self.run.checkpoints_dir / "final.pt"))

    @staticmethod
    def _check_finite(record: dict[str, Any]) -> None:
        for name in ("d_loss", "g_loss"):
            if not math.isfinite(record[name]):
                raise GanzooError(
                    f"Training diverged: {name} is {record[name]} at step {record['step']}. "
                    "Lower train.lr_g / train.lr_d or try another loss."
                )
