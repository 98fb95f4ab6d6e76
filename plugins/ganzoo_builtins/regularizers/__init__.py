"""Regularizers and constraints: gradient penalty, R1 and R2, clipping, and the tricks below.

In a recipe: ``regularizers: [{name: gradient_penalty, weight: 10}]``; ``weight`` multiplies
the penalty (the papers' lambda or gamma/2 folded in as documented below) and ``every`` makes it
lazy (StyleGAN2 applies R1 every 16 steps).

The tricks of later GANs join them: balanced and latent consistency (``bcr``, ``zcr``), the
LeCam anchors (``lecam``) and top-k training of G (``topk``, which picks G's fakes instead of
adding a penalty).
"""

from __future__ import annotations

from dataclasses import dataclass

from ganzoo import hookimpl
from ganzoo.options import positive


def _weight(name: str, value: float) -> None:
    if not value >= 0 or value == float("inf"):  # NaN fails the first test
        raise ValueError(f"{name}: a weight, a finite number >= 0 (got {value!r})")


def _fraction(name: str, value: float, high: float = 1.0) -> None:
    if not 0 <= value <= high:  # NaN fails it too
        raise ValueError(f"{name}: must be in [0, {high:g}] (got {value!r})")


@dataclass
class GradientPenaltyOptions:
    target: float = 1.0  # the gradient norm the penalty pulls towards (WGAN-GP: 1)

    def __post_init__(self) -> None:
        if not self.target >= 0 or self.target == float("inf"):  # NaN fails the first test
            raise ValueError(f"target: a gradient norm, a finite number >= 0 (got "
                             f"{self.target!r})")


@dataclass
class ClipOptions:
    clip: float = 0.01  # WGAN's c: every weight of D is kept in [-c, c]

    def __post_init__(self) -> None:
        positive("clip", self.clip)


@dataclass
class BCROptions:
    real: float = 10.0  # lambda_real (the paper's 10)
    fake: float = 10.0  # lambda_fake (the paper's 10)
    flip: bool = True  # T mirrors each image with probability 0.5
    translation: float = 0.125  # and shifts it by up to this fraction of its size

    def __post_init__(self) -> None:
        _weight("real", self.real)
        _weight("fake", self.fake)
        _fraction("translation", self.translation, 0.5)


@dataclass
class ZCROptions:
    sigma: float = 0.03  # the std of dz (the paper's sigma_noise)
    generator: str = "generator"  # the role whose G(z + dz) D's term scores

    def __post_init__(self) -> None:
        positive("sigma", self.sigma)


@dataclass
class LeCamOptions:
    decay: float = 0.99  # of the anchors' EMAs
    start: int = 1000  # steps with no penalty, the anchors following the last batch
    one_sided: bool = True  # the authors' code; false: the paper's two-sided squares

    def __post_init__(self) -> None:
        _fraction("decay", self.decay)
        if isinstance(self.start, bool) or not isinstance(self.start, int) or self.start < 0:
            raise ValueError(f"start: a number of steps >= 0 (got {self.start!r})")


@dataclass
class TopKOptions:
    gamma: float = 0.99  # k's decay per epoch
    nu: float = 0.5  # k never falls below nu x the batch
    epoch_images: int = 50_000  # images per epoch: the dataset's size (CIFAR-10's 50,000)

    def __post_init__(self) -> None:
        _fraction("gamma", self.gamma)
        _fraction("nu", self.nu)
        positive("nu", self.nu)
        positive("epoch_images", self.epoch_images)


def build_gradient_penalty(options: GradientPenaltyOptions):
    """WGAN-GP (Gulrajani et al., 2017): E[(||grad D(x_hat)|| - 1)^2] on real/fake
    interpolates; use weight 10"""
    from ganzoo_builtins.regularizers.penalties import GradientPenalty

    return GradientPenalty(options.target)


def build_r1(options: None):
    """R1 (Mescheder et al., 2018): E[||grad D(x)||^2] / 2 on reals; weight is gamma"""
    from ganzoo_builtins.regularizers.penalties import R1

    return R1()


def build_r2(options: None):
    """R2 (Mescheder et al., 2018; R3GAN, Huang et al., 2024): E[||grad D(x)||^2] / 2 on
    fakes; weight is gamma"""
    from ganzoo_builtins.regularizers.penalties import R2

    return R2()


def build_weight_clip(options: ClipOptions):
    """weight clipping (WGAN, Arjovsky et al., 2017): D's weights into [-c, c] after each
    D update"""
    from ganzoo_builtins.regularizers.penalties import WeightClip

    return WeightClip(options.clip)


def build_bcr(options: BCROptions):
    """bCR (Zhao et al., 2021): real ||D(x) - D(T(x))||^2 + fake ||D(G(z)) - D(T(G(z)))||^2,
    T a flip and a shift; the weights are options, leave weight at 1"""
    from ganzoo_builtins.regularizers.consistency import BalancedConsistency

    return BalancedConsistency(options.real, options.fake, options.flip, options.translation)


def build_zcr(options: ZCROptions):
    """zCR (Zhao et al., 2021): on D ||D(G(z)) - D(G(z + dz))||^2 (weight 5), with role:
    generator -||G(z) - G(z + dz)||^2 on G (weight 0.5)"""
    from ganzoo_builtins.regularizers.consistency import LatentConsistency

    return LatentConsistency(options.sigma, options.generator)


def build_lecam(options: LeCamOptions):
    """LeCam (Tseng et al., 2021): D(x) and D(G(z)) held near EMAs of each other's mean;
    weight 0.3 (BigGAN, CIFAR); the EMAs are checkpointed"""
    from ganzoo_builtins.regularizers.lecam import LeCam

    return LeCam(options.decay, options.start, options.one_sided)


def build_topk(options: TopKOptions):
    """top-k training (Sinha et al., 2020): G's loss on the k fakes D finds most real,
    k = max(gamma^epoch, nu) x batch; weight and every do not apply"""
    from ganzoo_builtins.regularizers.topk import TopK

    return TopK(options.gamma, options.nu, options.epoch_images)


@hookimpl
def ganzoo_register_regularizers(register):
    register("gradient_penalty", build_gradient_penalty, options=GradientPenaltyOptions)
    register("r1", build_r1)
    register("r2", build_r2)
    register("weight_clip", build_weight_clip, options=ClipOptions)
    register("bcr", build_bcr, options=BCROptions)
    register("zcr", build_zcr, options=ZCROptions)
    register("lecam", build_lecam, options=LeCamOptions)
    register("topk", build_topk, options=TopKOptions)
