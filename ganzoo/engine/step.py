"""One step of the GAN game, as the reference DCGAN script writes it: (1) update D, (2) update G.

Each update has the same slots, filled from the recipe by plugins:
  - the augmentation of every input of D (real and fake, in both updates);
  - the loss, given a StepContext (step, batches, labels, D's extra outputs, log);
  - the regularizers' penalties, added every ``every`` steps, and their after-update actions;
  - the learning-rate schedule of each player.
Nothing here reads a value back from the device: statistics stay tensors until the loop logs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from ganzoo.components import RegularizerEntry
from ganzoo.interfaces import Augmentation, Batch, DOutput, Loss, Schedule, StepContext, as_doutput


@dataclass
class Player:
    """One player: its network, how the step calls it (maybe DDP- or compile-wrapped), its
    optimizer, its schedule and the regularizers that belong to it."""

    name: str  # 'discriminator' or 'generator'
    network: nn.Module
    call: Callable[..., Any]
    optimizer: torch.optim.Optimizer
    schedule: Schedule
    total_steps: int
    regularizers: list[RegularizerEntry] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.base_lrs = [group["lr"] for group in self.optimizer.param_groups]
        self.params = [p for p in self.network.parameters() if p.requires_grad]

    def set_learning_rate(self, step: int) -> None:
        factor = self.schedule.factor(step, self.total_steps)
        for group, base in zip(self.optimizer.param_groups, self.base_lrs, strict=True):
            group["lr"] = base * factor

    def update(self, loss: Tensor, only_own_parameters: bool = False) -> None:
        """Backward, optimizer step, then each regularizer's after-update action."""
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward(inputs=self.params if only_own_parameters else None)
        self.optimizer.step()
        with torch.no_grad():
            for entry in self.regularizers:
                entry.regularizer.after_update(self.network)

    def penalties(self, ctx: StepContext, log: StepLog) -> Tensor | float:
        """The weighted sum of this player's penalties due at this step (lazy ones scaled by
        ``every``, so their strength does not depend on how often they run)."""
        total: Tensor | float = 0.0
        for entry in self.regularizers:
            if ctx.step % entry.every:
                continue
            penalty = entry.regularizer.penalty(ctx)
            if penalty is not None:
                log.add(entry.name, penalty)
                total = total + entry.weight * entry.every * penalty
        return total


class StepLog:
    """A step's named statistics, kept as device tensors."""

    def __init__(self) -> None:
        self.values: dict[str, Tensor] = {}

    def add(self, name: str, value: Tensor) -> None:
        self.values[name] = value.detach().float().mean()


class GameStep:
    """``n_critic`` D updates, then one G update; returns the step's statistics by name."""

    def __init__(self, *, generator: Player, discriminator: Player, discriminator_for_g: Callable,
                 loss: Loss, augmentation: Augmentation | None, num_classes: int | None,
                 n_critic: int, autocast: Callable[[], Any], latent_rng: torch.Generator,
                 next_real: Callable[[Iterator[Batch]], Batch]):
        self.G, self.D, self.D_for_g = generator, discriminator, discriminator_for_g
        self.loss, self.augmentation, self.num_classes = loss, augmentation, num_classes
        self.n_critic, self.autocast = n_critic, autocast
        self.latent_rng, self.next_real = latent_rng, next_real

    def __call__(self, batches: Iterator[Batch], step: int) -> dict[str, Tensor]:
        log = StepLog()
        self.G.set_learning_rate(step)
        self.D.set_learning_rate(step)

        # (1) Update D: real batches scored as real, detached fake batches as fake.
        for _ in range(self.n_critic):
            real = self.next_real(batches)
            with self.autocast():
                fake = self.generate(real.x.shape[0], real.x.device)
                ctx = self.context(step, self.D, real, Batch(fake.x.detach(), fake.labels), log)
                d_loss = self.loss.discriminator_loss(ctx.real_logits, ctx.fake_logits, ctx)
                d_objective = d_loss + self.D.penalties(ctx, log)
            self.D.update(d_objective)
            if self.augmentation is not None:
                self.augmentation.observe(ctx.real_logits.detach())
        self.log_scores(log, ctx)

        # (2) Update G through D without updating D: gradients flow through D to the fakes,
        # but only G's parameters receive them. The last fake batch is reused: G has not
        # changed since it was drawn.
        with self.autocast():
            ctx = self.context(step, self.G, real, fake, log, score_with=self.D_for_g)
            g_loss = self.loss.generator_loss(ctx.fake_logits, ctx)
            g_objective = g_loss + self.G.penalties(ctx, log)
        self.G.update(g_objective, only_own_parameters=True)

        if self.augmentation is not None:
            for name, value in self.augmentation.log_values().items():
                log.add(f"augment_{name}", value)
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach(), **log.values}

    # ---- the slots ------------------------------------------------------------------------

    def generate(self, n: int, device: torch.device) -> Batch:
        """n fakes from z ~ N(0, I) (and uniformly drawn labels, when conditional)."""
        z = self.G.network.sample_latent(n, device, self.latent_rng)
        labels = None
        if self.num_classes:
            labels = torch.randint(self.num_classes, (n,), device=device,
                                   generator=self.latent_rng)
        return Batch(self.G.call(z, labels), labels)

    def scorer(self, D: Callable) -> Callable[[Tensor, Tensor | None], DOutput]:
        """D as the step sees it: the augmentation first, then D, logits in fp32."""
        def score(x: Tensor, labels: Tensor | None) -> DOutput:
            if self.augmentation is not None:
                x = self.augmentation(x)
            return as_doutput(D(x, labels if self.num_classes else None))

        return score

    def context(self, step: int, player: Player, real: Batch, fake: Batch, log: StepLog,
                score_with: Callable | None = None) -> StepContext:
        """The context of one update. In D's, D scores both batches now; in G's, the fakes now
        and the reals only if the loss or a penalty asks for them."""
        score = self.scorer(score_with if score_with is not None else self.D.call)
        in_d_update = player is self.D
        return StepContext(
            step=step, player=player.name, real=real, fake=fake, score=score,
            discriminator=self.D.network, log=log.add,
            real_out=score(real.x, real.labels) if in_d_update else None,
            fake_out=score(fake.x, fake.labels))

    def log_scores(self, log: StepLog, ctx: StepContext) -> None:
        """Mean D(x) and D(G(z)) where D's outputs are logits; the raw mean scores otherwise."""
        with torch.no_grad():
            if self.loss.outputs_are_logits:
                log.add("d_real", torch.sigmoid(ctx.real_logits))
                log.add("d_fake", torch.sigmoid(ctx.fake_logits))
            else:
                log.add("score_real", ctx.real_logits)
                log.add("score_fake", ctx.fake_logits)
