"""Checkpoints: what a run's state holds (networks, optimizers and EMA by role, the game's
own state, every RNG), written atomically (``ganzoo.files.save_atomic``) and read back with
``weights_only=True``; the checks that keep a diverged run from overwriting a good one."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

from ganzoo.errors import GanzooError
from ganzoo.files import CheckpointWriteError, save_atomic, write_failure  # noqa: F401


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint safely (tensors and plain containers only) onto the CPU."""
    path = Path(path)
    if not path.is_file():
        raise GanzooError(f"Checkpoint not found: '{path}'.")
    import pickle
    import warnings

    try:
        with warnings.catch_warnings():  # torch's own advice must not reach the user
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        if looks_complete(path):  # a whole archive whose pickle holds more than tensors
            raise GanzooError(
                f"Checkpoint '{path}' holds objects that a safe load refuses: it was not "
                "written by ganzoo, or it was tampered with. ganzoo does not load it."
            ) from None
        raise GanzooError(f"Checkpoint '{path}' cannot be read (not a checkpoint archive); it "
                          "may be truncated or corrupt.") from None
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise GanzooError(
            f"Checkpoint '{path}' cannot be read ({first}); it may be truncated or corrupt."
        ) from None
    if not isinstance(state, dict):
        raise GanzooError(f"Checkpoint '{path}' does not hold a ganzoo checkpoint.")
    return upgrade_layout(state)


#: the keys of a checkpoint written before games had roles -> (section of the new layout, key)
LEGACY_KEYS = {"generator": ("networks", "generator"),
               "discriminator": ("networks", "discriminator"),
               "opt_g": ("optimizers", "optim_g"), "opt_d": ("optimizers", "optim_d")}


def upgrade_layout(state: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint in today's layout (weights, optimizers and EMA by role or section). One
    of the two-player layout before it (``generator``, ``opt_g``, ``ema``) is read as the
    plain game's."""
    if "networks" in state or "generator" not in state:
        return state
    state = dict(state)
    for key, (section, name) in LEGACY_KEYS.items():
        if key in state:
            state.setdefault(section, {})[name] = state.pop(key)
    ema = state.pop("ema", None)
    state["ema"] = {"generator": ema} if ema is not None else None
    shape = {"image_shape": state.get("image_shape"), "num_classes": state.get("num_classes"),
             "input_shape": None}
    state.setdefault("roles", {"generator": shape, "discriminator": shape})
    state.setdefault("primary", "generator")
    return state


def network_weights(state: dict[str, Any], role: str, use_ema: bool = True) -> dict[str, Any]:
    """A role's weights in a checkpoint: its EMA where asked for and kept, else its own."""
    ema = (state.get("ema") or {}).get(role) if use_ema else None
    return ema if ema is not None else state["networks"][role]


def run_rng_states(latent_rng: torch.Generator) -> dict[str, Any]:
    """This process's RNG states: the global ones and the latent stream."""
    from ganzoo.engine.runtime import rng_state

    return {"rng": rng_state(), "latent_rng": latent_rng.get_state()}


def restore_rngs(state: dict[str, Any], latent_rng: torch.Generator, rank: int,
                 world_size: int, seed: int, step: int) -> None:
    """Every RNG as the checkpoint left it for this rank; with another number of processes,
    every rank re-seeds from (seed, rank, step) instead."""
    from ganzoo.engine.runtime import seed_everything, set_rng_state

    saved = state["rng_by_rank"]
    if state.get("world_size", 1) == world_size == len(saved):
        set_rng_state(saved[rank]["rng"])
        latent_rng.set_state(saved[rank]["latent_rng"])
    else:
        latent_rng.manual_seed(seed * 1_000_003 + step)
        seed_everything(seed * 1_000_003 + step)


def load_weights(module: torch.nn.Module, weights: dict[str, Any], what: str,
                 where: str | Path,
                 hint: str = "was the recipe changed since the run started?") -> None:
    """Load a checkpoint's weights into ``module``, or say in one line which tensor does not
    fit, and the likely cause."""
    own = module.state_dict()
    problem = next((f"{name} is missing from the checkpoint" for name in own
                    if name not in weights), None)
    problem = problem or next((f"{name} is {tuple(weights[name].shape)} in the checkpoint but "
                               f"{tuple(own[name].shape)} here" for name in own
                               if tuple(weights[name].shape) != tuple(own[name].shape)), None)
    problem = problem or next((f"the checkpoint has {name}, which the {what} does not"
                               for name in weights if name not in own), None)
    if problem is not None:
        raise GanzooError(f"'{where}': the checkpoint's {what} does not fit the recipe's "
                          f"({problem}); {hint}")
    module.load_state_dict(weights)



class UnusableCheckpoints(GanzooError):
    """Every checkpoint of a folder failed to load; ``problems`` says why, file by file."""

    def __init__(self, message: str, problems: list[str]):
        super().__init__(message)
        self.problems = problems


class CheckpointStore:
    """``step_NNNNNNN.pt`` files in one folder: the newest ``keep`` are kept."""

    def __init__(self, folder: str | Path, keep: int = 3):
        self.folder, self.keep = Path(folder), keep

    def path(self, step: int) -> Path:
        return self.folder / f"step_{step:07d}.pt"

    def all(self) -> list[Path]:
        """Checkpoint files, oldest first, ordered by their step (not by name)."""
        return sorted((p for p in self.folder.glob("step_*.pt") if step_of(p) is not None),
                      key=step_of)

    def save(self, state: dict[str, Any]) -> Path:
        """Write the checkpoint, then keep the newest ``keep`` complete ones: a damaged file is
        never counted among them, so it never costs a good one its place."""
        path = save_atomic(state, self.path(int(state["step"])))
        complete = [p for p in self.all() if looks_complete(p)]
        for old in complete[:-self.keep]:
            old.unlink(missing_ok=True)
        return path

    def latest_good(self) -> tuple[dict[str, Any], Path, list[str]]:
        """The newest checkpoint that loads, and one line for each newer one that did not."""
        problems: list[str] = []
        for path in reversed(self.all()):
            try:
                return load_checkpoint(path), path, problems
            except GanzooError as exc:
                problems.append(str(exc))
        if not problems:
            raise GanzooError(f"No checkpoint in '{self.folder}' (no step_*.pt files): the run "
                              "has not reached its first checkpoint.")
        raise UnusableCheckpoints(
            f"No usable checkpoint in '{self.folder}': all {len(problems)} are unreadable "
            "(truncated or corrupt; --debug lists them).", problems)


def step_of(path: Path) -> int | None:
    """12 for step_0000012.pt; None for a name that is not a checkpoint's."""
    try:
        return int(path.stem.removeprefix("step_"))
    except ValueError:
        return None


def looks_complete(path: Path) -> bool:
    """Whether a checkpoint file is whole, cheaply: torch.save writes a zip archive, whose
    directory at the very end is missing from a truncated file."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            return bool(archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


def run_state(trainer: Any, rngs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A trainer's whole state, as a checkpoint holds it: networks, optimizers and EMA by role
    or section, the game's own state, the augmentation's and regularizers', every rank's RNG
    states (``rngs``; this process's alone when not given), the data position and the shapes
    each role was built for, beside the resolved recipe."""
    c = trainer.c
    emas = {role: trainer.sampling_network(role).state_dict() for role in trainer.emas}
    shapes = {role: shape.as_dict() for role, shape in c.shapes.items()}
    return {
        "step": trainer.step_done, "batches_drawn": trainer.arena.batches_drawn,
        "networks": {role: net.state_dict() for role, net in trainer.networks.items()},
        "optimizers": {key: opt.state_dict() for key, opt in trainer.optimizers.items()},
        "ema": emas or None, "game": trainer.game.state_dict(),
        "augmentation": c.augmentation.state_dict() if c.augmentation is not None else None,
        "regularizers": [entry.regularizer.state_dict() for entry in c.regularizers],
        "rng_by_rank": rngs or [run_rng_states(trainer.arena.latent_rng)],
        "world_size": trainer.dist.world_size, "best_score": trainer.best_score,
        "roles": shapes, "primary": trainer.primary,
        "image_shape": shapes[trainer.primary]["image_shape"],
        "num_classes": c.num_classes, "recipe": trainer.recipe,
    }


def restore_run(trainer: Any, state: dict[str, Any], where: str | Path) -> None:
    """Put a checkpoint's state back into a trainer built from the same recipe."""
    state, c = upgrade_layout(state), trainer.c
    for role, net in trainer.networks.items():
        load_weights(net, state["networks"][role], role, where)
    for key, opt in trainer.optimizers.items():
        opt.load_state_dict(state["optimizers"][key])
    for role, ema in trainer.emas.items():  # EMA switched on at resume: start from the weights
        ema.model.load_state_dict((state.get("ema") or {}).get(role)
                                  or trainer.networks[role].state_dict())
    trainer.game.load_state_dict(state.get("game") or {})
    if c.augmentation is not None and state.get("augmentation") is not None:
        c.augmentation.load_state_dict(state["augmentation"])
    for entry, saved_state in zip(c.regularizers, state.get("regularizers") or [], strict=False):
        entry.regularizer.load_state_dict(saved_state)
    trainer.step_done, trainer.arena.batches_drawn = int(state["step"]), int(state["batches_drawn"])
    trainer.best_score = state.get("best_score")  # so best.pt is only replaced by a better one
    restore_rngs(state, trainer.arena.latent_rng, trainer.dist.rank, trainer.dist.world_size,
                 trainer.seed, trainer.step_done)


def check_finite_parameters(step: int, *networks: torch.nn.Module) -> None:
    """Refuse to checkpoint weights that hold NaN or Inf (one device sync, at checkpoints only)."""
    named = [(name, p) for net in networks for name, p in net.named_parameters()]
    if torch.stack([torch.isfinite(p).all() for _, p in named]).all():
        return
    bad = next(name for name, p in named if not torch.isfinite(p).all())
    raise GanzooError(f"Training diverged: the weights hold NaN or Inf ({bad}) at step {step}. "
                      "The last good checkpoint is kept; lower optim_g.lr / optim_d.lr or try "
                      "another loss.")


def check_finite(record: dict[str, Any]) -> None:
    """Stop a diverged run with one line naming the step and the first logged statistic that
    is NaN or infinite: a loss, or any other (a penalty, D's outputs, a plugin's value), since
    a value that is not a number means the run no longer computes what it logs. The losses
    are named first, where several are."""
    bad = [(name, value) for name, value in record.items() if name != "step"
           and isinstance(value, int | float) and not isinstance(value, bool)
           and not math.isfinite(value)]
    if not bad:
        return
    name, value = min(bad, key=lambda item: not item[0].endswith("_loss"))
    hint = ("lower optim_g.lr / optim_d.lr or try another loss" if name.endswith("_loss") else
            f"check what logs {name} (a regularizer, the game or a plugin), or lower "
            "optim_g.lr / optim_d.lr")
    raise GanzooError(f"Training diverged: {name} is {value} at step {record['step']}. The "
                      f"last good checkpoint is kept; {hint}.")
