"""Exports: safetensors (reloaded by ganzoo.load_exported and Generator.from_pretrained, from a
folder or a Hugging Face cache), TorchScript and ONNX each give the same samples as the
generator of the run for the same z; an export holds no local path, every file is readable by
others, and the card's front matter is what the Hub reads."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from omegaconf import OmegaConf

import ganzoo
from ganzoo.cli import main
from ganzoo.errors import GanzooError
from ganzoo.exports import shareable
from ganzoo.interfaces import Generator

REPO = Path(__file__).resolve().parent.parent
RECIPES = REPO / "recipes"
EXPORT_FILES = {"model.safetensors", "config.json", "config.yaml", "recipe.yaml", "LICENSE.md",
                "README.md"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory, fake_data):
    """An image run (DCGAN on CIFAR-10-format files, with an EMA) and a conditional point run."""
    root = tmp_path_factory.mktemp("export_runs")
    images, points = root / "images", root / "points"
    assert main(["run", str(RECIPES / "dcgan_cifar.yaml"), f"data.root={fake_data}",
                 "data.verify=false", "generator.ngf=4", "discriminator.ndf=4",
                 "train.steps=2", "train.batch_size=4", "train.ema_decay=0.9",
                 "train.device=cpu", f"train.run_dir={images}"]) == 0
    assert main(["run", str(RECIPES / "quickstart.yaml"), "conditional=true",
                 "generator.conditioning=concat", "discriminator.conditioning=projection",
                 "train.steps=2", "train.device=cpu", f"train.run_dir={points}"]) == 0
    return {"images": ganzoo.load_run(images), "points": ganzoo.load_run(points)}


def inputs(G, n=5):
    z = G.sample_latent(n, generator=torch.Generator().manual_seed(3))
    return (z, torch.arange(n) % G.num_classes) if G.conditional else (z,)


@pytest.mark.parametrize("kind", ["images", "points"])
def test_safetensors_export_reloads_the_same_generator(runs, kind, tmp_path):
    run = runs[kind]
    out = tmp_path / "export"
    assert main(["export", str(run.path), "--out", str(out)]) == 0
    assert {p.name for p in out.iterdir()} == EXPORT_FILES
    assert json.loads((out / "config.json").read_text()) == \
        OmegaConf.to_container(OmegaConf.load(out / "config.yaml"))
    G, original = ganzoo.load_exported(out), run.generator()
    with torch.no_grad():
        assert torch.equal(G(*inputs(G)), original(*inputs(original)))
    assert torch.equal(ganzoo.sample(G, 6, seed=2), run.sample(6, seed=2))
    card = (out / "README.md").read_text()
    assert card.startswith("---\nlibrary_name: ganzoo\n")
    for section in ("## Training", "## Evaluation", "## Data licence", "## Use"):
        assert section in card
    assert "G = Generator.from_pretrained('.')" in card
    assert "G = ganzoo.load_exported('.')" in card


def test_the_card_says_the_weights_and_the_data_licence(runs, tmp_path):
    out = tmp_path / "export"
    ganzoo.export(runs["images"], out)
    card = (out / "README.md").read_text()
    assert "the EMA of G (decay 0.9)" in card
    assert "CIFAR-10 (Krizhevsky, 2009)" in card
    assert "Not evaluated" in card


@pytest.mark.parametrize("kind", ["images", "points"])
def test_torchscript_export_gives_the_same_samples(runs, kind, tmp_path):
    run = runs[kind]
    out = tmp_path / "export"
    assert main(["export", str(run.path), "--out", str(out), "--format", "torchscript"]) == 0
    scripted = torch.jit.load(str(out / "generator.torchscript.pt"))
    original = run.generator()
    for n in (1, 7):  # the batch size is free
        with torch.no_grad():
            torch.testing.assert_close(scripted(*inputs(original, n)),
                                       original(*inputs(original, n)))


@pytest.mark.parametrize("kind", ["images", "points"])
def test_onnx_export_gives_the_same_samples(runs, kind, tmp_path):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    pytest.importorskip("onnxscript", reason="onnxscript is not installed")
    run = runs[kind]
    out = tmp_path / "export"
    assert main(["export", str(run.path), "--out", str(out), "--format", "onnx"]) == 0
    session = ort.InferenceSession(str(out / "generator.onnx"))
    original = run.generator()
    for n in (1, 7):
        feed = dict(zip(["z", "labels"], (t.numpy() for t in inputs(original, n)), strict=False))
        (got,) = session.run(None, feed)
        with torch.no_grad():
            np.testing.assert_allclose(got, original(*inputs(original, n)).numpy(),
                                       atol=1e-5, rtol=1e-4)


def test_an_export_never_overwrites(runs, tmp_path, capsys):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    assert main(["export", str(runs["points"].path), "--out", str(out)]) == 2
    assert "exists and is not an empty folder" in capsys.readouterr().err
    assert (out / "mine.txt").read_text() == "keep me"


def test_load_exported_refuses_a_folder_that_is_no_export(tmp_path):
    with pytest.raises(ganzoo.errors.GanzooError, match="is not a ganzoo export"):
        ganzoo.load_exported(tmp_path)


# ---- what others can read: the Hub's layout, no local path, readable modes, the licence -----

def front_matter(card: str) -> dict:
    assert card.startswith("---\n")
    head, end, _ = card[4:].partition("\n---\n")
    assert end, "the front matter has no closing ---"
    return yaml.safe_load(head)


def test_the_card_front_matter_names_library_licence_and_tags(runs, tmp_path):
    out = tmp_path / "export"
    ganzoo.export(runs["images"], out)
    meta = front_matter((out / "README.md").read_text())
    assert meta == {"library_name": "ganzoo", "license": "other",
                    "license_name": "cifar10-data-terms", "license_link": "LICENSE.md",
                    "tags": ["gan", "ganzoo", "generator-dcgan", "dataset-cifar10"],
                    "pipeline_tag": "unconditional-image-generation"}
    terms = (out / meta["license_link"]).read_text()
    assert "- `cifar10`: CIFAR-10 (Krizhevsky, 2009) has no formal licence" in terms
    assert "MIT licence; that licence covers the code, not these weights" in terms
    assert "ganzoo's MIT licence covers its code, not these weights" in \
        (out / "README.md").read_text()
    points = tmp_path / "points"
    ganzoo.export(runs["points"], points)
    meta = front_matter((points / "README.md").read_text())
    assert meta["license_name"] == "gaussian-mixture-data-terms" and "pipeline_tag" not in meta
    hub = pytest.importorskip("huggingface_hub", reason="huggingface_hub is not installed")
    card = hub.ModelCard.load(out / "README.md")  # as the Hub's own library reads it
    assert (card.data.license, card.data.library_name) == ("other", "ganzoo")


def test_the_terms_of_a_data_set_made_from_another_name_both():
    from ganzoo.api import registry
    from ganzoo.exports import data_terms

    terms = data_terms({"name": "degraded", "factor": 4, "base": {"name": "celeba"}},
                       registry())
    assert [name for name, _ in terms] == ["degraded", "celeba"]
    assert "non-commercial research purposes only" in terms[1][1]


def test_a_shared_recipe_drops_every_data_folder_and_absolute_path():
    recipe = {"data": {"name": "degraded", "factor": 4, "root_a": "pairs/A",
                       "base": {"name": "celeba", "root": "../data/celeba"}},
              "train": {"steps": 5, "run_dir": "/home/me/runs/x",
                        "loggers": [{"name": "tensorboard", "log_dir": "C:\\logs"}]},
              "eval": {"ref": "train", "extractor_path": "~/weights.pt"},
              "regularizers": ["/abs/item", "kept"]}
    shared, left_out = shareable(recipe)
    assert shared == {"data": {"name": "degraded", "factor": 4, "base": {"name": "celeba"}},
                      "train": {"steps": 5, "loggers": [{"name": "tensorboard"}]},
                      "eval": {"ref": "train"}, "regularizers": ["kept"]}
    assert left_out == ["data.root_a", "data.base.root", "train.run_dir",
                        "train.loggers[0].log_dir", "eval.extractor_path", "regularizers[0]"]


def test_a_generator_whose_options_hold_a_local_path_is_not_exported():
    from ganzoo.exports import check_portable

    check_portable(["data.root", "train.run_dir"], "generator")
    with pytest.raises(GanzooError, match=r"^generator\.weights: a path on this machine"):
        check_portable(["data.root", "generator.weights"], "generator")


#: an absolute POSIX path in text: a slash after a space, quote, '=', '(', '[', ',' or ':'
ABSOLUTE_PATH = re.compile(r"""(?:^|[\s'"`=(\[,:])/[\w.~-]""", re.M)


def unpacked(path: Path) -> bytes:
    """The bytes of a file, or of every record of a zip archive (TorchScript's) unpacked."""
    import zipfile

    if not zipfile.is_zipfile(path):
        return path.read_bytes()
    with zipfile.ZipFile(path) as archive:
        return b"".join(archive.read(record) for record in archive.infolist())


@pytest.mark.parametrize("format", ["torchscript", "onnx"])
def test_an_export_holds_no_local_path(runs, fake_data, tmp_path, format, capsys):
    if format == "onnx":
        pytest.importorskip("onnxscript", reason="onnxscript is not installed")
    run = runs["images"]  # trained with data.root and train.run_dir absolute
    assert Path(run.recipe.data.root).is_absolute() and Path(run.recipe.train.run_dir).is_absolute()
    out = tmp_path / "export"
    ganzoo.export(run, out, format=format)
    local = [str(fake_data), str(run.path), str(REPO), sys.prefix, str(tmp_path)]
    for path in out.iterdir():
        content = unpacked(path)
        for needle in local:
            assert needle.encode() not in content, f"{path.name} holds {needle}"
        if path.suffix in (".md", ".json", ".yaml"):
            assert not ABSOLUTE_PATH.findall(content.decode()), path.name
    recipe = OmegaConf.load(out / "recipe.yaml")
    assert recipe.data.name == "cifar10" and "root" not in recipe.data
    assert "run_dir" not in recipe.train
    card = (out / "README.md").read_text()
    assert "left out of `recipe.yaml` as local to the machine that trained it: `data.root`, " \
           "`train.run_dir` (give `data.root=...` to train again)" in card
    assert main(["show", str(out / "recipe.yaml"), f"data.root={fake_data}"]) == 0  # it loads


@pytest.mark.parametrize("umask", [0o022, 0o027], ids=["umask022", "umask027"])
def test_every_file_of_an_export_has_the_mode_of_a_new_file(runs, tmp_path, umask):
    old = os.umask(umask)
    try:
        out = tmp_path / "export"
        ganzoo.export(runs["points"], out, format="torchscript")
        (tmp_path / "probe").write_text("")
        (tmp_path / "probe-folder").mkdir()
    finally:
        os.umask(old)

    def mode(path):
        return path.stat().st_mode & 0o777

    assert mode(out) == mode(tmp_path / "probe-folder") == 0o777 & ~umask
    files = {p.name: mode(p) for p in out.iterdir()}
    assert files == {name: mode(tmp_path / "probe") for name in EXPORT_FILES
                     | {"generator.torchscript.pt"}}
    assert mode(tmp_path / "probe") == 0o666 & ~umask


# ---- Generator.from_pretrained: a folder, a repo id of the local Hugging Face cache ----------

class OtherGenerator(Generator):
    def forward(self, z, labels=None):
        return z


def test_from_pretrained_reads_a_folder_and_checks_the_class(runs, tmp_path):
    out = tmp_path / "export"
    ganzoo.export(runs["points"], out)
    G = Generator.from_pretrained(out)
    assert torch.equal(ganzoo.sample(G, 6, seed=2), runs["points"].sample(6, seed=2))
    assert not G.training
    assert isinstance(type(G).from_pretrained(str(out)), type(G))
    with pytest.raises(GanzooError, match=r"holds a MLPGenerator, not a OtherGenerator"):
        OtherGenerator.from_pretrained(out)
    with pytest.raises(GanzooError, match=r"^'missing' is not a ganzoo export"):
        Generator.from_pretrained("./missing")


COMMIT = "0123456789abcdef0123456789abcdef01234567"


def fake_hub_cache(export: Path, cache: Path, repo_id: str = "org/name") -> None:
    """``export`` laid out in ``cache`` as huggingface_hub caches a downloaded model repo."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    shutil.copytree(export, repo / "snapshots" / COMMIT)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)


def test_from_pretrained_reads_a_repo_id_from_the_local_hub_cache(runs, tmp_path):
    pytest.importorskip("huggingface_hub", reason="huggingface_hub is not installed")
    out = tmp_path / "export"
    ganzoo.export(runs["images"], out)
    cache = tmp_path / "hub"
    fake_hub_cache(out, cache)
    G = Generator.from_pretrained("org/name", cache_dir=cache, local_files_only=True)
    assert torch.equal(ganzoo.sample(G, 6, seed=2), runs["images"].sample(6, seed=2))
    G = Generator.from_pretrained("org/name", revision=COMMIT, cache_dir=cache,
                                  local_files_only=True)
    assert G.image_shape == runs["images"].generator().image_shape
    with pytest.raises(GanzooError) as error:
        Generator.from_pretrained("org/other", cache_dir=cache, local_files_only=True)
    assert str(error.value).startswith("'org/other': no such folder here, and the Hugging Face "
                                       "Hub repo could not be read (")
    assert "\n" not in str(error.value)


def test_from_pretrained_offline_from_hf_home(runs, tmp_path):
    """As a user reads a cached model: HF_HOME and HF_HUB_OFFLINE=1, no cache_dir given."""
    pytest.importorskip("huggingface_hub", reason="huggingface_hub is not installed")
    out = tmp_path / "export"
    ganzoo.export(runs["points"], out)
    fake_hub_cache(out, tmp_path / "hf" / "hub")
    env = {k: v for k, v in os.environ.items()
           if k not in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE")}
    env.update(HF_HOME=str(tmp_path / "hf"), HF_HUB_OFFLINE="1")
    code = ("import json, ganzoo; from ganzoo.interfaces import Generator; "
            "G = Generator.from_pretrained('org/name'); "
            "print(json.dumps(ganzoo.sample(G, 4, seed=2).tolist()))")
    result = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, timeout=120,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    expected = runs["points"].sample(4, seed=2)
    torch.testing.assert_close(torch.tensor(json.loads(result.stdout)), expected)


def test_a_repo_id_without_huggingface_hub_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # its import fails
    monkeypatch.chdir(tmp_path)
    with pytest.raises(GanzooError) as error:
        Generator.from_pretrained("org/name")
    assert str(error.value) == ("'org/name': no such folder here; to read it from the Hugging "
                                "Face Hub, install the hub extra: pip install 'ganzoo[hub]'")


def test_load_exported_reads_no_pickle_and_no_yaml_tag(runs, tmp_path):
    out = tmp_path / "export"
    ganzoo.export(runs["points"], out)
    (out / "config.json").unlink()  # an export written before config.json: config.yaml
    assert torch.equal(ganzoo.sample(ganzoo.load_exported(out), 4, seed=1),
                       runs["points"].sample(4, seed=1))
    ran = tmp_path / "ran"
    (out / "config.yaml").write_text(f"generator: !!python/object/apply:os.system "
                                     f"['touch {ran}']\n")
    with pytest.raises(GanzooError, match=r"config\.yaml': not a readable config \(could not "
                                          r"determine a constructor for the tag"):
        ganzoo.load_exported(out)
    assert not ran.exists()
    (out / "config.json").write_text("{not json")
    with pytest.raises(GanzooError, match=r"config\.json': not a readable config"):
        ganzoo.load_exported(out)
    (out / "config.json").write_text(json.dumps({"generator": {"name": "mlp"},
                                                 "image_shape": "2"}))
    with pytest.raises(GanzooError, match=r"image_shape and input_shape must be lists"):
        ganzoo.load_exported(out)
    torch.save({"net.0.weight": torch.zeros(1)}, out / "model.safetensors")  # a pickle
    (out / "config.json").write_text(json.dumps({"generator": {"name": "mlp"},
                                                 "image_shape": [2]}))
    with pytest.raises(GanzooError, match=r"model\.safetensors': not a safetensors file"):
        ganzoo.load_exported(out)
    (out / "model.safetensors").unlink()
    torch.save({}, out / "pytorch_model.bin")
    with pytest.raises(GanzooError, match=r"is not a ganzoo export \(no model\.safetensors"):
        ganzoo.load_exported(out)
