"""Recipes: a YAML file of named components and training options, checked against a schema.

A recipe only names registered components; it never imports or runs code of its own. Every
error names the key path and exits with code 2.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import MISSING, DictConfig, ListConfig, OmegaConf
from omegaconf.errors import ConfigKeyError, OmegaConfBaseException

from ganzoo.errors import GanzooError
from ganzoo.options import one_of, positive
from ganzoo.registry import Component, Registry

#: the game a recipe without a ``game`` section plays: G fed noise against one D
DEFAULT_GAME = "adversarial"
DEFAULT_OPTIMIZER = "adam"


#: the most D updates per G update: far above any paper's, below a step that never ends
MAX_N_CRITIC = 1000


@dataclass
class TrainOptions:
    """How to train: the step loop, the optimisers, where and how often to write."""

    steps: int = 1000
    batch_size: int = 64
    n_critic: int = 1  # D updates per G update
    # Older spellings of optim_g.lr / optim_d.lr and of the optimizers' betas; where given,
    # they fill in what the optim_g / optim_d sections leave unset.
    lr_g: float | None = None
    lr_d: float | None = None
    beta1: float | None = None
    beta2: float | None = None
    seed: int = 0
    device: str = "auto"  # auto (cuda, then mps, then cpu), cpu, cuda, cuda:N, mps
    log_every: int = 50  # read metrics back from the device this often (no per-step sync)
    sample_every: int = 500  # sample grid from a fixed z this often, and at the end
    num_samples: int = 64  # images in each sample grid
    checkpoint_every: int = 1000  # full checkpoint (resumable) this often, and at the end
    keep_checkpoints: int = 3  # the newest K checkpoints are kept
    ema_decay: float = 0.0  # EMA of G's weights for samples and evaluation; 0 is off
    ema_start: int = 0  # the EMA copies G at steps before this one, then averages (BigGAN: 1000)
    # a schedule ({name: cosine, initial: 0, final: 1}) whose factor scales the half-life that
    # ema_decay sets: R3GAN's half-life rising from 0; null keeps ema_decay throughout
    ema_schedule: Any = None
    # Speed options, applied on CUDA and the CPU (see docs/training.md for what each pays)
    precision: str = "fp32"  # fp32 | bf16 (autocast; losses stay fp32)
    channels_last: bool = False  # image networks and batches in channels-last memory format
    fused_adam: bool = False  # fused=True for optimizers that have it (Adam, AdamW)
    compile: bool = False  # torch.compile G and D
    # where metrics, samples and evaluations also go ('ganzoo list loggers'): names or
    # {name: ..., <options>}, e.g. [tensorboard] or [{name: wandb, project: my-gans}]
    loggers: list[Any] = field(default_factory=list)
    tensorboard: bool = False  # older spelling of loggers: [tensorboard]
    run_dir: str | None = None  # default: runs/<recipe>-<timestamp>
    # fine-tuning: a new run's networks (and EMA) start from another run's weights: a run
    # folder (its newest good checkpoint), a checkpoint file, or an export (G alone)
    init_from: str | None = None
    # FreezeD (Mo et al., 2020): D's first N layers with weights keep their weights
    freeze_d: int = 0

    def __post_init__(self) -> None:
        if self.freeze_d < 0:
            raise ValueError(f"freeze_d: must be 0 (off) or positive (got {self.freeze_d})")
        if self.init_from is not None and not str(self.init_from).strip():
            raise ValueError("init_from: must name a run folder, checkpoint or export (got '')")
        for name in ("steps", "batch_size", "n_critic", "log_every",
                     "sample_every", "num_samples", "checkpoint_every", "keep_checkpoints"):
            positive(name, getattr(self, name))
        for name in ("lr_g", "lr_d"):
            positive(name, getattr(self, name), allow_none=True)
        if self.n_critic > MAX_N_CRITIC:
            raise ValueError(f"n_critic: at most {MAX_N_CRITIC} D updates per G update (got "
                             f"{self.n_critic}); WGAN uses 5")
        if not 0 <= self.ema_decay < 1:
            raise ValueError(f"ema_decay: must be in [0, 1) (got {self.ema_decay!r})")
        if self.ema_start < 0:
            raise ValueError(f"ema_start: a step, 0 or more (got {self.ema_start})")
        one_of("precision", self.precision, ("fp32", "bf16"))
        for name in ("beta1", "beta2"):
            if getattr(self, name) is not None and not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name}: must be in [0, 1) (got {getattr(self, name)!r})")
        if not self.device.startswith("cuda:"):
            one_of("device", self.device, ("auto", "cpu", "cuda", "mps"))
        if not 0 <= self.seed < 2**32:
            raise ValueError(f"seed: must be in [0, 2**32) (got {self.seed})")


@dataclass
class EvalOptions:
    """How to evaluate: sample count, reference split, metrics and the feature extractor."""

    n: int = 50000  # generated images (and at most as many reference images)
    ref: str = "train"  # the dataset split the reference images come from
    # any registered metric ('ganzoo list metrics'), by name or as {name: ..., <options>}
    # (e.g. [fid, {name: pr, k: 5}]); mode coverage is added where the data has known modes
    metrics: list[Any] = field(default_factory=lambda: ["fid", "kid", "pr"])
    # which logged value picks best.pt during training, and whether lower or higher is better:
    # 'fid', 'kid_mean:min', 'my_score:max'; auto: FID, else the mode histogram's KL
    best: str = "auto"
    # see 'ganzoo list feature_extractors': a name, or {name: ..., <options>}, e.g.
    # {name: inception_torchscript, resize: clean} for clean-fid's resize
    extractor: Any = "inception_torchscript"
    extractor_path: str | None = None  # the extractor's weights file
    batch_size: int = 64
    every: int = 0  # during training: evaluate every N steps and keep the best checkpoint
    n_during_training: int = 2000
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("n", "batch_size", "n_during_training"):
            positive(name, getattr(self, name))
        if self.every < 0:
            raise ValueError(f"every: must be 0 (off) or positive (got {self.every})")
        if self.best != "auto" and (not self.best.split(":")[0]
                                    or self.best.split(":", 1)[1:] not in ([], ["min"], ["max"])):
            raise ValueError(f"best: expected 'auto', a value name, or name:min / name:max "
                             f"(got {self.best!r})")


@dataclass
class RecipeSchema:
    """The sections every recipe has. Besides these, each role of the game (``generator`` and
    ``discriminator`` in the plain game) has a section naming its network, and each optimizer
    section the roles name (``optim_g``, ``optim_d``) one naming its optimizer."""

    game: dict[str, Any] = field(default_factory=lambda: {"name": DEFAULT_GAME})
    loss: dict[str, Any] = MISSING
    data: dict[str, Any] = MISSING
    conditional: bool = False  # G and D receive the data's class labels
    augment: dict[str, Any] | None = None  # an augmentation of D's inputs; absent: none
    # {name, weight, every, role, ...}: a penalty or constraint of one role
    regularizers: list[dict[str, Any]] = field(default_factory=list)
    train: TrainOptions = field(default_factory=TrainOptions)
    eval: EvalOptions = field(default_factory=EvalOptions)


FIXED_SECTIONS = tuple(f.name for f in dataclasses.fields(RecipeSchema))


def schema_with(roles: list[str], optimizers: list[str]) -> type:
    """RecipeSchema with a required section per role and one per optimizer (``adam`` unless
    the recipe says otherwise), in reading order: game, roles, loss, data, ..., optimizers,
    train, eval."""
    types = typing.get_type_hints(RecipeSchema)

    def fixed(name: str) -> tuple[str, Any, Any]:
        f = next(f for f in dataclasses.fields(RecipeSchema) if f.name == name)
        default = (field(default_factory=f.default_factory)
                   if f.default_factory is not dataclasses.MISSING else field(default=f.default))
        return name, types[name], default

    section = dict[str, Any]
    head, tail = ["game"], ["train", "eval"]
    fields = [fixed(name) for name in head]
    fields += [(role, section, field(default=MISSING)) for role in roles]
    fields += [fixed(name) for name in FIXED_SECTIONS if name not in head + tail]
    fields += [(name, section, field(default_factory=lambda: {"name": DEFAULT_OPTIMIZER}))
               for name in optimizers if name not in roles]
    fields += [fixed(name) for name in tail]
    return dataclasses.make_dataclass("Recipe", fields)


@dataclass(frozen=True)
class GameSections:
    """The sections a game adds to the recipe: its roles (name -> Role) and the optimizer
    sections they name, in order."""

    game: str
    roles: dict[str, Any]

    @property
    def optimizers(self) -> list[str]:
        from ganzoo.roles import optimizer_groups

        return list(optimizer_groups(self.roles))

    def of_kind(self, kind: str) -> list[str]:
        from ganzoo.roles import roles_of_kind

        return roles_of_kind(self.roles, kind)


def game_sections(name: str, registry: Registry) -> GameSections:
    """The roles and optimizer sections of the game registered as ``name``."""
    try:
        component = registry.get("game", name)
    except GanzooError as exc:
        raise GanzooError(f"game.name: {exc}") from None
    return GameSections(component.name, dict(component.roles))


def recipe_sections(game: GameSections) -> dict[str, str]:
    """Every recipe key that names one component -> its kind, read off the table of kinds
    with the game's roles and optimizer sections filled in."""
    from ganzoo.kinds import KINDS

    sections: dict[str, str] = {}
    for kind in KINDS.values():
        for section in kind.sections:
            if section.endswith("[]"):  # lists of components: each entry names one
                continue
            if section == "<roles>":
                names = game.of_kind(kind.name)
            elif section.startswith("<optimizers>"):
                names = [o + section.removeprefix("<optimizers>") for o in game.optimizers]
            else:
                names = [section]
            sections.update(dict.fromkeys(names, kind.name))
    return sections


def shipped_recipes(registry: Registry) -> dict[str, Path]:
    """Every recipe the plugins ship, by name (its file name without ``.yaml``); the first
    plugin to ship a name keeps it."""
    found: dict[str, Path] = {}
    for _, folder in registry.recipe_folders:
        for path in sorted(folder.glob("*.yaml")):
            found.setdefault(path.stem, path)
    return found


def find_recipe(name_or_path: str | Path, registry: Registry | None = None) -> Path:
    """The recipe file a command was given: an existing path wins; otherwise a shipped recipe
    of that name (``quickstart``, ``quickstart.yaml`` or ``recipes/quickstart.yaml``)."""
    path = Path(name_or_path)
    if path.exists():
        return path
    if registry is None:
        from ganzoo.plugins import load_registry

        registry = load_registry()
    shipped = shipped_recipes(registry)
    name = path.name.removesuffix(".yaml")
    if path.parent in (Path("."), Path("recipes")) and name in shipped:
        return shipped[name]
    close = difflib.get_close_matches(name, shipped, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise GanzooError(f"Recipe not found: '{path}' is no file and no shipped recipe's name; "
                      f"{hint}'ganzoo recipes' lists the shipped ones (run one by name: "
                      "ganzoo run quickstart)")


def load_recipe(path: str | Path, overrides: list[str] | tuple[str, ...] = (),
                registry: Registry | None = None, notes: list[str] | None = None) -> DictConfig:
    """Read a recipe file, apply ``key=value`` (and ``~key``) overrides and check it against the
    schema. With a registry, an override that swaps a component (``data.name=...``) drops the
    file's options the new one does not take; each such drop is added to ``notes``."""
    path = find_recipe(path, registry)
    if path.is_dir():
        raise GanzooError(f"'{path}' is a folder, not a recipe file. Pass the path of a .yaml "
                          "recipe or a shipped recipe's name, for example quickstart.")
    return compose(read_recipe_file(path), overrides, where=str(path), registry=registry,
                   notes=notes)


def read_recipe_file(path: Path) -> DictConfig:
    """A recipe file's mapping, or one line saying why it is none (not YAML, a YAML tag such as
    ``!!python/object``, which is never constructed, or not a mapping)."""
    try:
        from_file = OmegaConf.load(path)
    except UnicodeDecodeError:
        raise GanzooError(f"{path}: not a text file; a recipe is YAML") from None
    except Exception as exc:  # yaml's parser errors carry the line and column
        raise GanzooError(f"{path}: not valid YAML: {yaml_problem(exc)}") from None
    if not isinstance(from_file, DictConfig):
        raise GanzooError(f"{path}: a recipe is a mapping of sections (generator, data, ...)")
    return from_file


def compose(
    base: DictConfig | dict[str, Any], overrides: list[str] | tuple[str, ...] = (), where: str = "",
    registry: Registry | None = None, notes: list[str] | None = None,
) -> DictConfig:
    """Merge ``base`` and the dotlist ``overrides`` into the schema of the recipe's game and
    check what is missing. ``~key`` removes a key of ``base``; for ``registry`` (loaded here
    when not given) and ``notes`` see ``load_recipe``."""
    for item in overrides:
        key = item.removeprefix("~").split("=", 1)[0]
        removal = item.startswith("~")
        if (removal == ("=" in item)) or not key or "" in key.split("."):
            raise GanzooError(f"Override {item!r} must look like key=value (train.steps=100) "
                              "or ~key to remove a key (~data.split)")
    removals = [item[1:] for item in overrides if item.startswith("~")]
    indexed = [item for item in overrides if not item.startswith("~") and any(
        part.isdigit() for part in item.split("=", 1)[0].split("."))]
    overrides = [item for item in overrides if not item.startswith("~") and item not in indexed]
    cli = parse_overrides(overrides)
    base = OmegaConf.create(base)
    refuse_resolvers(base, where)
    refuse_resolvers(cli, "an override")
    for key in removals:
        remove_key(base, key, where)
    for item in indexed:  # regularizers.0.weight=5: into the list's entry
        set_list_entry(base, item, where)
    if registry is None:
        from ganzoo.plugins import load_registry

        registry = load_registry()
    game = game_sections(played_game(base, cli), registry)
    check_game_sections(game, [*base.items(), *cli.items()], where)
    sections = recipe_sections(game)
    dropped = drop_foreign_options(base, cli, {item.split("=", 1)[0] for item in overrides},
                                   registry, sections)
    if notes is not None:
        notes.extend(dropped)
    for path, (names_allowed, example) in LIST_SECTIONS.items():
        entry = "a name or {name: ..., <options>}" if names_allowed else "{name: ..., <options>}"
        for config, source in ((cli, "an override"), (base, where)):
            given = OmegaConf.select(config, path, default=None)
            if given is not None and not isinstance(given, ListConfig):
                raise GanzooError(f"{path}: expected a list of entries, each {entry}, e.g. "
                                  f"{example} (got {describe_value(given)}){_in(source)}")
            for i, item in enumerate(given or []):
                if not (isinstance(item, DictConfig) or names_allowed and isinstance(item, str)):
                    raise GanzooError(f"{path}[{i}]: expected {entry}, e.g. {example} (got "
                                      f"{describe_value(item)}){_in(source)}")
    try:
        for item in overrides:  # a whole section given (generator={name: ...}) replaces it
            key = item.split("=", 1)[0]
            if "." not in key and isinstance(cli.get(key), DictConfig) and key in base:
                base[key] = cli[key]
        schema = schema_with(list(game.roles), game.optimizers)
        recipe = OmegaConf.merge(OmegaConf.structured(schema), base, cli)
        missing = sorted(OmegaConf.missing_keys(recipe))
    except OmegaConfBaseException as exc:
        raise GanzooError(_explain(exc, prefix="", where=where)) from None
    if missing:
        raise GanzooError(
            f"{', '.join(missing)}: missing; every recipe needs loss and data sections, and "
            f"game {game.game!r} one per role: {', '.join(game.roles)}{_in(where)}"
        )
    named = [(section, OmegaConf.select(recipe, section), kind)
             for section, kind in sections.items()]
    named += [(f"regularizers[{i}]", entry, "regularizer")
              for i, entry in enumerate(recipe.regularizers)]
    for section, config, kind in named:
        if config is None or section in NAME_OR_MAPPING and isinstance(config, str):
            continue  # absent (the default, or none: augment), or a bare name
        if not isinstance(config, DictConfig):
            raise GanzooError(f"{section}: expected a mapping {{name: ..., <options>}} naming "
                              f"the {kind}, e.g. {{name: {example_name(registry, kind)}}} (got "
                              f"{config!r}){_in(where)}")
        name = config.get("name")
        if not isinstance(name, str) or not name:
            raise GanzooError(
                f"{section}.name: missing; name the {kind} to use (see 'ganzoo list'){_in(where)}"
            )
    return recipe


#: an interpolation that calls a resolver, ``${oc.env:HOME}``, not one naming a key, ``${a.b}``
RESOLVER_CALL = re.compile(r"\$\{[^}]*:")


def refuse_resolvers(config: DictConfig, where: str) -> None:
    """A recipe names its values or other keys, never a resolver: ``${oc.env:VAR}`` would put
    the environment's values into run folders, reports and exports, and let a file received
    from elsewhere read it."""
    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{path}.{key}" if path else str(key))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{path}[{i}]")
        elif isinstance(node, str) and RESOLVER_CALL.search(node):
            raise GanzooError(f"{path}: {node!r} calls a resolver (such as oc.env, which reads "
                              "the environment); a recipe holds values, and ${key} references "
                              f"to its own keys only: write the value itself{_in(where)}")

    walk(OmegaConf.to_container(config, resolve=False), "")


#: the recipe's lists of components, with an example for the error that a value is no list
# (whether an entry may be a bare name, an example)
LIST_SECTIONS = {"regularizers": (False, "[{name: r1, weight: 10}]"),
                 "train.loggers": (True, "[tensorboard] or [{name: wandb, project: my-gans}]"),
                 "eval.metrics": (True, "[fid, kid] or [{name: pr, k: 5}]")}
#: sections that may also be written as the component's bare name
NAME_OR_MAPPING = ("eval.extractor",)


def describe_value(value: Any) -> str:
    if isinstance(value, DictConfig):
        return "a mapping"
    return f"{value!r}"


def example_name(registry: Registry, kind: str) -> str:
    members = registry.all(kind)
    return members[0].name if members else "..."


def played_game(base: DictConfig, cli: DictConfig) -> str:
    """The game's name: the override's, else the file's, else the default."""
    for config in (cli, base):
        section = config.get("game")
        if isinstance(section, DictConfig) and isinstance(section.get("name"), str):
            return section.name
        if section is not None and not isinstance(section, DictConfig):
            raise GanzooError(f"game: expected a mapping such as {{name: {DEFAULT_GAME}}} "
                              f"(got {section!r})")
    return DEFAULT_GAME


def check_game_sections(game: GameSections, keys: list[tuple[str, Any]], where: str) -> None:
    """Every top-level key is a section of the schema, or a role or optimizer of the game."""
    own = [*FIXED_SECTIONS, *game.roles, *game.optimizers]
    for key, value in keys:
        if key in own or not isinstance(value, DictConfig):  # the schema names the others
            continue
        close = difflib.get_close_matches(key, own, n=1, cutoff=0.75)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise GanzooError(f"{key}: unknown section{hint}; game {game.game!r} has the roles "
                          f"{', '.join(game.roles)} and the optimizers "
                          f"{', '.join(game.optimizers)}, besides {', '.join(FIXED_SECTIONS)}"
                          f"{_in(where)}")


#: the keys of a section that belong to the recipe rather than to the component (an
#: optimizer's schedules)
NOT_OPTIONS = {"optimizer": ("schedule", "beta2_schedule")}


def remove_key(base: DictConfig, key: str, where: str) -> None:
    """``~key``: delete ``key`` from the recipe, so that its default applies."""
    parent_key, _, last = key.rpartition(".")
    parent = OmegaConf.select(base, parent_key) if parent_key else base
    if not isinstance(parent, DictConfig) or last not in parent:
        raise GanzooError(f"~{key}: the recipe has no key {key!r} to remove{_in(where)}")
    del parent[last]


def set_list_entry(base: DictConfig, item: str, where: str) -> None:
    """``key.N.option=value``: set an option of entry N of a list in the recipe."""
    key = item.split("=", 1)[0]
    value = OmegaConf.select(parse_overrides([item]), key)
    parts = key.split(".")
    container: Any = base
    for depth, part in enumerate(parts[:-1]):
        inside = None
        if isinstance(container, ListConfig) and part.isdigit() and int(part) < len(container):
            inside = container[int(part)]
        elif isinstance(container, DictConfig):
            inside = container.get(part)
        if inside is None:
            raise GanzooError(f"{'.'.join(parts[:depth + 1])}: the recipe has no such entry "
                              f"(for {item!r}){_in(where)}")
        container = inside
    last = parts[-1]
    if not isinstance(container, DictConfig | ListConfig):
        raise GanzooError(f"{'.'.join(parts[:-1])}: holds a single value, not a list or "
                          f"mapping (for {item!r}){_in(where)}")
    if isinstance(container, ListConfig):
        if not last.isdigit() or int(last) >= len(container):
            raise GanzooError(f"{key}: the recipe has no such entry{_in(where)}")
        last = int(last)
    try:
        container[last] = value
    except OmegaConfBaseException as exc:
        raise GanzooError(_explain(exc, prefix="", where=where)) from None


def drop_foreign_options(base: DictConfig, cli: DictConfig, given: set[str],
                         registry: Registry, sections: dict[str, str]) -> list[str]:
    """Where an override renames a section's component (``data.name=image_folder``), remove
    the section's options from ``base`` that the new component does not take, unless an
    override sets them too. One note per section names what was dropped."""
    notes = []
    for path, kind in sections.items():
        if f"{path}.name" not in given:
            continue
        section = OmegaConf.select(base, path)
        if not isinstance(section, DictConfig) or section.get("name") is None:
            continue
        try:
            component = registry.get(kind, OmegaConf.select(cli, f"{path}.name"))
        except GanzooError:  # an unknown name: said where the component is built
            continue
        keep = {"name", *field_names(component.options), *NOT_OPTIONS.get(kind, ())}
        dropped = [k for k in section if k not in keep and f"{path}.{k}" not in given]
        for k in dropped:
            del section[k]
        if dropped:
            notes.append(f"{path}.name is now {component.name!r}, which does not take "
                         f"{', '.join(f'{path}.{k}' for k in dropped)}: dropped from the recipe")
    return notes


def parse_overrides(overrides: list[str] | tuple[str, ...]) -> DictConfig:
    """key=value items as a config; a value that is not valid YAML is named in one line."""
    for item in overrides:
        try:
            OmegaConf.from_dotlist([item])
        except Exception as exc:
            raise GanzooError(f"Override {item!r}: its value is not valid YAML: "
                              f"{yaml_problem(exc, position=False)}. Lists look like [64,64], "
                              "mappings like {name: mlp}") from None
    return OmegaConf.from_dotlist(list(overrides))


def yaml_problem(exc: Exception, position: bool = True) -> str:
    """"line 4, column 3: expected ',' or ']' (while parsing a flow sequence)", from a YAML
    error's marks, or its first line."""
    mark, problem = getattr(exc, "problem_mark", None), getattr(exc, "problem", None)
    if mark is None or problem is None:
        return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    context = getattr(exc, "context", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if position else ""
    return f"{where}{problem}" + (f" ({context})" if context else "")


def train_options(recipe: DictConfig) -> TrainOptions:
    """The recipe's ``train`` section as a checked TrainOptions."""
    return _to_object(recipe.train, "train.")


def eval_options(recipe: DictConfig) -> EvalOptions:
    """The recipe's ``eval`` section as a checked EvalOptions."""
    return _to_object(recipe.eval, "eval.")


def component_options(component: Component, section: DictConfig | dict[str, Any], path: str) -> Any:
    """Check a recipe section (``name`` plus options) against the component's options dataclass."""
    values = {k: v for k, v in as_dict(section).items() if k != "name"}
    if component.options is None:
        if values:
            first = next(iter(values))
            raise GanzooError(
                f"{path}.{first}: {component.kind} {component.name!r} takes no options"
            )
        return None
    try:
        merged = OmegaConf.merge(OmegaConf.structured(component.options), values)
    except OmegaConfBaseException as exc:
        raise GanzooError(_explain(exc, prefix=f"{path}.")) from None
    return _to_object(merged, f"{path}.")


def _to_object(config: DictConfig, prefix: str) -> Any:
    """Build the dataclass behind ``config``, reporting its ``__post_init__`` checks too."""
    try:
        return OmegaConf.to_object(config)
    except OmegaConfBaseException as exc:
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, ValueError):
            raise GanzooError(f"{prefix}{cause}") from None
        raise GanzooError(_explain(exc, prefix=prefix)) from None
    except ValueError as exc:
        raise GanzooError(f"{prefix}{exc}") from None


def as_dict(section: DictConfig | dict[str, Any]) -> dict[str, Any]:
    if isinstance(section, DictConfig):
        return OmegaConf.to_container(section, resolve=True)  # type: ignore[return-value]
    return dict(section)


def _explain(exc: OmegaConfBaseException, prefix: str, where: str = "") -> str:
    key = getattr(exc, "full_key", "") or ""
    msg = (getattr(exc, "msg", "") or str(exc)).strip().splitlines()[0]
    if isinstance(exc, ConfigKeyError) and "not in" in msg:
        known = field_names(getattr(exc, "object_type", None))
        msg = f"unknown key; expected one of: {', '.join(known)}" if known else "unknown key"
    elif "is not a ListConfig" in msg:
        msg = "expected a list, e.g. [256, 256]"
    location = f"{prefix}{key}" if key else prefix.rstrip(".") or "recipe"
    return f"{location}: {msg}{_in(where)}"


def field_names(object_type: Any) -> list[str]:
    """The fields of an options dataclass (none for anything else, None included)."""
    if isinstance(object_type, type) and dataclasses.is_dataclass(object_type):
        return [f.name for f in dataclasses.fields(object_type)]
    return []


def _in(where: str) -> str:
    return f" (in {where})" if where else ""


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """{'train': {'steps': 3}} -> {'train.steps': 3}"""
    if not isinstance(value, dict):
        return {prefix: value}
    items: dict[str, Any] = {}
    for key, inner in value.items():
        items.update(flatten(inner, f"{prefix}.{key}" if prefix else str(key)))
    return items


def describe(recipe: DictConfig, registry: Registry | None = None) -> str:
    """'G=dcgan D=dcgan loss=hinge data=cifar10 augment=... regularizers=r1 optim=adam/adam';
    a game of other roles names each (``game=cycle g_ab=resnet ...``)."""
    from ganzoo.plugins import load_registry

    game = game_sections(recipe.game.name, registry or load_registry())
    short = {"generator": "G", "discriminator": "D"}
    parts = [] if recipe.game.name == DEFAULT_GAME else [f"game={recipe.game.name}"]
    parts += [f"{short.get(role, role)}={recipe[role].name}" for role in game.roles]
    parts += [f"loss={recipe.loss.name}", f"data={recipe.data.name}"]
    if recipe.conditional:
        parts.append("conditional")
    if recipe.augment is not None:
        parts.append(f"augment={recipe.augment.name}")
    if recipe.regularizers:
        parts.append("regularizers=" + ",".join(r.name for r in recipe.regularizers))
    parts.append("optim=" + "/".join(recipe[key].name for key in game.optimizers))
    return " ".join(parts)
