"""report.html in a real browser (headless Chromium), and ``ganzoo compare``."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

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
