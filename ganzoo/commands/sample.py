"""``ganzoo sample`` and ``ganzoo interpolate``: using a trained generator."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ganzoo.commands.common import console, load_registry_with_warnings
from ganzoo.errors import GanzooError

if TYPE_CHECKING:
    from ganzoo.interfaces import Generator


def sampling_generator(args: argparse.Namespace, command: str) -> tuple[Generator, dict[str, Any]]:
    """The run's generator and its sampling options from the flags (--truncation), checked:
    an option it does not declare, or a recipe override (which cannot change a trained G),
    is one line."""
    from ganzoo.run import generator_name, refuse_trained_overrides, role_kinds
    from ganzoo.sampling import load_generator

    registry = load_registry_with_warnings()
    G, state, _ = load_generator(args.target, registry, not args.no_ema, args.device)
    refuse_trained_overrides(getattr(args, "overrides", ()), role_kinds(state, registry),
                             command, allowed=())
    options = G.check_sampling_options({"truncation": args.truncation}, generator_name(state))
    return G, options


def sample(args: argparse.Namespace) -> int:
    if args.n <= 0:
        raise GanzooError(f"--n: must be greater than 0 (got {args.n})")
    from ganzoo.sampling import check_fits_in_memory, class_labels, generate, write_samples

    G, options = sampling_generator(args, "sample")
    check_fits_in_memory(args.n, tuple(G.image_shape), "--n")
    labels = class_labels(G, args.n, args.label)
    condition = labels
    if args.text is not None:
        from ganzoo.run import check_takes_text, load_text_encoder

        check_takes_text(G, "--text")
        encoder = load_text_encoder(args.target, load_registry_with_warnings(), args.device)
        condition = encoder.embed_captions(args.text, args.n, "--text")
    with G.sampling(**options):
        samples = generate(G, args.n, args.seed, labels=condition)
    console.print(f"wrote {write_samples(samples, Path(args.out), labels)}")
    return 0


def interpolate(args: argparse.Namespace) -> int:
    if args.rows <= 0 or args.steps < 2:
        raise GanzooError("--rows must be at least 1 and --steps at least 2")
    from ganzoo.pictures import save_image_grid
    from ganzoo.sampling import check_fits_in_memory, code_traversal, interpolation_grid

    out = Path(args.out)
    check_picture_path(out)
    G, options = sampling_generator(args, "interpolate")
    check_fits_in_memory(args.rows * args.steps, tuple(G.image_shape), "--rows x --steps")
    with G.sampling(**options):
        if args.code is None:
            grid, columns = interpolation_grid(G, args.rows, args.steps, args.seed,
                                               args.label), args.steps
        else:
            grid, columns = code_traversal(G, args.code, args.rows, args.steps, args.seed,
                                           args.label)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        save_image_grid(grid, out, nrow=columns)
    except OSError as exc:
        raise GanzooError(f"--out {out}: cannot write there ({exc.strerror or exc}); choose a "
                          "writable place") from None
    console.print(f"wrote {out}")
    return 0


def check_picture_path(out: Path) -> None:
    """--out names a picture file whose format its extension says (.png, .jpg, .webp ...)."""
    from PIL import Image

    if out.is_dir():
        raise GanzooError(f"--out {out}: is a folder; name the picture file to write, e.g. "
                          f"{out / 'walk.png'}")
    known = Image.registered_extensions()
    if out.suffix.lower() not in known:
        raise GanzooError(f"--out {out}: {out.suffix or 'no extension'} is no picture format; "
                          "end the name with .png (or .jpg, .webp)")
