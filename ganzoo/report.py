"""``report.html``: one self-contained page per run (or several runs side by side).

No network and no script: the pictures are embedded as data URIs and the curves are drawn
here as inline SVG, so the file opens anywhere, offline, and can be mailed or archived as it is.
Sections: summary, differences (several runs), samples over training, curves, evaluations,
recipe.
"""

from __future__ import annotations

import base64
import contextlib
import html
import math
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

import ganzoo
from ganzoo.errors import GanzooError
from ganzoo.run import Run
from ganzoo.summary import BOOKKEEPING, differing_keys, format_value, summarize, summary_rows

#: the colours of runs (several runs) or of series (one run): Okabe & Ito's, colour-blind safe
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
           "#000000")
DASHES = ("", "6 3", "2 2", "8 3 2 3")
#: curves drawn together, in this order, with the title of their value axis; every other
#: logged value gets a chart of its own, its value axis titled with its name
GROUPS = (("losses", ("d_loss", "g_loss"), "loss"),
          ("mean D(x) and D(G(z))", ("d_real", "d_fake"), "mean D output"),
          ("mean raw scores of D on real and generated", ("score_real", "score_fake"),
           "mean score"))
TIMELINE_FRAMES = 8
#: the font size of the charts' tick labels and axis titles (px), and an upper bound of a
#: character's width in it (DejaVu Sans's digits, the widest of the usual sans-serif fonts, are
#: 0.64 em): the margins are made wide enough for the labels, so that none is clipped
CHART_FONT = 11
CHAR_WIDTH = 0.65 * CHART_FONT


#: the tag that marks a page as a report of ours: only a file holding it is ever replaced
GENERATOR_TAG = '<meta name="generator" content="ganzoo report">'
#: the header line of the reports written before the tag (``<p class=meta>ganzoo 0.4 report of``)
LEGACY_HEADER = re.compile(r"<p class=meta>ganzoo [^<\s]+ report of ")
#: how much of a file is read to recognise a report: the tag is in its head, the header
#: line right after the style sheet
SNIFF_BYTES = 64 * 1024


class NotAReport(GanzooError):
    """``path`` exists and is not a report ganzoo wrote: it is left as it is. ``reason``
    says why and what to do, without the path."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = path, reason


def write_report(runs: Sequence[Run], out: str | Path) -> Path:
    """Write the report of ``runs`` to ``out`` (atomically); its path. An existing ``out`` is
    replaced only where it is a report ganzoo wrote (``NotAReport`` otherwise), so that a
    mistyped ``--out`` never costs a run its metrics or anything else."""
    out = Path(out)
    refuse_what_is_no_report(out)
    page = render(list(runs))
    fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    tmp = Path(name)
    try:
        with open(fd, "w", encoding="utf-8") as f:
            f.write(page)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # as an ordinary new file (mkstemp's is private)
        refuse_what_is_no_report(out)  # written meanwhile (rendering takes a moment)
        os.replace(tmp, out)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
    return out


def refuse_what_is_no_report(out: Path) -> None:
    """Raise NotAReport where ``out`` exists and is not a report of ours (nor of an older
    ganzoo, which wrote no tag)."""
    if not os.path.lexists(out):
        return
    if out.is_dir():
        raise NotAReport(out, "is a folder; name the HTML file to write, such as "
                              f"{out / 'report.html'}")
    if not is_report(out):
        raise NotAReport(out, "exists and is not a report ganzoo wrote, so it is left as it "
                              "is; name a new file, or move that one away first")


def is_report(path: Path) -> bool:
    """Whether ``path`` is a report that ganzoo wrote (and so may be replaced)."""
    try:
        with open(path, "rb") as f:
            head = f.read(SNIFF_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return False
    if not head.lstrip().lower().startswith("<!doctype html>"):
        return False
    return GENERATOR_TAG in head.split("</head>", 1)[0] or bool(LEGACY_HEADER.search(head))


def render(runs: list[Run]) -> str:
    title = runs[0].name if len(runs) == 1 else f"{len(runs)} runs compared"
    body = [f"<h1>{esc(title)}</h1>",
            f"<p class=meta>ganzoo {esc(ganzoo.__version__)} report of "
            f"{', '.join(f'<code>{esc(str(r.path))}</code>' for r in runs)}</p>",
            section("summary", "Summary", summary_table(runs))]
    if len(runs) > 1:
        body.append(section("differences", "How the recipes differ", differences_table(runs)))
    body += [section("timeline", "Samples over training", "".join(timeline(r) for r in runs)),
             section("curves", "Curves", curves(runs)),
             section("evaluations", "Evaluations", "".join(evaluations(r) for r in runs)),
             section("recipe", "Recipe", "".join(recipe_block(r) for r in runs))]
    return PAGE.format(title=esc(title), style=STYLE, body="\n".join(body),
                       generator=GENERATOR_TAG)


def esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def section(ident: str, heading: str, content: str) -> str:
    return f'<section id="{ident}"><h2>{esc(heading)}</h2>\n{content}\n</section>'


def run_label(runs: list[Run], i: int) -> str:
    colour = COLOURS[i % len(COLOURS)]
    return f'<span class=swatch style="background:{colour}"></span>{esc(runs[i].name)}'


def table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


# ---- summary and differences -----------------------------------------------------------------

def summary_table(runs: list[Run]) -> str:
    rows = summary_rows([summarize(r) for r in runs])
    header = ["", *[run_label(runs, i) for i in range(len(runs))]]
    return table(header, [[esc(label), *map(esc, values)] for label, values in rows])


def differences_table(runs: list[Run]) -> str:
    differing = differing_keys(runs)
    if not differing:
        return "<p>The recipes are the same (apart from their run folders).</p>"
    rows = [[f"<code>{esc(key)}</code>", *[esc(format_value(v)) for v in values]]
            for key, values in differing.items()]
    return table(["key", *[run_label(runs, i) for i in range(len(runs))]], rows)


# ---- pictures ----------------------------------------------------------------------------------

def data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def timeline(run: Run) -> str:
    """The sample pictures at up to TIMELINE_FRAMES steps, first and last included."""
    from ganzoo.plots import evenly, step_of

    frames = evenly(run.folder.sample_pictures(), TIMELINE_FRAMES)
    if not frames:
        return f"<h3>{esc(run.name)}</h3><p>No sample pictures.</p>"
    figures = "".join(f'<figure><img alt="samples at step {step_of(p)}" src="{data_uri(p)}">'
                      f"<figcaption>step {step_of(p):,}</figcaption></figure>" for p in frames)
    return f"<h3>{esc(run.name)}</h3><div class=frames>{figures}</div>"


def curves(runs: list[Run]) -> str:
    """One chart per group of logged values, every run in it; then evaluations over steps."""
    tables = [r.metrics for r in runs]
    logged = [k for rows in tables for row in rows for k, v in row.items()
              if k not in BOOKKEEPING and isinstance(v, int | float)]
    names = list(dict.fromkeys(logged))
    charts, grouped = [], set()
    for title, keys, quantity in GROUPS:
        present = [k for k in keys if k in names]
        if present:
            charts.append(chart(title, runs, tables, present, quantity))
            grouped.update(present)
    for name in names:
        if name not in grouped:
            charts.append(chart(name, runs, tables, [name], name))
    if any(row.get("images_per_s") for rows in tables for row in rows):
        charts.append(chart("images per second", runs, tables, ["images_per_s"], "images/s"))
    during = [[e["metrics"] for e in r.evaluations if e["source"] == "training"] for r in runs]
    evaluated = list(dict.fromkeys(k for rows in during for row in rows for k, v in row.items()
                                   if k not in ("step", "score") and isinstance(v, int | float)))
    for name in evaluated:
        charts.append(chart(f"evaluation during training: {name}", runs, during, [name],
                            name))
    if not charts:
        return "<p>Nothing was logged.</p>"
    return f"<div class=charts>{''.join(charts)}</div>"


def chart(title: str, runs: list[Run], tables: list[list[dict[str, Any]]],
          keys: list[str], quantity: str, width: int = 560, height: int = 260) -> str:
    """An SVG line chart of ``keys`` against the step, for every run, its axes titled "step"
    and ``quantity``. One run: a colour per key; several runs: a colour per run and a dash
    pattern per key."""
    series = []
    for i, rows in enumerate(tables):
        for j, key in enumerate(keys):
            points = [(row["step"], row.get(key)) for row in rows if "step" in row]
            if any(isinstance(y, int | float) for _, y in points):
                colour = COLOURS[(j if len(runs) == 1 else i) % len(COLOURS)]
                dash = DASHES[j % len(DASHES)] if len(runs) > 1 else ""
                label = key if len(runs) == 1 else f"{runs[i].name}: {key}"
                series.append((label, colour, dash, points))
    if not series:
        return ""
    xs = [x for *_, pts in series for x, _ in pts]
    ys = [y for *_, pts in series for _, y in pts if isinstance(y, int | float)
          and math.isfinite(y)]
    if not ys:
        return ""
    x0, x1 = min(xs), max(max(xs), min(xs) + 1)
    y0, y1 = nice_range(min(ys), max(ys))
    y_ticks = [(tick, format_value(float(tick))) for tick in ticks(y0, y1)]
    x_ticks = [(tick, f"{int(tick):,}") for tick in ticks(x0, x1, whole=True)]
    # room for the value axis's title, then its widest tick label; on the right, for half of
    # the last step label, centred on the plot's edge
    title_room = CHART_FONT + 8
    left = round(title_room + 6 + max(text_width(label) for _, label in y_ticks) + 6)
    right = max(12, round(text_width(x_ticks[-1][1]) / 2 + 4)) if x_ticks else 12
    top, bottom = 28, 2 * CHART_FONT + 20

    def px(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * (width - left - right)

    def py(y: float) -> float:
        return top + (y1 - y) / (y1 - y0) * (height - top - bottom)

    parts = [f'<text x="{left}" y="16" class=title>{esc(title)}</text>']
    for tick, label in y_ticks:
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{py(tick):.1f}" '
                     f'y2="{py(tick):.1f}" class=grid />'
                     f'<text x="{left - 6}" y="{py(tick) + 4:.1f}" class=ytick>'
                     f"{esc(label)}</text>")
    for tick, label in x_ticks:
        parts.append(f'<text x="{px(tick):.1f}" y="{height - bottom + 16}" class=xtick>'
                     f"{esc(label)}</text>")
    middle_x, middle_y = (left + width - right) / 2, (top + height - bottom) / 2
    parts.append(f'<text class="axis-title" data-axis="x" x="{middle_x:.1f}" '
                 f'y="{height - 6}">step</text>')
    parts.append(f'<text class="axis-title" data-axis="y" x="{title_room - 4}" '
                 f'y="{middle_y:.1f}" transform="rotate(-90 {title_room - 4} {middle_y:.1f})">'
                 f"{esc(quantity)}</text>")
    for label, colour, dash, points in series:
        for segment in segments(points):
            coords = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in segment)
            if len(segment) == 1:
                x, y = segment[0]
                parts.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.5" '
                             f'fill="{colour}"><title>{esc(label)}</title></circle>')
                continue
            parts.append(f'<polyline points="{coords}" fill="none" stroke="{colour}" '
                         f'stroke-width="1.6" stroke-dasharray="{dash}">'
                         f"<title>{esc(label)}</title></polyline>")
    legend = "".join(f'<span><svg width="22" height="8"><line x1="0" x2="22" y1="4" y2="4" '
                     f'stroke="{c}" stroke-width="2" stroke-dasharray="{d}"/></svg>'
                     f"{esc(label)}</span>" for label, c, d, _ in series)
    svg = (f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
           f'role="img" aria-label="{esc(title)}">{"".join(parts)}</svg>')
    return f'<figure class=chart data-chart="{esc(title)}">{svg}<div class=legend>{legend}</div>' \
           "</figure>"


def text_width(text: str) -> float:
    """An upper bound of the width of a chart label in pixels."""
    return len(text) * CHAR_WIDTH


def segments(points: list[tuple[float, Any]]) -> list[list[tuple[float, float]]]:
    """Runs of finite values: a missing or non-finite value (null in metrics.jsonl) breaks the
    line instead of being drawn as zero."""
    out: list[list[tuple[float, float]]] = [[]]
    for x, y in points:
        if isinstance(y, int | float) and math.isfinite(y):
            out[-1].append((x, float(y)))
        elif out[-1]:
            out.append([])
    return [s for s in out if s]


def nice_range(low: float, high: float) -> tuple[float, float]:
    if high - low < 1e-12:
        pad = abs(high) * 0.1 or 1.0
        return low - pad, high + pad
    pad = (high - low) * 0.05
    return low - pad, high + pad


def ticks(low: float, high: float, count: int = 5, whole: bool = False) -> list[float]:
    """About ``count`` round values between low and high (1, 2 or 5 times a power of ten);
    ``whole``: whole numbers only (steps), so that no two ticks read the same."""
    span = high - low
    raw = max(span / count, 1.0) if whole else span / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step) + 1)]


# ---- evaluations and recipe --------------------------------------------------------------------

def evaluations(run: Run) -> str:
    found = run.evaluations
    if not found:
        return (f"<h3>{esc(run.name)}</h3><p>Not evaluated: <code>ganzoo eval "
                f"{esc(str(run.path))}</code> measures it.</p>")
    parts = [f"<h3>{esc(run.name)}</h3>"]
    during = [e for e in found if e["source"] == "training"]
    if during:
        keys = [k for k in during[-1]["metrics"] if k != "step"]
        rows = [[f"{e['step']:,}", *[esc(format_value(e["metrics"].get(k))) for k in keys]]
                for e in during]
        parts.append("<p>During training (eval.every), with the recipe's eval section:</p>"
                     + table(["step", *map(esc, keys)], rows))
    for e in found:
        if e["source"] == "training":
            continue
        values = table(["metric", "value"], [[esc(k), esc(format_value(v))]
                                            for k, v in e["metrics"].items()])
        protocol = table(["protocol", ""], [[esc(k), esc(format_value(v))]
                                            for k, v in e["protocol"].items()])
        notes = "".join(f"<p class=note>{esc(n)}</p>" for n in e.get("notes", []))
        parts.append(f"<h4>{esc(e['source'])}</h4><div class=pair>{values}{protocol}</div>"
                     f"{notes}")
    return "".join(parts)


def recipe_block(run: Run) -> str:
    text = OmegaConf.to_yaml(run.recipe, resolve=True)
    return f"<h3>{esc(run.name)}</h3><pre>{esc(text)}</pre>"


STYLE = """
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;max-width:1200px;
padding:0 24px 48px;color:#1b1b1b;background:#fff}
h1{font-size:26px;margin:28px 0 2px}
h2{border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:36px}
h3{margin:20px 0 8px}.meta{color:#666;margin:0}
table{border-collapse:collapse;margin:8px 0;font-variant-numeric:tabular-nums}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f5f5f5}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px}
.frames{display:flex;flex-wrap:wrap;gap:10px}.frames figure{margin:0;text-align:center}
.frames img{max-width:260px;image-rendering:pixelated;border:1px solid #eee}
figcaption{font-size:13px;color:#555}
.charts{display:flex;flex-wrap:wrap;gap:18px}.chart{margin:0}
.chart svg{background:#fcfcfc;border:1px solid #eee}
.title{font-weight:600;font-size:13px}.grid{stroke:#e6e6e6}
.ytick{font-size:11px;text-anchor:end;fill:#555}.xtick{font-size:11px;text-anchor:middle;fill:#555}
.axis-title{font-size:11px;text-anchor:middle;fill:#333}
.legend{font-size:12px;display:flex;flex-wrap:wrap;gap:12px;max-width:560px}
.legend svg{margin-right:4px;vertical-align:middle}
.pair{display:flex;gap:18px;flex-wrap:wrap}.note{color:#8a5a00}
pre{background:#f7f7f7;padding:12px;overflow:auto;font-size:13px}
"""

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{generator}
<title>{title}</title>
<style>{style}</style>
</head>
<body>
{body}
</body>
</html>
"""
