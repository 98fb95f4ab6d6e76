"""Nothing a run or a command wrote is lost, and no lost value goes unnoticed: a report never
overwrites a file it did not write, a second evaluation keeps the first, a NaN score never
becomes the best, and a NaN statistic stops the run."""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import pytest
import torch
from helpers import one_line_error

from ganzoo import hookimpl, plugins
from ganzoo.cli import main
from ganzoo.interfaces import Metric, Regularizer
from ganzoo.plugins import load_registry

RECIPES = Path(__file__).resolve().parent.parent / "recipes"
TINY = ["train.device=cpu", "generator.hidden_dims=[16]", "discriminator.hidden_dims=[16]"]


def quickstart(run: Path, *overrides: str) -> list[str]:
    return ["run", str(RECIPES / "quickstart.yaml"), *TINY, *overrides, f"train.run_dir={run}"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A tiny quickstart run of 20 steps (copy it before changing it)."""
    run = tmp_path_factory.mktemp("lost") / "qs"
    assert main(quickstart(run, "train.steps=20")) == 0
    return run


@pytest.fixture
def run(trained, tmp_path) -> Path:
    copy = tmp_path / "qs"
    shutil.copytree(trained, copy)
    (copy / "run.lock").unlink(missing_ok=True)
    return copy


def use_registry(monkeypatch, **extra) -> None:
    registry = load_registry(extra_plugins=extra)
    monkeypatch.setattr(plugins, "load_registry", lambda extra_plugins=None: registry)


# ---- 1. a report replaces only a report ------------------------------------------------------

def test_report_refuses_to_overwrite_the_runs_metrics(run, capsys):
    metrics = run / "metrics.jsonl"
    before = metrics.read_bytes()
    err = one_line_error(capsys, ["report", str(run), "--out", str(metrics)], "--out")
    assert str(metrics) in err and "not a report" in err
    assert metrics.read_bytes() == before
    assert not list(run.glob(".*.tmp"))
    folder = run / "samples"  # a folder is no report either
    one_line_error(capsys, ["report", str(run), "--out", str(folder)], "--out")
    assert folder.is_dir()


def test_report_replaces_a_report_it_wrote(run, tmp_path, capsys):
    out = tmp_path / "r.html"
    assert main(["report", str(run), "--out", str(out)]) == 0
    first = out.read_text()
    assert '<meta name="generator" content="ganzoo report">' in first
    assert main(["eval", str(run), "--n", "300"]) == 0
    assert main(["report", str(run), "--out", str(out)]) == 0  # replaced: now evaluated
    assert out.read_text() != first and "n_mode_samples" in out.read_text()
    assert main(["report", str(run), "--out", str(run / "report.html")]) == 0  # the run's own
    assert not list(tmp_path.glob(".*.tmp")) and not list(run.glob(".*.tmp"))


def test_a_run_leaves_a_report_html_it_did_not_write(run, capsys):
    page = run / "report.html"
    page.write_text("my own notes\n")
    capsys.readouterr()
    assert main(["resume", str(run), "train.steps=30"]) == 0
    out = " ".join(capsys.readouterr().out.split())  # as one line, however it was wrapped
    assert page.read_text() == "my own notes\n"
    assert "report.html" in out and "not a report" in out
    assert (run / "checkpoints" / "step_0000030.pt").is_file()


def test_a_report_of_an_older_ganzoo_is_still_replaced(run, capsys):
    """Reports written before the generator tag are recognised by their header line."""
    page = run / "report.html"
    old = page.read_text().replace('<meta name="generator" content="ganzoo report">\n', "")
    assert "ganzoo report" not in old.split("<body>")[0]
    page.write_text(old)
    assert main(["report", str(run), "--out", str(page)]) == 0
    assert '<meta name="generator" content="ganzoo report">' in page.read_text()


# ---- 2. every evaluation of a checkpoint is kept --------------------------------------------

class Constant(Metric):
    def __init__(self, name: str, value: float):
        self.name, self.value = name, value
        self.directions = {name: "min"}

    def compute(self, ctx):
        return {self.name: self.value}


class TwoMetrics:
    @hookimpl
    def ganzoo_register_metrics(self, register):
        def alpha(options):
            """a constant (tests only)"""
            return Constant("alpha", 0.25)

        def beta(options):
            """another constant (tests only)"""
            return Constant("beta", 0.75)

        register("alpha", alpha)
        register("beta", beta)


def test_a_second_eval_of_a_checkpoint_keeps_the_first(run, capsys, monkeypatch):
    import ganzoo

    use_registry(monkeypatch, two=TwoMetrics())
    assert main(["eval", str(run), "--metrics", "alpha", "--n", "400"]) == 0
    assert main(["eval", str(run), "--metrics", "beta", "--n", "600"]) == 0
    out = capsys.readouterr().out
    first = run / "checkpoints" / "step_0000020.eval.json"
    assert f"saved {first}" in out  # the first keeps the name it always had
    evaluations = [e for e in ganzoo.load_run(run).evaluations if e["source"] != "training"]
    assert [e["protocol"]["metrics"] for e in evaluations] == [["alpha", "modes"],
                                                              ["beta", "modes"]]
    assert [e["protocol"]["n_mode_samples"] for e in evaluations] == [400, 600]
    assert "alpha" in evaluations[0]["metrics"] and "beta" in evaluations[1]["metrics"]
    assert len({e["source"] for e in evaluations}) == 2
    assert all(e["step"] == 20 for e in evaluations)

    page = run / "both.html"
    assert main(["report", str(run), "--out", str(page)]) == 0
    html = page.read_text()
    assert "<td>alpha</td>" in html and "<td>beta</td>" in html
    assert "<td>alpha (newest eval)</td>" in html and "<td>beta (newest eval)</td>" in html
    capsys.readouterr()
    assert main(["compare", str(run)]) == 0
    table = capsys.readouterr().out
    assert re.search(r"alpha \(newest eval\)\s.*0\.25", table)
    assert re.search(r"beta \(newest eval\)\s.*0\.75", table)
    assert "best alpha (min)" in table and "best beta (min)" in table
    model = run.parent / "model-both"
    assert main(["export", str(run), "--out", str(model)]) == 0
    card = (model / "README.md").read_text()
    assert "| alpha |" in card and "| beta |" in card  # the card shows both, each protocol
    assert card.count("Protocol:") == 2


def test_evaluations_read_both_forms_of_a_saved_result(run):
    """A file of one result (as every ganzoo wrote it) and a file holding a list of them."""
    import ganzoo

    result = {"metrics": {"alpha": 0.5}, "directions": {"alpha": "min"}, "notes": [],
              "protocol": {"step": 20, "n": 1}}
    folder = run / "checkpoints"
    (folder / "step_0000020.eval.json").write_text(json.dumps(result))
    (folder / "best.eval.json").write_text(json.dumps([
        {**result, "metrics": {"alpha": 0.4}}, {**result, "metrics": {"beta": 0.3}}]))
    found = [e for e in ganzoo.load_run(run).evaluations if e["source"] != "training"]
    assert [e["metrics"] for e in found] == [{"alpha": 0.4}, {"beta": 0.3}, {"alpha": 0.5}]
    assert len({e["source"] for e in found}) == 3


def test_saving_a_result_never_replaces_one(tmp_path):
    from ganzoo.evaluation import save_result

    target = tmp_path / "step_0000005.eval.json"
    paths = [save_result({"metrics": {"i": i}, "protocol": {}, "notes": []}, target)
             for i in range(3)]
    assert paths[0] == target and len(set(paths)) == 3
    assert [json.loads(p.read_text())["metrics"]["i"] for p in paths] == [0, 1, 2]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)


# ---- 3. a NaN (or infinite) score never becomes the best ------------------------------------

SCORES = {10: math.nan, 20: math.inf, 30: 2.0, 40: 3.0}


class ByStep(Metric):
    directions = {"wobble": "min"}

    def compute(self, ctx):
        return {"wobble": SCORES[ctx.protocol["step"]]}


class ByStepPlugin:
    @hookimpl
    def ganzoo_register_metrics(self, register):
        def build(options):
            """NaN, then inf, then numbers, by step (tests only)"""
            return ByStep()

        register("wobble", build)


EVAL = ["eval.every=10", "eval.metrics=[wobble]", "eval.best=wobble:min",
        "eval.n_during_training=100"]


def best_state(run: Path) -> dict:
    return torch.load(run / "checkpoints" / "best.pt", map_location="cpu", weights_only=True)


def test_a_nan_score_never_becomes_the_best(tmp_path, monkeypatch):
    use_registry(monkeypatch, wobble=ByStepPlugin())
    run = tmp_path / "nan"
    assert main(quickstart(run, "train.steps=40", "train.log_every=10", *EVAL)) == 0
    scores = [json.loads(line)["score"] for line in (run / "eval.jsonl").read_text().split("\n")
              if line]
    assert scores == [None, None, 2.0, 3.0]  # NaN and inf are written as null
    best = best_state(run)
    assert best["step"] == 30 and best["best_score"] == 2.0


def test_a_resumed_run_replaces_a_nan_best(run, monkeypatch):
    """A checkpoint written before this fix may carry a NaN best score: a number replaces it."""
    from ganzoo.files import save_atomic

    use_registry(monkeypatch, wobble=ByStepPlugin())
    path = run / "checkpoints" / "step_0000020.pt"
    state = torch.load(path, map_location="cpu", weights_only=True)
    save_atomic({**state, "best_score": math.nan}, path)
    assert main(["resume", str(run), "train.steps=30", *EVAL]) == 0
    best = best_state(run)
    assert best["step"] == 30 and best["best_score"] == 2.0


# ---- 4. a NaN statistic stops the run -------------------------------------------------------

class NaNAfterTen(Regularizer):
    """A penalty that is 0 for ten steps, then NaN (without a gradient: weight 0 keeps the
    losses and the weights finite)."""

    def penalty(self, ctx):
        value = math.nan if ctx.step > 10 else 0.0
        return torch.tensor(value)  # a 0-d tensor joins a loss on any device


class NaNPenaltyPlugin:
    @hookimpl
    def ganzoo_register_regularizers(self, register):
        def build(options):
            """NaN after step 10 (tests only)"""
            return NaNAfterTen()

        register("nan_penalty", build)


def test_a_nan_statistic_stops_the_run(tmp_path, capsys, monkeypatch):
    use_registry(monkeypatch, nanpen=NaNPenaltyPlugin())
    run = tmp_path / "nanpen"
    argv = quickstart(run, "train.steps=40", "train.log_every=5", "train.checkpoint_every=10",
                      "regularizers=[{name: nan_penalty, weight: 0}]")
    err = one_line_error(capsys, argv, "nan_penalty is nan at step 15")
    assert "d_loss" not in err
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [5, 10, 15]
    assert rows[-1]["nan_penalty"] is None  # logged (NaN is written as null) ...
    assert all(math.isfinite(r[k]) for r in rows for k in ("d_loss", "g_loss"))  # ... alone
    checkpoints = sorted(p.name for p in (run / "checkpoints").glob("step_*.pt"))
    assert checkpoints == ["step_0000010.pt"]  # the last good one is kept
    assert not (run / "report.html").exists()


def test_compare_takes_no_nan_for_the_best(run):
    from ganzoo.run import Run
    from ganzoo.summary import summarize

    folder = run / "checkpoints"
    for i, value in enumerate((math.nan, 0.5)):
        (folder / f"step_000002{i}.eval.json").write_text(json.dumps(
            {"metrics": {"alpha": value}, "directions": {"alpha": "min"}, "notes": [],
             "protocol": {"step": 20 + i}}))
    summary = summarize(Run(run))
    assert summary.best["alpha"] == 0.5 and summary.evaluation["alpha"] == 0.5


# ---- exports: never a mix of two, never another run's weights --------------------------------

def test_two_exports_into_one_folder_at_once_leave_one_whole(run, tmp_path, capsys,
                                                             monkeypatch):
    """The second export finishes while the first is still writing: the first is refused in
    one line and leaves nothing of its own in the folder, which holds the second alone."""
    import ganzoo.exports as exports

    out = tmp_path / "model"
    other = tmp_path / "other"
    assert main(quickstart(other, "train.steps=10", "train.seed=7")) == 0
    real_save = exports.save_weights

    def save_then_race(G, path):  # another export into the same folder gets there first
        monkeypatch.setattr(exports, "save_weights", real_save)
        assert main(["export", str(other), "--out", str(out)]) == 0
        return real_save(G, path)

    monkeypatch.setattr(exports, "save_weights", save_then_race)
    capsys.readouterr()
    one_line_error(capsys, ["export", str(run), "--out", str(out)],
                   f"--out {out}: another export filled it while this one was being written")
    card = (out / "README.md").read_text()
    assert f"# {other.name}" in card and f"# {run.name}" not in card
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".model")) == []


def test_export_refuses_a_checkpoint_of_another_run(run, tmp_path, capsys):
    other = tmp_path / "wider"
    assert main(["run", str(RECIPES / "quickstart.yaml"), "train.device=cpu", "train.steps=10",
                 "generator.hidden_dims=[32]", "discriminator.hidden_dims=[16]",
                 f"train.run_dir={other}"]) == 0
    foreign = other / "checkpoints" / "step_0000010.pt"
    one_line_error(capsys, ["export", str(run), "--checkpoint", str(foreign), "--out",
                            str(tmp_path / "mixed")],
                   f"--checkpoint {foreign}: not a checkpoint of this run (generator.hidden_dims")
    assert not (tmp_path / "mixed").exists()
    best = next((run / "checkpoints").glob("step_*.pt"))  # its own: fine
    assert main(["export", str(run), "--checkpoint", str(best), "--out",
                 str(tmp_path / "own")]) == 0


# ---- leaks ---------------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["override", "file"])
def test_no_value_read_from_the_environment_reaches_a_run(tmp_path, capsys, monkeypatch, where):
    monkeypatch.setenv("SECRET_TOKEN", "hunter2")
    run = tmp_path / "run"
    if where == "override":
        argv = ["run", "quickstart", "train.steps=5", f"train.run_dir={run}",
                "train.loggers=[{name: kit_recorder, tag: '${oc.env:SECRET_TOKEN}'}]"]
        expected = "train.loggers[0].tag: '${oc.env:SECRET_TOKEN}' calls a resolver"
    else:
        recipe = tmp_path / "r.yaml"
        text = (RECIPES / "quickstart.yaml").read_text()
        recipe.write_text(text.replace("  seed: 0\n", "  seed: ${oc.env:SECRET_SEED,0}\n", 1))
        argv = ["run", str(recipe), f"train.run_dir={run}"]
        expected = "train.seed: '${oc.env:SECRET_SEED,0}' calls a resolver"
    one_line_error(capsys, argv, expected)
    assert not run.exists()


def test_a_received_run_folder_cannot_read_the_environment(tmp_path, capsys, monkeypatch):
    run = tmp_path / "run"
    assert main(["run", "quickstart", "train.steps=5", f"train.run_dir={run}"]) == 0
    saved = run / "recipe.yaml"
    saved.write_text(saved.read_text().replace("seed: 0", "seed: ${oc.env:SECRET_SEED}", 1))
    monkeypatch.setenv("SECRET_SEED", "7")
    for argv in (["resume", str(run), "train.steps=10"],
                 ["report", str(run), "--out", str(tmp_path / "r.html")]):
        one_line_error(capsys, argv, "train.seed: '${oc.env:SECRET_SEED}' calls a resolver")


def test_a_misspelt_ganzoo_variable_is_named_with_the_nearest(monkeypatch, capsys):
    monkeypatch.setenv("GANZOO_CAHCE", "/tmp/x")
    assert main(["list", "plugins"]) == 0
    err = capsys.readouterr().err
    assert "$GANZOO_CAHCE is set, but ganzoo reads no such variable; did you mean " \
           "$GANZOO_CACHE?" in err


@pytest.mark.parametrize("fault", ["disk full", "read-only folder"])
def test_an_evaluation_that_cannot_be_saved_is_one_line_and_leaves_nothing(
        fault, tmp_path, capsys, monkeypatch):
    import os
    import tempfile

    run = tmp_path / "run"
    assert main(["run", "quickstart", "train.steps=10", f"train.run_dir={run}"]) == 0
    before = sorted(p.name for p in (run / "checkpoints").iterdir())

    def refuse(*args, **kwargs):
        if fault == "disk full":
            raise OSError(28, "No space left on device")
        raise PermissionError(13, "Permission denied")

    if fault == "disk full":
        monkeypatch.setattr(os, "link", refuse)
        monkeypatch.setattr(os, "replace", refuse)
    else:
        monkeypatch.setattr(tempfile, "mkstemp", refuse)
    expected = "No space left on device" if fault == "disk full" else "Permission denied"
    line = one_line_error(capsys, ["eval", str(run), "--n", "200"], expected)
    assert "the evaluation could not be saved" in line
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == before


class Payload:
    def __reduce__(self):
        return (print, ("a pickle payload ran",))


def test_an_unsafe_newest_checkpoint_is_named_with_the_one_used(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["run", "quickstart", "train.steps=20", "train.checkpoint_every=10",
                 f"train.run_dir={run}"]) == 0
    newest = run / "checkpoints" / "step_0000020.pt"
    torch.save({"step": 20, "payload": Payload()}, newest)
    capsys.readouterr()
    for argv in (["sample", str(run), "--n", "4", "--out", str(tmp_path / "s.npz")],
                 ["export", str(run), "--out", str(tmp_path / "export")]):
        assert main(argv) == 0
        out, err = capsys.readouterr()
        assert "a pickle payload ran" not in out + err
        assert "step_0000020.pt" in err and "Using the older step_0000010.pt instead" in err, err


def test_an_export_onto_a_full_disk_is_one_line_and_leaves_nothing(tmp_path, capsys,
                                                                   monkeypatch):
    from ganzoo import exports

    run = tmp_path / "run"
    assert main(["run", "quickstart", "train.steps=10", f"train.run_dir={run}"]) == 0

    def full(text, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(exports, "write_text", full)
    out = tmp_path / "model"
    one_line_error(capsys, ["export", str(run), "--out", str(out)],
                   "the export could not be written (No space left on device)")
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["run"]


def test_a_run_folder_made_read_only_mid_run_is_one_line_and_keeps_its_checkpoints(
        tmp_path, capsys, monkeypatch):
    """Simulated (as root, chmod does not stop a write): metrics.jsonl refuses writes from
    step 30, after the checkpoints of steps 10 and 20."""
    from ganzoo.engine import runs

    real_log = runs.RunFolder.log

    def log(self, record):
        if record["step"] >= 30:
            raise PermissionError(13, "Permission denied", str(self.metrics_path))
        real_log(self, record)

    monkeypatch.setattr(runs.RunFolder, "log", log)
    run = tmp_path / "run"
    line = one_line_error(capsys, ["run", "quickstart", "train.steps=40", "train.log_every=10",
                                   "train.checkpoint_every=10", f"train.run_dir={run}"],
                          "a write '")
    assert "metrics.jsonl' failed (Permission denied)" in line and "ganzoo resume" in line
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [
        "step_0000010.pt", "step_0000020.pt"]
    monkeypatch.setattr(runs.RunFolder, "log", real_log)
    assert main(["resume", str(run)]) == 0  # the earlier checkpoints are usable


def test_a_sample_picture_linking_outside_the_run_is_never_embedded_in_a_report(tmp_path):
    import ganzoo

    run = tmp_path / "run"
    assert main(["run", "quickstart", "train.steps=10", f"train.run_dir={run}"]) == 0
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG\r\n\x1a\n" + b"SECRET-BYTES" * 10)
    (run / "samples" / "step_9999999.png").symlink_to(secret)
    page = Path(ganzoo.write_report([ganzoo.load_run(run)], tmp_path / "r.html")).read_text()
    import base64

    assert base64.b64encode(secret.read_bytes())[:40].decode() not in page
    assert "step 9,999,999" not in page and "step 10" in page
