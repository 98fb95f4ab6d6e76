"""Every bad input answers in one line, with exit code 2, no traceback, and nothing lost."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import torch
from helpers import one_line_error

from ganzoo.cli import main

RECIPES = Path(__file__).resolve().parent.parent / "recipes"
QUICK = str(RECIPES / "quickstart.yaml")
TINY = ["train.steps=2", "train.device=cpu", "generator.hidden_dims=[8]",
        "discriminator.hidden_dims=[8]"]


@pytest.fixture(scope="module")
def points_run(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("points") / "run"
    assert main(["run", QUICK, *TINY, f"train.run_dir={run}"]) == 0
    return run


@pytest.mark.parametrize("overrides, expected", [
    (["train.lr_d=nan"], "train.lr_d: must be finite (got nan)"),
    (["optim_g.lr=inf"], "optim_g.lr: must be finite (got inf)"),
    (["train.seed=-1"], "train.seed: must be in [0, 2**32) (got -1)"),
    (["generator.hidden_dims=[64,64"], "Override 'generator.hidden_dims=[64,64': its value is "
                                       "not valid YAML: did not find expected ','"),
    (["=5"], "Override '=5' must look like key=value"),
    (["train..steps=1"], "Override 'train..steps=1' must look like key=value"),
    (["train.batch_size=1000000000"], "train.batch_size: 1000000000 is larger than the dataset"),
    (["eval.extractor=inceptoin"], "eval.extractor: Unknown feature_extractor 'inceptoin'. Did "
                                   "you mean 'inception'?"),
    (["eval.metrics=[fdi]"], "Unknown metric 'fdi'. Did you mean 'fid'?"),
])
def test_bad_recipe_values_before_any_run_folder(tmp_path, capsys, overrides, expected):
    run = tmp_path / "run"
    one_line_error(capsys, ["run", QUICK, *TINY, *overrides, f"train.run_dir={run}"], expected)
    assert not run.exists()  # no stub run folder left behind


def test_bad_recipe_files(tmp_path, capsys):
    one_line_error(capsys, ["run", str(tmp_path)], "is a folder, not a recipe file")
    unclosed = tmp_path / "unclosed.yaml"
    unclosed.write_text("generator:\n  name: mlp\n  hidden_dims: [1, 2\nloss: {name: mse}\n")
    one_line_error(capsys, ["run", str(unclosed)], "unclosed.yaml: not valid YAML: line 4, "
                                                   "column 5: did not find expected ','")
    twice = tmp_path / "twice.yaml"
    twice.write_text("generator:\n  name: mlp\ngenerator:\n  name: dcgan\n")
    one_line_error(capsys, ["run", str(twice)], "twice.yaml: not valid YAML: line 3, column 1: "
                                                "found duplicate key generator")


def test_bad_command_arguments(points_run, tmp_path, capsys):
    one_line_error(capsys, ["sample", str(points_run), "--n", "4", "--device", "gpu",
                            "--out", str(tmp_path / "a.npz")],
                   "--device: must be auto, cpu, cuda, cuda:N or mps (got 'gpu')")
    one_line_error(capsys, ["sample", str(points_run), "--n", "100000000000",
                            "--out", str(tmp_path / "b.npz")], "GB of memory, more than the")
    one_line_error(capsys, ["sample", str(points_run), "--n", "4", "--out",
                            "/proc/no/such/place.npz"], "--out /proc/no/such/place.npz: cannot "
                                                        "write there")
    one_line_error(capsys, ["sample", str(points_run), "--n", "4", "--out",
                            str(tmp_path / "pngs")], "this generator makes points, not images")
    one_line_error(capsys, ["interpolate", str(points_run), "--out", str(tmp_path / "w.png")],
                   "interpolate draws image grids; this generator makes points")
    assert not list(tmp_path.iterdir())  # nothing written


def test_checkpoints_that_cannot_be_used(points_run, tmp_path, capsys):
    empty = tmp_path / "empty"
    (empty / "checkpoints").mkdir(parents=True)
    (empty / "recipe.yaml").write_text((points_run / "recipe.yaml").read_text())
    one_line_error(capsys, ["sample", str(empty), "--out", str(tmp_path / "x.npz")],
                   "No checkpoint in")

    # Every checkpoint corrupt: a short line; --debug lists the files.
    broken = tmp_path / "broken"
    shutil.copytree(points_run, broken)
    for path in (broken / "checkpoints").glob("step_*.pt"):
        path.write_bytes(b"not a checkpoint")
    err = one_line_error(capsys, ["eval", str(broken)], "all 1 are unreadable")
    assert len(err) < 300
    assert main(["eval", str(broken), "--debug"]) == 2
    assert "step_0000002.pt' cannot be read" in capsys.readouterr().err

    # A pickle that would run code is refused without advising weights_only=False.
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    evil = tmp_path / "evil.pt"
    torch.save({"step": 1, "payload": Evil()}, evil)
    err = one_line_error(capsys, ["sample", str(evil), "--out", str(tmp_path / "e.npz")],
                         "holds objects that a safe load refuses")
    assert "weights_only" not in err


def test_resume_with_a_changed_architecture_names_the_tensor(points_run, tmp_path, capsys):
    from omegaconf import OmegaConf

    run = tmp_path / "run"
    shutil.copytree(points_run, run)
    (run / "run.lock").unlink(missing_ok=True)
    recipe = OmegaConf.load(run / "recipe.yaml")
    recipe.generator.hidden_dims = [4]  # edited after the run started
    OmegaConf.save(recipe, run / "recipe.yaml")
    one_line_error(capsys, ["resume", str(run), "train.steps=4"],
                   "the checkpoint's generator does not fit the recipe's (net.0.weight is (8, 52) "
                   "in the checkpoint but (4, 52) here); was the recipe changed")


def test_extractor_path_that_is_not_torchscript(tmp_path, fake_data, capsys):
    run = tmp_path / "run"
    assert main(["run", str(RECIPES / "dcgan_cifar.yaml"), f"data.root={fake_data}",
                 "data.verify=false", "generator.ngf=4", "discriminator.ndf=4", "train.steps=1",
                 "train.batch_size=8", "train.device=cpu", f"train.run_dir={run}"]) == 0
    junk = tmp_path / "junk.pt"
    junk.write_text("not a network")
    capsys.readouterr()
    one_line_error(capsys, ["eval", str(run), "--n", "8", "--extractor-path", str(junk)],
                   f"eval.extractor_path: '{junk}' is not a TorchScript archive")


def test_bad_data(tmp_path, fake_data, capsys, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("GANZOO_CACHE", str(cache))
    # MNIST files cut short, or empty: the file is named.
    root = tmp_path / "mnist"
    shutil.copytree(fake_data / "MNIST", root / "MNIST")
    images = root / "MNIST" / "raw" / "train-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:1000])
    one_line_error(capsys, ["run", str(RECIPES / "mlp_mnist.yaml"), f"data.root={root}",
                            f"train.run_dir={tmp_path / 'r1'}"],
                   f"data.root: '{images}' is cut short or not an MNIST IDX file (1,000 bytes; "
                   "its header says 50,192)")
    images.write_bytes(b"")
    one_line_error(capsys, ["run", str(RECIPES / "mlp_mnist.yaml"), f"data.root={root}",
                            f"train.run_dir={tmp_path / 'r1'}"], "(0 bytes)")
    # A folder of files that are not images: one line, before any run folder, nothing cached.
    texts = tmp_path / "texts"
    texts.mkdir()
    for i in range(3):
        (texts / f"{i}.jpg").write_text("hello")
    one_line_error(capsys, ["run", str(RECIPES / "dcgan_image_folder.yaml"),
                            f"data.root={texts}", f"train.run_dir={tmp_path / 'r2'}"],
                   f"data.root: none of the 3 image files in '{texts}' could be read")
    assert not (tmp_path / "r1").exists() and not (tmp_path / "r2").exists()
    assert not list(cache.glob("image_folder-*"))


def test_conditional_and_name_errors(tmp_path, capsys, monkeypatch):
    one_line_error(capsys, ["run", QUICK, "generator={name: kit_cmlp}",
                            f"train.run_dir={tmp_path / 'r'}"], "is conditional")
    monkeypatch.setenv("GANZOO_DISABLE_PLUGINS", "mlp")
    one_line_error(capsys, ["run", QUICK, f"train.run_dir={tmp_path / 'r'}"],
                   "Disabled or broken plugins, which may give it: mlp")


# ---- round three: the newer surfaces (augment, regularizers, schedules, loggers, the API) -----

@pytest.mark.parametrize("overrides, expected", [
    (["regularizers={name: r1}"], "regularizers: expected a list of entries, each {name: ..., "
                                  "<options>}, e.g. [{name: r1, weight: 10}] (got a mapping)"),
    (["regularizers=r1"], "regularizers: expected a list of entries"),
    (["regularizers=3"], "regularizers: expected a list of entries"),
    (["regularizers=[r1]"], "regularizers[0]: expected {name: ..., <options>}"),
    (["train.loggers={name: kit_recorder}"], "train.loggers: expected a list of entries, each "
                                             "a name or {name: ..., <options>}"),
    (["train.loggers=5"], "train.loggers: expected a list of entries"),
    (["train.loggers=[5]"], "train.loggers[0]: expected a name or {name: ..., <options>}"),
    (["eval.metrics=fid"], "eval.metrics: expected a list of entries"),
    (["optim_g.schedule=linear"], "optim_g.schedule: expected a mapping {name: ..., <options>} "
                                  "naming the schedule"),
    (["optim_d.schedule=3"], "optim_d.schedule: expected a mapping"),
    (["augment={name: diffaugment}"], "augment.name: 'diffaugment' transforms images, but "
                                      "dataset 'gaussian_mixture' gives samples of shape (2,)"),
    (["augment={name: adaptive, target: 2}"], "augment.target: E[sign(D(x))] lies in [-1, 1]"),
    (["augment={name: adaptive, target: .nan}"], "augment.target: E[sign(D(x))] lies in [-1, 1] "
                                                 "(got nan)"),
    (["regularizers=[{name: r1, every: true}]"], "regularizers[0].every: must be a whole number "
                                                 ">= 1 (got True)"),
    (["regularizers=[{name: r1, weight: .inf}]"], "regularizers[0].weight: must be a finite "
                                                  "number >= 0 (got inf)"),
    (["regularizers=[{name: gradient_penalty, target: -1}]"], "regularizers[0].target: a "
                                                              "gradient norm"),
    (["optim_g.schedule={name: linear, warmup: 100}"], "optim_g.schedule.warmup: 100 steps of "
                                                       "warm-up in a run of 2 (train.steps)"),
    (["train.n_critic=1000000000"], "train.n_critic: at most 1000 D updates per G update"),
    (["optim_d.lr=.nan"], "optim_d.lr: must be finite (got nan)"),
    (["train.ema_decay=.inf"], "train.ema_decay: must be in [0, 1) (got inf)"),
    (["data.std=${oc.env:STD}"], "data.std: '${oc.env:STD}' calls a resolver"),
    (["train.init_from=/nonexistent/run"], "train.init_from: '/nonexistent/run' does not exist"),
    (["train.freeze_d=-1"], "train.freeze_d: must be 0 (off) or positive (got -1)"),
])
def test_round_three_recipe_mistakes_are_one_line_and_write_nothing(overrides, expected,
                                                                    tmp_path, capsys):
    run = tmp_path / "run"
    one_line_error(capsys, ["run", QUICK, *TINY, *overrides, f"train.run_dir={run}"], expected)
    assert not run.exists()


def api_cases(run: Path) -> list:
    import ganzoo

    def G(shape):
        return ganzoo.build("generator", "mlp", image_shape=shape)

    class Narrow(type(G((2,)))):
        def forward(self, z, labels=None):
            return super().forward(z, labels)[:, :1]

    narrow = G((2,))
    narrow.__class__ = Narrow
    points = {"name": "gaussian_mixture"}
    return [
        (lambda: ganzoo.train(123), "recipe: a recipe file's path, a shipped recipe's name"),
        (lambda: ganzoo.train(None), "(got NoneType)"),
        (lambda: ganzoo.train("quickstart", overrides="train.steps=3"), "overrides: a list"),
        (lambda: ganzoo.load_run(5), "path: a run folder's path (got int)"),
        (lambda: ganzoo.load_run(run).sample(10**11), "n: 100000000000 samples of shape 2 need"),
        (lambda: ganzoo.load_run(run).sample(2.5), "n: the number of samples, a whole number"),
        (lambda: ganzoo.load_run(run).sample(True), "n: the number of samples"),
        (lambda: ganzoo.build("generator", "mlp", image_shape=2), "image_shape: a sample shape"),
        (lambda: ganzoo.build("generator", "mlp", image_shape=(2, 0)), "of whole numbers above"),
        (lambda: ganzoo.evaluate(narrow, data=points, n=50, progress=False),
         "generator: it declares samples of shape (2,) (image_shape) but makes (1,)"),
        (lambda: ganzoo.evaluate(G((3,)), data=points, n=50, progress=False),
         "generator: its samples are (3,), the reference data's (2,)"),
        (lambda: ganzoo.to_pil(torch.zeros(2, 3, 4, 4), scale=0), "to_pil: scale must be"),
    ]


def test_the_python_api_raises_one_line_ganzoo_errors_on_bad_arguments(points_run):
    from ganzoo.errors import GanzooError

    for call, expected in api_cases(points_run):
        with pytest.raises(GanzooError) as error:
            call()
        message = str(error.value)
        assert expected in message and "\n" not in message, message


DAMAGES = {
    "a metrics line that is a list": ("metrics.jsonl", "append", '[1, 2, 3]\n',
                                      "metrics.jsonl' line 2 is not a record"),
    "a metrics line that is a string": ("metrics.jsonl", "append", '"text"\n',
                                        "metrics.jsonl' line 2 is not a record"),
    "a metrics step that is not a number": ("metrics.jsonl", "append", '{"step": "x"}\n',
                                            "metrics.jsonl' line 2 is not a record"),
    "a binary metrics file": ("metrics.jsonl", "write", b"\x89\xe1\x00\xff" * 40,
                              "metrics.jsonl' is not a text file of JSON lines"),
    "an eval file that is no JSON": ("checkpoints/step_0000002.eval.json", "write", "{not json",
                                     "step_0000002.eval.json: cannot be read as a saved "
                                     "evaluation"),
    "an eval file of the wrong shape": ("checkpoints/step_0000002.eval.json", "write",
                                        '{"metrics": 5}', "does not hold saved evaluations"),
    "a recipe that is no YAML": ("recipe.yaml", "write", "train: [\n",
                                 "recipe.yaml: not valid YAML: line 2, column 1"),
    "a recipe with a YAML tag": ("recipe.yaml", "write", "train: !!python/object:os.system x\n",
                                 "recipe.yaml: not valid YAML: line 1, column 8: could not "
                                 "determine a constructor for the tag"),
}


@pytest.mark.parametrize("damage", DAMAGES)
@pytest.mark.parametrize("command", ["report", "compare"])
def test_report_and_compare_of_a_damaged_run_are_one_line(damage, command, points_run,
                                                         tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(points_run, run)
    name, how, content, expected = DAMAGES[damage]
    path = run / name
    if how == "append":
        path.write_text(path.read_text() + content)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    before = path.read_bytes()
    argv = [command, str(run)] + (["--out", str(tmp_path / "r.html")] if command == "report"
                                  else [])
    if command == "compare" and name == "recipe.yaml":
        argv = ["report", str(run), "--out", str(tmp_path / "r.html")]  # compare reads no recipe
    one_line_error(capsys, argv, expected)
    assert path.read_bytes() == before and not (tmp_path / "r.html").exists()


def damaged_export(case: str, folder: Path) -> None:
    import json

    from safetensors.torch import load_file, save_file

    weights, config = folder / "model.safetensors", folder / "config.json"
    if case == "truncated weights":
        weights.write_bytes(weights.read_bytes()[:len(weights.read_bytes()) // 2])
    elif case in ("float64 weights", "int8 weights", "NaN weights"):
        tensors = load_file(str(weights))
        change = {"float64 weights": lambda t: t.double(),
                  "int8 weights": lambda t: t.to(torch.int8),
                  "NaN weights": lambda t: torch.full_like(t, float("nan"))}[case]
        save_file({k: change(v) for k, v in tensors.items()}, str(weights))
    elif case == "a config that is a list":
        config.write_text("[1, 2]")
    elif case == "a config lacking image_shape":
        values = json.loads(config.read_text())
        del values["image_shape"]
        config.write_text(json.dumps(values))
    elif case == "a future format":
        values = json.loads(config.read_text())
        config.write_text(json.dumps({**values, "ganzoo_export": 99}))
    elif case == "a config reading the environment":
        values = json.loads(config.read_text())
        values["generator"]["latent_std"] = "${oc.env:HOME}"
        config.write_text(json.dumps(values))
    else:  # the older config.yaml alone: not YAML, or a tag
        config.unlink()
        text = {"a YAML config that is no YAML": "a: [\n",
                "a YAML config with a tag": "generator: !!python/object/apply:os.system [ls]\n"}
        (folder / "config.yaml").write_text(text[case])


EXPORT_DAMAGES = {
    "truncated weights": "model.safetensors': not a safetensors file",
    "float64 weights": "is float64, but the generator's is float32",
    "int8 weights": "is int8, but the generator's is float32",
    "NaN weights": "holds NaN or infinite values",
    "a config that is a list": "config.json': no 'generator' section",
    "a config lacking image_shape": "image_shape and input_shape must be lists",
    "a future format": "export format 99, newer than the 1 this ganzoo",
    "a config reading the environment": "generator.latent_std: '${oc.env:HOME}' calls a resolver",
    "a YAML config that is no YAML": "config.yaml': not a readable config",
    "a YAML config with a tag": "could not determine a constructor for the tag",
}


@pytest.mark.parametrize("case", EXPORT_DAMAGES)
def test_load_exported_of_a_damaged_or_foreign_export_is_one_line(case, points_run, tmp_path):
    import ganzoo
    from ganzoo.errors import GanzooError

    folder = tmp_path / "export"
    ganzoo.export(points_run, folder)
    damaged_export(case, folder)
    with pytest.raises(GanzooError) as error:
        ganzoo.load_exported(folder)
    message = str(error.value)
    assert EXPORT_DAMAGES[case] in message and "\n" not in message, message
    home = os.environ.get("HOME") or "/nonexistent-home"
    assert home not in message.replace(str(tmp_path), "")  # no environment value echoed


@pytest.mark.parametrize("out, expected", [
    ("a_folder", "is a folder; name the picture file to write"),
    ("walk.xyz", ".xyz is no picture format"),
    ("walk", "no extension is no picture format"),
])
def test_interpolate_out_must_be_a_picture_file(out, expected, points_run, tmp_path, capsys):
    (tmp_path / "a_folder").mkdir()
    one_line_error(capsys, ["interpolate", str(points_run), "--out", str(tmp_path / out)],
                   expected)
