"""Fine-tuning: a new run's networks start from another run's weights (``train.init_from``: a
run folder, a checkpoint file or an export), and D's first layers may keep theirs (FreezeD,
Mo et al., 2020: freezing the high-resolution layers of D while fine-tuning on little data)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from ganzoo.errors import GanzooError
from ganzoo.roles import Role

KEY = "train.init_from"


@dataclass
class StartingWeights:
    """The weights a run starts from, by role, and where they were read."""

    networks: dict[str, dict[str, Any]] = field(default_factory=dict)  # none: weights as built
    emas: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: Path | None = None
    notes: list[str] = field(default_factory=list)  # e.g. an unusable newer checkpoint skipped
    generators_only: bool = False  # an export holds one G and nothing else


def read_starting_weights(source: str | Path, primary: str) -> StartingWeights:
    """The networks (and EMA) of a run folder's newest good checkpoint, of a checkpoint file,
    or of an export folder (its G, as the run's ``primary`` role)."""
    from ganzoo.engine.checkpoint import CheckpointStore, load_checkpoint
    from ganzoo.exports import is_export, load_exported

    path = Path(source)
    if path.is_dir() and is_export(path):
        weights = load_exported(path).state_dict()
        return StartingWeights({primary: weights}, {primary: weights}, path,
                               generators_only=True)
    if path.is_dir():
        if not (path / "checkpoints").is_dir():
            raise GanzooError(f"{KEY}: '{path}' is neither a run folder (no checkpoints/ in "
                              "it) nor an export; name a run, a checkpoint .pt or an export")
        state, path, problems = CheckpointStore(path / "checkpoints").latest_good()
        notes = [f"{problem} {path.name} was used instead." for problem in problems]
    elif path.is_file():
        state, notes = load_checkpoint(path), []
    else:
        raise GanzooError(f"{KEY}: '{path}' does not exist; name a run folder, a checkpoint "
                          ".pt file or an export folder")
    if "networks" not in state:
        raise GanzooError(f"{KEY}: '{path}' is not a ganzoo checkpoint (no networks in it)")
    return StartingWeights(dict(state["networks"]), dict(state.get("ema") or {}), path, notes)


def start_from(networks: Mapping[str, nn.Module], roles: Mapping[str, Role],
               start: StartingWeights) -> list[str]:
    """Load the starting weights into every role's network, with strict shape checks; the
    lines that say what was loaded. An export gives G alone: the other roles start fresh."""
    from ganzoo.engine.checkpoint import load_weights

    loaded, fresh = [], []
    for role, network in networks.items():
        if role not in start.networks:
            if start.generators_only and roles[role].kind != "generator":
                fresh.append(role)
                continue
            raise GanzooError(f"{KEY}: '{start.source}' has no network for the role {role!r} "
                              f"(it has {', '.join(start.networks) or 'none'}); start from a "
                              "run of the same game")
        load_weights(network, start.networks[role], role, start.source,
                     hint=f"{KEY} must name a run whose {role} has the same architecture")
        loaded.append(role)
    return [f"starting from {start.source}: {', '.join(loaded)}"
            + (f"; fresh: {', '.join(fresh)} (an export holds G alone)" if fresh else "")]


def prepare(components: Any, init_from: str | None, freeze_d: int,
            resuming: bool = False) -> StartingWeights:
    """Before the run folder is made: load ``init_from``'s weights into the built networks
    (not when resuming: a resumed run has its own) and freeze D's first ``freeze_d`` layers.
    Pass the result to the Trainer, which starts the EMA from it and prints its notes."""
    start = StartingWeights()  # the networks as built
    if init_from and not resuming:
        start = read_starting_weights(init_from, components.game.primary)
        start.notes += start_from(components.networks, components.game.roles, start)
    for role in components.roles_of_kind("discriminator") if freeze_d else ():
        frozen = freeze_first_layers(components.networks[role], freeze_d, role)
        start.notes.append(f"{role}: layers {', '.join(frozen)} frozen (train.freeze_d)")
    return start


def start_emas(emas: Mapping[str, Any], start: StartingWeights) -> None:
    """Each EMA copy from the source's EMA where it kept one (else it is the loaded G)."""
    for role, ema in emas.items():
        if role in start.emas:
            ema.model.load_state_dict(start.emas[role])


def freeze_first_layers(network: nn.Module, n: int, role: str) -> list[str]:
    """Stop training the first ``n`` layers with weights of ``network`` (in the order the
    network defines them; each convolution, linear or normalization layer counts one); the
    names of the layers frozen."""
    layers = [(name, module) for name, module in network.named_modules()
              if any(True for _ in module.parameters(recurse=False))]
    if n > len(layers):
        raise GanzooError(f"train.freeze_d: {n} layers asked, but the {role} has "
                          f"{len(layers)} with weights; freeze fewer")
    for _, module in layers[:n]:
        for parameter in module.parameters(recurse=False):
            parameter.requires_grad_(False)
    return [name for name, _ in layers[:n]]
