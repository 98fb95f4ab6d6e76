"""The arena a game plays its steps in: the networks by role and what a step does with them.

A game's ``step`` (``ganzoo.interfaces.Game``) reads like the reference DCGAN script, and
the arena gives it the words: ``next_batch`` (real data), ``generate`` (a generator role's
fakes, carrying what made them), ``scorer`` (a discriminator role as the step sees it: the
augmentation, then D, outputs in fp32), ``context`` (what losses and penalties see),
``penalties`` (the regularizers of a role due at this step), ``select`` (the fakes a role's
loss uses, where a regularizer picks some: top-k training), ``update`` (one optimizer
section's backward and step, then its after-update actions), ``autocast`` and ``log``.
Nothing here reads a value back from the device: statistics stay tensors until the loop logs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from ganzoo.components import RegularizerEntry
from ganzoo.errors import GanzooError
from ganzoo.interfaces import (
    Augmentation,
    Batch,
    DOutput,
    Game,
    Loss,
    Regularizer,
    Role,
    Schedule,
    StepContext,
    as_doutput,
)


@dataclass
class OptimizerGroup:
    """One optimizer section of the recipe: the roles it updates, its optimizer, its schedules
    (the learning rate's and, where set, one of 1 - beta2)."""

    name: str  # 'optim_g'
    networks: list[nn.Module]  # of its roles
    optimizer: torch.optim.Optimizer
    schedule: Schedule
    total_steps: int
    beta2_schedule: Schedule | None = None

    def __post_init__(self) -> None:
        groups = self.optimizer.param_groups
        self.base_lrs = [group["lr"] for group in groups]
        self.base_betas = [group["betas"] for group in groups] if self.beta2_schedule else []
        self.params = [p for net in self.networks for p in net.parameters() if p.requires_grad]

    def set_hyperparameters(self, step: int) -> None:
        """The learning rate (and beta2) of ``step``, from the schedules' factors."""
        factor = self.schedule.factor(step, self.total_steps)
        for group, base in zip(self.optimizer.param_groups, self.base_lrs, strict=True):
            group["lr"] = base * factor
        if self.beta2_schedule is None:
            return
        factor = self.beta2_schedule.factor(step, self.total_steps)
        for group, (beta1, beta2) in zip(self.optimizer.param_groups, self.base_betas,
                                         strict=True):
            group["betas"] = (beta1, 1.0 - (1.0 - beta2) * factor)


class StepLog:
    """A step's named statistics, kept as device tensors."""

    def __init__(self) -> None:
        self.values: dict[str, Tensor] = {}

    def add(self, name: str, value: Tensor) -> None:
        self.values[name] = value.detach().float().mean()


class MetricMeter:
    """Sums each step's named statistics on the device; ``flush`` reads them back in one sync.
    A value logged on some steps only (a lazy penalty) is averaged over the steps that had it."""

    def __init__(self) -> None:
        self.totals: dict[str, Tensor] = {}
        self.counts: dict[str, int] = {}

    def add(self, stats: dict[str, Tensor]) -> None:
        for name, value in stats.items():
            self.totals[name] = self.totals[name] + value if name in self.totals else value
            self.counts[name] = self.counts.get(name, 0) + 1

    @property
    def count(self) -> int:
        return max(self.counts.values(), default=0)

    def peek(self) -> dict[str, float]:
        if not self.totals:
            return {}
        names = list(self.totals)
        values = torch.stack([self.totals[n] / self.counts[n] for n in names]).tolist()
        return dict(zip(names, values, strict=True))

    def flush(self) -> dict[str, float]:
        values = self.peek()
        self.totals, self.counts = {}, {}
        return values


class Scorer:
    """A discriminator role as the step sees it: its fields of a batch (side by side where it
    scores several), the augmentation, then D; outputs as a DOutput, logits in fp32.

    Call it with a Batch, ``D(real)``, or with the tensor D sees and the labels,
    ``D(x, labels)`` (penalties that make their own inputs, such as R1)."""

    def __init__(self, role: str, spec: Role, network: nn.Module, call: Callable[..., Any],
                 augmentation: Augmentation | None, conditional: bool):
        self.role, self.network, self.call = role, network, call
        self.names = (spec.field,) if isinstance(spec.field, str) else tuple(spec.field)
        self.augmentation, self.conditional = augmentation, conditional

    def input_of(self, batch: Batch) -> Tensor:
        """The tensor D scores for ``batch``: its field, or its fields side by side."""
        if len(self.names) == 1:
            return batch[self.names[0]]
        return torch.cat([batch[name] for name in self.names], dim=1)

    def __call__(self, x: Tensor | Batch, labels: Tensor | None = None) -> DOutput:
        if isinstance(x, Batch):
            x, labels = self.input_of(x), x.labels
        if self.augmentation is not None:
            x = self.augmentation(x)
        return as_doutput(self.call(x, labels if self.conditional else None))

    @contextmanager
    def uncompiled(self) -> Iterator[None]:
        """D called as its plain (or DDP) module within, not through torch.compile's graph:
        penalties such as R1 differentiate D's input gradient again, and compiled graphs
        cannot be differentiated twice (aot_autograd has no double backward)."""
        compiled = self.call
        self.call = getattr(compiled, "_orig_mod", compiled)  # torch.compile keeps the module
        try:
            yield
        finally:
            self.call = compiled


@dataclass
class Arena:
    """Everything a game's step plays with. Built by the Trainer, one per run."""

    roles: Mapping[str, Role]
    networks: dict[str, nn.Module]  # role -> its module (unwrapped): for penalties and EMA
    calls: dict[str, Callable[..., Any]]  # role -> how the step calls it (DDP/compile)
    frozen_calls: dict[str, Callable[..., Any]]  # D roles -> the call that syncs no gradients
    groups: dict[str, OptimizerGroup]  # optimizer section -> its group
    regularizers: list[RegularizerEntry]
    loss: Loss
    augmentation: Augmentation | None
    num_classes: int | None
    n_critic: int  # train.n_critic: D updates per G update, for games that alternate them
    autocast: Callable[[], Any]
    latent_rng: torch.Generator  # the stream of z and drawn labels, checkpointed
    device: torch.device
    prepare: Callable[[Batch], Batch] = lambda batch: batch  # memory format of real batches
    total_steps: int = 0  # train.steps, for what follows the run (an augmentation's p)
    batches_drawn: int = 0
    log: StepLog = field(default_factory=StepLog)
    selected: set[str] = field(default_factory=set)  # roles whose fakes ``select`` saw
    selection_checked: bool = False

    # ---- data and generators --------------------------------------------------------------

    def next_batch(self, batches: Iterator[Batch]) -> Batch:
        """The next real batch (counted, so that a resumed run draws the batches it would
        have drawn)."""
        self.batches_drawn += 1
        return self.prepare(next(batches))

    def generate(self, role: str, n: int | None = None, inputs: Batch | None = None) -> Batch:
        """Fakes from a generator role, with what made them. A G fed noise draws n latent
        vectors from its prior (and, when conditional, n labels uniformly): the batch holds
        its output under the role's field, ``z`` and ``labels``. A G with an input translates
        ``inputs``' input field: the batch holds the output and that input (and the labels)."""
        spec, call = self.roles[role], self.calls[role]
        if spec.input is not None:
            if inputs is None:
                raise ValueError(f"generate({role!r}): this generator takes field "
                                 f"{spec.input!r}; pass inputs=a batch holding it")
            labels = inputs.labels if self.num_classes else None
            source = inputs[spec.input]
            return Batch(labels=labels, **{spec.field: call(source, labels),
                                           spec.input: source})
        assert n is not None, "a generator fed noise needs n"
        z = self.networks[role].sample_latent(n, self.device, self.latent_rng)
        labels = None
        if self.num_classes:
            labels = torch.randint(self.num_classes, (n,), device=self.device,
                                   generator=self.latent_rng)
        return Batch(labels=labels, z=z, **{spec.field: call(z, labels)})

    def scorer(self, role: str, frozen: bool = False) -> Scorer:
        """A discriminator role as the step sees it. ``frozen``: for another role's update,
        through D without updating it (gradients flow through D, D's are never synced)."""
        call = self.frozen_calls[role] if frozen else self.calls[role]
        return Scorer(role, self.roles[role], self.networks[role], call, self.augmentation,
                      bool(self.num_classes))

    # ---- objectives and updates ------------------------------------------------------------

    def context(self, step: int, player: str, real: Batch, fake: Batch, D: Scorer,
                real_out: DOutput | None = None, fake_out: DOutput | None = None) -> StepContext:
        """What the loss and the penalties of ``player``'s update see, D being ``D``."""
        return StepContext(step=step, player=player, real=real, fake=fake, score=D,
                           discriminator=D.network, log=self.log.add,
                           real_out=real_out, fake_out=fake_out if fake_out is not None
                           else D(fake), networks=self.networks, d_input=D.input_of)

    def penalties(self, role: str, ctx: StepContext) -> Tensor | float:
        """The weighted sum of the role's penalties due at this step (lazy ones scaled by
        ``every``, so their strength does not depend on how often they run)."""
        total: Tensor | float = 0.0
        for entry in self.regularizers:
            if entry.role != role or ctx.step % entry.every:
                continue
            scorer = ctx.score
            with scorer.uncompiled() if isinstance(scorer, Scorer) else nullcontext():
                penalty = entry.regularizer.penalty(ctx)
            if penalty is not None:
                self.log.add(entry.name, penalty)
                total = total + entry.weight_at(ctx.step) * entry.every * penalty
        return total

    def select(self, role: str, step: int, fake: Batch,
               fake_out: DOutput) -> tuple[Batch, DOutput]:
        """The fakes, and D's outputs on them, that ``role``'s loss uses: all of them unless a
        regularizer of the role picks some (top-k training). How many it kept is logged as
        ``<name>_kept``."""
        self.selected.add(role)
        for entry in self.regularizers:
            if entry.role != role:
                continue
            index = entry.regularizer.select(fake_out.logits, step)
            if index is None:
                continue
            n = fake_out.logits.shape[0]
            fake = Batch(**{name: v[index] for name, v in fake.fields.items()})
            fake_out = DOutput(fake_out.logits[index], {
                k: v[index] if v.dim() and v.shape[0] == n else v
                for k, v in fake_out.extra.items()})
            self.log.add(f"{entry.name}_kept",
                         torch.tensor(float(index.numel()), device=fake_out.logits.device))
        return fake, fake_out

    def check_selection(self, game: Game) -> None:
        """A regularizer that picks fakes is refused in a game that never applies it."""
        for i, entry in enumerate(self.regularizers):
            picks = type(entry.regularizer).select is not Regularizer.select
            if picks and entry.role not in self.selected:
                raise GanzooError(f"regularizers[{i}].name: {entry.name!r} picks the fakes "
                                  f"that {entry.role}'s loss uses, but game "
                                  f"{type(game).__name__} does not apply such a choice "
                                  "(arena.select); remove it, or use a game that does")

    def update(self, optimizer: str, loss: Tensor) -> None:
        """Backward of ``loss`` into the section's parameters only, its optimizer's step, then
        the after-update action of each regularizer of its roles."""
        group = self.groups[optimizer]
        group.optimizer.zero_grad(set_to_none=True)
        loss.backward(inputs=group.params)
        group.optimizer.step()
        with torch.no_grad():
            for entry in self.regularizers:
                if self.roles[entry.role].optimizer == optimizer:
                    entry.regularizer.after_update(self.networks[entry.role])

    def observe(self, real_out: DOutput) -> None:
        """Hand D's outputs on real data to an adaptive augmentation."""
        if self.augmentation is not None:
            self.augmentation.observe(real_out.logits.detach())

    def log_scores(self, real_out: DOutput, fake_out: DOutput, suffix: str = "") -> None:
        """Mean D(x) and D(G(z)) where D's outputs are logits; the raw mean scores otherwise."""
        with torch.no_grad():
            if self.loss.outputs_are_logits:
                self.log.add(f"d_real{suffix}", torch.sigmoid(real_out.logits))
                self.log.add(f"d_fake{suffix}", torch.sigmoid(fake_out.logits))
            else:
                self.log.add(f"score_real{suffix}", real_out.logits)
                self.log.add(f"score_fake{suffix}", fake_out.logits)

    # ---- the loop's side -------------------------------------------------------------------

    def play(self, game: Game, batches: Iterator[Batch], step: int) -> dict[str, Tensor]:
        """One step of ``game``: the learning rates (and betas) and augmentation strength for the
        step, the game's updates, then the augmentation's values; every statistic by name, on
        the device."""
        self.log = StepLog()
        for group in self.groups.values():
            group.set_hyperparameters(step)
        if self.augmentation is not None:
            self.augmentation.at_step(step, self.total_steps)
        stats = game.step(self, batches, step)
        if not self.selection_checked:  # once: a game applies selections every step or never
            self.check_selection(game)
            self.selection_checked = True
        if self.augmentation is not None:
            for name, value in self.augmentation.log_values().items():
                self.log.add(f"augment_{name}", value)
        return {**{k: v.detach() for k, v in stats.items()}, **self.log.values}
