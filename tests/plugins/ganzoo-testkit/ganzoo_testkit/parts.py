"""The test kit's components: small, but each one a real member of its kind."""

from __future__ import annotations

import json
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganzoo.interfaces import (
    Augmentation,
    Discriminator,
    DOutput,
    Generator,
    Logger,
    Loss,
    Metric,
    Regularizer,
    Schedule,
)


class ConditionalMLP(Generator):
    conditional = True

    def __init__(self, options, image_shape: tuple[int, ...], num_classes: int | None):
        super().__init__()
        self.latent_dim, self.image_shape = options.latent_dim, image_shape
        self.num_classes = num_classes
        self.embed = nn.Embedding(num_classes or 1, options.embed_dim)
        self.net = nn.Sequential(nn.Linear(options.latent_dim + options.embed_dim, options.hidden),
                                 nn.ReLU(), nn.Linear(options.hidden, math.prod(image_shape)))
        self.images = len(image_shape) == 3

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        if labels is None:
            raise ValueError("kit_cmlp is conditional: it needs labels")
        out = self.net(torch.cat([z, self.embed(labels)], dim=1))
        out = torch.tanh(out) if self.images else out
        return out.view(z.shape[0], *self.image_shape)


class ProjectionMLP(Discriminator):
    """logit = w . phi(x) + embed(y) . phi(x) (projection); class logits from phi(x)."""

    conditional = True

    def __init__(self, options, image_shape: tuple[int, ...], num_classes: int | None):
        super().__init__()
        self.image_shape, self.num_classes = image_shape, num_classes
        k = num_classes or 1
        self.features = nn.Sequential(nn.Flatten(), nn.Linear(math.prod(image_shape),
                                                              options.hidden), nn.LeakyReLU(0.2))
        self.linear = nn.Linear(options.hidden, 1)
        self.embed = nn.Embedding(k, options.hidden)
        self.aux = nn.Linear(options.hidden, k) if options.aux_head else None

    def forward(self, x: Tensor, labels: Tensor | None = None) -> DOutput:
        phi = self.features(x)
        logits = self.linear(phi).view(-1)
        if labels is not None:
            logits = logits + (self.embed(labels) * phi).sum(dim=1)
        extra = {"class_logits": self.aux(phi)} if self.aux is not None else {}
        return DOutput(logits, extra)


def packed_shape(shape: tuple[int, ...], m: int) -> tuple[int, ...]:
    """m samples side by side in the channel (or feature) dimension."""
    return (shape[0] * m, *shape[1:])


class Packed(Discriminator):
    """Scores packs of m samples with an inner D; every sample of a pack gets its score."""

    def __init__(self, inner: Discriminator, m: int, image_shape: tuple[int, ...]):
        super().__init__()
        self.inner, self.m, self.image_shape = inner, m, image_shape
        self.conditional, self.num_classes = inner.conditional, inner.num_classes

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        packs = x.reshape(x.shape[0] // self.m, *packed_shape(self.image_shape, self.m))
        out = self.inner(packs, labels[::self.m] if labels is not None else None)
        logits = out.logits if isinstance(out, DOutput) else out
        return logits.repeat_interleave(self.m)


class RaSGAN(Loss):
    """L_D = softplus(-(r - mean f)) + softplus(f - mean r); G's swaps the roles. With a class
    head on D (extra output 'class_logits'), an ACGAN cross-entropy term is added."""

    def __init__(self, aux_weight: float = 1.0):
        self.aux_weight = aux_weight

    def discriminator_loss(self, real_logits, fake_logits, ctx) -> Tensor:
        loss = (F.softplus(-(real_logits - fake_logits.mean())).mean()
                + F.softplus(fake_logits - real_logits.mean()).mean())
        return loss + self.auxiliary(ctx, (ctx.real_out, ctx.real), (ctx.fake_out, ctx.fake))

    def generator_loss(self, fake_logits, ctx) -> Tensor:
        real_logits = ctx.real_logits  # D(x) in G's update: what relativistic losses need
        loss = (F.softplus(-(fake_logits - real_logits.mean())).mean()
                + F.softplus(real_logits - fake_logits.mean()).mean())
        return loss + self.auxiliary(ctx, (ctx.fake_out, ctx.fake))

    def auxiliary(self, ctx, *scored) -> Tensor | float:
        total: Tensor | float = 0.0
        for out, batch in scored:
            if "class_logits" in out.extra and batch.labels is not None:
                total = total + F.cross_entropy(out.extra["class_logits"].float(), batch.labels)
        if not isinstance(total, float):
            ctx.log(f"aux_ce_{ctx.player[0]}", total)
        return self.aux_weight * total


class AdaptiveFlip(Augmentation):
    """Flips each sample (images left-right, points' first coordinate) with probability p;
    p rises while D is over-confident on reals (mean sign above target), falls otherwise."""

    images_only = False  # it flips points too

    def __init__(self, p: float, target: float, rate: float):
        self.p = torch.tensor(float(p))
        self.target, self.rate = target, rate
        self.calls: list[int] = []  # batch sizes seen, for the tests

    def __call__(self, x: Tensor) -> Tensor:
        self.calls.append(x.shape[0])
        self.p = self.p.to(x.device)
        flip = (torch.rand(x.shape[0], device=x.device) < self.p).view(-1, *[1] * (x.dim() - 1))
        flipped = x.flip(-1) if x.dim() == 4 else x * torch.tensor(
            [-1.0] + [1.0] * (x.shape[1] - 1), device=x.device, dtype=x.dtype)
        return torch.where(flip, flipped, x)

    def observe(self, real_logits: Tensor) -> None:
        signal = torch.sign(real_logits).mean() - self.target
        self.p = (self.p + self.rate * torch.sign(signal)).clamp(0.0, 1.0)

    def log_values(self) -> dict[str, Tensor]:
        return {"p": self.p}

    def state_dict(self) -> dict:
        return {"p": self.p.detach().cpu().clone()}

    def load_state_dict(self, state: dict) -> None:
        self.p = state["p"].clone()


class R1(Regularizer):
    player = "discriminator"

    def __init__(self, gamma: float):
        self.gamma = gamma

    def penalty(self, ctx) -> Tensor:
        x = ctx.real.x.detach().requires_grad_(True)
        logits = ctx.score(x, ctx.real.labels).logits
        (grad,) = torch.autograd.grad(logits.sum(), x, create_graph=True)
        return 0.5 * self.gamma * grad.pow(2).flatten(1).sum(1).mean()


class Clip(Regularizer):
    player = "discriminator"

    def __init__(self, clip: float):
        self.clip = clip

    def after_update(self, network: nn.Module) -> None:
        for p in network.parameters():
            p.clamp_(-self.clip, self.clip)


class Halving(Schedule):
    def __init__(self, every: int):
        self.every = every

    def factor(self, step: int, total_steps: int) -> float:
        return 0.5 ** ((step - 1) // self.every)


class Brightness(Metric):
    directions = {"brightness": "max"}

    def compute(self, ctx) -> dict:
        return {"brightness": float(ctx.samples(64).mean())}


class Recorder(Logger):
    def __init__(self, file: str):
        self.file, self.out = file, None

    def write(self, **record) -> None:
        self.out.write(json.dumps(record) + "\n")

    def open(self, run_dir, recipe, step) -> None:
        self.out = open(run_dir / self.file, "a", encoding="utf-8")  # noqa: SIM115
        self.write(call="open", step=step, steps=recipe["train"]["steps"])

    def log_metrics(self, values, step) -> None:
        self.write(call="metrics", step=step, names=sorted(values))

    def log_images(self, name, images, step) -> None:
        self.write(call="images", step=step, name=name, shape=list(images.shape))

    def log_evaluation(self, values, step) -> None:
        self.write(call="evaluation", step=step, names=sorted(values))

    def close(self) -> None:
        self.write(call="close")
        self.out.close()
