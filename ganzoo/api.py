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

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, OmegaConf

from ganzoo.engine.runs import RunFolder, read_json_lines
from ganzoo.errors import GanzooError

if TYPE_CHECKING:
    from PIL.Image import Image
    from torch import Tensor

    from ganzoo.interfaces import Generator
    from ganzoo.registry import Registry

__all__ = ["Run", "build", "evaluate", "load_run", "registry", "sample", "to_pil",
           "to_pil_images", "train"]

WEIGHTS = ("ema", "raw")


def check_weights(weights: str) -> None:
    if weights not in WEIGHTS:
        raise GanzooError(f"weights: expected 'ema' or 'raw' (got {weights!r})")


def generator_name(state: dict[str, Any], role: str | None = None) -> str | None:
    """The registered name ('mlp') of a checkpoint's generator (its primary one by default)."""
    role = role or state.get("primary", "generator")
    try:
        return str(state["recipe"][role]["name"])
    except (KeyError, TypeError):
        return None


def role_kinds(state: dict[str, Any] | None, components: Registry) -> dict[str, str]:
    """Role -> kind ('generator', 'discriminator') of a checkpoint's game."""
    from ganzoo.recipe import DEFAULT_GAME, game_sections

    if state is None:
        return {"generator": "generator", "discriminator": "discriminator"}
    game = (state["recipe"].get("game") or {}).get("name") or DEFAULT_GAME
    return {name: spec.kind for name, spec in game_sections(game, components).roles.items()}


def refuse_trained_overrides(overrides: Sequence[str], roles: dict[str, str], command: str,
                             allowed: Sequence[str] = ("eval", "data")) -> None:
    """Overrides may change what ``command`` does (``eval.*``, ``data.*``), never the trained
    networks nor how they were trained: those come from the checkpoint, and an override of
    them would be silently ignored."""
    takes = (f"only {' and '.join(f'{a}.*' for a in allowed)} overrides apply" if allowed
             else f"{command} takes no recipe overrides")
    for item in overrides:
        if "=" not in item and not item.startswith("~"):
            if not allowed:
                raise GanzooError(f"{item}: unexpected argument; {command} takes one target, a "
                                  "run folder or a checkpoint file")
            raise GanzooError(f"Override {item!r} must look like key=value (eval.n=100) or "
                              "~key to remove a key")
        section = item.removeprefix("~").split("=", 1)[0].split(".", 1)[0]
        if section in allowed:
            continue
        if section in roles:
            kind = roles[section] if roles[section] == section else \
                f"{roles[section]} {section!r}"
            raise GanzooError(f"{item}: {command} cannot change the trained {kind}, which is "
                              f"the checkpoint's as trained; {takes}; use --truncation for "
                              "sampling options")
        raise GanzooError(f"{item}: {command} cannot change how the run was trained "
                          f"({section!r} is read by training only); {takes}")


def registry() -> Registry:
    """Every registered component, built-in and third-party, as the plugins now installed
    give them (conflicts and broken plugins are warned about)."""
    from ganzoo.plugins import load_registry_with_warnings

    return load_registry_with_warnings()


class Run:
    """A run folder, read: its recipe, metrics, evaluations, checkpoints, and its generator."""

    def __init__(self, path: str | Path):
        self.folder = RunFolder(path)
        if not self.folder.recipe_path.is_file():
            raise GanzooError(f"'{path}' is not a ganzoo run folder (no recipe.yaml in it)")
        # (weights, checkpoint, device) -> G and its registered name
        self._generators: dict[tuple[str, str, str], tuple[Generator, str | None]] = {}

    def __repr__(self) -> str:
        return f"Run('{self.path}', steps={self.steps})"

    @functools.cached_property
    def registry(self) -> Registry:
        return registry()

    @property
    def path(self) -> Path:
        return self.folder.path

    @property
    def name(self) -> str:
        return self.path.name

    @functools.cached_property
    def recipe(self) -> DictConfig:
        """The resolved recipe the run was trained with (read once)."""
        from ganzoo.recipe import compose

        return compose(OmegaConf.load(self.folder.recipe_path), where=str(self.folder.recipe_path))

    @property
    def metrics(self) -> list[dict[str, Any]]:
        """metrics.jsonl as rows: step, losses, D's outputs and every other logged value."""
        return self.folder.read_metrics()

    @property
    def steps(self) -> int:
        """The newest checkpoint's step (0 before the first one)."""
        from ganzoo.engine.checkpoint import step_of

        checkpoints = self.checkpoints
        return (step_of(checkpoints[-1]) or 0) if checkpoints else 0

    @property
    def evaluations(self) -> list[dict[str, Any]]:
        """The evaluations made during training (eval.jsonl: step and values) and by
        ``ganzoo eval`` / :func:`evaluate` (``*.eval.json`` beside a checkpoint: values,
        directions, notes and protocol), oldest first."""
        import json

        during = [{"source": "training", "step": r["step"], "directions": r.pop("directions", {}),
                   "metrics": r, "protocol": {}}
                  for r in read_json_lines(self.path / "eval.jsonl")]
        after = []
        for path in sorted(self.folder.checkpoints_dir.glob("*.eval.json")):
            result = json.loads(path.read_text(encoding="utf-8"))
            after.append({"source": path.name, "step": result["protocol"].get("step"),
                          **result})
        return during + after

    @property
    def checkpoints(self) -> list[Path]:
        """The step checkpoints, oldest first."""
        from ganzoo.engine.checkpoint import CheckpointStore

        return CheckpointStore(self.folder.checkpoints_dir).all()

    @property
    def best_checkpoint(self) -> Path | None:
        """best.pt, where evaluation during training kept one."""
        path = self.folder.checkpoints_dir / "best.pt"
        return path if path.is_file() else None

    @property
    def meta(self) -> dict[str, Any]:
        """What the run's pictures are: sample kind, shape, classes."""
        return self.folder.read_meta()

    def generator(self, weights: str = "ema", checkpoint: str | Path | None = None,
                  device: str | None = None) -> Generator:
        """G in eval mode, from the newest good checkpoint or ``checkpoint`` (a path, or a
        file name in the run's checkpoints/ folder such as 'best.pt'). ``weights='ema'`` takes
        the EMA weights where the run kept them, 'raw' G's own."""
        return self._generator(weights, checkpoint, device)[0]

    def _generator(self, weights: str, checkpoint: str | Path | None,
                   device: str | None) -> tuple[Generator, str | None]:
        from ganzoo.sampling import load_generator

        check_weights(weights)
        target = self.checkpoint_target(checkpoint)
        key = (weights, str(target), device or "auto")
        if key not in self._generators:
            G, state, _ = load_generator(target, self.registry, weights == "ema",
                                         device or "auto")
            self._generators[key] = (G, generator_name(state))
        return self._generators[key]

    def checkpoint_target(self, checkpoint: str | Path | None = None) -> Path:
        """What ``load_generator`` reads: the run folder (its newest good checkpoint), a
        checkpoint path, or a file name in the run's checkpoints/ folder ('best.pt')."""
        if checkpoint is None:
            return self.path
        path = Path(checkpoint)
        return path if path.exists() else self.folder.checkpoints_dir / path

    def sample(self, n: int, labels: Any = None, seed: int = 0, device: str | None = None,
               weights: str = "ema", checkpoint: str | Path | None = None,
               truncation: float | None = None) -> Tensor:
        """n samples on the CPU: images in [-1, 1] as (n, C, H, W), or points as (n, 2).
        For a conditional G, ``labels`` is a class, a sequence of n classes, or None for every
        class equally often (0, 1, ..., K-1, 0, ...). ``truncation``: a sampling option of G
        (its ``sampling_options``), e.g. BigGAN's truncation threshold for the MLP."""
        G, name = self._generator(weights, checkpoint, device)
        G.check_sampling_options({"truncation": truncation}, name)
        return sample(G, n, labels, seed, truncation=truncation)

    def interpolate(self, rows: int = 8, steps: int = 10, seed: int = 0, label: Any = None,
                    device: str | None = None, weights: str = "ema",
                    checkpoint: str | Path | None = None,
                    truncation: float | None = None) -> Tensor:
        """A latent walk, as ``ganzoo interpolate``: rows x steps images (row after row) on the
        CPU, each row from one random z to another (its ends drawn with ``truncation``)."""
        from ganzoo.sampling import interpolation_grid

        if rows <= 0 or steps < 2:
            raise GanzooError("rows must be at least 1 and steps at least 2")
        G, name = self._generator(weights, checkpoint, device)
        options = G.check_sampling_options({"truncation": truncation}, name)
        with G.sampling(**options):
            return interpolation_grid(G, rows, steps, seed, label)


def sample(G: Generator, n: int, labels: Any = None, seed: int = 0,
           truncation: float | None = None) -> Tensor:
    """n samples of any generator (see :meth:`Run.sample`)."""
    import torch

    from ganzoo.sampling import class_labels, generate

    if n <= 0:
        raise GanzooError(f"n: must be greater than 0 (got {n})")
    options = G.check_sampling_options({"truncation": truncation})
    if labels is None or isinstance(labels, int | str):
        chosen = class_labels(G, n, labels)
    else:
        chosen = torch.as_tensor(labels, dtype=torch.long).flatten()
        if not G.conditional:
            raise GanzooError("labels: this generator is not conditional; leave labels out")
        if len(chosen) != n or chosen.min() < 0 or chosen.max() >= G.num_classes:
            raise GanzooError(f"labels: expected {n} classes from 0 to {G.num_classes - 1}")
    with G.sampling(**options):
        return generate(G, n, seed, labels=chosen)


def load_run(path: str | Path) -> Run:
    """The run in folder ``path`` (as ``ganzoo run`` or :func:`train` wrote it)."""
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


def build(kind: str, name: str, **options: Any) -> Any:
    """A registered component, its options checked as in a recipe. Networks also take
    ``image_shape`` (e.g. (3, 32, 32) or (2,)) and ``num_classes`` (None: unconditional);
    optimizers take ``params``.

        G = ganzoo.build("generator", "dcgan", image_shape=(3, 32, 32), ngf=32)
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
        args.append(tuple(value) if arg == "image_shape" else value)
    return build_one(registry(), spec.name, {"name": name, **options}, spec.name, *args)


def evaluate(target: Run | str | Path | Generator, *, data: dict[str, Any] | None = None,
             n: int | None = None, metrics: Sequence[str] | None = None,
             ref: str | None = None, extractor_path: str | None = None,
             weights: str = "ema", overrides: Sequence[str] = (), device: str = "auto",
             save: bool = True, truncation: float | None = None) -> dict[str, Any]:
    """Evaluate a run (its newest good checkpoint), a checkpoint file, or a Generator
    (then ``data`` names the reference dataset: {'name': 'mnist', 'root': ...}).

    Defaults come from the run's recipe (eval section); the result holds the values, their
    directions, notes and the protocol. For a run or a checkpoint it is also saved beside
    the checkpoint as ``*.eval.json`` (unless ``save`` is false). ``overrides`` may change
    ``eval.*`` and ``data.*``, not the trained networks; ``truncation`` is a sampling option
    of G (``Generator.sampling_options``), recorded in the protocol. ``metrics`` entries are
    names or mappings {'name': 'pr', 'k': 5}.
    """
    import json

    from ganzoo.evaluation import evaluate as evaluate_generator
    from ganzoo.evaluation import reference_dataset, save_result
    from ganzoo.interfaces import Generator
    from ganzoo.recipe import compose, eval_options
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
        placeholder = {"generator": {"name": "-"}, "discriminator": {"name": "-"},
                       "loss": {"name": "-"}, "data": data}
        recipe = compose(placeholder, eval_overrides, where="evaluate")
        extra: dict[str, Any] = {}
    else:
        where = target.path if isinstance(target, Run) else Path(target)
        check_weights(weights)
        G, state, checkpoint = load_generator(where, components, weights == "ema", device)
        refuse_trained_overrides(overrides, role_kinds(state, components), "eval")
        sampling = G.check_sampling_options({"truncation": truncation}, generator_name(state))
        if data is not None:
            eval_overrides.append(f"data={json.dumps(data)}")  # JSON is YAML: one section
        recipe = compose(state["recipe"], eval_overrides, where=str(checkpoint))
        extra = {"checkpoint": str(checkpoint), "step": int(state["step"]),
                 "weights": "ema" if state.get("ema") is not None and weights == "ema"
                 else "generator"}
    options = eval_options(recipe)
    reference, note, reference_options = reference_dataset(recipe, components, options.ref)
    result = evaluate_generator(G, reference, options, components, dataset_name=recipe.data.name,
                                split_note=note, reference_options=reference_options,
                                extra=extra, sampling=sampling)
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


def to_pil(samples: Tensor, nrow: int | None = None) -> Image:
    """Images in [-1, 1] of shape (N, C, H, W) as one PIL image: a grid, ``nrow`` images
    wide (default: about square)."""
    import math

    from torchvision.utils import make_grid

    to_pil_images(samples[:1])  # the same check as for single images
    nrow = nrow or max(1, int(math.sqrt(samples.shape[0])))
    grid = make_grid(samples.float().cpu(), nrow=nrow, padding=2, pad_value=-1)
    return to_pil_images(grid.unsqueeze(0))[0]
