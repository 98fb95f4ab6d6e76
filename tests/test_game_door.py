"""The game as a plugin: the built-in adversarial game against the step it replaced and against
the reference DCGAN script, games of other roles from the testkit, and the checks at build time."""

from __future__ import annotations

import copy
import hashlib

import pytest
import torch
from helpers import assert_steps_read_no_value, make_trainer
from torch import nn

from ganzoo.errors import GanzooError

#: The quickstart's weights (G, then D) after 60 steps at seed 0 on one CPU thread, as the
#: two-player step before games were a kind computed them, with torch 2.14.1 on the two x86-64
#: machines the suite has run on. The bytes depend on the CPU as well as on the code: torch's
#: CPU kernels (oneDNN, MKL) choose their blocking, and so the order of their sums, by processor
#: model, and the same commit gave the second digest once the machines changed. A digest outside
#: these is a change in the step's arithmetic, or a machine not seen yet.
QUICKSTART_60_STEPS = ("2.14.1", {
    "726bcf5c3b1b3cc27cc74d4018d27cf9740f3e28138b58917a71c43e61131a76",
    "63c4188fab6f6c5a23271ed06cfa913497bb368b068b1f6ed613f465afb934cd",
})


def digest(*networks: nn.Module) -> str:
    h = hashlib.sha256()
    for net in networks:
        for name, value in net.state_dict().items():
            h.update(name.encode())
            h.update(value.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_the_adversarial_game_gives_the_quickstart_bit_identical_weights(tmp_path, one_thread):
    version, expected = QUICKSTART_60_STEPS
    if torch.__version__.split("+")[0] != version:
        pytest.skip(f"the digest was recorded with torch {version}; this is {torch.__version__}")
    trainer = make_trainer(tmp_path / "run", ["train.steps=60", "train.device=cpu",
                                              "train.log_every=10"])
    trainer.fit()
    weights = digest(trainer.networks["generator"], trainer.networks["discriminator"])
    assert weights in expected, (
        f"the quickstart's weights after 60 steps hash to {weights}, none of the recorded digests: "
        "the adversarial step's arithmetic changed, or this CPU model orders its sums differently")


def test_the_adversarial_game_plays_the_reference_dcgan_step(tmp_path, fake_data):
    """DCGAN networks with the same initial weights, real batches and z: the game and a plain
    loop written as the reference DCGAN script writes it (zero_grad, errD_real.backward(),
    errD_fake.backward(), step; then G through D) end with the same weights."""
    steps, batch = 4, 8
    trainer = make_trainer(tmp_path / "run", [
        f"data.root={fake_data}", "data.verify=false", f"train.steps={steps}",
        f"train.batch_size={batch}", "train.device=cpu", "generator.ngf=8",
        "discriminator.ndf=8", "loss.name=nonsaturating"], recipe="dcgan_cifar.yaml")
    netG = copy.deepcopy(trainer.networks["generator"])
    netD = copy.deepcopy(trainer.networks["discriminator"])
    real_batches = trainer.c.dataset.batches(batch, torch.device("cpu"), trainer.seed)
    noise_rng = torch.Generator().manual_seed(trainer.seed + 2)  # the game's latent stream
    trainer.fit()

    criterion = nn.BCEWithLogitsLoss()
    optimizerD = torch.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optimizerG = torch.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
    for _ in range(steps):
        # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
        netD.zero_grad()
        real = next(real_batches).x
        label = torch.ones(batch)
        errD_real = criterion(netD(real), label)
        errD_real.backward()
        noise = torch.randn(batch, netG.latent_dim, generator=noise_rng)
        fake = netG(noise)
        errD_fake = criterion(netD(fake.detach()), label * 0)
        errD_fake.backward()
        optimizerD.step()
        # (2) Update G network: maximize log(D(G(z)))
        netG.zero_grad()
        errG = criterion(netD(fake), label)
        errG.backward()
        optimizerG.step()

    for mine, theirs in ((trainer.networks["generator"], netG),
                         (trainer.networks["discriminator"], netD)):
        for (name, a), b in zip(mine.state_dict().items(), theirs.state_dict().values(),
                                strict=True):
            if a.is_floating_point():
                torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5, msg=name)
            else:
                assert torch.equal(a, b), name


# ---- games of other roles, from the testkit ------------------------------------------------

CYCLE = """
game: {name: kit_cycle, cycle_weight: 5.0, pool_size: 8}
g_ab: {name: kit_translator}
g_ba: {name: kit_translator}
d_a: {name: kit_patch}
d_b: {name: kit_patch}
loss: {name: mse}
data: {name: kit_two_domains}
train: {steps: 6, batch_size: 4, log_every: 1, sample_every: 3, checkpoint_every: 3,
        num_samples: 4, device: cpu}
"""
PAIRED = """
game: {name: kit_paired}
generator: {name: kit_translator}
discriminator: {name: kit_patch}
loss: {name: nonsaturating}
data: {name: kit_gray_colour}
regularizers: [{name: r1, weight: 1.0}]
train: {steps: 4, batch_size: 4, log_every: 1, sample_every: 4, checkpoint_every: 4,
        num_samples: 4, device: cpu}
"""


def recipe_file(tmp_path, text: str, name: str = "game.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_games_are_listed_and_shown(tmp_path, capsys):
    from ganzoo.cli import main

    assert main(["list", "games"]) == 0
    listed = capsys.readouterr().out
    assert "adversarial" in listed and "kit_cycle" in listed and "kit_paired" in listed
    assert "roles:" in listed and "g_ab" in listed  # the games' roles: their recipe sections
    assert main(["show", str(recipe_file(tmp_path, CYCLE))]) == 0
    shown = capsys.readouterr().out
    for role in ("g_ab", "g_ba", "d_a", "d_b"):
        assert f"{role} (" in shown
    assert "image 1x8x8 -> 1x8x8" in shown


def test_a_four_network_game_resumes_bit_identically(tmp_path):
    """Straight to 6 steps against 3 steps, stopped, then resumed to 6: every network, both
    optimizers, the game's pools of fakes and the data position are equal to the bit."""
    from test_resume import assert_same_state

    from ganzoo.cli import main
    from ganzoo.engine.checkpoint import load_checkpoint

    recipe = recipe_file(tmp_path, CYCLE)
    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    assert main(["run", str(recipe), f"train.run_dir={straight}"]) == 0
    assert main(["run", str(recipe), "train.steps=3", f"train.run_dir={stopped}"]) == 0
    assert main(["resume", str(stopped), "train.steps=6"]) == 0
    a = load_checkpoint(straight / "checkpoints" / "step_0000006.pt")
    b = load_checkpoint(stopped / "checkpoints" / "step_0000006.pt")
    assert set(a["networks"]) == {"g_ab", "g_ba", "d_a", "d_b"}
    assert a["game"]["d_a"]["images"].shape == (4, 1, 8, 8)  # the pool holds fakes
    assert_same_state(a, b)
    metrics = (straight / "metrics.jsonl").read_text().splitlines()
    assert '"cycle"' in metrics[-1]


def test_a_game_with_an_input_translates_and_exports(tmp_path, capsys):
    import numpy as np

    import ganzoo
    from ganzoo.cli import main

    run = tmp_path / "paired"
    assert main(["run", str(recipe_file(tmp_path, PAIRED)), f"train.run_dir={run}"]) == 0
    from PIL import Image

    grid = Image.open(run / "samples" / "step_0000004.png")  # input | output | truth, 4 rows
    assert grid.size == (3 * 10 + 2, 4 * 10 + 2) and grid.mode == "RGB"
    gray = np.random.default_rng(0).integers(0, 256, (5, 8, 8, 1), dtype=np.uint8)
    np.savez(tmp_path / "gray.npz", images=gray)
    assert main(["translate", str(run), "--input", str(tmp_path / "gray.npz"),
                 "--out", str(tmp_path / "colour.npz")]) == 0
    colour = np.load(tmp_path / "colour.npz")["images"]
    assert colour.shape == (5, 8, 8, 3)

    from ganzoo.api import registry
    from ganzoo.sampling import load_generator

    G, _, _ = load_generator(run, registry(), device="cpu")
    images = torch.from_numpy(gray).permute(0, 3, 1, 2).float() / 127.5 - 1
    with torch.no_grad():
        expected = G(images)
    from_python = ganzoo.load_run(run).translate(images)
    torch.testing.assert_close(from_python, expected)
    with pytest.raises(GanzooError, match=r"^images: the images are 3x8x8 \(C x H x W\), but "
                                          r"this generator takes 1x8x8"):
        ganzoo.load_run(run).translate(torch.zeros(2, 3, 8, 8))
    assert main(["export", str(run), "--out", str(tmp_path / "model"),
                 "--format", "torchscript"]) == 0
    exported = ganzoo.load_exported(tmp_path / "model")
    assert exported.input_shape == (1, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(exported(images), expected)
        traced = torch.jit.load(str(tmp_path / "model" / "generator.torchscript.pt"))
        torch.testing.assert_close(traced(images), expected)
    card = (tmp_path / "model" / "README.md").read_text()
    assert "images of shape 1x8x8" in card and "game `kit_paired`" in card
    assert "pipeline_tag: image-to-image" in card and "outputs = G(images)" in card
    assert main(["translate", str(tmp_path / "model"), "--input", str(tmp_path / "gray.npz"),
                 "--out", str(tmp_path / "from_export.npz")]) == 0
    assert np.array_equal(np.load(tmp_path / "from_export.npz")["images"], colour)

    capsys.readouterr()
    colour_in = np.zeros((2, 8, 8, 3), dtype=np.uint8)
    np.savez(tmp_path / "colour_in.npz", images=colour_in)
    assert main(["translate", str(run), "--input", str(tmp_path / "colour_in.npz"),
                 "--out", str(tmp_path / "x.npz")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "takes 1x8x8" in err and "3x8x8" in err
    assert main(["sample", str(run), "--out", str(tmp_path / "s.npz")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "use 'ganzoo translate" in err


def test_translate_runs_both_ways_of_a_four_network_game(tmp_path):
    import numpy as np

    from ganzoo.cli import main

    run = tmp_path / "cycle"
    assert main(["run", str(recipe_file(tmp_path, CYCLE)), "train.steps=3",
                 f"train.run_dir={run}"]) == 0
    np.savez(tmp_path / "a.npz", images=np.zeros((3, 8, 8, 1), dtype=np.uint8))
    for role in ("g_ab", "g_ba"):
        assert main(["translate", str(run), "--input", str(tmp_path / "a.npz"), "--role", role,
                     "--out", str(tmp_path / f"{role}.npz")]) == 0
    a_to_b = np.load(tmp_path / "g_ab.npz")["images"]
    b_to_a = np.load(tmp_path / "g_ba.npz")["images"]
    assert a_to_b.shape == b_to_a.shape == (3, 8, 8, 1) and not np.array_equal(a_to_b, b_to_a)
    assert main(["translate", str(run), "--input", str(tmp_path / "a.npz"), "--role", "d_a",
                 "--out", str(tmp_path / "no.npz")]) == 2


@pytest.mark.parametrize("change, message", [
    (["~d_b"], "d_b: missing; every recipe needs loss and data sections, and game 'kit_cycle' "
               "one per role: g_ab, g_ba, d_a, d_b"),
    (["data={name: gaussian_mixture}"], "data.name: game 'kit_cycle' needs the data field 'b' "
                                        "(role 'g_ab'), but dataset 'gaussian_mixture' gives "
                                        "x, labels"),
    (["g_ab={name: mlp}"], "g_ab.name: generator 'mlp' (plugin 'mlp') takes no input image, "
                           "but role 'g_ab' of game 'kit_cycle' makes field 'b' from field 'a'"),
    (["d_c={name: kit_patch}"], "d_c: unknown section; game 'kit_cycle' has the roles g_ab, "
                                "g_ba, d_a, d_b and the optimizers optim_g, optim_d"),
    (["optim_dd={name: adam}"], "optim_dd: unknown section (did you mean 'optim_d'?)"),
    (["game.name=kit_cycel"], "game.name: Unknown game 'kit_cycel'. Did you mean 'kit_cycle'?"),
])
def test_a_game_refuses_what_it_cannot_play_in_one_line(tmp_path, capsys, change, message):
    from ganzoo.cli import main

    code = main(["run", str(recipe_file(tmp_path, CYCLE)), *change,
                 f"train.run_dir={tmp_path / 'run'}"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert message in err
    assert not (tmp_path / "run").exists()  # refused before any folder was made


def test_a_four_network_game_keeps_the_engine_guarantees(tmp_path, monkeypatch, capsys):
    """An EMA of each generator role, saved; a step that reads no value back to the host;
    a sample picture of each fixed input beside its translation; a report of the run."""
    from PIL import Image

    from ganzoo.cli import main
    from ganzoo.engine.checkpoint import load_checkpoint

    run = tmp_path / "cycle"
    assert main(["run", str(recipe_file(tmp_path, CYCLE)), "train.ema_decay=0.9",
                 f"train.run_dir={run}"]) == 0
    state = load_checkpoint(run / "checkpoints" / "step_0000006.pt")
    assert set(state["ema"]) == {"g_ab", "g_ba"}
    assert state["roles"]["g_ab"]["input_shape"] == [1, 8, 8]
    grid = Image.open(run / "samples" / "step_0000006.png")
    assert grid.size == (2 * 10 + 2, 4 * 10 + 2)  # 4 inputs, each beside its output
    assert main(["report", str(run), "--out", str(tmp_path / "report.html")]) == 0
    assert "kit_cycle" in (tmp_path / "report.html").read_text()

    # fused Adam keeps its step count on the device (the plain one reads it on the host)
    trainer = make_trainer(tmp_path / "direct", ["train.fused_adam=true"],
                           recipe=str(recipe_file(tmp_path, CYCLE)))
    batches = trainer.c.dataset.batches(4, trainer.device, 0)
    trainer.step(batches)

    assert_steps_read_no_value(trainer, batches, monkeypatch)


@pytest.mark.slow
def test_a_four_network_game_under_ddp_ends_with_identical_weights(tmp_path):
    from test_resume import torchrun

    run = tmp_path / "ddp"
    done = torchrun("run", str(recipe_file(tmp_path, CYCLE)), f"train.run_dir={run}",
                    fresh=run)
    assert "x 2 processes" in done.stdout
    assert "parameters identical across ranks: yes" in done.stdout


def test_the_game_walkthrough_in_the_docs_trains_as_written(tmp_path, monkeypatch):
    """docs/plugins.md's one-file game and its recipe, exactly as the page shows them."""
    import re
    import sys
    import types
    from pathlib import Path

    from ganzoo.components import build_components
    from ganzoo.engine.runs import RunFolder
    from ganzoo.engine.trainer import Trainer
    from ganzoo.plugins import load_registry
    from ganzoo.recipe import load_recipe, train_options

    page = (Path(__file__).resolve().parent.parent / "docs" / "plugins.md").read_text()
    section = page[page.index("## A new game in one plugin file"):]
    code, recipe = re.findall(r"```(?:python|yaml)\n(.*?)```", section, re.S)[:2]
    plugin = types.ModuleType("walkthrough_game")
    monkeypatch.setitem(sys.modules, plugin.__name__, plugin)  # for its dataclass
    exec(compile(code, "docs/plugins.md", "exec"), plugin.__dict__)
    registry = load_registry(extra_plugins={"walkthrough": plugin})
    path = recipe_file(tmp_path, recipe)
    config = load_recipe(path, ["train.steps=3", "train.batch_size=4", "train.device=cpu",
                                f"train.run_dir={tmp_path / 'run'}"], registry)
    c = build_components(config, registry)
    assert c.networks["discriminator"].image_shape == (4, 8, 8)  # source beside target
    trainer = Trainer(c, train_options(config), RunFolder.create(config, "walk",
                                                                 str(tmp_path / "run")), config)
    result = trainer.fit()
    assert result.steps == 3 and "l1" in result.last


@pytest.mark.parametrize("roles, message", [
    (None, "register it with roles="),
    ({"train": "generator"}, "role 'train' cannot be a recipe section"),
    ({"g": ("critic", "optim_g")}, "role 'g' must be a ganzoo.roles.Role of kind"),
    ({"g": ("generator", "loss")}, "names optimizer section 'loss', which cannot be"),
    ({"g": ("generator", "d"), "d": ("discriminator", "optim_d")}, "optimizer section 'd'"),
])
def test_a_game_registered_with_unusable_roles_marks_its_plugin_broken(roles, message):
    from ganzoo import hookimpl
    from ganzoo.plugins import load_registry
    from ganzoo.roles import Role

    given = None if roles is None else {
        name: Role(*spec) if isinstance(spec, tuple) else spec for name, spec in roles.items()}
    if roles == {"train": "generator"}:
        given = {"train": Role("generator", "optim_g")}

    class Plugin:
        @hookimpl
        def ganzoo_register_games(self, register):
            register("odd", lambda options: None, roles=given)

    registry = load_registry(extra_plugins={"odd": Plugin()})
    (broken,) = [p for p in registry.broken if p.name == "odd"]
    assert message in broken.error
