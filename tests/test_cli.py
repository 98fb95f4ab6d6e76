"""The command line: tables, one-line errors with exit code 2, --debug tracebacks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ganzoo import cli, plugins
from ganzoo.cli import main

RECIPES = Path(__file__).resolve().parent.parent / "recipes"


def run_cli(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_shows_builtins_and_the_example_plugin(capsys, monkeypatch):
    from ganzoo.commands import common

    monkeypatch.setattr(common.console, "width", 300)
    code, out, _ = run_cli(capsys, "list")
    assert code == 0
    for name in ("mlp", "nonsaturating", "minimax", "mse", "hinge", "wasserstein",
                 "gaussian_mixture", "mnist", "rasgan"):
        assert name in out
    assert "relativistic/ganzoo-relativistic" in out


def test_list_one_kind(capsys):
    code, out, _ = run_cli(capsys, "list", "losses")
    assert code == 0 and "nonsaturating" in out and "gaussian_mixture" not in out


def test_list_marks_broken_plugins(capsys, monkeypatch):
    class EP:
        name, dist = "flaky", type("D", (), {"name": "ganzoo-flaky"})()

        @staticmethod
        def load():
            raise ImportError("cannot import name 'Thing'")

    monkeypatch.setattr(plugins, "_entry_points", lambda: [EP])
    code, out, err = run_cli(capsys, "list")
    assert code == 0
    assert "broken" in out and "flaky" in out
    assert "warning: plugin 'flaky' (ganzoo-flaky) is broken" in err
    code, out, _ = run_cli(capsys, "list", "plugins")
    assert "broken" in out and "cannot import name" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["loss.name=nonsaturatin"], "Did you mean 'nonsaturating'?"),
        (["train.steps=abc"], "train.steps:"),
        (["train.nope=1"], "train.nope: unknown key"),
        (["data.root=1", "data.name=mnist", "data.layout=x"], "data.layout: unknown key"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, in_tmp, args, message):
    code, out, err = run_cli(capsys, "run", str(RECIPES / "quickstart.yaml"), *args)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert "Traceback" not in err


def test_missing_recipe_and_missing_data_folder(capsys, in_tmp):
    code, _, err = run_cli(capsys, "run", "nope.yaml")
    assert code == 2 and "Recipe not found: 'nope.yaml' is no file" in err
    code, _, err = run_cli(capsys, "run", str(RECIPES / "mlp_mnist.yaml"), "data.root=nowhere")
    assert code == 2 and "data.root: folder 'nowhere' does not exist" in err
    assert len(err.strip().splitlines()) == 1


def test_console_script_exit_code_and_debug_traceback(in_tmp):
    cmd = [sys.executable, "-m", "ganzoo", "run", str(RECIPES / "quickstart.yaml"),
           "loss.name=nope"]
    plain = subprocess.run(cmd, capture_output=True, text=True)
    assert plain.returncode == 2 and "Traceback" not in plain.stderr
    debug = subprocess.run(cmd[:3] + ["--debug"] + cmd[3:], capture_output=True, text=True)
    assert debug.returncode == 2 and "Traceback" in debug.stderr


def test_help_at_every_level(capsys):
    for argv in ([], ["run"], ["list"]):
        with pytest.raises(SystemExit) as exit_:
            cli.main([*argv, "--help"])
        assert exit_.value.code == 0
        assert "usage: ganzoo" in capsys.readouterr().out


def test_overrides_may_follow_options(capsys, in_tmp):
    code, _, err = run_cli(capsys, "run", str(RECIPES / "quickstart.yaml"), "--debug",
                           "train.steps=abc")
    assert code == 2 and "train.steps:" in err
    with pytest.raises(SystemExit) as exit_:
        cli.main(["list", "--bogus"])
    assert exit_.value.code == 2


def test_after_a_resume_done_counts_this_sessions_steps(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["run", "quickstart", "train.steps=20", f"train.run_dir={run}"]) == 0
    capsys.readouterr()
    assert main(["resume", str(run), "train.steps=50"]) == 0
    out = capsys.readouterr().out
    assert "done: 30 steps in " in out and "(resumed at step 20; the run is at step 50)" in out


def test_compare_shows_recipe_values_as_text_not_markup(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    runs = []
    for name, loggers in (("a", "[]"), ("b", "[kit_recorder]")):
        runs.append(str(tmp_path / name))
        assert main(["run", "quickstart", "train.steps=10", f"train.loggers={loggers}",
                     f"train.run_dir={runs[-1]}"]) == 0
    capsys.readouterr()
    assert main(["compare", *runs]) == 0
    out = capsys.readouterr().out
    assert "['kit_recorder']" in out or "[kit_recorder]" in out, out
