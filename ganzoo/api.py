"""ganzoo from Python: train a recipe, open a run, sample, evaluate, build a component.

    import ganzoo
    run = ganzoo.train("recipes/quickstart.yaml", overrides=["train.steps=500"])
    points = run.sample(1000)                       # a tensor, like G's output
    run = ganzoo.load_run("runs/dcgan_mnist-20261123-101500")
    grid = ganzoo.to_pil(run.sample(64, seed=1))    # a PIL image of an 8 x 8 grid

The commands of the ``ganzoo`` CLI do their work through these same functions. Importing
``ganzoo`` imports none of this (nor torch) until a name is first used.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig

from ganzoo.errors import GanzooError
from ganzoo.run import (  # noqa: F401  (the API's names)
    WEIGHTS,
    Run,
    check_weights,
    generator_name,
    refuse_trained_overrides,
    role_kinds,
    sample,
)

if TYPE_CHECKING:
    from PIL.Image import Image
    from torch import Tensor

    from ganzoo.interfaces import Generator
    from ganzoo.registry import Registry

__all__ = ["Run", "build", "evaluate", "load_run", "registry", "sample", "to_pil",
           "to_pil_images", "train"]

def registry() -> Registry:
    """Every registered component, built-in and third-party, as the plugins now installed
    give them (conflicts and broken plugins are warned about)."""
    from ganzoo.plugins import load_registry_with_warnings

    return load_registry_with_warnings()


def load_run(path: str | Path) -> Run:
    """The run in folder ``path`` (as ``ganzoo run`` or :func:`train` wrote it)."""
    if not isinstance(path, str | Path):
        raise GanzooError(f"path: a run folder's path (got {type(path).__name__})")
    return Run(path)


def train(recipe: str | Path | dict[str, Any] | DictConfig, overrides: Sequence[str] = (),
          run_dir: str | Path | None = None, quiet: bool = False) -> Run:
    """Train as ``recipe`` (a YAML path, a dict or a DictConfig) says, with dotlist
    ``overrides``, into ``run_dir`` (default runs/<name>-<timestamp>); the finished Run.
    Progress shows as in the CLI unless ``quiet``."""
    from rich.console import Console

    from ganzoo.console import console
    from ganzoo.recipe import compose, load_recipe, train_options
    from ganzoo.session import run_recipe

    if not isinstance(recipe, str | Path | dict | DictConfig):
        raise GanzooError(f"recipe: a recipe file's path, a shipped recipe's name, a dict or a "
                          f"DictConfig (got {type(recipe).__name__}); e.g. "
                          "ganzoo.train('quickstart')")
    if isinstance(overrides, str) or not all(isinstance(o, str) for o in overrides):
        raise GanzooError(f"overrides: a list of 'key=value' strings (got {overrides!r})")
    overrides = [*overrides, *([f"train.run_dir={run_dir}"] if run_dir is not None else [])]
    components, notes = registry(), []
    if isinstance(recipe, str | Path):
        config, name = load_recipe(recipe, overrides, components, notes), Path(recipe).stem
    else:
        config, name = compose(recipe, overrides, "recipe", components, notes), "run"
    train_options(config)
    out = Console(quiet=True) if quiet else console
    for note in notes:
        out.print(f"note: {note}", markup=False)
    result = run_recipe(config, components, name=name, console=out)
    if result is None:
        raise GanzooError("nothing was trained: the run folder is already at train.steps")
    return Run(result.run_dir)


def resume(run: Run | str | Path, overrides: Sequence[str] = (), quiet: bool = False) -> Run:
    """Continue a stopped run (a Run or its folder) exactly where it was, as ``ganzoo resume``;
    ``overrides`` may raise train.steps to train on. Progress shows unless ``quiet``."""
    from rich.console import Console

    from ganzoo.console import console
    from ganzoo.session import resume_run

    folder = run.path if isinstance(run, Run) else Path(run)
    result = resume_run(folder, list(overrides), registry(),
                        Console(quiet=True) if quiet else console)
    if result is None:
        raise GanzooError(f"nothing was trained: '{folder}' is already at train.steps; "
                          "raise it, e.g. overrides=['train.steps=20000']")
    return Run(result.run_dir)


def build(kind: str, name: str, **options: Any) -> Any:
    """A registered component, its options checked as in a recipe. Networks also take
    ``image_shape`` (e.g. (3, 32, 32) or (2,)) and ``num_classes`` (None: unconditional), a
    generator with an input ``input_shape``; optimizers take ``params``.

        G = ganzoo.build("generator", "dcgan", image_shape=(3, 32, 32), ngf=32)
        G = ganzoo.build("generator", "unet", image_shape=(3, 64, 64), input_shape=(1, 64, 64))
    """
    from ganzoo.components import build_one
    from ganzoo.kinds import KINDS

    kinds = {k.name: k for k in KINDS.values()} | {k.plural: k for k in KINDS.values()}
    if kind not in kinds:
        raise GanzooError(f"kind: unknown {kind!r}; expected one of: {', '.join(KINDS)}")
    spec = kinds[kind]
    defaults = {"num_classes": None}
    args = []
    for arg in spec.build_args:
        if arg not in options and arg not in defaults:
            raise GanzooError(f"{arg}: a {spec.name} is built for one; pass {arg}=...")
        value = options.pop(arg, defaults.get(arg))
        args.append(shape_argument(arg, value) if arg == "image_shape" else value)
    extra = {}
    if spec.name == "generator" and options.get("input_shape") is not None:
        extra["input_shape"] = shape_argument("input_shape", options.pop("input_shape"))
    return build_one(registry(), spec.name, {"name": name, **options}, spec.name, *args,
                     **extra)


def shape_argument(name: str, value: Any) -> tuple[int, ...]:
    """A sample shape as networks take it: (C, H, W) or (D,), whole numbers above 0."""
    if (not isinstance(value, tuple | list) or not value
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)):
        raise GanzooError(f"{name}: a sample shape, (C, H, W) for images or (D,) for points, "
                          f"of whole numbers above 0 (got {value!r})")
    return tuple(value)


def evaluate(target: Run | str | Path | Generator, *, data: dict[str, Any] | None = None,
             n: int | None = None, metrics: Sequence[str] | None = None,
             ref: str | None = None, extractor_path: str | None = None,
             weights: str = "ema", overrides: Sequence[str] = (), device: str = "auto",
             save: bool = True, truncation: float | None = None,
             progress: bool = True, resize: str | None = None) -> dict[str, Any]:
    """Evaluate a run (its newest good checkpoint), a checkpoint file, or a Generator
    (then ``data`` names the reference dataset: {'name': 'mnist', 'root': ...}).

    Defaults come from the run's recipe (eval section); the result holds the values, their
    directions, notes and the protocol. For a run or a checkpoint it is also saved beside
    the checkpoint as ``*.eval.json`` (unless ``save`` is false). ``overrides`` may change
    ``eval.*`` and ``data.*``, not the trained networks; ``truncation`` is a sampling option
    of G (``Generator.sampling_options``), recorded in the protocol. ``metrics`` entries are
    names or mappings {'name': 'pr', 'k': 5}. ``resize``: how the feature extractor resizes
    images ('torch_fidelity' or clean-fid's 'clean'), recorded in the protocol.
    ``progress``: show the sampling and feature extraction (a bar in a terminal or Jupyter,
    timestamped lines elsewhere).
    """
    import json

    from ganzoo.console import console
    from ganzoo.evaluation import evaluate as evaluate_generator
    from ganzoo.evaluation import extractor_spec, reference_dataset, save_result
    from ganzoo.interfaces import Generator
    from ganzoo.progress import Tracker
    from ganzoo.recipe import DEFAULT_GAME, compose, eval_options, game_sections
    from ganzoo.sampling import load_generator

    components = registry()
    flags = {"n": n, "ref": ref, "extractor_path": extractor_path,
             "metrics": json.dumps(list(metrics)) if metrics is not None else None}
    eval_overrides = [*overrides, *(f"eval.{k}={v}" for k, v in flags.items() if v is not None)]
    if isinstance(target, Generator):
        if data is None:
            raise GanzooError("data: evaluating a bare generator needs its reference dataset, "
                              "e.g. data={'name': 'mnist'}")
        refuse_trained_overrides(overrides, role_kinds(None, components), "eval")
        G, state, checkpoint = target, None, None
        sampling = G.check_sampling_options({"truncation": truncation})
        roles = game_sections(DEFAULT_GAME, components).roles  # a recipe only to evaluate by
        placeholder = {**{role: {"name": "-"} for role in roles}, "loss": {"name": "-"},
                       "data": data}
        recipe = compose(placeholder, eval_overrides, where="evaluate", registry=components)
        extra: dict[str, Any] = {}
    else:
        where = target.path if isinstance(target, Run) else Path(target)
        check_weights(weights)
        G, state, checkpoint = load_generator(where, components, weights == "ema", device)
        refuse_trained_overrides(overrides, role_kinds(state, components), "eval")
        sampling = G.check_sampling_options({"truncation": truncation}, generator_name(state))
        if data is not None:
            eval_overrides.append(f"data={json.dumps(data)}")  # JSON is YAML: one section
        recipe = compose(state["recipe"], eval_overrides, where=str(checkpoint),
                         registry=components)
        extra = {"checkpoint": str(checkpoint), "step": int(state["step"]),
                 "weights": "ema" if state.get("ema") is not None and weights == "ema"
                 else "generator"}
    if resize is not None:
        recipe.eval.extractor = {**extractor_spec(eval_options(recipe)), "resize": resize}
    options = eval_options(recipe)
    reference, note, reference_options = reference_dataset(recipe, components, options.ref)
    with Tracker(console if progress else None) as tracker:
        result = evaluate_generator(G, reference, options, components,
                                    dataset_name=recipe.data.name, split_note=note,
                                    reference_options=reference_options, extra=extra,
                                    sampling=sampling, progress=tracker)
    if save and checkpoint is not None:
        result["saved"] = str(save_result(result, checkpoint.with_suffix(".eval.json")))
    return result


def to_pil_images(samples: Tensor) -> list[Image]:
    """Images in [-1, 1] of shape (N, C, H, W) as N PIL images (grayscale or RGB)."""
    from PIL import Image as PILImage

    from ganzoo.interfaces import is_image_shape
    from ganzoo.sampling import to_uint8

    if not is_image_shape(tuple(samples.shape[1:])):
        raise GanzooError("to_pil: these samples are points, not images; plot them instead "
                          "(e.g. matplotlib's scatter)")
    pixels = to_uint8(samples).permute(0, 2, 3, 1).numpy()
    return [PILImage.fromarray(p[..., 0] if p.shape[-1] == 1 else p) for p in pixels]


def to_pil(samples: Tensor, nrow: int | None = None, scale: int = 1) -> Image:
    """Images in [-1, 1] of shape (N, C, H, W) as one PIL image: a grid, ``nrow`` images
    wide (default: about square), each pixel drawn ``scale`` x ``scale`` (32-px samples are
    easier to see at scale=4)."""
    import math

    from PIL import Image as PILImage
    from torchvision.utils import make_grid

    if not isinstance(scale, int) or isinstance(scale, bool) or scale < 1:
        raise GanzooError(f"to_pil: scale must be a whole number of 1 or more (got {scale!r})")
    to_pil_images(samples[:1])  # the same check as for single images
    nrow = nrow or max(1, int(math.sqrt(samples.shape[0])))
    grid = make_grid(samples.float().cpu(), nrow=nrow, padding=2, pad_value=-1)
    image = to_pil_images(grid.unsqueeze(0))[0]
    if scale == 1:
        return image
    return image.resize((image.width * scale, image.height * scale), PILImage.Resampling.NEAREST)
