"""report.html in a real browser (headless Chromium), and ``ganzoo compare``."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from ganzoo.cli import main

RECIPES = Path(__file__).resolve().parent.parent / "recipes"
SECTIONS = ("summary", "differences", "timeline", "curves", "evaluations", "recipe")


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        if shutil.which(name):
            return shutil.which(name)
    pytest.skip("no Chromium here (Debian: apt-get install chromium; .ci/run installs it)")


def browse(page: Path, *flags: str) -> subprocess.CompletedProcess:
    """Chromium, headless, on ``page``; console messages are logged on stderr."""
    return subprocess.run(
        [chromium(), "--headless=new", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
         "--v=0", "--window-size=1280,2400", *flags, page.resolve().as_uri()],
        capture_output=True, text=True, timeout=120, check=False)


def console_messages(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """The quickstart twice, differing in the loss; the second evaluated during training."""
    root = tmp_path_factory.mktemp("report_runs")
    common = ["train.steps=40", "train.log_every=10", "train.sample_every=20",
              "train.device=cpu"]
    assert main(["run", str(RECIPES / "quickstart.yaml"), *common,
                 f"train.run_dir={root / 'a'}"]) == 0
    assert main(["run", str(RECIPES / "quickstart.yaml"), *common, "loss.name=hinge",
                 "eval.every=20", "eval.n_during_training=200",
                 f"train.run_dir={root / 'b'}"]) == 0
    return root / "a", root / "b"


def test_every_run_writes_its_report(two_runs):
    page = (two_runs[0] / "report.html").read_text()
    for ident in ("summary", "timeline", "curves", "evaluations", "recipe"):
        assert f'<section id="{ident}">' in page
    assert "<script" not in page and "http" not in page.split("<body>")[1]  # self-contained


def test_the_console_check_catches_errors(tmp_path):
    """The check below can fail: a page with a script error shows up in the console log."""
    bad = tmp_path / "bad.html"
    bad.write_text("<html><body><p>x</p><script>throw new Error('boom')</script></body></html>")
    assert any("boom" in m for m in console_messages(browse(bad, "--dump-dom").stderr))


def test_report_of_two_runs_opens_in_chromium(two_runs, tmp_path, capsys):
    out = tmp_path / "report.html"
    assert main(["report", *map(str, two_runs), "--out", str(out)]) == 0
    loaded = browse(out, "--dump-dom")
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert console_messages(loaded.stderr) == []
    dom = loaded.stdout
    for ident in SECTIONS:
        assert f'<section id="{ident}">' in dom, ident
    # both runs' curves: one losses chart holding a line of each run
    losses = re.search(r'<figure class="chart" data-chart="losses">(.*?)</figure>', dom, re.S)
    assert losses is not None
    for run in two_runs:
        assert f"{run.name}: d_loss" in losses.group(1)
    assert dom.count("<polyline") >= 4
    assert "loss.name" in dom and "hinge" in dom  # the keys in which they differ
    # 40 steps in, no sample is near a mode yet: the share is 0 and the KL undefined (not drawn)
    assert "evaluation during training: high_quality_share" in dom
    assert len(re.findall(r'<img alt="samples at step', dom)) >= 4  # 2 + 2 frames

    shot = tmp_path / "shot.png"
    browse(out, f"--screenshot={shot}")
    from PIL import Image, ImageStat

    image = Image.open(shot).convert("L")
    assert image.size == (1280, 2400)
    assert ImageStat.Stat(image).stddev[0] > 10, "the screenshot is blank"
    assert len(image.resize((160, 300)).getcolors(1 << 16) or []) > 20


def test_compare_tables_the_runs_and_their_differences(two_runs, capsys):
    assert main(["compare", *map(str, two_runs)]) == 0
    out = capsys.readouterr().out
    assert "how the recipes differ" in out
    assert re.search(r"loss\.name\s.*nonsaturating\s.*hinge", out)
    assert "best modes_covered (max)" in out
    for run in two_runs:
        assert run.name in out


def test_report_and_compare_refuse_what_is_no_run(tmp_path, capsys):
    assert main(["compare", str(tmp_path)]) == 2
    assert "is not a ganzoo run folder" in capsys.readouterr().err
    assert main(["report", str(tmp_path), "--out", str(tmp_path / "r.html")]) == 2


# ---- the charts: axis titles, and no label outside the chart -----------------------------------

#: an upper bound of a label's width per character at the charts' 11px (DejaVu Sans's digits,
#: the widest of the usual sans-serif fonts, are 0.64 em)
LABEL_CHAR_PX = 7.2


def charts_of(rows: list[dict]) -> dict[str, str]:
    """The report's charts of one run that logged ``rows``, by title."""
    from ganzoo.report import curves

    run = SimpleNamespace(name="run", metrics=rows, evaluations=[])
    html = curves([run])
    return dict(re.findall(r'<figure class=chart data-chart="([^"]+)">(.*?)</figure>', html, re.S))


def texts(svg: str) -> list[tuple[dict[str, str], str]]:
    """Every <text> element: its attributes and its text."""
    found = []
    for attributes, text in re.findall(r"<text ([^>]*)>([^<]*)</text>", svg):
        pairs = re.findall(r'([\w-]+)=(?:"([^"]*)"|(\S+))', attributes)
        found.append(({k: a or b for k, a, b in pairs}, text))
    return found


def long_run() -> list[dict]:
    """20,000 steps of losses and BEGAN's M and k_t, small values with many digits."""
    return [{"step": s, "d_loss": 0.5 - s * 1e-5, "g_loss": -0.000123 + s * 1e-8,
             "M": 0.3 - s * 4e-6, "k_t": s * 2.3e-6, "images_per_s": 800.0}
            for s in range(100, 20_001, 100)]


def test_the_charts_title_both_axes():
    charts = charts_of(long_run())
    assert {"losses", "M", "k_t", "images per second"} <= set(charts)
    expected = {"losses": "loss", "M": "M", "k_t": "k_t", "images per second": "images/s"}
    for title, quantity in expected.items():
        titles = {attrs.get("data-axis"): text for attrs, text in texts(charts[title])
                  if attrs.get("class") == "axis-title"}
        assert titles == {"x": "step", "y": quantity}, title


def test_no_tick_label_reaches_past_the_chart():
    for title, svg in charts_of(long_run()).items():
        width = int(re.search(r'viewBox="0 0 (\d+) ', svg).group(1))
        labels = texts(svg)
        x_ticks = [(float(a["x"]), t) for a, t in labels if a.get("class") == "xtick"]
        last_x, last = max(x_ticks)
        assert last == "20,000", title
        # x tick labels are centred on their tick: the last one's right half fits too
        assert last_x + len(last) * LABEL_CHAR_PX / 2 <= width, title
        # y tick labels end at their x, and start right of the rotated axis title
        y_title = next(a for a, _ in labels if a.get("data-axis") == "y")
        for a, text in labels:
            if a.get("class") == "ytick":
                assert float(a["x"]) - len(text) * LABEL_CHAR_PX >= float(y_title["x"]) + 4, \
                    (title, text)


def test_a_short_run_has_no_two_step_ticks_alike():
    charts = charts_of([{"step": s, "d_loss": 1.0 / s, "g_loss": 0.5} for s in (1, 2, 3)])
    steps = [t for a, t in texts(charts["losses"]) if a.get("class") == "xtick"]
    assert steps == ["1", "2", "3"]
