"""How a run shows in a notebook (``Run._repr_html_``): its name and what it trains, the steps
done, the newest logged values and evaluations, and its newest sample picture. Everything read
from the run folder is escaped, and only regular files inside it are embedded."""

from __future__ import annotations

import base64
import html
from typing import Any

#: the evaluations shown, newest last
SHOWN_EVALUATIONS = 3
#: the width the sample picture is drawn at, in CSS pixels
PICTURE_WIDTH = 384


def run_html(run: Any) -> str:
    """A small HTML card of the run (a ``ganzoo.run.Run``)."""
    parts = [f"<div><b>{text(run.name)}</b> <code>{text(run.path)}</code>",
             f"<div>{text(what_it_trains(run))}</div>"]
    metrics = run.metrics
    total = run.recipe.train.steps
    parts.append(f"<div>checkpointed at step {run.steps:,} of {total:,}; "
                 f"logged to step {metrics[-1]['step'] if metrics else 0:,}</div>")
    if metrics:
        last = {k: v for k, v in metrics[-1].items() if k not in ("step", "elapsed_s")}
        parts.append(table(["value", "at the last log step"], list(last.items())))
    evaluations = run.evaluations[-SHOWN_EVALUATIONS:]
    if evaluations:
        rows = [(f"{e['source']} (step {e.get('step')})", ", ".join(
            f"{k} {number(v)}" for k, v in e["metrics"].items() if k != "step"))
            for e in evaluations]
        parts.append(table(["evaluation", "metrics"], rows))
    pictures = run.folder.sample_pictures()
    picture = pictures[-1] if pictures else None
    if picture is not None:
        encoded = base64.b64encode(picture.read_bytes()).decode("ascii")
        parts.append(f'<div><img src="data:image/png;base64,{encoded}" width="{PICTURE_WIDTH}"'
                     f' style="image-rendering: pixelated" alt="{text(picture.name)}"/>'
                     f"<div>{text(picture.name)}</div></div>")
    return "\n".join([*parts, "</div>"])


def what_it_trains(run: Any) -> str:
    from ganzoo.recipe import describe

    try:
        return describe(run.recipe, run.registry)
    except Exception:  # a recipe this install cannot compose: show the card without it
        return "(its recipe cannot be read with the plugins installed here)"


def table(header: list[str], rows: list[tuple[Any, Any]]) -> str:
    head = "".join(f"<th style='text-align:left'>{text(h)}</th>" for h in header)
    body = "".join(f"<tr><td>{text(a)}</td><td style='text-align:left'>{text(number(b))}</td></tr>"
                   for a, b in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def text(value: Any) -> str:
    return html.escape(str(value))
