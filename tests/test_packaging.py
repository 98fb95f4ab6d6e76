"""What a user installs: the wheel holds the recipes (run by name from any folder) and the sdist
holds what its own tests need. CI also installs the built wheel into a fresh environment and runs
a recipe by name from an empty folder (.ci/run)."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from helpers import one_line_error

from ganzoo.cli import main
from ganzoo.plugins import load_registry
from ganzoo.recipe import find_recipe, shipped_recipes

REPO = Path(__file__).resolve().parent.parent
BUILD = ("import sys, setuptools.build_meta as b; "
         "print(getattr(b, sys.argv[1])(sys.argv[2]))")


def build(what: str, out: Path) -> Path:
    done = subprocess.run([sys.executable, "-c", BUILD, what, str(out)], cwd=REPO,
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot build here: {done.stderr.strip().splitlines()[-1:]}")
    return out / done.stdout.strip().splitlines()[-1]


@pytest.mark.slow
def test_the_wheel_ships_every_recipe_and_the_sdist_its_tests(tmp_path):
    wheel = zipfile.ZipFile(build("build_wheel", tmp_path))
    shipped = {Path(n).name for n in wheel.namelist() if n.startswith("ganzoo_builtins/recipes/")}
    assert {p.name for p in (REPO / "recipes").glob("*.yaml")} <= shipped
    sdist = tarfile.open(build("build_sdist", tmp_path))
    members = {"/".join(n.split("/")[1:]) for n in sdist.getnames()}
    for needed in ("tests/conftest.py", "tests/helpers.py", "tests/test_packaging.py",
                   "tests/plugins/ganzoo-testkit/pyproject.toml",
                   "plugins/examples/ganzoo-relativistic/pyproject.toml",
                   "plugins/ganzoo_builtins/recipes/quickstart.yaml"):
        assert needed in members, needed


def test_recipes_are_found_by_name_and_a_path_wins(tmp_path, monkeypatch):
    registry = load_registry()
    shipped = shipped_recipes(registry)
    assert shipped["quickstart"].samefile(REPO / "recipes" / "quickstart.yaml")
    monkeypatch.chdir(tmp_path)  # an empty folder: no recipes/ beside it
    for name in ("quickstart", "quickstart.yaml", "recipes/quickstart.yaml"):
        assert find_recipe(name, registry) == shipped["quickstart"]
    own = tmp_path / "quickstart"
    own.write_text("{}")
    assert find_recipe("quickstart", registry).resolve() == own  # a file of that name wins


def test_an_unknown_name_is_one_line_with_the_nearest_recipe(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    line = one_line_error(capsys, ["run", "quickstrat"],
                          "'quickstrat' is no file and no shipped recipe's name")
    assert "did you mean 'quickstart'" in line and "ganzoo recipes" in line


def test_ganzoo_recipes_lists_summaries_and_data_and_shows_one(tmp_path, monkeypatch, capsys):
    from ganzoo.commands.recipes import data_needed, summary_of

    quickstart = REPO / "recipes" / "quickstart.yaml"
    assert summary_of(quickstart) == "Quickstart: an MLP GAN on a 5x5 grid of 25 Gaussians."
    assert data_needed(quickstart) == "gaussian_mixture (generated, no files)"
    assert data_needed(REPO / "recipes" / "pix2pix_celeba_colour.yaml") == \
        "degraded over celeba (data.root)"
    assert main(["recipes"]) == 0
    out = capsys.readouterr().out
    assert "quickstart" in out and "pix2pix_celeba_colour" in out
    assert main(["recipes", "show", "quickstart"]) == 0
    assert capsys.readouterr().out == quickstart.read_text()
    one_line_error(capsys, ["recipes", "show", "nothing_like_it"], "no shipped recipe's name")


def test_a_third_party_ships_recipes_through_the_same_hook(tmp_path):
    from ganzoo import hookimpl

    folder = tmp_path / "theirs"
    folder.mkdir()
    (folder / "their_gan.yaml").write_text("# Their GAN: a recipe shipped by a plugin.\n")
    (folder / "quickstart.yaml").write_text("# not the built-in one\n")

    class Theirs:
        @hookimpl
        def ganzoo_recipe_folders(self):
            return [folder]

    shipped = shipped_recipes(load_registry(extra_plugins={"theirs": Theirs()}))
    assert shipped["their_gan"] == folder / "their_gan.yaml"
    assert shipped["quickstart"] != folder / "quickstart.yaml"  # the built-in loads first
