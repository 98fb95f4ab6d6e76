"""A run's pictures from its files: the timeline of samples (PNG and GIF) and the curves."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ganzoo.engine.runs import RunFolder
from ganzoo.errors import GanzooError

TIMELINE_ROWS = 10
GRID_PADDING = 2  # save_image_grid's padding between images


def plot_run(run: RunFolder) -> list[Path]:
    """Write timeline.png, timeline.gif, losses.png, discriminator.png (and extras.png, where
    the run logged penalties or other values) into the run folder."""
    samples = sorted(run.samples_dir.glob("step_*.png"))
    metrics = run.read_metrics()
    if not samples and not metrics:
        raise GanzooError(f"'{run.path}' has no samples/ pictures and no metrics.jsonl to plot; "
                          "is it a ganzoo run folder?")
    written: list[Path] = []
    if samples:
        frames = [(step_of(p), p) for p in samples]
        meta = run.read_meta()
        written.append(timeline(frames, meta, run.path / "timeline.png"))
        written.append(animation(frames, meta, run.path / "timeline.gif"))
    if metrics:
        written += curves(metrics, run.path)
    return written


def step_of(path: Path) -> int:
    return int(path.stem.split("_")[-1])


def evenly(items: list[Any], k: int) -> list[Any]:
    """At most k items spread over the list, always keeping the first and the last."""
    if len(items) <= k:
        return items
    picks = {round(i * (len(items) - 1) / (k - 1)) for i in range(k)}
    return [items[i] for i in sorted(picks)]


def first_grid_row(path: Path, meta: dict[str, Any]):
    """The top row of a sample grid: the first images of the fixed z, at one step."""
    from PIL import Image

    grid = Image.open(path).convert("RGB")
    height = meta.get("image_shape", [0, 0, 0])[-2] if meta else 0
    if not height:
        return grid
    return grid.crop((0, 0, grid.width, height + 2 * GRID_PADDING))


def font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def timeline(frames: list[tuple[int, Path]], meta: dict[str, Any], out: Path) -> Path:
    """Rows of samples at increasing steps, each labelled with its step, like an epoch gallery."""
    from PIL import Image, ImageDraw

    chosen = evenly(frames, TIMELINE_ROWS)
    if meta.get("sample_kind") == "points":  # whole scatter plots, five to a row
        tiles = [Image.open(p).convert("RGB") for _, p in chosen]
        tiles = [t.resize((t.width // 2, t.height // 2)) for t in tiles]
        cols = min(5, len(tiles))
        w, h = tiles[0].size
        sheet = Image.new("RGB", (cols * w, math.ceil(len(tiles) / cols) * h), "white")
        for i, tile in enumerate(tiles):
            sheet.paste(tile, ((i % cols) * w, (i // cols) * h))
        sheet.save(out)
        return out
    rows = [first_grid_row(p, meta) for _, p in chosen]
    scale = max(1, 96 // max(1, rows[0].height))  # small images are shown larger
    rows = [r.resize((r.width * scale, r.height * scale), Image.NEAREST) for r in rows]
    label_w = 110
    sheet = Image.new("RGB", (label_w + rows[0].width, sum(r.height for r in rows)), "white")
    draw, y = ImageDraw.Draw(sheet), 0
    for (step, _), row in zip(chosen, rows, strict=True):
        sheet.paste(row, (label_w, y))
        draw.text((8, y + row.height // 2 - 8), f"step {step}", fill="black", font=font(16))
        y += row.height
    sheet.save(out)
    return out


def animation(frames: list[tuple[int, Path]], meta: dict[str, Any], out: Path) -> Path:
    """Every sample picture in order, as an animated GIF with the step written on each frame."""
    from PIL import Image, ImageDraw

    images = []
    for step, path in frames:
        frame = Image.open(path).convert("RGB")
        if meta.get("sample_kind") != "points":
            scale = max(1, 480 // frame.width)
            frame = frame.resize((frame.width * scale, frame.height * scale), Image.NEAREST)
            banner = Image.new("RGB", (frame.width, frame.height + 28), "white")
            banner.paste(frame, (0, 28))
            ImageDraw.Draw(banner).text((8, 5), f"step {step}", fill="black", font=font(18))
            frame = banner
        images.append(frame)
    durations = [400] * (len(images) - 1) + [1500]  # linger on the last frame
    images[0].save(out, save_all=True, append_images=images[1:], duration=durations, loop=0)
    return out


#: the values every run logs; anything else logged (penalties, a loss's own terms, an
#: augmentation's p) is drawn in extras.png
STANDARD = {"step", "d_loss", "g_loss", "d_real", "d_fake", "score_real", "score_fake",
            "images_per_s", "elapsed_s"}


def curves(metrics: list[dict[str, Any]], folder: Path) -> list[Path]:
    """losses.png, discriminator.png and, where a run logged more, extras.png (see
    ``curve_figures``), written into ``folder``."""
    import matplotlib.pyplot as plt

    written = []
    for name, fig in curve_figures(metrics).items():
        fig.savefig(folder / name)
        plt.close(fig)
        written.append(folder / name)
    return written


def curve_figures(metrics: list[dict[str, Any]]) -> dict[str, Any]:
    """Matplotlib figures by file name: losses.png (both losses), discriminator.png (mean D(x)
    and D(G(z)), or a critic's raw mean scores) and, where a run logged more, extras.png (one
    panel per value). Drawn off-screen (Agg), except under IPython."""
    from ganzoo.pictures import pyplot

    plt = pyplot()

    probabilities = any("d_real" in r for r in metrics)
    charts = [("losses.png", (("d_loss", "D loss"), ("g_loss", "G loss")), "losses"),
              ("discriminator.png",
               (("d_real", "D(x), real"), ("d_fake", "D(G(z)), generated")) if probabilities
               else (("score_real", "D(x), real"), ("score_fake", "D(G(z)), generated")),
               "mean discriminator output" if probabilities else "mean critic score")]
    figures = {}
    for name, series, title in charts:
        fig, ax = plt.subplots(figsize=(7, 3.6), dpi=100)
        for key, label in series:
            ax.plot(*points(metrics, key), label=label, linewidth=1.2)
        if name == "discriminator.png" and probabilities:
            ax.axhline(0.5, color="grey", linewidth=0.8, linestyle="--")
            ax.set_ylim(0, 1)
        finish(fig, ax, title)
        figures[name] = fig
    extras = sorted({key for r in metrics for key in r} - STANDARD)
    if extras:
        fig, axes = plt.subplots(len(extras), 1, figsize=(7, 2.2 * len(extras) + 0.6), dpi=100,
                                 squeeze=False)
        for ax, key in zip(axes[:, 0], extras, strict=True):
            ax.plot(*points(metrics, key), linewidth=1.2)
            ax.set_title(key, fontsize=10)
            ax.grid(alpha=0.3)
        axes[-1, 0].set_xlabel("step")
        fig.tight_layout()
        figures["extras.png"] = fig
    return figures


def points(metrics: list[dict[str, Any]], key: str) -> tuple[list[int], list[float]]:
    """(steps, values) of the records that hold ``key`` (a lazy penalty is not on every line)."""
    kept = [r for r in metrics if isinstance(r.get(key), int | float)]
    return [r["step"] for r in kept], [r[key] for r in kept]


def finish(fig: Any, ax: Any, title: str) -> None:
    ax.set_xlabel("step")
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
