"""Recipes: every shipped recipe validates; every mistake names its key path."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import DictConfig, OmegaConf

from ganzoo.components import optimizer_section, schedule_section
from ganzoo.errors import GanzooError
from ganzoo.plugins import load_registry
from ganzoo.recipe import (
    component_options,
    game_sections,
    load_recipe,
    recipe_sections,
    train_options,
)

RECIPES = Path(__file__).resolve().parent.parent / "recipes"

ALL_RECIPES = sorted(RECIPES.glob("*.yaml"))


@pytest.mark.parametrize("path", ALL_RECIPES, ids=lambda p: p.name)
def test_every_recipe_validates(path):
    recipe = load_recipe(path)
    train_options(recipe)
    registry = load_registry()
    game = game_sections(recipe.game.name, registry)
    for section, kind in recipe_sections(game).items():
        config = OmegaConf.select(recipe, section)
        if kind in ("optimizer", "schedule") or not isinstance(config, DictConfig):
            continue  # optimizers are checked below with their older spellings
        component_options(registry.get(kind, config.name), config, section)
    for key in game.optimizers:
        section = optimizer_section(recipe, key, registry)
        component_options(registry.get("optimizer", section["name"]), section, key)
        schedule = schedule_section(recipe, key)
        component_options(registry.get("schedule", schedule["name"]), schedule, key)


def test_recipes_are_flat_and_complete():
    """Each recipe alone reproduces its run: every train and eval option is written out, and
    the optimizers with their schedules (not the older train.lr_* / beta* spellings)."""
    from dataclasses import fields

    from ganzoo.recipe import DEFAULT_GAME, FIXED_SECTIONS, EvalOptions, TrainOptions

    older = {"lr_g", "lr_d", "beta1", "beta2"}
    registry = load_registry()
    for path in ALL_RECIPES:
        written = OmegaConf.load(path)
        assert set(written.train) == {f.name for f in fields(TrainOptions)} - older, path.name
        assert set(written.eval) == {f.name for f in fields(EvalOptions)}, path.name
        optional = {"game", "augment", "regularizers"}  # absent means the default, or none
        game = game_sections(written.get("game", {}).get("name", DEFAULT_GAME), registry)
        sections = {*FIXED_SECTIONS, *game.roles, *game.optimizers}
        assert sections - optional <= set(written) <= sections, path.name
        for key in ("optim_g", "optim_d"):
            assert {"name", "lr", "schedule"} <= set(written[key]), path.name


def test_overrides_replace_values():
    recipe = load_recipe(RECIPES / "quickstart.yaml",
                         ["train.steps=7", "loss.name=mse", "generator.hidden_dims=[8,8]"])
    assert recipe.train.steps == 7 and recipe.loss.name == "mse"
    assert list(recipe.generator.hidden_dims) == [8, 8]


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["train.steps=abc"], "train.steps: Value 'abc' of type 'str' could not be converted"),
        (["train.stepz=3"], "train.stepz: unknown key; expected one of: steps,"),
        (["train.steps=0"], "train.steps: must be greater than 0 (got 0)"),
        (["train.beta1=1.5"], "train.beta1: must be in [0, 1)"),
        (["train.device=tpu"], "train.device: must be one of 'auto', 'cpu', 'cuda', 'mps'"),
        (["extra.key=1"], "extra: unknown section; game 'adversarial' has the roles generator, "
                          "discriminator and the optimizers optim_g, optim_d, besides game, loss,"),
        (["loss.name=null"], "loss.name: missing; name the loss to use"),
        (["train.steps"], "Override 'train.steps' must look like key=value"),
    ],
)
def test_recipe_errors_name_the_key_path(overrides, message):
    with pytest.raises(GanzooError) as err:
        train_options(load_recipe(RECIPES / "quickstart.yaml", overrides))
    assert message in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    "override, message",
    [
        ("generator.hidden_dims=abc", "generator.hidden_dims: expected a list"),
        ("generator.hidden_dims=[8,-1]", "generator.hidden_dims: every entry must be greater"),
        ("generator.latent_dim=x", "generator.latent_dim: Value 'x' of type 'str' could not be"),
        ("generator.output=sigmoid", "generator.output: must be one of 'auto', 'tanh', 'linear'"),
        ("discriminator.width=3",
         "discriminator.width: unknown key; expected one of: hidden_dims, dropout"),
        ("loss.scale=2", "loss.scale: loss 'nonsaturating' takes no options"),
        ("data.layout=hexagon", "data.layout: must be one of 'grid', 'ring'"),
    ],
)
def test_component_options_are_checked_against_the_component(override, message):
    recipe = load_recipe(RECIPES / "quickstart.yaml", [override])
    registry = load_registry()
    with pytest.raises(GanzooError) as err:
        for section in ("generator", "discriminator", "loss", "data"):
            kind = recipe_sections(game_sections(recipe.game.name, registry))[section]
            component_options(registry.get(kind, recipe[section].name), recipe[section], section)
    assert message in str(err.value)


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(GanzooError, match="Recipe not found: '.*nope.yaml' is no file"):
        load_recipe(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("generator: [unclosed\n")
    with pytest.raises(GanzooError, match=r"bad.yaml: not valid YAML: line 2, column 1: "):
        load_recipe(bad)
    missing = tmp_path / "missing.yaml"
    missing.write_text("generator: {name: mlp}\n")
    with pytest.raises(GanzooError, match="data, discriminator, loss: missing"):
        load_recipe(missing)


def test_a_recipe_cannot_name_code_to_run(tmp_path):
    """No `_target_`-style instantiation: an import path is just an unknown key or name."""
    path = tmp_path / "evil.yaml"
    path.write_text((RECIPES / "quickstart.yaml").read_text()
                    + "\n_target_: os.system\n")
    with pytest.raises(GanzooError, match="_target_: unknown key"):
        load_recipe(path)
    recipe = load_recipe(RECIPES / "quickstart.yaml", ["loss.name=os.system"])
    with pytest.raises(GanzooError, match="Unknown loss 'os.system'"):
        load_registry().get("loss", recipe.loss.name)


def test_swapping_a_component_drops_the_options_it_does_not_take(tmp_path, fake_data, capsys):
    """dcgan_cifar's data section holds CIFAR-10 options (split, verify, download); an image
    folder takes root and image_size but not those: they are dropped, with one note."""
    from ganzoo.cli import main

    run = tmp_path / "run"
    assert main(["run", str(RECIPES / "dcgan_cifar.yaml"), "data.name=image_folder",
                 f"data.root={fake_data / 'celeba'}", "generator.ngf=4", "discriminator.ndf=4",
                 "train.steps=2", "train.batch_size=4", "train.device=cpu",
                 f"train.run_dir={run}"]) == 0
    out = capsys.readouterr().out
    assert ("note: data.name is now 'image_folder', which does not take data.split, "
            "data.download, data.verify: dropped from the recipe") in out
    saved = OmegaConf.load(run / "recipe.yaml").data
    assert saved.name == "image_folder" and saved.image_size == 32
    assert "split" not in saved and "verify" not in saved


def test_an_option_set_beside_the_swap_is_kept_and_checked(capsys):
    """An option given on the command line is the user's: kept, and checked as usual."""
    from ganzoo.cli import main

    assert main(["run", str(RECIPES / "dcgan_cifar.yaml"), "data.name=image_folder",
                 "data.root=/nowhere", "data.split=train"]) == 2
    assert "data.split: unknown key" in capsys.readouterr().err


def test_a_key_can_be_removed_so_that_its_default_applies(tmp_path):
    recipe = load_recipe(RECIPES / "quickstart.yaml", ["~data.std", "~train.steps"])
    assert "std" not in recipe.data
    assert recipe.train.steps == 1000  # the schema's default
    with pytest.raises(GanzooError, match=r"~data.nope: the recipe has no key 'data.nope'"):
        load_recipe(RECIPES / "quickstart.yaml", ["~data.nope"])
    with pytest.raises(GanzooError, match=r"or ~key to remove a key"):
        load_recipe(RECIPES / "quickstart.yaml", ["~data.std=3"])


def test_an_entry_of_a_list_can_be_overridden_by_its_index():
    recipe = load_recipe(RECIPES / "quickstart.yaml",
                         ["regularizers.0.every=4", "generator.hidden_dims.0=32"])
    assert recipe.regularizers[0].every == 4 and recipe.regularizers[0].name == "r1"
    assert list(recipe.generator.hidden_dims)[0] == 32
    for bad, message in (("regularizers.3.every=4", "regularizers.3: the recipe has no such"),
                         ("generator.hidden_dims.9=1", "generator.hidden_dims.9: the recipe"),
                         ("train.steps.0=3", "train.steps: holds a single value")):
        with pytest.raises(GanzooError, match=message):
            load_recipe(RECIPES / "quickstart.yaml", [bad])
