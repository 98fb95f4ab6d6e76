"""The zoo, measured: train and evaluate every recipe at a chosen scale, print the table, and
write it (with the command, the device and the versions) to docs/zoo.md.

    python bench/zoo.py --scale cpu [--recipes quickstart,cgan_mnist] [--out docs/zoo.md]
    python bench/zoo.py --scale cpu --recipes quickstart --seeds 0,1,2,3,4   # the spread
    python bench/zoo.py --scale gpu --extractor-path inception-2015-12-05-fid.torchscript.pt

--scale cpu: short runs that finish on a laptop's CPU, with cheap measures: mode coverage and
the high-quality share for toy data; for MNIST-family runs, the digit classes covered (by the
shipped classifier) and, for conditional runs, the classifier's accuracy on samples of each
asked-for class. CIFAR-10 and CelebA recipes only show that they train at this scale.
--scale gpu: every recipe as written, with FID/KID against the train split at the recipe's n.
A figure that was not measured is written "not measured", never guessed.
"""

from __future__ import annotations

import argparse
import itertools
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from common import REPO, add_common_args, device_name, pick, versions

RECIPES = REPO / "recipes"


@dataclass
class Entry:
    paper: str
    shows: str
    cpu: list[str] = field(default_factory=list)  # overrides for the cpu scale
    published: str = "none published for this set-up"
    # how the run is measured at the cpu scale: a function of (run_dir, data_root) -> text;
    # None picks by the data (translation measures for pairs, cheap measures otherwise)
    measure: Callable[[Path, Path], str] | None = None


def equilibrium_measures(run_dir: Path, root: Path) -> str:
    """BEGAN's convergence measure M at the first and the last log line, and k_t at the end."""
    import json

    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    first, last = rows[0], rows[-1]
    since = rows[-2]["step"] + 1 if len(rows) > 1 else 1
    return (f"M {first['M']:.3f} (mean of steps 1-{first['step']}) -> {last['M']:.3f} (steps "
            f"{since:,}-{last['step']:,}); there k_t {last['k_t']:.4f}, L(x) "
            f"{last['l_real']:.3f}, L(G(z)) {last['g_loss']:.3f}")


def super_resolution_measures(run_dir: Path, root: Path) -> str:
    """PSNR/SSIM of an SR generator on the held-out test faces beside bicubic enlargement, on
    RGB and on the luma with the scale's border left out (as SR papers report them); and, where
    a checkpoint was kept at the end of the content-only steps, the RGB PSNR there."""
    from omegaconf import OmegaConf

    def measured(target: Path) -> dict | str:
        done = subprocess.run([sys.executable, "-m", "ganzoo", "eval", str(target)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            return f"not measured ({done.stderr.strip()[-200:]})"
        return newest_evaluation(run_dir)

    m = measured(run_dir)
    if isinstance(m, str):
        return m
    y = "[y_channel=True,crop_border=4]"
    text = (f"PSNR {m['psnr']:.2f} dB, SSIM {m['ssim']:.3f}; bicubic {m['psnr_input']:.2f} dB, "
            f"{m['ssim_input']:.3f} (RGB); on Y, 4-pixel border left out: {m['psnr' + y]:.2f} "
            f"dB, {m['ssim' + y]:.3f}; bicubic {m['psnr_input' + y]:.2f} dB, "
            f"{m['ssim_input' + y]:.3f} (660 held-out test faces)")
    pretrain = OmegaConf.load(run_dir / "recipe.yaml").game.get("pretrain_steps", 0)
    boundary = run_dir / "checkpoints" / f"step_{pretrain:07d}.pt"
    if pretrain and boundary.is_file():
        first = measured(boundary)
        if not isinstance(first, str):
            text += f"; after the {pretrain:,} content-only steps: PSNR {first['psnr']:.2f} dB"
    return text


def code_measures(run_dir: Path, root: Path) -> str:
    """InfoGAN: the best one-to-one map of the categorical code to digits, scored on G's
    samples by the shipped classifier and, as the paper measures it, on Q's category for the
    real MNIST-test digits."""
    from ganzoo.plugins import load_registry
    from ganzoo.sampling import load_generator
    from ganzoo_builtins.infogan.measures import (
        code_digit_accuracy,
        load_discriminator,
        q_digit_accuracy,
    )
    from ganzoo_builtins.mnist.classifier import digit_classifier, load_split

    registry = load_registry()
    G, _, _ = load_generator(run_dir, registry, device="cpu")
    samples = code_digit_accuracy(G, digit_classifier(root), 10000, seed=1)
    images, labels = load_split(root, "test")
    real = q_digit_accuracy(load_discriminator(run_dir, registry), images, labels)
    return (f"categorical code -> digit {samples['accuracy']:.1%} on G's samples (10,000, "
            f"digits by the shipped classifier); Q's category -> label {real['accuracy']:.1%} "
            "on MNIST-test (10,000); both through the best one-to-one map")


def caption_measures(run_dir: Path, root: Path) -> str:
    """Text-to-image on captioned MNIST: how often the shipped classifier reads the digit the
    caption asked for, on the held-out phrasings and on the training ones (chance 10%), and how
    often the ink measured on G's digits is in the thickness and slant bins asked for (chance
    a third)."""
    from ganzoo.plugins import load_registry
    from ganzoo.run import load_text_encoder
    from ganzoo.sampling import load_generator
    from ganzoo_builtins.mnist.classifier import digit_classifier
    from ganzoo_builtins.text2image.captions import PHRASINGS, every_caption
    from ganzoo_builtins.text2image.measures import caption_following, mnist_cuts

    registry = load_registry()
    G, _, _ = load_generator(run_dir, registry, device="cpu")
    encoder = load_text_encoder(run_dir, registry, device="cpu")
    classifier, cuts = digit_classifier(root), mnist_cuts(root)
    held = caption_following(G, encoder, classifier, every_caption(PHRASINGS["held_out"]), 10,
                             cuts)
    seen = caption_following(G, encoder, classifier, every_caption(PHRASINGS["train"]), 4, cuts)
    return (f"digit asked for read back {held['digit']:.1%} on held-out phrasings "
            f"({held['images']:,} images), {seen['digit']:.1%} on training phrasings "
            f"({seen['images']:,}), chance 10%; thickness bin {held['thickness']:.0%} / "
            f"{seen['thickness']:.0%}, slant bin {held['slant']:.0%} / {seen['slant']:.0%} "
            "(held-out / training; chance 33%)")


# Published CIFAR-10 figures: FID with 50k samples against the train split.
MIMICRY = "Mimicry (Lee & Town, 2020)"
STUDIO = "StudioGAN (Kang et al., 2023)"
SMALL_IMAGES = ["train.steps=40", "train.batch_size=16", "train.log_every=10"]
ZOO = {
    "quickstart": Entry("Goodfellow et al. 2014; Mukherjee et al. 2019",
                        "the GAN on 25 Gaussians (ClusterGAN's prior, He init, lazy R1, "
                        "linear decay)"),
    "pacgan_grid": Entry("Lin et al. 2018",
                         "packing against mode collapse: the paper's 4 x 400 BN G and 3 x 200 "
                         "maxout D on the 25-Gaussian grid, packs of 2 (bench/pacgan.py "
                         "compares it unpacked)",
                         ["train.steps=2000", "train.sample_every=1000",
                          "train.checkpoint_every=1000", "train.log_every=100"],
                         "24.8 ± 0.2 modes (PacGAN4), 23.8 ± 0.7 (PacGAN2), 17.3 ± 0.8 (GAN); "
                         "high quality 93.6%, 91.3%, 94.8%; reverse KL 0.04, 0.13, 0.70 "
                         "at 400,000 steps (Lin et al. 2018, Table 1)",
                         measure=lambda run, root: __import__("pacgan").zoo_measure(run, root)),
    "pacgan_ring": Entry("Lin et al. 2018",
                         "packing on the ring of 8 Gaussians (std 0.01, radius 1), the grid's "
                         "networks",
                         ["train.steps=2000", "train.sample_every=1000",
                          "train.checkpoint_every=1000", "train.log_every=100"],
                         "7.9 ± 0.1 modes (PacGAN2), 6.3 ± 0.5 (GAN) at 400,000 steps "
                         "(Lin et al. 2018, Table 1)",
                         measure=lambda run, root: __import__("pacgan").zoo_measure(run, root)),
    "pacgan_stacked_mnist": Entry("Lin et al. 2018",
                                  "packing on Stacked MNIST's 1,000 modes (DCGAN, packs of 2)",
                                  [*SMALL_IMAGES, "generator.ngf=16",
                                   "discriminator.inner.ndf=16", "data.size=2000"]),
    "mlp_mnist": Entry("Goodfellow et al. 2014", "the vanilla GAN on digits",
                       ["train.steps=2000"]),
    "dcgan_mnist": Entry("Radford et al. 2015", "convolutional G and D",
                         ["train.steps=1000", "generator.ngf=32", "discriminator.ndf=32"]),
    "wgan_mnist": Entry("Arjovsky et al. 2017", "Wasserstein critic, weight clipping, RMSprop",
                        ["train.steps=400", "generator.ngf=32", "discriminator.ndf=32"]),
    "cgan_mnist": Entry("Mirza & Osindero 2014",
                        "class-conditional MLP (concatenation), lr decaying linearly",
                        ["train.steps=20000", "train.sample_every=5000"]),
    "acgan_mnist": Entry("Odena et al. 2017", "auxiliary classifier D",
                         ["train.steps=10000", "generator.ngf=32", "discriminator.ndf=32"]),
    "dcgan_cifar": Entry("Radford et al. 2015", "DCGAN on CIFAR-10",
                         [*SMALL_IMAGES, "generator.ngf=16", "discriminator.ndf=16"],
                         f"FID 48.29 ({STUDIO})"),
    "dcgan_cifar_diffaug": Entry("Zhao et al. 2020", "DiffAugment on every input of D",
                                 [*SMALL_IMAGES, "generator.ngf=16", "discriminator.ndf=16"]),
    "wgan_gp_cifar": Entry("Gulrajani et al. 2017", "gradient penalty, ResNet",
                           [*SMALL_IMAGES, "generator.ngf=32", "discriminator.ndf=32"],
                           f"FID 22.29 ({MIMICRY})"),
    "sngan_cifar": Entry("Miyato et al. 2018", "spectral norm, hinge, ResNet",
                         [*SMALL_IMAGES, "generator.ngf=32", "discriminator.ndf=32"],
                         f"FID 16.77 ({MIMICRY})"),
    "sngan_projection_cifar": Entry("Miyato & Koyama 2018", "cBN G, projection D",
                                    [*SMALL_IMAGES, "generator.ngf=32",
                                     "discriminator.ndf=32"],
                                    f"FID 10.84 ({MIMICRY}); 9.01 ({STUDIO})"),
    "dcgan_celeba": Entry("Radford et al. 2015", "DCGAN on faces",
                          [*SMALL_IMAGES, "generator.ngf=16", "discriminator.ndf=16"]),
    "lsgan_celeba": Entry("Mao et al. 2017", "least-squares loss",
                          [*SMALL_IMAGES, "generator.ngf=16", "discriminator.ndf=16"]),
    "sagan_celeba": Entry("Zhang et al. 2019", "self-attention, SN in G and D, TTUR",
                          [*SMALL_IMAGES, "generator.ngf=64", "discriminator.ndf=64"]),
    "dcgan_image_folder": Entry("Radford et al. 2015", "DCGAN on a folder of images",
                                [*SMALL_IMAGES, "generator.ngf=16", "discriminator.ndf=16"]),
    "pix2pix_celeba_colour": Entry("Isola et al. 2017",
                                   "paired translation: grayscale faces coloured (U-Net, "
                                   "PatchGAN, GAN + 100 x L1)",
                                   ["train.steps=3000", "generator.ngf=32",
                                    "discriminator.ndf=32", "train.sample_every=1000"]),
    "began_celeba": Entry("Berthelot et al. 2017",
                          "auto-encoder D, equilibrium k_t and the convergence measure M",
                          ["train.steps=400", "generator.ngf=16", "discriminator.ndf=16",
                           "train.log_every=20", "train.sample_every=200",
                           "train.num_samples=16"],
                          measure=equilibrium_measures),
    "infogan_mnist": Entry("Chen et al. 2016",
                           "unsupervised codes: a categorical code of 10 and two continuous "
                           "ones, Q on D's body",
                           ["train.steps=2000", "train.batch_size=64",
                            "train.sample_every=500"],
                           "c1 as a digit classifier: 5% error (Chen et al. 2016)",
                           measure=code_measures),
    "cyclegan_celeba_colour": Entry("Zhu et al. 2017",
                                    "unpaired translation: faces coloured with no pairs, gray "
                                    "and colour from disjoint halves (ResNet G, PatchGAN, "
                                    "LSGAN + cycle + identity, pool of 50)",
                                    ["train.steps=5000", "g_ab.ngf=16", "g_ba.ngf=16",
                                     "d_a.ndf=16", "d_b.ndf=16", "train.log_every=100",
                                     "train.sample_every=2500", "train.checkpoint_every=2500"]),
    "srgan_celeba_x4": Entry("Ledig et al. 2017",
                             "super-resolution x4, faces 16 -> 64: SRResNet G, VGG-style D, "
                             "MSE + 1e-3 x GAN (SRGAN-MSE), after MSE-only steps",
                             ["train.steps=4200", "game.pretrain_steps=4000", "generator.ngf=32",
                              "generator.n_blocks=4", "discriminator.ndf=16",
                              "train.checkpoint_every=1000", "train.keep_checkpoints=5",
                              "train.sample_every=2100", "train.log_every=100"],
                             measure=super_resolution_measures),
    "esrgan_celeba_x4": Entry("Wang et al. 2018",
                              "super-resolution x4, faces 16 -> 64: RRDBNet G, RaGAN, "
                              "L1 + 5e-3 x GAN, after L1-only steps",
                              ["train.steps=1600", "game.pretrain_steps=1400", "generator.ngf=32",
                               "generator.n_blocks=2", "generator.growth=16",
                               "discriminator.ndf=16", "train.checkpoint_every=700",
                               "train.keep_checkpoints=5", "train.sample_every=800",
                               "train.log_every=100"],
                              measure=super_resolution_measures),
    "text2image_mnist": Entry("Reed et al. 2016",
                              "text to image: GAN-CLS (a real digit with another's caption as "
                              "a third fake) + GAN-INT, captions from each digit's label and "
                              "measured ink, a CNN-RNN text encoder trained with D",
                              ["train.steps=1500", "generator.ngf=32", "discriminator.ndf=32",
                               "text_encoder.embedding_dim=256", "text_encoder.word_dim=64",
                               "text_encoder.channels=128", "text_encoder.hidden=128",
                               "train.log_every=50", "train.sample_every=500",
                               "train.checkpoint_every=500"],
                              measure=caption_measures),
    # the third wave: BigGAN entries here
    "biggan_cifar": Entry("Brock et al. 2019",
                          "shared class embedding, hierarchical z, orthogonal reg., SN in G "
                          "and D, projection D, EMA of G",
                          [*SMALL_IMAGES, "generator.ngf=32", "discriminator.ndf=32"]),
    # the third wave: StyleGAN2 entries here
    "stylegan2_cifar": Entry("Karras et al. 2020",
                             "StyleGAN2: mapping MLP, modulated/demodulated convs, noise, skip "
                             "G, residual D, style mixing, lazy R1 + path length",
                             [*SMALL_IMAGES, "generator.ngf=32", "generator.latent_dim=128",
                              "discriminator.ndf=32"],
                             "none published for this set-up (StyleGAN2-ADA's CIFAR-10 "
                             "configuration drops path length, mixing and the residual D)"),
    "stylegan2_celeba64": Entry("Karras et al. 2020", "StyleGAN2 on faces at 64x64",
                                [*SMALL_IMAGES, "generator.ngf=16", "generator.latent_dim=128",
                                 "discriminator.ndf=16"]),
    # the third wave: R3GAN entries here
    "r3gan_cifar": Entry("Huang et al. 2024",
                         "RpGAN + R1 + R2 on a ConvNeXt-style G and D (grouped inverted "
                         "bottlenecks, no normalization), class-conditional",
                         [*SMALL_IMAGES, "generator.ngf=32", "discriminator.ndf=32"],
                         "FID 1.96, class-conditional, with ADA's augmentation (Huang et al. "
                         "2024)"),
    "r3gan_stacked_mnist": Entry("Huang et al. 2024", "R3GAN against mode collapse: Stacked "
                                 "MNIST's 1,000 modes",
                                 [*SMALL_IMAGES, "generator.ngf=32", "discriminator.ndf=32",
                                  "data.size=2000"],
                                 "1,000 modes, KL to uniform 0.029 (Huang et al. 2024)"),
}


def data_overrides(recipe: str, root: Path) -> list[str]:
    text = (RECIPES / f"{recipe}.yaml").read_text()
    if "name: degraded" in text:  # pairs made from a base dataset
        return [f"data.base.root={root / 'celeba'}"]
    if "name: mnist" in text or "name: stacked_mnist" in text:
        return [f"data.root={root}"]
    if "name: cifar10" in text:
        full = root / "cifar10" / "cifar-10-batches-py"
        folder = full if full.is_dir() else root / "cifar10" / "cifar-10-batches-py-subset"
        return [f"data.root={folder}", f"data.verify={str(folder == full).lower()}"]
    if "name: celeba" in text:
        return [f"data.root={root / 'celeba'}"]
    if "name: image_folder" in text:
        return [f"data.root={root / 'celeba'}"]
    return []


def train(recipe: str, overrides: list[str], run_dir: Path) -> float:
    """Run the recipe in a fresh process; the wall time in seconds."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "ganzoo", "run", str(RECIPES / f"{recipe}.yaml"),
                           *overrides, f"train.run_dir={run_dir}"], capture_output=True,
                          text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{recipe} failed: {done.stderr.strip()[-500:]}")
    return time.perf_counter() - start


def cheap_measures(run_dir: Path, root: Path) -> str:
    """Mode coverage for toy data and Stacked MNIST; digit classes (and class accuracy) for
    MNIST."""
    from ganzoo.plugins import load_registry
    from ganzoo.sampling import class_labels, generate, load_generator

    registry = load_registry()
    G, state, _ = load_generator(run_dir, registry, device="cpu")
    data = state["recipe"]["data"]["name"]
    if data == "gaussian_mixture":
        from ganzoo.components import build_one

        mixture = build_one(registry, "dataset", state["recipe"]["data"], "data")
        result = mixture.mode_coverage(generate(G, 2500, seed=1))
        return (f"{result['modes_covered']}/25 modes, {result['high_quality_share']:.0%} high "
                f"quality, mode spread {result['mode_spread']:.2f}, reverse KL "
                f"{result['reverse_kl']:.3f} (2,500 samples)")
    if data == "stacked_mnist":
        from ganzoo.components import build_one

        stacked = build_one(registry, "dataset", state["recipe"]["data"], "data")
        result = stacked.mode_coverage(generate(G, 26000, seed=1))
        return (f"{result['modes_covered']}/1000 modes, KL to uniform "
                f"{result['kl_to_uniform']:.3f} (26,000 samples)")
    if data != "mnist":
        return "not measured at this scale"
    from ganzoo_builtins.mnist.classifier import classify, digit_classifier

    net = digit_classifier(root)
    if G.conditional:
        labels = class_labels(G, 1000, "all")
        predicted = classify(net, generate(G, 1000, seed=1, labels=labels))
        per_class = [(predicted[labels == k] == k).float().mean().item() for k in range(10)]
        return (f"classifier accuracy on asked-for classes {sum(per_class) / 10:.1%} "
                f"(worst class {min(per_class):.0%}; 100 samples per class)")
    from ganzoo.modes import coverage_from_assignments

    digits = classify(net, generate(G, 10000, seed=1))
    result = coverage_from_assignments(digits, 10, 10000)
    return (f"{result['modes_covered']}/10 digit classes, KL to uniform "
            f"{result['reverse_kl']:.3f} (10,000 samples)")


def newest_evaluation(run_dir: Path) -> dict:
    """The metrics of the newest evaluation saved beside the run's checkpoints."""
    import json

    newest = max((run_dir / "checkpoints").glob("*.eval.json"), key=lambda p: p.stat().st_mtime)
    saved = json.loads(newest.read_text())
    return (saved[-1] if isinstance(saved, list) else saved)["metrics"]


def translation_measures(run_dir: Path) -> str:
    """PSNR/SSIM of a generator with an input on the held-out pairs, beside its input's."""
    done = subprocess.run([sys.executable, "-m", "ganzoo", "eval", str(run_dir)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        return f"not measured ({done.stderr.strip()[-200:]})"
    m = newest_evaluation(run_dir)
    return (f"PSNR {m['psnr']:.2f} dB, SSIM {m['ssim']:.3f} against the true colours; the "
            f"grayscale input: {m['psnr_input']:.2f} dB, {m['ssim_input']:.3f} (held-out test "
            "faces)")


def fid(run_dir: Path, extractor_path: str) -> str:
    done = subprocess.run([sys.executable, "-m", "ganzoo", "eval", str(run_dir),
                           "--metrics", "fid,kid", f"--extractor-path={extractor_path}"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        return f"not measured ({done.stderr.strip()[-200:]})"

    metrics = newest_evaluation(run_dir)
    return f"FID {metrics['fid']:.2f}, KID {metrics['kid_mean']:.4f} (50k vs train)"


def page(rows: list[list[str]], command: str, device: str) -> str:
    header = ["recipe", "paper", "what it shows", "steps", "wall s", "device", "measured here",
              "published"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join([
        "# The zoo, measured", "",
        "Every recipe in `recipes/`, trained and evaluated by one command on one machine. A",
        "figure that was not measured says so. At the cpu scale the runs are short (the steps",
        "column) and the networks of the image recipes narrower, so these are not the papers'",
        "numbers: they show that each recipe trains and what it reaches in minutes on a CPU.", "",
        f"    {command}", "",
        f"{time.strftime('%Y-%m-%d')}, {device}, {versions()}.", "",
        *lines, "",
        "GPU scale (`python bench/zoo.py --scale gpu`, the recipes as written, FID/KID with 50k",
        "samples against the train split): not measured; no GPU has been available to this",
        "project yet.", ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser)
    parser.add_argument("--scale", choices=("cpu", "gpu"), default="cpu")
    parser.add_argument("--recipes", default=",".join(ZOO), help="comma-separated names")
    parser.add_argument("--runs", type=Path, default=REPO / "runs" / "zoo")
    parser.add_argument("--extractor-path", default="", help="for --scale gpu: the FID network")
    parser.add_argument("--seeds", default="", help="train.seed values, comma-separated: one "
                        "run of each recipe per seed, to show the spread (default: the recipe's)")
    parser.add_argument("--out", type=Path, default=None, help="write the page here too")
    args = parser.parse_args()
    device = pick(args.device)
    from rich.console import Console
    from rich.table import Table

    seeds = [int(seed) for seed in args.seeds.split(",")] if args.seeds else [None]
    rows = []
    for recipe, seed in itertools.product(args.recipes.split(","), seeds):
        entry = ZOO[recipe]
        overrides = [*data_overrides(recipe, args.data_root), f"train.device={device.type}"]
        if args.scale == "cpu":
            overrides += entry.cpu
        name = recipe if seed is None else f"{recipe}-seed{seed}"
        if seed is not None:
            overrides.append(f"train.seed={seed}")
        run_dir = args.runs / args.scale / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
        seconds = train(recipe, overrides, run_dir)
        if entry.measure is not None and args.scale == "cpu":
            measured = entry.measure(run_dir, args.data_root)
        elif "name: degraded" in (RECIPES / f"{recipe}.yaml").read_text():
            measured = translation_measures(run_dir)
        elif args.scale == "cpu":
            measured = cheap_measures(run_dir, args.data_root)
        else:
            measured = fid(run_dir, args.extractor_path)
        steps = torch.load(sorted((run_dir / "checkpoints").glob("step_*.pt"))[-1],
                           weights_only=True)["step"]
        label = f"`{recipe}`" + ("" if seed is None else f" (seed {seed})")
        rows.append([label, entry.paper, entry.shows, f"{steps:,}", f"{seconds:.0f}",
                     device_name(device), measured, entry.published])
        print(f"{name}: {steps} steps in {seconds:.0f} s: {measured}", flush=True)
    table = Table(title=f"the zoo at {args.scale} scale", show_lines=False)
    for column in ("recipe", "steps", "wall s", "measured here", "published"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(row[0].replace("`", ""), row[3], row[4], row[6], row[7])
    Console().print(table)
    if args.out:
        command = f"python bench/zoo.py --scale {args.scale}" + (
            f" --recipes {args.recipes} --seeds {args.seeds}" if args.seeds else "")
        args.out.write_text(page(rows, command, device_name(device)), encoding="utf-8")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
