"""Augmenting D's inputs on limited data: one DCGAN recipe on CIFAR-10's 4,660-image subset,
without augmentation, with adaptive DiffAugment and with ADA's pipeline, at equal steps.

    python bench/augment.py [--steps 4000] [--arms none,adaptive,ada] [--seed 0]
    python bench/augment.py --dry-run      # the runs it would make, not made
    python bench/augment.py --measure      # measure the runs an earlier call made, again
    python bench/augment.py --extend --steps 12000   # resume those runs to 12,000 steps

On a small training set D overfits: its outputs on the training images part from those on
images it never saw. ADA (Karras et al., 2020) watches r_t = E[sign D(x)] on the training
reals and raises the augmentation's p while r_t is above 0.6. After training each arm is
measured the same way: E[sign D(x)] and the mean logit on 932 training images and on the 932
held-out test images of the subset (their gap is the overfitting), the augmentation's final p,
and FID of 932 samples of G against the held-out images with the offline Inception network
(a small-sample FID: comparable between the arms, not with published figures). The arms train
side by side, one process and one thread each.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import torch
from common import REPO, add_common_args, device_name, versions

RECIPE = REPO / "recipes" / "dcgan_cifar.yaml"
ARMS = {"none": "augment=null", "adaptive": "augment={name: adaptive}",
        "ada": "augment={name: ada}"}
HELD_OUT = 932  # the subset's test images, and as many of its training images
EXTRACTOR = "inception-2015-12-05-fid.torchscript.pt"


def cifar_root(data_root: Path) -> Path:
    return data_root / "cifar10" / "cifar-10-batches-py-subset"


def overrides(arm: str, args: argparse.Namespace, run_dir: Path) -> list[str]:
    steps = args.steps
    return [ARMS[arm], f"data.root={cifar_root(args.data_root)}", "data.verify=false",
            f"generator.ngf={args.width}", f"discriminator.ndf={args.width}",
            f"train.batch_size={args.batch}", f"train.steps={steps}", f"train.seed={args.seed}",
            "train.device=cpu", f"train.log_every={max(1, steps // 20)}",
            f"train.sample_every={steps}", f"train.checkpoint_every={steps}",
            f"train.run_dir={run_dir}"]


def train(args: argparse.Namespace) -> None:
    """Every arm at once."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    processes = {}
    for arm in args.arms:
        command = [sys.executable, "-m", "ganzoo", "run", str(RECIPE),
                   *overrides(arm, args, args.runs / arm)]
        if args.extend:  # exact resume: as if the run had been this long from the start
            command = [sys.executable, "-m", "ganzoo", "resume", str(args.runs / arm),
                       f"train.steps={args.steps}"]
        processes[arm] = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.PIPE, text=True)
    for arm, process in processes.items():
        _, err = process.communicate()
        if process.returncode != 0:
            raise SystemExit(f"{arm}: training failed:\n{err[-2000:]}")


def training_seconds(run: Path) -> float:
    """The training loop's own time, from the run's last metrics line."""
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return float(json.loads(lines[-1])["elapsed_s"])


def d_on_reals(run: Path, data_root: Path) -> dict[str, float]:
    """E[sign D(x)] and mean D(x) on training and held-out images, and the final p."""
    from ganzoo.components import build_one
    from ganzoo.engine.checkpoint import load_checkpoint
    from ganzoo.interfaces import as_doutput
    from ganzoo.plugins import load_registry

    registry = load_registry()
    state = load_checkpoint(max((run / "checkpoints").glob("step_*.pt")))
    recipe = state["recipe"]
    D = build_one(registry, "discriminator", recipe["discriminator"], "discriminator",
                  tuple(state["image_shape"]), None)
    D.load_state_dict(state["networks"]["discriminator"])
    D.eval()
    out: dict[str, float] = {}
    for split in ("train", "test"):
        data = build_one(registry, "dataset", {**recipe["data"], "split": split}, "data")
        images = next(data.batches(HELD_OUT, torch.device("cpu"), seed=1)).x
        with torch.no_grad():
            logits = as_doutput(D(images, None)).logits.flatten()
        out[f"sign_{split}"] = float(torch.sign(logits).mean())
        out[f"logit_{split}"] = float(logits.mean())
    augmentation = state.get("augmentation") or {}
    out["p"] = float(augmentation["p"]) if "p" in augmentation else 0.0
    return out


def fid(run: Path, extractor: Path) -> float:
    import ganzoo

    result = ganzoo.evaluate(run, n=HELD_OUT, metrics=["fid"], ref="test",
                             extractor_path=str(extractor), device="cpu", progress=False)
    return float(result["metrics"]["fid"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_args(parser)
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--arms", default=",".join(ARMS), help="comma-separated: "
                        + ", ".join(ARMS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--width", type=int, default=32, help="ngf = ndf")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--runs", type=Path, default=REPO / "runs" / "augment")
    parser.add_argument("--models", type=Path, default=REPO.parent / "shared" / "models")
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--measure", action="store_true", help="measure the runs in --runs "
                        "without training them")
    parser.add_argument("--extend", action="store_true", help="resume the runs in --runs to "
                        "--steps, then measure them")
    args = parser.parse_args()
    args.arms = [a for a in args.arms.split(",") if a]
    unknown = [a for a in args.arms if a not in ARMS]
    if unknown:
        raise SystemExit(f"--arms: unknown {', '.join(unknown)}; choose from {', '.join(ARMS)}")
    if not cifar_root(args.data_root).is_dir():
        raise SystemExit(f"skipped: no CIFAR-10 subset at {cifar_root(args.data_root)}")
    if args.dry_run:
        for arm in args.arms:
            print("ganzoo run", RECIPE.relative_to(REPO), *overrides(arm, args, args.runs / arm))
        return
    extractor = args.models / EXTRACTOR
    if not args.measure:
        train(args)
    print(f"# {device_name(torch.device('cpu'))}; {versions()}")
    print(f"# DCGAN ngf = ndf = {args.width}, batch {args.batch}, {args.steps} steps, seed "
          f"{args.seed}, on {4660} CIFAR-10 training images")
    print("| augmentation | p at the end | E[sign D] train | E[sign D] held out | "
          "mean D train | mean D held out | FID-932 vs held out | training s |")
    print("|---|---|---|---|---|---|---|---|")
    for arm in args.arms:
        d = d_on_reals(args.runs / arm, args.data_root)
        score = f"{fid(args.runs / arm, extractor):.1f}" if extractor.exists() else "-"
        print(f"| {arm} | {d['p']:.3f} | {d['sign_train']:.3f} | {d['sign_test']:.3f} | "
              f"{d['logit_train']:.2f} | {d['logit_test']:.2f} | {score} | "
              f"{training_seconds(args.runs / arm):.0f} |", flush=True)


if __name__ == "__main__":
    main()
