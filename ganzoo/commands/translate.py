"""``ganzoo translate``: a generator with an input, applied to images of the user's."""

from __future__ import annotations

import argparse
from pathlib import Path

from ganzoo.commands.common import console, load_registry_with_warnings


def translate(args: argparse.Namespace) -> int:
    from ganzoo.exports import is_export, load_exported
    from ganzoo.sampling import load_generator, write_samples
    from ganzoo.translation import read_inputs, translate

    if is_export(Path(args.target)):  # an export folder holds one generator
        G = load_exported(args.target, "cpu" if args.device == "auto" else args.device)
    else:
        G, _, _ = load_generator(args.target, load_registry_with_warnings(), not args.no_ema,
                                 args.device, role=args.role)
    images = read_inputs(args.input)
    out = translate(G, images, batch_size=args.batch_size)
    console.print(f"wrote {write_samples(out, Path(args.out))}")
    return 0
