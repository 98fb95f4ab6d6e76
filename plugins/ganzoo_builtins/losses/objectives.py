"""Loss formulas, each with softplus so that logits of +-100 give finite values and gradients.

With D = sigmoid(l): -log D = softplus(-l) and -log(1 - D) = softplus(l).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from ganzoo.interfaces import Loss


def _bce_discriminator(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """-log D(x) - log(1 - D(G(z))), averaged over each batch."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


class Minimax(Loss):
    """The original saturating game (Goodfellow et al., 2014).

    L_D = -log D(x) - log(1 - D(G(z))); L_G = log(1 - D(G(z))) = -softplus(l).
    Its G gradient vanishes when D confidently rejects the fakes (D(G(z)) -> 0), which is
    why it is kept: to show that.
    """

    def discriminator_loss(self, real_logits, fake_logits, ctx) -> Tensor:
        return _bce_discriminator(real_logits, fake_logits)

    def generator_loss(self, fake_logits, ctx) -> Tensor:
        return -F.softplus(fake_logits).mean()


class NonSaturating(Loss):
    """The non-saturating game: the same D loss, L_G = -log D(G(z)) = softplus(-l)."""

    def discriminator_loss(self, real_logits, fake_logits, ctx) -> Tensor:
        return _bce_discriminator(real_logits, fake_logits)

    def generator_loss(self, fake_logits, ctx) -> Tensor:
        return F.softplus(-fake_logits).mean()


class LeastSquares(Loss):
    """LSGAN (Mao et al., 2017) with targets a=0, b=c=1, on D's linear output l.

    L_D = ½(l_real - 1)² + ½ l_fake²; L_G = ½(l_fake - 1)².
    """

    def discriminator_loss(self, real_logits, fake_logits, ctx) -> Tensor:
        return 0.5 * ((real_logits - 1) ** 2).mean() + 0.5 * (fake_logits**2).mean()

    def generator_loss(self, fake_logits, ctx) -> Tensor:
        return 0.5 * ((fake_logits - 1) ** 2).mean()


class Hinge(Loss):
    """The hinge game (Lim & Ye, 2017), as SNGAN and SAGAN train: on D's raw output l,
    L_D = max(0, m - l_real) + max(0, m + l_fake); L_G = -l_fake."""

    outputs_are_logits = False  # D is a critic here: the run logs its raw scores

    def __init__(self, margin: float = 1.0):
        self.margin = margin

    def discriminator_loss(self, real_logits, fake_logits, ctx) -> Tensor:
        return F.relu(self.margin - real_logits).mean() + F.relu(self.margin + fake_logits).mean()

    def generator_loss(self, fake_logits, ctx) -> Tensor:
        return -fake_logits.mean()


class Wasserstein(Loss):
    """WGAN (Arjovsky et al., 2017): the critic estimates the Wasserstein-1 distance,
    L_D = E[D(G(z))] - E[D(x)]; L_G = -E[D(G(z))]. D must be kept 1-Lipschitz, by weight
    clipping (WGAN) or a gradient penalty (WGAN-GP)."""

    outputs_are_logits = False

    def discriminator_loss(self, real_logits, fake_logits, ctx) -> Tensor:
        return fake_logits.mean() - real_logits.mean()

    def generator_loss(self, fake_logits, ctx) -> Tensor:
        return -fake_logits.mean()


class AuxiliaryClassifier(NonSaturating):
    """ACGAN: the non-saturating game plus the log-likelihood of the right class, from the class
    logits D returns as an extra output ('class_logits'): D learns to classify real and fake
    samples, G to make fakes that D classifies as their label. Both terms are logged."""

    def __init__(self, aux_weight: float = 1.0):
        self.aux_weight = aux_weight

    def discriminator_loss(self, real_logits, fake_logits, ctx) -> Tensor:
        aux = classification(ctx.real_out, ctx.real) + classification(ctx.fake_out, ctx.fake)
        ctx.log("aux_d", aux)
        return super().discriminator_loss(real_logits, fake_logits, ctx) + self.aux_weight * aux

    def generator_loss(self, fake_logits, ctx) -> Tensor:
        aux = classification(ctx.fake_out, ctx.fake)
        ctx.log("aux_g", aux)
        return super().generator_loss(fake_logits, ctx) + self.aux_weight * aux


def classification(out, batch) -> Tensor:
    """Cross-entropy of D's class logits against the batch's labels."""
    from ganzoo.errors import GanzooError

    if "class_logits" not in out.extra or batch.labels is None:
        raise GanzooError("loss.name: acgan needs a conditional run and a discriminator with "
                          "an auxiliary class head (conditioning: acgan)")
    return F.cross_entropy(out.extra["class_logits"].float(), batch.labels)


class RelativisticPairing(Loss):
    """RpGAN, the relativistic pairing game (Jolicoeur-Martineau, 2019), as R3GAN (Huang et
    al., 2024) trains it: each real sample is paired with one fake and D is asked how
    much more real the real one looks, L_D = E[softplus(-(D(x_i) - D(G(z_i))))]; G the
    reverse, L_G = E[softplus(-(D(G(z_i)) - D(x_i)))], with D(x) scored again in G's update
    (``ctx.real_logits``). Only differences of D's outputs matter, so they are no
    probabilities; R3GAN adds R1 and R2 (``r1``, ``r2``) for local convergence."""

    outputs_are_logits = False

    def discriminator_loss(self, real_logits, fake_logits, ctx) -> Tensor:
        return F.softplus(-paired(real_logits, fake_logits)).mean()

    def generator_loss(self, fake_logits, ctx) -> Tensor:
        return F.softplus(-paired(fake_logits, ctx.real_logits)).mean()


def paired(logits: Tensor, others: Tensor) -> Tensor:
    """logits_i - others_i: each sample against its partner of the other kind."""
    from ganzoo.errors import GanzooError

    if logits.shape != others.shape:
        raise GanzooError(f"loss.name: rpgan pairs each real sample with one fake, but D scored "
                          f"{tuple(logits.shape)} and {tuple(others.shape)}; give both batches "
                          "the same size")
    return logits - others
