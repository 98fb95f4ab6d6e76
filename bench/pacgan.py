"""PacGAN against the same recipe unpacked, at equal steps, over seeds: modes and quality.

    python bench/pacgan.py [--recipe pacgan_grid] [--packs 2,1] [--seeds 0,1,2] [--steps N]
    python bench/pacgan.py --dry-run     # the runs it would make, not made
    python bench/pacgan.py --extend runs/pacgan --steps N   # continue those runs to N steps

Each pack size m (1: the GAN) is the recipe with ``discriminator.m=m`` and as many packs a
batch as the recipe has (100 in the paper: its batch holds 100 m samples), so every set-up
makes the same number of D scores a step; nothing else differs. After training, 2,500 samples
of G (seed 1, BatchNorm at its running statistics) are measured as the paper's code does:
a sample within 3 std of a mode is high quality, and a mode is found when it holds at least
one high-quality sample. The fair-share rule of ``ganzoo eval`` (at least 20 of 2,500 for 25
modes) and the reverse KL of the mode histogram are printed beside it, and D's loss at the
end (2 ln 2 = 1.386 while D is at chance). A seed's set-ups train side by side (with
--together, every run at once), one process and one thread each.

--extend continues the runs an earlier call left in a folder (exact resume: the same
weights, optimizer states and random streams as one long run), checkpointing every
--checkpoint-every steps and keeping every checkpoint, then prints the measures of each
kept checkpoint too: how modes and quality move with training, at equal steps.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from common import REPO, add_common_args, device_name, pick, versions

RECIPES = REPO / "recipes"
N_SAMPLES = 2500  # the paper's num_log_figure_sample


def recipe_packing(recipe: str) -> tuple[int, int]:
    """(m, packs a batch) as the recipe is written."""
    from omegaconf import OmegaConf

    config = OmegaConf.load(RECIPES / f"{recipe}.yaml")
    m = int(config.discriminator.m)
    return m, int(config.train.batch_size) // m


def overrides(recipe: str, m: int, seed: int, steps: int | None, device: str) -> list[str]:
    """The recipe with packs of m and the recipe's number of packs a batch."""
    _, packs = recipe_packing(recipe)
    out = [f"discriminator.m={m}", f"train.batch_size={packs * m}", f"train.seed={seed}",
           f"train.device={device}"]
    if steps is not None:  # one picture and one checkpoint, at the end
        out += [f"train.steps={steps}", f"train.sample_every={steps}",
                f"train.checkpoint_every={steps}", f"train.log_every={max(1, steps // 10)}"]
    return out


def extension(steps: int, every: int, device: str) -> list[str]:
    """What a resumed run may change to go on to ``steps``: every checkpoint is kept."""
    return [f"train.steps={steps}", f"train.sample_every={every}",
            f"train.checkpoint_every={every}", f"train.keep_checkpoints={steps // every + 2}",
            f"train.log_every={max(1, every // 10)}", f"train.device={device}"]


def earlier_runs(folder: Path, recipe: str, packs: list[int], seeds: list[int]
                 ) -> dict[Path, tuple[int, int]]:
    """The newest run folder of each set-up and seed in ``folder``: {run: (m, seed)}."""
    from ganzoo.errors import GanzooError

    runs = {}
    for seed in seeds:
        for m in packs:
            found = sorted(folder.glob(f"{recipe}-m{m}-seed{seed}-*"))
            if not found:
                raise GanzooError(f"--extend: no {recipe}-m{m}-seed{seed}-* run in '{folder}'. "
                                  "Train it first: python bench/pacgan.py --runs FOLDER")
            runs[found[-1]] = (m, seed)
    return runs


def setup_name(m: int) -> str:
    return "GAN (m=1)" if m == 1 else f"PacGAN{m}"


def measure(run_dir: Path, n: int = N_SAMPLES) -> dict[str, float]:
    """The paper's measures on n samples of the run's G: modes with a high-quality sample,
    the high-quality share, and the fair-share mode count and reverse KL of ganzoo eval."""
    from ganzoo.components import build_one
    from ganzoo.modes import coverage_from_assignments
    from ganzoo.plugins import load_registry
    from ganzoo.sampling import generate, load_generator

    registry = load_registry()
    G, state, _ = load_generator(run_dir, registry, device="cpu")
    mixture = build_one(registry, "dataset", state["recipe"]["data"], "data")
    samples = generate(G, n, seed=1)
    fair = mixture.mode_coverage(samples)
    distance, nearest = torch.cdist(samples.float(), mixture.modes).min(dim=1)
    good = distance <= 3 * mixture.std
    any_sample = coverage_from_assignments(nearest[good], len(mixture.modes), n, min_count=1)
    return {"modes": any_sample["modes_covered"], "modes_fair": fair["modes_covered"],
            "modes_total": len(mixture.modes), "high_quality": fair["high_quality_share"],
            "reverse_kl": fair["reverse_kl"], "step": int(state["step"])}


def zoo_measure(run_dir: Path, root: Path) -> str:
    """The measures of one run as bench/zoo.py prints them."""
    m = measure(run_dir)
    return (f"{m['modes']}/{m['modes_total']} modes with a high-quality sample "
            f"({m['modes_fair']} by the fair share), {m['high_quality']:.0%} high quality, "
            f"reverse KL {m['reverse_kl']:.3f}, D loss {last_d_loss(run_dir):.3f} at the end "
            f"({N_SAMPLES:,} samples)")


def train_side_by_side(recipe: str, runs: dict[Path, list[str]]) -> dict[Path, float]:
    """Train the runs at once, one process and one thread each (no thread waiting on
    another on a shared CPU); the wall time of each, in seconds. Each run's value is its
    ganzoo command line (run or resume)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    start, jobs, seconds = time.perf_counter(), {}, {}
    for run_dir, command in runs.items():
        jobs[run_dir] = subprocess.Popen(
            [sys.executable, "-m", "ganzoo", *command], stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True, env=env)
    try:
        while jobs:
            for run_dir, job in list(jobs.items()):
                if job.poll() is None:
                    continue
                seconds[run_dir] = time.perf_counter() - start
                del jobs[run_dir]
                if job.returncode != 0:
                    raise RuntimeError(f"{recipe} failed: {job.stderr.read().strip()[-500:]}")
            time.sleep(0.5)
    finally:  # stopped (a timeout's SIGTERM, Ctrl-C, a failed run): no run outlives the bench
        for job in jobs.values():
            job.kill()
    return seconds


def last_d_loss(run_dir: Path, step: int | None = None) -> float:
    """D's loss at the last log line (at or before ``step``): 2 ln 2 = 1.386 while D is
    at chance."""
    import json

    lines = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    logged = [line for line in lines if "d_loss" in line and (step is None or line["step"] <= step)]
    return logged[-1]["d_loss"]


def checkpoints(run_dir: Path) -> list[Path]:
    """The run's kept checkpoints, oldest first."""
    return sorted((run_dir / "checkpoints").glob("step_*.pt"))


def trajectory(rows: list[dict], runs: dict[Path, tuple[int, int]]) -> str:
    """Mean ± std per set-up at each step that every run of it kept a checkpoint for."""
    lines = ["| set-up | step | runs | modes | high quality | reverse KL | D loss |",
             "|---|---|---|---|---|---|---|"]
    for setup in dict.fromkeys(r["setup"] for r in rows):
        mine = [run for run, (m, _) in runs.items() if setup_name(m) == setup]
        steps = set.intersection(*({int(c.stem.split("_")[1]) for c in checkpoints(run)}
                                   for run in mine))
        for step in sorted(steps):
            measured = [{**measure(run / "checkpoints" / f"step_{step:07d}.pt"),
                         "d_loss": last_d_loss(run, step)} for run in mine]
            lines.append(
                f"| {setup} | {step:,} | {len(mine)} | "
                f"{mean_std([r['modes'] for r in measured])} | "
                f"{mean_std([100 * r['high_quality'] for r in measured])} % | "
                f"{mean_std([r['reverse_kl'] for r in measured])} | "
                f"{mean_std([r['d_loss'] for r in measured])} |")
    return "\n".join(lines)


def mean_std(values: list[float]) -> str:
    if len(values) < 2:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"


def markdown(rows: list[dict], command: str, device: str) -> str:
    """Per seed, then mean ± std (sample standard deviation) per set-up."""
    total = rows[0]["modes_total"]
    lines = [f"    {command}", "",
             f"{time.strftime('%Y-%m-%d')}, {device}, {versions()}.", "",
             f"| set-up | seed | steps | modes (of {total}) | modes, fair share | high quality | "
             "reverse KL | D loss at the end | wall s |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['setup']} | {r['seed']} | {r['step']:,} | {r['modes']} | "
                     f"{r['modes_fair']} | {r['high_quality']:.1%} | {r['reverse_kl']:.3f} | "
                     f"{r['d_loss']:.3f} | {r['seconds']:.0f} |")
    for setup in dict.fromkeys(r["setup"] for r in rows):
        mine = [r for r in rows if r["setup"] == setup]
        hq = [100 * r["high_quality"] for r in mine]
        lines.append(f"| **{setup}** | mean ± std ({len(mine)}) | {mine[0]['step']:,} | "
                     f"{mean_std([r['modes'] for r in mine])} | "
                     f"{mean_std([r['modes_fair'] for r in mine])} | {mean_std(hq)} % | "
                     f"{mean_std([r['reverse_kl'] for r in mine])} | "
                     f"{mean_std([r['d_loss'] for r in mine])} | |")
    return "\n".join(lines)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser)
    parser.add_argument("--recipe", default="pacgan_grid", help="a PacGAN recipe on 2-D points")
    parser.add_argument("--packs", default="2,1", help="pack sizes m, comma-separated; 1: GAN")
    parser.add_argument("--seeds", default="0,1,2", help="train.seed values, comma-separated")
    parser.add_argument("--steps", type=int, default=None,
                        help="train.steps for every run (default: the recipe's)")
    parser.add_argument("--runs", type=Path, default=REPO / "runs" / "pacgan",
                        help="the folder the runs go in (default: runs/pacgan)")
    parser.add_argument("--together", action="store_true",
                        help="train every seed's set-ups at once (default: seed by seed)")
    parser.add_argument("--extend", type=Path, default=None, metavar="FOLDER",
                        help="continue the runs an earlier call made in FOLDER to --steps "
                             "(all at once), then measure each kept checkpoint")
    parser.add_argument("--checkpoint-every", type=int, default=5000,
                        help="with --extend: the steps between kept checkpoints")
    parser.add_argument("--dry-run", action="store_true", help="print the runs, make none")
    args = parser.parse_args(argv)
    if args.extend is not None and args.steps is None:
        parser.error("--extend needs --steps: how far to continue the runs")
    return args


def main(argv: list[str] | None = None) -> list[dict]:
    args = parse(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # to reach the finally above
    device = pick(args.device)
    packs = [int(m) for m in args.packs.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    command = "python bench/pacgan.py " + " ".join(argv if argv is not None else sys.argv[1:])
    rows, made = [], {}
    # seed by seed, so a shortened session still has whole pairs; or every run at once
    groups = [seeds] if args.together or args.extend else [[seed] for seed in seeds]
    for group in groups:
        if args.extend is not None:
            more = extension(args.steps, args.checkpoint_every, device.type)
            runs = {run: (m, seed, ["resume", str(run), *more]) for run, (m, seed)
                    in earlier_runs(args.extend, args.recipe, packs, group).items()}
        else:
            runs = {args.runs / f"{args.recipe}-m{m}-seed{seed}-{time.strftime('%H%M%S')}":
                    (m, seed, overrides(args.recipe, m, seed, args.steps, device.type))
                    for seed in group for m in packs}
            runs = {run: (m, seed, ["run", f"recipes/{args.recipe}.yaml", *extra,
                                    f"train.run_dir={run}"])
                    for run, (m, seed, extra) in runs.items()}
        if args.dry_run:
            for _, _, command in runs.values():
                print("ganzoo " + " ".join(command))
            continue
        with_repo_recipes = {run: [str(REPO / part) if part.startswith("recipes/") else part
                                   for part in command] for run, (_, _, command) in runs.items()}
        seconds = train_side_by_side(args.recipe, with_repo_recipes)
        made.update({run: (m, seed) for run, (m, seed, _) in runs.items()})
        for run_dir, (m, seed, _) in runs.items():
            row = {"setup": setup_name(m), "m": m, "seed": seed, "seconds": seconds[run_dir],
                   "d_loss": last_d_loss(run_dir), **measure(run_dir)}
            rows.append(row)
            print(f"{row['setup']} seed {seed}: {row['step']} steps in {row['seconds']:.0f} s: "
                  f"{row['modes']}/{row['modes_total']} modes ({row['modes_fair']} by the "
                  f"fair share), {row['high_quality']:.1%} high quality, reverse KL "
                  f"{row['reverse_kl']:.3f}, D loss {row['d_loss']:.3f} at the end",
                  flush=True)
    if rows:
        rows.sort(key=lambda r: (packs.index(r["m"]), r["seed"]))
        print(markdown(rows, command, device_name(device)))
        if args.extend is not None:
            print("\nAt each kept checkpoint (mean ± std over the seeds):\n")
            print(trajectory(rows, made))
    return rows


if __name__ == "__main__":
    main()
