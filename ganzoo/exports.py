"""Taking a trained generator out of ganzoo: safetensors weights, a config, the recipe and a
model card, laid out as a Hugging Face model repository; optionally TorchScript or ONNX too.

    out/
      README.md            the model card (YAML front matter as the Hub reads it)
      config.yaml          what rebuilds G: its recipe section, sample shape, classes
      recipe.yaml          the resolved recipe of the run
      model.safetensors    G's weights (the EMA weights where the run kept them)
      generator.torchscript.pt / generator.onnx   with --format torchscript / onnx

``load_exported(out)`` rebuilds G from config.yaml and model.safetensors: no pickle is read.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf
from torch import Tensor, nn

from ganzoo.errors import GanzooError
from ganzoo.interfaces import Generator

FORMATS = ("safetensors", "torchscript", "onnx")
CONFIG, WEIGHTS, RECIPE, CARD = "config.yaml", "model.safetensors", "recipe.yaml", "README.md"
FORMAT_FILES = {"torchscript": "generator.torchscript.pt", "onnx": "generator.onnx"}
EXPORT_VERSION = 1


class Sampler(nn.Module):
    """G with plain tensor inputs, for tracing: (z) or (z, labels) -> samples; for a G with
    an input, (images) or (images, labels)."""

    def __init__(self, G: Generator):
        super().__init__()
        self.G = G

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.G(z, labels)


def export(run: Any, out: str | Path, format: str = "safetensors", weights: str = "ema",
           checkpoint: str | Path | None = None) -> list[Path]:
    """Write the run's sampling generator into the folder ``out`` (new or empty); the files
    written. ``run``: a Run or a run folder. ``format``: safetensors (always written), and
    torchscript or onnx beside it."""
    from ganzoo.run import Run, check_weights
    from ganzoo.sampling import load_generator

    run = run if isinstance(run, Run) else Run(run)
    if format not in FORMATS:
        raise GanzooError(f"--format: expected one of {', '.join(FORMATS)} (got {format!r})")
    check_weights(weights)
    out = Path(out)
    check_target(out)
    G, checkpoint_state, _ = load_generator(run.checkpoint_target(checkpoint), run.registry,
                                            weights == "ema", "cpu")
    check_same_run(run, checkpoint_state, checkpoint)
    role = checkpoint_state.get("primary", "generator")
    state = {"step": int(checkpoint_state["step"]), "role": role,
             "has_ema": (checkpoint_state.get("ema") or {}).get(role) is not None}
    staging = make_staging(out)
    try:
        files = [save_weights(G, staging / WEIGHTS),
                 save_config(G, run, state, weights, staging / CONFIG)]
        OmegaConf.save(run.recipe, staging / RECIPE, resolve=True)
        files.append(staging / RECIPE)
        if format != "safetensors":
            files.append(save_traced(G, format, staging / FORMAT_FILES[format]))
        files.append(write_card(run, G, state, weights, files, staging / CARD))
        publish(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [out / f.name for f in files]


def check_target(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise GanzooError(f"--out {out}: exists and is not an empty folder; choose a new one "
                          "(an export never overwrites)")


def make_staging(out: Path) -> Path:
    """A new hidden folder beside ``out``, where the export is written before it is published
    whole: two exports into one folder at once can then never mix their files."""
    import tempfile

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    except OSError as exc:
        raise GanzooError(f"--out {out}: cannot create it ({exc.strerror or exc}); choose a "
                          "writable place") from None


def publish(staging: Path, out: Path) -> None:
    """Rename the finished export onto ``out`` (absent or an empty folder); refuse, in one
    line, when another export filled ``out`` meanwhile."""
    import os

    os.chmod(staging, 0o755)  # mkdtemp makes it 0700; the export is for others to read
    try:
        os.rename(staging, out)  # atomic; replaces an empty folder, never a filled one
    except OSError as exc:
        raise GanzooError(f"--out {out}: another export filled it while this one was being "
                          f"written ({exc.strerror or exc}); nothing of this one was left "
                          "there: choose a new folder") from None


#: the sections whose values decide what a checkpoint's networks are
NETWORK_SECTIONS = ("game", "data", "conditional")


def check_same_run(run: Any, state: dict[str, Any], checkpoint: str | Path | None) -> None:
    """Refuse a checkpoint whose networks are not those of ``run``'s recipe: its weights would
    be written under the run's name, recipe and card."""
    from ganzoo.recipe import flatten, game_sections

    if checkpoint is None:
        return
    ours = flatten(OmegaConf.to_container(run.recipe, resolve=True))
    theirs = flatten(state.get("recipe") or {})
    sections = (*NETWORK_SECTIONS, *game_sections(run.recipe.game.name, run.registry).roles)
    for key in sorted(set(ours) | set(theirs)):
        if key.split(".")[0] in sections and ours.get(key) != theirs.get(key):
            raise GanzooError(f"--checkpoint {checkpoint}: not a checkpoint of this run ({key} "
                              f"is {ours.get(key)!r} here, {theirs.get(key)!r} there); export "
                              "it from its own run folder")


def save_weights(G: Generator, path: Path) -> Path:
    from safetensors.torch import save_file

    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in G.state_dict().items()}
    save_file(tensors, str(path), metadata={"format": "pt", "library": "ganzoo"})
    return path


def save_config(G: Generator, run: Any, state: dict[str, Any], weights: str, path: Path) -> Path:
    import ganzoo

    config = {
        "ganzoo_export": EXPORT_VERSION,
        "ganzoo_version": ganzoo.__version__,
        "generator": OmegaConf.to_container(run.recipe[state["role"]], resolve=True),
        "role": state["role"],  # the game's role this generator played
        "image_shape": list(G.image_shape),
        # a G with an input takes images of this shape in place of z
        "input_shape": list(G.input_shape) if G.input_shape else None,
        "latent_dim": int(G.latent_dim),
        "latent_categories": int(G.latent_categories),  # a one-hot code ends z (ClusterGAN)
        "latent_std": float(G.latent_std),  # of z's Gaussian part
        "num_classes": G.num_classes if G.conditional else None,
        "weights": "ema" if weights == "ema" and state["has_ema"] else "raw",
        "step": state["step"],
        "output_range": [-1, 1],
    }
    OmegaConf.save(OmegaConf.create(config), path)
    return path


def example_inputs(G: Generator, n: int = 2) -> tuple[Tensor, ...]:
    rng = torch.Generator().manual_seed(0)
    z = (torch.rand(n, *G.input_shape, generator=rng) * 2 - 1 if G.input_shape
         else G.sample_latent(n, generator=rng))
    if G.conditional:
        return z, torch.arange(n) % G.num_classes
    return (z,)


def save_traced(G: Generator, format: str, path: Path) -> Path:
    """G traced with a batch dimension free to vary: TorchScript or ONNX."""
    sampler = Sampler(G).eval()
    inputs = example_inputs(G)
    with torch.no_grad():
        if format == "torchscript":
            torch.jit.trace(sampler, inputs).save(str(path))
            return path
        try:
            import onnxscript  # noqa: F401  (torch's ONNX exporter needs it)
        except ImportError:
            raise GanzooError("--format onnx needs the onnx and onnxscript packages: "
                              "pip install 'ganzoo[onnx]'") from None
        batch = torch.export.Dim("batch")
        names = ["images" if G.input_shape else "z", "labels"][:len(inputs)]
        torch.onnx.export(sampler, inputs, str(path), input_names=names,
                          output_names=["samples"], dynamo=True, verbose=False,
                          external_data=False,
                          dynamic_shapes=tuple({0: batch} for _ in inputs))
    return path


def is_export(folder: Path) -> bool:
    """Whether ``folder`` looks like an export (its config and weights are there)."""
    return (folder / CONFIG).is_file() and (folder / WEIGHTS).is_file()


def load_exported(folder: str | Path, device: str = "cpu") -> Generator:
    """The generator of an export folder, in eval mode: built from config.yaml by the
    registered component it names, its weights read from model.safetensors."""
    from safetensors.torch import load_file

    from ganzoo.components import build_one
    from ganzoo.engine.checkpoint import load_weights
    from ganzoo.plugins import load_registry_with_warnings as registry

    folder = Path(folder)
    for name in (CONFIG, WEIGHTS):
        if not (folder / name).is_file():
            raise GanzooError(f"'{folder}' is not a ganzoo export (no {name} in it)")
    config = OmegaConf.load(folder / CONFIG)
    num_classes = config.get("num_classes")
    extra = {"input_shape": tuple(config.input_shape)} if config.get("input_shape") else {}
    G = build_one(registry(), "generator", config.generator, f"{folder / CONFIG}: generator",
                  tuple(config.image_shape), num_classes, **extra)
    load_weights(G, load_file(str(folder / WEIGHTS)), "generator", folder / WEIGHTS)
    return G.to(device).eval()


def write_card(run: Any, G: Generator, state: dict[str, Any], weights: str,
               files: list[Path], path: Path) -> Path:
    path.write_text(model_card(run, G, state, weights, files), encoding="utf-8")
    return path


def model_card(run: Any, G: Generator, state: dict[str, Any], weights: str,
               files: list[Path]) -> str:
    """README.md: what the model is, what it was trained on, how well it does, how to load it."""
    recipe = run.recipe
    data = OmegaConf.to_container(recipe.data, resolve=True)
    component = run.registry.get("dataset", data["name"])
    from ganzoo.interfaces import is_image_shape

    conditional = f", conditional on {G.num_classes} classes" if G.conditional else ""
    role = state["role"]
    tags = ["gan", "ganzoo", f"generator-{recipe[role].name}", f"dataset-{data['name']}"]
    images = is_image_shape(tuple(G.image_shape))
    shape = "x".join(map(str, G.image_shape))
    output = f"images of shape {shape} in [-1, 1]" if images else f"points of shape {shape}"
    task = ("image-to-image" if G.input_shape else "image-generation" if G.conditional
            else "unconditional-image-generation")
    pipeline = [f"pipeline_tag: {task}"] if images else []
    data_options = ", ".join(f"{k}={v}" for k, v in data.items() if k != "name")
    ema = weights == "ema" and state["has_ema"]
    others = [r for r in run.registry.get("game", recipe.game.name).roles if r != role]
    takes = (f"images of shape {'x'.join(map(str, G.input_shape))} in [-1, 1]" if G.input_shape
             else G.latent_description())
    lines = [
        "---", "library_name: ganzoo", f"tags: [{', '.join(tags)}]", *pipeline, "---", "",
        f"# {run.name}", "",
        f"A GAN generator trained with ganzoo: {role} `{recipe[role].name}` of game "
        f"`{recipe.game.name}` ({', '.join(f'{r} `{recipe[r].name}`' for r in others)}), "
        f"loss `{recipe.loss.name}`, on `{data['name']}`{conditional}. It maps "
        f"{takes} to {output}.", "",
        "## Training", "",
        f"- data: `{data['name']}` ({data_options})",
        f"- steps: {state['step']:,} at batch size {recipe.train.batch_size}, "
        f"seed {recipe.train.seed}",
        f"- weights: {f'the EMA of G (decay {recipe.train.ema_decay})' if ema else 'G itself'}",
        "- the full resolved recipe is `recipe.yaml`: `ganzoo run recipe.yaml` trains it again", "",
        "## Evaluation", "", *evaluation_lines(run), "",
        "## Data licence", "",
        component.licence or "not stated by the dataset's plugin: check the data's terms.", "",
        "## Use", "", "```python", "import ganzoo", "",
        "G = ganzoo.load_exported('.')   # this folder",
        *use_lines(G),
        "```", "",
        *format_lines(files), "", "## Files", "",
        *[f"- `{f.name}`" for f in files], f"- `{CARD}`", "",
    ]
    return "\n".join(lines)


def use_lines(G: Generator) -> list[str]:
    """How to call the loaded G: sampling from z, or translating images."""
    out = ", ".join(map(str, G.image_shape))
    if G.input_shape:
        shape = ", ".join(map(str, G.input_shape))
        return [f"images = ...   # (N, {shape}), float in [-1, 1]",
                f"outputs = G(images)   # (N, {out})",
                "# or: ganzoo translate . --input images/ --out outputs.npz"]
    lines = ["samples = ganzoo.sample(G, 16, seed=0)   # (16, " + out + ")"
             + (", classes 0, 1, ... in turn" if G.conditional else "")]
    for option, what in G.sampling_options.items():  # the sampling options G declares
        lines.append(f"# with G.sampling({option}=...): {what}")
    return lines


def evaluation_lines(run: Any) -> list[str]:
    """The newest evaluation with its protocol, or a line that says there is none."""
    evaluations = [e for e in run.evaluations if e.get("protocol")]
    if not evaluations:
        during = run.evaluations
        if not during:
            return ["Not evaluated: `ganzoo eval` on the run folder measures it."]
        last = during[-1]
        values = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                           for k, v in last["metrics"].items() if k not in ("step", "score"))
        return [f"During training, at step {last['step']:,}: {values}."]
    step = evaluations[-1].get("step")
    lines: list[str] = []
    for evaluation in (e for e in evaluations if e.get("step") == step):  # each kept
        if lines:
            lines.append("")
        lines += ["| metric | value |", "|---|---|"]
        lines += [f"| {k} | {v:.4g} |" if isinstance(v, float) else f"| {k} | {v} |"
                  for k, v in evaluation["metrics"].items()]
        protocol = ", ".join(f"{k}: {v}" for k, v in evaluation["protocol"].items())
        lines += ["", f"Protocol: {protocol}.",
                  *[f"Note: {n}" for n in evaluation.get("notes", [])]]
    return lines


def format_lines(files: list[Path]) -> list[str]:
    names = {f.name for f in files}
    lines = []
    if FORMAT_FILES["torchscript"] in names:
        lines += ["Without ganzoo: `torch.jit.load('generator.torchscript.pt')(z)`"
                  " (z of shape (N, latent_dim), or images for a G with an input; a conditional"
                  " G takes (z, labels))."]
    if FORMAT_FILES["onnx"] in names:
        lines += ["Without PyTorch: `onnxruntime.InferenceSession('generator.onnx').run(None, "
                  "{'z': z})` (`images` for a G with an input; and `labels`, int64, for a "
                  "conditional G)."]
    return lines
