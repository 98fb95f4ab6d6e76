"""``ganzoo sample`` and ``ganzoo interpolate``: using a trained generator."""

from __future__ import annotations

import argparse
from pathlib import Path

from ganzoo.commands.common import console, load_registry_with_warnings
from ganzoo.errors import GanzooError


def sample(args: argparse.Namespace) -> int:
    if args.n <= 0:
        raise GanzooError(f"--n: must be greater than 0 (got {args.n})")
    from ganzoo.sampling import (
        check_fits_in_memory,
        class_labels,
        generate,
        load_generator,
        write_samples,
    )

    G, _, _ = load_generator(args.target, load_registry_with_warnings(), not args.no_ema,
                             args.device)
    check_fits_in_memory(args.n, tuple(G.image_shape), "--n")
    labels = class_labels(G, args.n, args.label)
    samples = generate(G, args.n, args.seed, labels=labels)
    console.print(f"wrote {write_samples(samples, Path(args.out), labels)}")
    return 0


def interpolate(args: argparse.Namespace) -> int:
    if args.rows <= 0 or args.steps < 2:
        raise GanzooError("--rows must be at least 1 and --steps at least 2")
    from ganzoo.pictures import save_image_grid
    from ganzoo.sampling import check_fits_in_memory, interpolation_grid, load_generator

    G, _, _ = load_generator(args.target, load_registry_with_warnings(), not args.no_ema,
                             args.device)
    check_fits_in_memory(args.rows * args.steps, tuple(G.image_shape), "--rows x --steps")
    out = Path(args.out)
    grid = interpolation_grid(G, args.rows, args.steps, args.seed, args.label)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        save_image_grid(grid, out, nrow=args.steps)
    except OSError as exc:
        raise GanzooError(f"--out {out}: cannot write there ({exc.strerror or exc}); choose a "
                          "writable place") from None
    console.print(f"wrote {out}")
    return 0
