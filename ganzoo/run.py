"""A run folder, read: its recipe, metrics, evaluations, checkpoints, and its generators.

    run = ganzoo.load_run("runs/quickstart-20261202-101500")
    run.sample(1000); run.interpolate(); run.translate(images, role="g_ba")
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig

from ganzoo.engine.runs import RunFolder, read_json_lines
from ganzoo.errors import GanzooError

if TYPE_CHECKING:
    from torch import Tensor

    from ganzoo.interfaces import Generator, TextEncoder
    from ganzoo.registry import Registry


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

    recipe = state["recipe"] if state is not None else {}
    game = (recipe.get("game") or {}).get("name") or DEFAULT_GAME
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


class Run:
    """A run folder, read: its recipe, metrics, evaluations, checkpoints, and its generator."""

    def __init__(self, path: str | Path):
        self.folder = RunFolder(path)
        if not self.folder.recipe_path.is_file():
            raise GanzooError(f"'{path}' is not a ganzoo run folder (no recipe.yaml in it)")
        # (weights, checkpoint, device) -> G and its registered name
        self._generators: dict[tuple[str, str, str], tuple[Generator, str | None]] = {}
        self._text_encoders: dict[tuple[Path, str | None], TextEncoder] = {}  # by checkpoint

    def __repr__(self) -> str:
        return f"Run('{self.path}', steps={self.steps})"

    def plot(self) -> dict[str, Any]:
        """The run's curves as matplotlib figures by name ('losses.png', 'discriminator.png',
        and 'extras.png' where it logged more: penalties, augmentation p, k_t ...), as
        ``ganzoo plot`` draws them; in a notebook, ``run.plot()['losses.png']`` shows one."""
        from ganzoo.plots import curve_figures

        metrics = self.metrics
        if not metrics:
            raise GanzooError(f"'{self.path}' has logged nothing yet (metrics.jsonl is empty)")
        return curve_figures(metrics)

    def _repr_html_(self) -> str:
        """A notebook shows a run as a card: what it trains, its steps, newest values and
        evaluations, and its newest sample picture."""
        from ganzoo.notebook import run_html

        return run_html(self)

    @functools.cached_property
    def registry(self) -> Registry:
        from ganzoo.plugins import load_registry_with_warnings

        return load_registry_with_warnings()

    @property
    def path(self) -> Path:
        return self.folder.path

    @property
    def name(self) -> str:
        return self.path.name

    @functools.cached_property
    def recipe(self) -> DictConfig:
        """The resolved recipe the run was trained with (read once)."""
        from ganzoo.recipe import compose, read_recipe_file

        path = self.folder.recipe_path
        return compose(read_recipe_file(path), where=str(path), registry=self.registry)

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
        directions, notes and protocol; every evaluation of a checkpoint, the first in
        ``step_NNNNNNN.eval.json``, later ones in ``step_NNNNNNN.2.eval.json``, ...), oldest
        first."""
        from ganzoo.evaluation import read_results, result_order

        during = [{"source": "training", "step": r["step"], "directions": r.pop("directions", {}),
                   "metrics": r, "protocol": {}}
                  for r in read_json_lines(self.path / "eval.jsonl")]
        after = []
        for path in sorted(self.folder.checkpoints_dir.glob("*.eval.json"), key=result_order):
            results = read_results(path)  # one result, or (a list) several
            for i, result in enumerate(results):
                source = path.name if len(results) == 1 else f"{path.name} #{i + 1}"
                after.append({"source": source,
                              "step": (result.get("protocol") or {}).get("step"),
                              "directions": {}, "notes": [], "protocol": {}, **result})
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
               truncation: float | None = None, text: str | Sequence[str] | None = None,
               ) -> Tensor:
        """n samples on the CPU: images in [-1, 1] as (n, C, H, W), or points as (n, 2).
        For a conditional G, ``labels`` is a class, a sequence of n classes, or None for every
        class equally often (0, 1, ..., K-1, 0, ...). ``truncation``: a sampling option of G
        (its ``sampling_options``), e.g. BigGAN's truncation threshold for the MLP. ``text``:
        for a G conditioned on text, a caption or several (the samples take them in turn),
        embedded by the run's text encoder."""
        G, name = self._generator(weights, checkpoint, device)
        G.check_sampling_options({"truncation": truncation}, name)
        if text is None:
            return sample(G, n, labels, seed, truncation=truncation)
        check_takes_text(G, "text")
        if labels is not None:
            raise GanzooError("labels: a generator conditioned on text takes text, not labels; "
                              "leave labels out")
        target = self.checkpoint_target(checkpoint)
        if (target, device) not in self._text_encoders:
            self._text_encoders[target, device] = load_text_encoder(target, self.registry,
                                                                    device or "auto")
        embeddings = self._text_encoders[target, device].embed_captions(text, n, "text")
        return sample(G, n, None, seed, truncation=truncation, text=embeddings)

    def interpolate(self, rows: int = 8, steps: int = 10, seed: int = 0, label: Any = None,
                    device: str | None = None, weights: str = "ema",
                    checkpoint: str | Path | None = None,
                    truncation: float | None = None, code: int | None = None) -> Tensor:
        """A latent walk, as ``ganzoo interpolate``: rows x steps images (row after row) on the
        CPU, each row from one random z to another (its ends drawn with ``truncation``). With
        ``code`` K, a traversal of latent code K of a generator with codes (InfoGAN), as
        ``--code K``: each row walks the code with all else fixed, through every category
        of a categorical code (one column each), or ``steps`` values from -2 to 2."""
        from ganzoo.sampling import code_traversal, interpolation_grid

        if rows <= 0 or steps < 2:
            raise GanzooError("rows must be at least 1 and steps at least 2")
        G, name = self._generator(weights, checkpoint, device)
        options = G.check_sampling_options({"truncation": truncation}, name)
        with G.sampling(**options):
            if code is not None:
                return code_traversal(G, code, rows, steps, seed, label)[0]
            return interpolation_grid(G, rows, steps, seed, label)


    def translate(self, images: Tensor, role: str | None = None, device: str | None = None,
                  weights: str = "ema", checkpoint: str | Path | None = None,
                  batch_size: int = 64) -> Tensor:
        """A generator with an input applied to ``images`` (N, C, H, W) in [-1, 1] of its
        input shape, on the CPU: the game's primary generator, or ``role`` (e.g. 'g_ba' for
        CycleGAN's other direction). A wrong shape is one line naming the one G takes."""
        from ganzoo.sampling import load_generator
        from ganzoo.translation import translate

        check_weights(weights)
        G, _, _ = load_generator(self.checkpoint_target(checkpoint), self.registry,
                                 weights == "ema", device or "auto", role=role)
        return translate(G, images, batch_size=batch_size, where="images")


def sample(G: Generator, n: int, labels: Any = None, seed: int = 0,
           truncation: float | None = None, text: Tensor | None = None) -> Tensor:
    """n samples of any generator (see :meth:`Run.sample`); ``text``: the n text embeddings
    of a G conditioned on text (see ``TextEncoder.embed_captions``)."""
    import torch

    from ganzoo.sampling import check_fits_in_memory, class_labels, generate

    if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
        raise GanzooError(f"n: the number of samples, a whole number greater than 0 (got {n!r})")
    check_fits_in_memory(n, tuple(G.image_shape), "n")
    options = G.check_sampling_options({"truncation": truncation})
    if text is not None:
        with G.sampling(**options):
            return generate(G, n, seed, labels=text)
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


def check_takes_text(G: Generator, what: str) -> None:
    """A G conditioned on text sets ``text_dim`` (see ``ganzoo.interfaces.TextEncoder``)."""
    if not getattr(G, "text_dim", 0):
        raise GanzooError(f"{what}: this generator is not conditioned on text; leave "
                          f"{what} out")


def load_text_encoder(target: str | Path, registry: Registry, device: str = "auto"
                      ) -> TextEncoder:
    """The text encoder role's network of a run folder (its newest good checkpoint) or of a
    checkpoint file, in eval mode, built for the vocabulary the checkpoint recorded."""
    from ganzoo.components import build_one
    from ganzoo.engine.checkpoint import CheckpointStore, load_checkpoint, load_weights
    from ganzoo.engine.runtime import pick_device
    from ganzoo.recipe import compose, game_sections

    path = Path(target)
    if path.is_dir():
        state, path, _ = CheckpointStore(path / "checkpoints").latest_good()
    else:
        state = load_checkpoint(path)
    recipe = compose(state["recipe"], where=str(path), registry=registry)
    roles = game_sections(recipe.game.name, registry).of_kind("text_encoder")
    if not roles:
        raise GanzooError(f"--text: game {recipe.game.name!r} of this run has no text encoder; "
                          "leave --text out")
    role, shape = roles[0], state["roles"][roles[0]]
    encoder = build_one(registry, "text_encoder", recipe[role], role,
                        tuple(shape["image_shape"]), tuple(shape["vocabulary"]))
    load_weights(encoder, state["networks"][role], role, path)
    return encoder.to(pick_device(device, where="--device")).eval()
