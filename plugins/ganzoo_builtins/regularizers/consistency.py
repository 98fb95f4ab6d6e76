"""Consistency regularization of D and G: bCR and zCR (Zhao et al., 2021, "Improved
Consistency Regularization for GANs"). Written from the paper; the image transform is the flip
and shift of CR-GAN (Zhang et al., 2020), with reflection padding as StudioGAN implements it."""

from __future__ import annotations

import torch
from torch import Tensor

from ganzoo.errors import GanzooError
from ganzoo.interfaces import Generator, Regularizer, StepContext
from ganzoo_builtins.augment.transforms import flip


def reflect_translation(x: Tensor, ratio: float) -> Tensor:
    """Shift each image by whole pixels, up to floor(ratio x its size) each way; the pixels
    that come in are the image's own, mirrored at its border (reflection padding)."""
    n, _, h, w = x.shape
    sy, sx = int(h * ratio), int(w * ratio)
    if sy == 0 and sx == 0:
        return x
    dy = torch.randint(-sy, sy + 1, (n, 1), device=x.device)
    dx = torch.randint(-sx, sx + 1, (n, 1), device=x.device)
    padded = torch.nn.functional.pad(x, (sx, sx, sy, sy), mode="reflect")
    rows = torch.arange(h, device=x.device)[None, :] + sy - dy  # (N, H) in padded coordinates
    cols = torch.arange(w, device=x.device)[None, :] + sx - dx  # (N, W)
    batch = torch.arange(n, device=x.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]  # (N, H, W, C)
    return out.permute(0, 3, 1, 2)


class BalancedConsistency(Regularizer):
    """bCR: real x ||D(x) - D(T(x))||^2 + fake x ||D(G(z)) - D(T(G(z)))||^2 on D's logits,
    averaged over the batch, T a random flip (p = 0.5) and a shift. Both sides of each
    difference carry D's gradient, as in the paper."""

    player = "discriminator"
    images_only = True

    def __init__(self, real: float, fake: float, mirror: bool, translation: float):
        self.real, self.fake = real, fake
        self.mirror, self.translation = mirror, translation

    def transform(self, x: Tensor) -> Tensor:
        if self.mirror:
            x = flip(x, 0.5)
        return reflect_translation(x, self.translation) if self.translation else x

    def penalty(self, ctx: StepContext) -> Tensor:
        real_term = (ctx.real_logits
                     - ctx.score(self.transform(ctx.real_x), ctx.real.labels).logits).pow(2).mean()
        fake_term = (ctx.fake_logits - ctx.score(self.transform(ctx.fake_x.detach()),
                                                 ctx.fake.labels).logits).pow(2).mean()
        ctx.log("bcr_real", real_term)
        ctx.log("bcr_fake", fake_term)
        return self.real * real_term + self.fake * fake_term


class LatentConsistency(Regularizer):
    """zCR, one term per player, from z and z + dz, dz ~ N(0, sigma^2 I):
    in D's update ||D(G(z)) - D(G(z + dz))||^2 on D's logits (G's samples detached), which
    makes D insensitive to small moves of z; in G's update (``role: generator``)
    -||G(z) - G(z + dz)||^2, the mean square over the samples' entries, which pushes G to
    make them differ. The recipe's weights are the paper's lambda_dis and lambda_gen."""

    player = "discriminator"

    def __init__(self, sigma: float, generator: str):
        self.sigma, self.generator = sigma, generator

    def penalty(self, ctx: StepContext) -> Tensor:
        field, z = self.field_and_latent(ctx)
        labels = ctx.fake.labels
        moved_z = z + self.sigma * torch.randn_like(z)
        update_of = ctx.networks.get(ctx.player)
        if isinstance(update_of, Generator):  # G's term: the samples apart
            moved = update_of(moved_z, labels)
            return -(ctx.fake[field] - moved).float().pow(2).mean()
        if not isinstance(ctx.networks.get(self.generator), Generator):
            raise GanzooError(f"regularizers: zcr's generator {self.generator!r} is not a "
                              f"generator role of this game ({', '.join(ctx.networks)}); set "
                              "its generator: option")
        with torch.no_grad():
            moved = ctx.networks[self.generator](moved_z, labels)
        moved_out = ctx.score(ctx.fake.replace(**{field: moved}))
        return (ctx.fake_logits - moved_out.logits).pow(2).mean()

    @staticmethod
    def field_and_latent(ctx: StepContext) -> tuple[str, Tensor]:
        """The fakes' sample field and the z that made them."""
        fields = [name for name in ctx.fake.fields if name not in ("z", "labels")]
        if "z" not in ctx.fake or len(fields) != 1:
            raise GanzooError("regularizers: zcr needs fakes drawn from noise (a batch of "
                              f"one sample field and z; this game's hold "
                              f"{', '.join(ctx.fake.fields)}); use it with a generator fed z")
        return fields[0], ctx.fake.z
