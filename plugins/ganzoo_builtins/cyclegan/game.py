"""The CycleGAN game, step by step, in the reference code's order: (1) both generators through
the frozen discriminators (adversarial, cycle and identity terms), (2) both discriminators on
real images against earlier fakes drawn from a pool."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor

from ganzoo.engine.arena import Arena
from ganzoo.errors import GanzooError
from ganzoo.interfaces import Batch, Game
from ganzoo_builtins.cyclegan import CYCLEGAN_ROLES, CycleGANOptions

#: each D judges one domain: the generator that makes that domain, from the other one
MAKERS = {"d_a": "g_ba", "d_b": "g_ab"}


class ImagePool:
    """The history of generated images (Shrivastava et al., 2017) that a D is shown: the first
    ``size`` fakes fill it and are shown as they are; after that each new fake is shown with
    probability 1/2, or else swapped for a random stored one, which it replaces. Its random
    draws come from a generator of its own, saved with the images, so that resume is exact; its
    choices are applied on the device (no value is read back to the host)."""

    def __init__(self, size: int, seed: int):
        self.size, self.images = size, None
        self.rng = torch.Generator().manual_seed(seed)

    @property
    def count(self) -> int:
        return 0 if self.images is None else len(self.images)

    def query(self, fakes: Tensor) -> Tensor:
        """The images D is shown in place of ``fakes`` (detached), one for one."""
        fakes = fakes.detach()
        if self.size == 0:
            return fakes
        if self.images is None:
            self.images = fakes[:0].clone()
        self.images = self.images.to(fakes.device)
        room = min(self.size - self.count, len(fakes))
        if room:
            self.images = torch.cat([self.images, fakes[:room]])
        return torch.cat([fakes[:room], *(self.swap(fakes[i:i + 1])
                                          for i in range(room, len(fakes)))])

    def swap(self, fake: Tensor) -> Tensor:
        """One fake (1, C, H, W) against the full pool: itself, or a stored one it replaces."""
        slot = torch.randint(self.size, (1,), generator=self.rng).to(fake.device)
        swapped = (torch.rand(1, generator=self.rng) < 0.5).to(fake.device).view(1, 1, 1, 1)
        stored = self.images.index_select(0, slot)
        self.images.index_copy_(0, slot, torch.where(swapped, fake, stored))
        return torch.where(swapped, stored, fake)

    def state_dict(self) -> dict[str, Any]:
        return {"images": self.images, "rng": self.rng.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.images = state["images"]
        self.rng.set_state(state["rng"])


def l1(x: Tensor, y: Tensor) -> Tensor:
    return (x.float() - y.float()).abs().mean()


class CycleGAN(Game):
    """G_ab: A -> B and G_ba: B -> A, each against the D of the domain it makes, with
    lambda (||G_ba(G_ab(a)) - a||_1 + ||G_ab(G_ba(b)) - b||_1) keeping the two mappings each
    other's inverse, and identity x lambda (||G_ab(b) - b||_1 + ||G_ba(a) - a||_1) keeping
    an image already in the target domain unchanged."""

    roles = CYCLEGAN_ROLES
    primary = "g_ab"

    def __init__(self, options: CycleGANOptions):
        self.options = options
        self.pools = {"d_a": ImagePool(options.pool_size, 1),
                      "d_b": ImagePool(options.pool_size, 2)}

    def step(self, arena: Arena, batches: Iterator[Batch], step: int) -> dict[str, Tensor]:
        o = self.options
        real = arena.next_batch(batches)  # a and b, unpaired
        if o.identity_weight:
            check_identity(real)
        with arena.autocast():
            fakes = {"d_b": arena.generate("g_ab", inputs=real),  # b made from a (and a)
                     "d_a": arena.generate("g_ba", inputs=real)}  # a made from b (and b)

        # (1) Update both G through the frozen Ds: fool them, come back, leave the target alone.
        with arena.autocast():
            gan: dict[str, Tensor] = {}
            g_objective = 0.0
            for name, maker in MAKERS.items():
                ctx = arena.context(step, maker, real, fakes[name],
                                    arena.scorer(name, frozen=True))
                gan[maker] = arena.loss.generator_loss(ctx.fake_logits, ctx)
                g_objective = (g_objective + o.adversarial_weight * gan[maker]
                               + arena.penalties(maker, ctx))
            cycle_a = l1(arena.generate("g_ba", inputs=fakes["d_b"])["a"], real["a"])
            cycle_b = l1(arena.generate("g_ab", inputs=fakes["d_a"])["b"], real["b"])
            g_objective = g_objective + o.cycle_weight * (cycle_a + cycle_b)
            if o.identity_weight:
                identity_b = l1(arena.generate("g_ab", inputs=Batch(a=real["b"]))["b"],
                                real["b"])
                identity_a = l1(arena.generate("g_ba", inputs=Batch(b=real["a"]))["a"],
                                real["a"])
                g_objective = (g_objective + o.identity_weight * o.cycle_weight
                               * (identity_a + identity_b))
                arena.log.add("identity_a", identity_a)
                arena.log.add("identity_b", identity_b)
        arena.update("optim_g", g_objective)

        # (2) Update both D: real images of its domain as real, pooled earlier fakes as fake.
        with arena.autocast():
            d_objective, d_losses = 0.0, {}
            for name, pool in self.pools.items():
                field = CYCLEGAN_ROLES[name].field
                D = arena.scorer(name)
                pooled = Batch(**{field: pool.query(fakes[name][field])})
                real_out, fake_out = D(real), D(pooled)
                ctx = arena.context(step, name, real, pooled, D, real_out, fake_out)
                d_losses[name] = arena.loss.discriminator_loss(real_out.logits,
                                                               fake_out.logits, ctx)
                d_objective = (d_objective + o.d_loss_scale * d_losses[name]
                               + arena.penalties(name, ctx))
                arena.observe(real_out)
                arena.log.add(f"score_real_{field}", real_out.logits)
                arena.log.add(f"score_fake_{field}", fake_out.logits)
        arena.update("optim_d", d_objective)

        for key, value in (("g_ab_gan", gan["g_ab"]), ("g_ba_gan", gan["g_ba"]),
                           ("cycle_a", cycle_a), ("cycle_b", cycle_b),
                           ("d_a_loss", d_losses["d_a"]), ("d_b_loss", d_losses["d_b"])):
            arena.log.add(key, value)
        return {"d_loss": d_losses["d_a"] + d_losses["d_b"], "g_loss": g_objective}

    def state_dict(self) -> dict[str, Any]:
        return {name: pool.state_dict() for name, pool in self.pools.items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name, pool in self.pools.items():
            if name in state:
                pool.load_state_dict(state[name])


def check_identity(real: Batch) -> None:
    """The identity term feeds each G the other domain's images: both must be of one shape."""
    a, b = tuple(real["a"].shape[1:]), tuple(real["b"].shape[1:])
    if a != b:
        raise GanzooError(f"game.identity_weight: the identity term feeds G_ab the images of "
                          f"domain b and G_ba those of domain a, so both must be of one shape "
                          f"(a: {'x'.join(map(str, a))}, b: {'x'.join(map(str, b))}); set "
                          "game.identity_weight: 0, or give both domains one shape")
