"""The plugin door: built-ins, entry points, fakes registered in-process, and what goes wrong."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import pytest
import torch

from ganzoo import hookimpl, plugins
from ganzoo.errors import GanzooError
from ganzoo.plugins import load_registry

BUILTINS = {
    "generator": {"mlp"},
    "discriminator": {"mlp"},
    "loss": {"minimax", "nonsaturating", "mse"},
    "dataset": {"gaussian_mixture", "mnist"},
}

RECIPES = Path(__file__).resolve().parent.parent / "recipes"


def test_builtins_are_registered_through_the_hooks():
    registry = load_registry()
    for kind, names in BUILTINS.items():
        assert names <= {c.name for c in registry.all(kind)}
        for name in names:
            assert registry.get(kind, name).package == "ganzoo"
    assert not registry.broken


def test_unknown_name_suggests_the_closest_and_the_list_command():
    registry = load_registry()
    with pytest.raises(GanzooError) as err:
        registry.get("loss", "nonsaturatin")
    assert str(err.value) == (
        "Unknown loss 'nonsaturatin'. Did you mean 'nonsaturating'? See 'ganzoo list losses'."
    )
    with pytest.raises(GanzooError, match=r"^Unknown generator 'zzz'\. See 'ganzoo list gen"):
        registry.get("generator", "zzz")


class TwoLosses:
    """A fake plugin registering a loss that clashes with a built-in, and one that does not."""

    @hookimpl
    def ganzoo_register_losses(self, register):
        register("nonsaturating", lambda options: None, summary="impostor")
        register("fake_only", lambda options: None, summary="only here")


def test_a_builtin_keeps_its_name_and_the_other_is_reached_as_plugin_name():
    registry = load_registry(extra_plugins={"clash": TwoLosses()})
    assert registry.get("loss", "nonsaturating").plugin == "losses"
    assert registry.get("loss", "clash:nonsaturating").summary == "impostor"
    assert registry.get("loss", "losses:nonsaturating").plugin == "losses"
    assert registry.get("loss", "fake_only").plugin == "clash"
    ((shadowed, owner),) = registry.shadowed()
    assert (shadowed.plugin, owner.plugin) == ("clash", "losses")
    with pytest.raises(GanzooError, match="plugin 'clash' registers no loss 'mse'"):
        registry.get("loss", "clash:mse")


class SameLoss:
    def __init__(self, summary):
        self.summary = summary

    @hookimpl
    def ganzoo_register_losses(self, register):
        register("shared", lambda options: None, summary=self.summary)


def test_two_third_parties_with_one_name_must_be_chosen_between():
    registry = load_registry(extra_plugins={"a": SameLoss("from a"), "b": SameLoss("from b")})
    with pytest.raises(GanzooError) as err:
        registry.get("loss", "shared")
    assert str(err.value) == ("Loss 'shared' is registered by several plugins; choose one: "
                              "'a:shared' or 'b:shared'.")
    assert registry.get("loss", "b:shared").summary == "from b"


def test_conflicts_show_in_list_and_list_plugins(capsys, monkeypatch):
    from ganzoo import cli, plugins
    from ganzoo.commands import common

    registry = load_registry(extra_plugins={"clash": TwoLosses()})
    monkeypatch.setattr(plugins, "load_registry", lambda extra_plugins=None: registry)
    monkeypatch.setattr(common.console, "width", 400)  # one table row per line
    assert cli.main(["list", "losses"]) == 0
    out, err = capsys.readouterr()
    row = next(line for line in out.splitlines() if "clash:nonsaturating" in line)
    assert "(plain name taken by the built-in 'losses') impostor" in row
    assert "write 'clash:nonsaturating' for the plugin's" in err.replace("\n", " ")
    assert cli.main(["list", "plugins"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if "clash" in line)
    assert "loss clash:nonsaturating (plain name taken by the built-in 'losses')" in row


def test_disabling_an_unknown_plugin_warns_and_unknown_names_mention_disabled_ones(
        monkeypatch, capsys):
    from ganzoo.plugins import load_registry_with_warnings

    monkeypatch.setenv("GANZOO_DISABLE_PLUGINS", "mlp,nosuch")
    registry = load_registry_with_warnings()
    assert "GANZOO_DISABLE_PLUGINS names 'nosuch', which is no plugin" in capsys.readouterr().err
    with pytest.raises(GanzooError, match=r"Disabled or broken plugins, which may give it: mlp"):
        registry.get("generator", "mlp")


class BadName:
    @hookimpl
    def ganzoo_register_losses(self, register):
        register("good_one", lambda options: None)
        register("Bad Name!", lambda options: None)


class OptionsNotADataclass:
    @hookimpl
    def ganzoo_register_generators(self, register):
        register("weird", lambda options, shape: None, options=dict)


class RaisesInHook:
    @hookimpl
    def ganzoo_register_datasets(self, register):
        raise RuntimeError("boom")


class UnknownHook:
    @hookimpl
    def ganzoo_register_loss(self, register):  # misspelled: no such hook
        register("never", lambda options: None)


@pytest.mark.parametrize(
    "plugin, error",
    [
        (BadName(), "invalid loss name 'Bad Name!'"),
        (OptionsNotADataclass(), "options must be a dataclass"),
        (RaisesInHook(), "RuntimeError: boom"),
        (UnknownHook(), "unknown hook 'ganzoo_register_loss'"),
    ],
)
def test_invalid_plugin_is_reported_broken_and_the_rest_load(plugin, error):
    registry = load_registry(extra_plugins={"bad": plugin})
    (broken,) = registry.broken
    assert broken.name == "bad" and error in broken.error
    # Nothing the broken plugin registered survives, and the built-ins are all there.
    assert "good_one" not in {c.name for c in registry.all("loss")}
    assert registry.get("loss", "nonsaturating").plugin == "losses"


class FakeEntryPoint:
    def __init__(self, name, load):
        self.name, self.load, self.dist = name, load, type("Dist", (), {"name": f"pkg-{name}"})()


def test_entry_point_that_fails_to_import_is_broken_not_fatal(monkeypatch):
    def failing_import():
        raise ImportError("No module named 'missing_dependency'")

    monkeypatch.setattr(plugins, "_entry_points", lambda: [FakeEntryPoint("flaky", failing_import)])
    registry = load_registry()
    (broken,) = registry.broken
    assert (broken.name, broken.package) == ("flaky", "pkg-flaky")
    assert "missing_dependency" in broken.error
    assert registry.get("generator", "mlp")


def test_entry_point_plugins_load(monkeypatch):
    monkeypatch.setattr(plugins, "_entry_points",
                        lambda: [FakeEntryPoint("extra", lambda: TwoLosses())])
    registry = load_registry()
    assert registry.get("loss", "fake_only").package == "pkg-extra"


def test_environment_variable_disables_named_plugins(monkeypatch):
    monkeypatch.setenv("GANZOO_DISABLE_PLUGINS", "clash, mnist")
    registry = load_registry(extra_plugins={"clash": TwoLosses()})
    states = {p.name: p.state for p in registry.plugins}
    assert states["clash"] == states["mnist"] == "disabled"
    assert registry.get("loss", "nonsaturating").plugin == "losses"  # no clash any more
    with pytest.raises(GanzooError, match="Unknown dataset 'mnist'"):
        registry.get("dataset", "mnist")


@dataclass
class NoDefault:
    width: int


class OptionWithoutDefault:
    @hookimpl
    def ganzoo_register_losses(self, register):
        register("needs_width", lambda options: None, options=NoDefault)


def test_options_need_defaults():
    registry = load_registry(extra_plugins={"nodefault": OptionWithoutDefault()})
    assert "every option needs a default" in registry.broken[0].error


def test_example_third_party_plugin_is_installed_and_found():
    try:
        distribution("ganzoo-relativistic")
    except PackageNotFoundError:
        pytest.fail("the example plugin is not installed: "
                    "pip install -e plugins/examples/ganzoo-relativistic (README's test command "
                    "does it)")
    rasgan = load_registry().get("loss", "rasgan")
    assert (rasgan.plugin, rasgan.package) == ("relativistic", "ganzoo-relativistic")
    assert "relativistic average" in rasgan.summary


def test_summary_defaults_to_the_first_docstring_line():
    registry = load_registry()
    assert registry.get("loss", "nonsaturating").summary.startswith("non-saturating: L_D = ")


# ---- the table of kinds ----------------------------------------------------------------------

def test_the_table_of_kinds_drives_hookspecs_sections_and_base_classes():
    """One table: every kind has its documented hookspec, its recipe sections exist in the
    schema, its base class imports; and there is no hookspec without a kind."""
    import dataclasses
    import inspect

    from ganzoo import hookspecs
    from ganzoo.kinds import KINDS, base_class
    from ganzoo.recipe import EvalOptions, RecipeSchema

    specs = {name for name, fn in vars(hookspecs).items()
             if callable(fn) and hasattr(fn, "ganzoo_spec")}
    # besides one hook per kind, only the hook by which plugins ship recipes
    assert specs == {kind.hook for kind in KINDS.values()} | {"ganzoo_recipe_folders"}
    schema = {f.name: f for f in dataclasses.fields(RecipeSchema)}
    eval_fields = {f.name for f in dataclasses.fields(EvalOptions)}
    for kind in KINDS.values():
        spec = getattr(hookspecs, kind.hook)
        assert list(inspect.signature(spec).parameters) == ["register"]
        assert kind.plural.replace("_", " ") in spec.__doc__, kind.hook
        assert "build(options" in spec.__doc__, kind.hook
        for arg in kind.build_args:
            assert arg in spec.__doc__, (kind.hook, arg)
        for section in kind.sections:
            top, _, rest = section.removesuffix("[]").partition(".")
            if top in ("<roles>", "<optimizers>"):  # one section per role / optimizer of a game
                continue
            assert top in schema, section
            if top == "eval":
                assert rest in eval_fields, section
        assert isinstance(base_class(kind), type)


def test_the_sections_no_role_may_take_are_the_schemas_own():
    from ganzoo.recipe import FIXED_SECTIONS
    from ganzoo.registry import RESERVED_SECTIONS

    assert set(FIXED_SECTIONS) == RESERVED_SECTIONS


def test_every_section_the_table_names_is_built(fake_data):
    """The table, expanded for the recipe's game, names each section that build_components
    builds: the game, a network per role, the loss, the data, the augmentation, the EMA's
    schedule, and per optimizer section an optimizer, its schedule and beta2's."""
    from ganzoo.components import build_components
    from ganzoo.interfaces import Augmentation, Dataset, Game, Loss, Schedule
    from ganzoo.recipe import game_sections, load_recipe, recipe_sections

    registry = load_registry()
    recipe = load_recipe(RECIPES / "dcgan_cifar_diffaug.yaml",
                         [f"data.root={fake_data}", "data.verify=false", "train.batch_size=8",
                          "optim_g.beta2_schedule={name: cosine}", "train.ema_decay=0.9",
                          "optim_d.beta2_schedule={name: linear}",
                          "train.ema_schedule={name: cosine, initial: 0, final: 1}"],
                         registry)
    c = build_components(recipe, registry)
    built = {"game": c.game, "loss": c.loss, "data": c.dataset, "augment": c.augmentation,
             **c.networks, **{f"{key}.schedule": schedule for key, schedule in c.schedules.items()},
             **{f"{key}.beta2_schedule": schedule
                for key, schedule in c.beta2_schedules.items()},
             "train.ema_schedule": c.ema_schedule,
             **{key: c.make_optimizer(key, c.networks[roles[0]].parameters(), False)
                for key, roles in c.optimizers.items()}}
    sections = recipe_sections(game_sections(recipe.game.name, registry))
    assert set(sections) - {"eval.extractor"} == set(built)  # the extractor: by eval
    kinds = {"game": Game, "loss": Loss, "dataset": Dataset, "augmentation": Augmentation,
             "schedule": Schedule, "optimizer": torch.optim.Optimizer,
             "generator": torch.nn.Module, "discriminator": torch.nn.Module}
    for section, kind in sections.items():
        if section in built:
            assert isinstance(built[section], kinds[kind]), section


def test_every_kind_can_be_listed(capsys):
    from ganzoo.cli import main
    from ganzoo.kinds import KINDS

    for kind in KINDS.values():
        assert main(["list", kind.plural]) == 0
        out = capsys.readouterr().out
        members = load_registry().all(kind.name)
        assert members, f"no {kind.plural} registered"
        assert all(m.name in out for m in members), kind.plural


class WrongArity:
    @hookimpl
    def ganzoo_register_generators(self, register):
        def build(options, image_shape):  # misses num_classes
            return None

        register("old_style", build)


class RegisterByAnotherName:
    @hookimpl
    def ganzoo_register_losses(self, reg):
        reg("never", lambda options: None)


class BuildRaises:
    @hookimpl
    def ganzoo_register_losses(self, register):
        def build(options):
            return {}["missing"]

        register("buggy", build)


def test_a_build_with_the_wrong_arity_marks_the_plugin_broken():
    registry = load_registry(extra_plugins={"arity": WrongArity()})
    (broken,) = registry.broken
    assert broken.name == "arity"
    assert ("generator 'old_style': build must take (options, image_shape, num_classes)"
            in broken.error)


def test_hooks_receive_register_by_name_only():
    registry = load_registry(extra_plugins={"other": RegisterByAnotherName()})
    (broken,) = registry.broken
    assert broken.name == "other" and "reg" in broken.error


def test_an_exception_in_build_names_the_plugin_and_component(capsys, tmp_path):
    from ganzoo.components import build_one

    registry = load_registry(extra_plugins={"bugs": BuildRaises()})
    with pytest.raises(GanzooError) as err:
        build_one(registry, "loss", {"name": "buggy"}, "loss")
    assert str(err.value) == ("loss: loss 'buggy' (plugin 'bugs') failed to build: "
                              "KeyError: 'missing'")
    assert isinstance(err.value.__cause__, KeyError)  # kept for --debug


def test_a_build_that_returns_the_wrong_kind_is_named():
    from ganzoo.components import build_one

    class Wrong:
        @hookimpl
        def ganzoo_register_losses(self, register):
            register("not_a_loss", lambda options: object())

    registry = load_registry(extra_plugins={"wrong": Wrong()})
    with pytest.raises(GanzooError, match=r"loss.name: loss 'not_a_loss' \(plugin 'wrong'\) "
                                          r"built a object, not a ganzoo Loss"):
        build_one(registry, "loss", {"name": "not_a_loss"}, "loss")


def test_a_distribution_named_ganzoo_is_a_third_party_not_a_builtin(monkeypatch, capsys):
    """Rank comes from what a plugin is (one of BUILTIN_PLUGINS), not a name anyone can
    claim: a third-party distribution called 'ganzoo' never takes a built-in's plain name."""
    impostor = FakeEntryPoint("impostor", lambda: TwoLosses())
    impostor.dist.name = "ganzoo"
    monkeypatch.setattr(plugins, "_entry_points", lambda: [impostor])
    registry = load_registry()
    assert registry.get("loss", "nonsaturating").plugin == "losses"
    assert registry.get("loss", "impostor:nonsaturating").summary == "impostor"
    assert not registry.get("loss", "fake_only").builtin
    ((shadowed, owner),) = registry.shadowed()
    assert (shadowed.plugin, owner.plugin, owner.builtin) == ("impostor", "losses", True)
    from ganzoo.commands.listing import origin

    assert origin(shadowed.plugin, shadowed.package, shadowed.builtin) == "impostor/ganzoo"
