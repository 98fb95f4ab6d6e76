"""Games of other roles than G-against-D, written as any third party would write them.

``KitCycle`` is a four-network game on unpaired data (CycleGAN's shape, at toy size): two
translators and two discriminators, a pool of earlier fakes per D (state of the game's own,
checkpointed), and a cycle term that sees both generators inside G's update. ``KitPaired`` is
the smallest paired game (pix2pix's shape): G translates ``source`` to ``target``, D scores the
input beside the output, and G's loss adds an L1 term.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor, nn

from ganzoo.engine.arena import Arena
from ganzoo.interfaces import Batch, Dataset, Discriminator, Field, Game, Generator
from ganzoo_testkit.game_hooks import CYCLE_ROLES, PAIRED_ROLES


class ImagePool:
    """The latest ``size`` fakes; half of each batch D sees is drawn from them (CycleGAN's
    history of generated images), with a generator of its own so that resume is exact."""

    def __init__(self, size: int, seed: int):
        self.size, self.images = size, None
        self.rng = torch.Generator().manual_seed(seed)

    def swap(self, fakes: Tensor) -> Tensor:
        fakes = fakes.detach()
        if self.size == 0:
            return fakes
        if self.images is None:
            self.images = fakes[: self.size].clone()
            return fakes
        n = len(fakes) // 2
        drawn = torch.randint(len(self.images), (n,), generator=self.rng).to(fakes.device)
        old = self.images[drawn].clone()
        self.images[drawn] = fakes[:n]
        return torch.cat([old, fakes[n:]])

    def state_dict(self) -> dict[str, Any]:
        return {"images": self.images, "rng": self.rng.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.images = state["images"]
        self.rng.set_state(state["rng"])


class KitCycle(Game):
    roles = CYCLE_ROLES
    primary = "g_ab"

    def __init__(self, cycle_weight: float, pool_size: int):
        self.cycle_weight = cycle_weight
        self.pools = {"d_a": ImagePool(pool_size, 1), "d_b": ImagePool(pool_size, 2)}

    def step(self, arena: Arena, batches: Iterator[Batch], step: int) -> dict[str, Tensor]:
        real = arena.next_batch(batches)
        D_a, D_b = arena.scorer("d_a"), arena.scorer("d_b")
        with arena.autocast():
            fake_b = arena.generate("g_ab", inputs=real)  # fields b (made) and a (its input)
            fake_a = arena.generate("g_ba", inputs=real)

        # (1) Update both D: real images as real, pooled detached fakes as fake.
        d_losses = {}
        with arena.autocast():
            for name, D, fake in (("d_a", D_a, fake_a), ("d_b", D_b, fake_b)):
                field = CYCLE_ROLES[name].field
                pooled = Batch(**{field: self.pools[name].swap(fake[field])})
                real_out, fake_out = D(real), D(pooled)
                ctx = arena.context(step, name, real, pooled, D, real_out, fake_out)
                d_losses[name] = (arena.loss.discriminator_loss(real_out.logits,
                                                                fake_out.logits, ctx)
                                  + arena.penalties(name, ctx))
        arena.update("optim_d", d_losses["d_a"] + d_losses["d_b"])

        # (2) Update both G: fool the frozen Ds, and come back where they started.
        with arena.autocast():
            adversarial = 0.0
            for name, maker, fake in (("d_a", "g_ba", fake_a), ("d_b", "g_ab", fake_b)):
                ctx = arena.context(step, maker, real, fake, arena.scorer(name, frozen=True))
                adversarial = (adversarial + arena.loss.generator_loss(ctx.fake_logits, ctx)
                               + arena.penalties(maker, ctx))
            back_a = arena.generate("g_ba", inputs=fake_b)["a"]  # A -> B -> A
            back_b = arena.generate("g_ab", inputs=fake_a)["b"]  # B -> A -> B
            cycle = (back_a - real["a"]).abs().mean() + (back_b - real["b"]).abs().mean()
            g_loss = adversarial + self.cycle_weight * cycle
        arena.update("optim_g", g_loss)
        arena.log.add("cycle", cycle)
        return {"d_loss": d_losses["d_a"] + d_losses["d_b"], "g_loss": g_loss}

    def state_dict(self) -> dict[str, Any]:
        return {name: pool.state_dict() for name, pool in self.pools.items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name, pool in self.pools.items():
            if name in state:
                pool.load_state_dict(state[name])


class KitPaired(Game):
    roles = PAIRED_ROLES

    def __init__(self, l1_weight: float):
        self.l1_weight = l1_weight

    def step(self, arena: Arena, batches: Iterator[Batch], step: int) -> dict[str, Tensor]:
        D, D_frozen = arena.scorer("discriminator"), arena.scorer("discriminator", frozen=True)
        real = arena.next_batch(batches)  # source and target
        with arena.autocast():
            fake = arena.generate("generator", inputs=real)  # target made from the source

        # (1) Update D on (source, target) pairs against (source, G(source)).
        with arena.autocast():
            real_out, fake_out = D(real), D(fake.detach())
            ctx = arena.context(step, "discriminator", real, fake.detach(), D, real_out,
                                fake_out)
            d_loss = arena.loss.discriminator_loss(real_out.logits, fake_out.logits, ctx)
            d_objective = d_loss + arena.penalties("discriminator", ctx)
        arena.update("optim_d", d_objective)

        # (2) Update G: fool the frozen D, and stay near the target.
        with arena.autocast():
            ctx = arena.context(step, "generator", real, fake, D_frozen)
            l1 = (fake["target"] - real["target"]).abs().mean()
            g_loss = arena.loss.generator_loss(ctx.fake_logits, ctx) + self.l1_weight * l1
        arena.update("optim_g", g_loss)
        arena.log.add("l1", l1)
        return {"d_loss": d_loss, "g_loss": g_loss}


class Translator(Generator):
    """A tiny image-to-image G: two 3x3 convolutions, tanh out (any channels in and out)."""

    latent_dim = 0

    def __init__(self, image_shape: tuple[int, ...], input_shape: tuple[int, ...], hidden: int):
        super().__init__()
        self.image_shape, self.input_shape = tuple(image_shape), tuple(input_shape)
        self.net = nn.Sequential(nn.Conv2d(input_shape[0], hidden, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(hidden, image_shape[0], 3, padding=1), nn.Tanh())

    def forward(self, images: Tensor, labels: Tensor | None = None) -> Tensor:
        out = self.net(images)
        if out.shape[-2:] != self.image_shape[-2:]:
            out = nn.functional.interpolate(out, size=self.image_shape[-2:], mode="nearest")
        return out


class PatchD(Discriminator):
    """A tiny convolutional D averaging its patch logits into one per image."""

    def __init__(self, image_shape: tuple[int, ...], hidden: int):
        super().__init__()
        self.image_shape = tuple(image_shape)
        self.net = nn.Sequential(nn.Conv2d(image_shape[0], hidden, 3, stride=2, padding=1),
                                 nn.LeakyReLU(0.2), nn.Conv2d(hidden, 1, 3, padding=1))

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.net(x).mean(dim=(1, 2, 3))


class TwoDomains(Dataset):
    """Unpaired 1x8x8 images: domain a bright squares on dark, domain b their negatives, each
    domain drawn in its own order (batch k depends only on the seed and k)."""

    image_shape = (1, 8, 8)

    def __init__(self, size: int):
        rng = torch.Generator().manual_seed(0)
        squares = -torch.ones(size, 1, 8, 8)
        for i, (r, c) in enumerate(torch.randint(0, 5, (size, 2), generator=rng).tolist()):
            squares[i, :, r:r + 3, c:c + 3] = 1.0
        self.a, self.b = squares, -squares.flip(0)

    def __len__(self) -> int:
        return len(self.a)

    @property
    def fields(self) -> dict[str, Field]:
        return {"a": Field(self.image_shape), "b": Field(self.image_shape)}

    def batches(self, batch_size: int, device: torch.device, seed: int,
                start: int = 0) -> Iterator[Batch]:
        k = start
        while True:
            rng = torch.Generator().manual_seed(seed * 1_000_003 + k)
            ia = torch.randint(len(self.a), (batch_size,), generator=rng)
            ib = torch.randint(len(self.b), (batch_size,), generator=rng)
            yield Batch(a=self.a[ia].to(device), b=self.b[ib].to(device))
            k += 1


class GrayToColour(Dataset):
    """Paired 3x8x8 colour squares (target) and their 1-channel luminance (source)."""

    image_shape = (3, 8, 8)

    def __init__(self, size: int):
        rng = torch.Generator().manual_seed(0)
        self.target = torch.rand(size, 3, 1, 1, generator=rng).expand(size, 3, 8, 8) * 2 - 1
        self.source = self.target.mean(dim=1, keepdim=True)

    def __len__(self) -> int:
        return len(self.target)

    @property
    def fields(self) -> dict[str, Field]:
        return {"source": Field((1, 8, 8)), "target": Field(self.image_shape)}

    def batches(self, batch_size: int, device: torch.device, seed: int,
                start: int = 0) -> Iterator[Batch]:
        k = start
        while True:
            rng = torch.Generator().manual_seed(seed * 1_000_003 + k)
            i = torch.randint(len(self.target), (batch_size,), generator=rng)
            yield Batch(source=self.source[i].to(device), target=self.target[i].to(device))
            k += 1
