"""Taking a trained generator out of ganzoo: safetensors weights, a config, the recipe and a
model card, laid out as a Hugging Face model repository (the layout huggingface_hub's
``ModelHubMixin`` reads: config.json beside model.safetensors); optionally TorchScript or ONNX.

    out/
      README.md            the model card (YAML front matter as the Hub reads it)
      LICENSE.md           the terms of the weights: those of the data they were learned from
      config.json          what rebuilds G: its recipe section, sample shape, classes
      config.yaml          the same, as YAML
      recipe.yaml          the resolved recipe of the run, without local paths
      model.safetensors    G's weights (the EMA weights where the run kept them)
      text_encoder.safetensors   a text-to-image run's text encoder, which turns captions
                           into the embeddings G is conditioned on (config.json says how to
                           build it)
      generator.torchscript.pt / generator.onnx   with --format torchscript / onnx

Nothing in it says where anything lay on the machine that trained it: the data's folders and
every absolute path are left out, and so are the source paths torch writes into traced files.
Every file gets the mode of a file created as usual (the umask's), so others can read it.

``load_exported(out)`` rebuilds G from config.json (config.yaml in older exports) and
model.safetensors: no pickle is read. ``from_pretrained`` also takes a Hub repo id.
``load_exported_text_encoder(out)`` rebuilds the text encoder where the export has one.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import torch
from omegaconf import OmegaConf
from torch import Tensor, nn

from ganzoo.errors import GanzooError
from ganzoo.interfaces import Generator, TextEncoder

FORMATS = ("safetensors", "torchscript", "onnx")
CONFIG, WEIGHTS, RECIPE, CARD = "config.yaml", "model.safetensors", "recipe.yaml", "README.md"
CONFIG_JSON, LICENSE = "config.json", "LICENSE.md"
TEXT_WEIGHTS = "text_encoder.safetensors"
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
    recipe, left_out = shareable(OmegaConf.to_container(run.recipe, resolve=True))
    check_portable(left_out, role)
    encoder = text_encoder_of(run, checkpoint)
    config = export_config(G, recipe, state, weights)
    staging = make_staging(out)
    try:
        files = [save_weights(G, staging / WEIGHTS)]
        if encoder is not None:
            config["text_encoder"] = text_encoder_config(*encoder, recipe)
            files.append(save_weights(encoder[1], staging / TEXT_WEIGHTS))
        files += save_config(config, staging)
        OmegaConf.save(OmegaConf.create(recipe), staging / RECIPE)
        files.append(staging / RECIPE)
        if format != "safetensors":
            files.append(save_traced(G, format, staging / FORMAT_FILES[format]))
        terms = data_terms(recipe["data"], run.registry)
        files.append(write_text(licence_text(terms), staging / LICENSE))
        files.append(write_text(model_card(run, G, state, weights, files, recipe, left_out,
                                           terms), staging / CARD))
        publish(staging, out)
    except OSError as exc:  # a full disk, a folder made read-only: nothing half-written stays
        from ganzoo.files import write_failure

        raise GanzooError(f"--out '{out}': the export could not be written "
                          f"({write_failure(exc, out.parent)}); nothing was written there: "
                          "free space or choose another folder") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [out / f.name for f in files]


def text_encoder_of(run: Any, checkpoint: str | Path | None
                    ) -> tuple[str, TextEncoder] | None:
    """The role and network of the run's text encoder (from the checkpoint G came from), or
    None where its game has none."""
    from ganzoo.recipe import game_sections
    from ganzoo.run import load_text_encoder

    roles = game_sections(run.recipe.game.name, run.registry).of_kind("text_encoder")
    if not roles:
        return None
    return roles[0], load_text_encoder(run.checkpoint_target(checkpoint), run.registry, "cpu")


def text_encoder_config(role: str, encoder: TextEncoder, recipe: dict[str, Any]
                        ) -> dict[str, Any]:
    """What rebuilds the text encoder: its recipe section, caption length and vocabulary."""
    return {"component": recipe[role], "role": role,
            "caption_shape": list(encoder.image_shape), "vocabulary": list(encoder.vocabulary),
            "embedding_dim": int(encoder.embedding_dim)}


def check_target(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise GanzooError(f"--out {out}: exists and is not an empty folder; choose a new one "
                          "(an export never overwrites)")


def make_staging(out: Path) -> Path:
    """A new hidden folder beside ``out``, where the export is written before it is published
    whole: two exports into one folder at once can then never mix their files. Made by mkdir,
    so that it gets the umask's mode (mkdtemp's 0700 would hide the export from others)."""
    import secrets

    staging = out.parent / f".{out.name}.{secrets.token_hex(8)}"
    try:
        staging.mkdir(parents=True)
    except OSError as exc:
        raise GanzooError(f"--out {out}: cannot create it ({exc.strerror or exc}); choose a "
                          "writable place") from None
    return staging


def publish(staging: Path, out: Path) -> None:
    """Rename the finished export onto ``out`` (absent or an empty folder); refuse, in one
    line, when another export filled ``out`` meanwhile."""
    import os

    try:
        os.rename(staging, out)  # atomic; replaces an empty folder, never a filled one
    except OSError as exc:
        raise GanzooError(f"--out {out}: another export filled it while this one was being "
                          f"written ({exc.strerror or exc}); nothing of this one was left "
                          "there: choose a new folder") from None


def is_local_path(value: Any) -> bool:
    """Whether ``value`` is an absolute path (POSIX, Windows or ~), which means something only
    on the machine that wrote it."""
    return isinstance(value, str) and bool(value) and (
        PurePosixPath(value).is_absolute() or PureWindowsPath(value).is_absolute()
        or value.startswith("~"))


#: data options that name where the data lies: root, root_a, root_b, ... at any depth
DATA_FOLDER = re.compile(r"root(_\w+)?")


def shareable(recipe: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The resolved recipe without what means something only on this machine, and the keys
    left out: the data's folders (``data.root``, ``data.base.root``, ...), named by the data
    set's name alone, and every absolute path (``train.run_dir``, ...)."""
    left_out: list[str] = []

    def local(path: str, key: str, value: Any) -> bool:
        found = (path.startswith("data.") and bool(DATA_FOLDER.fullmatch(key))
                 or is_local_path(value))
        if found:
            left_out.append(path)
        return found

    def walk(value: Any, path: str) -> Any:
        if isinstance(value, dict):
            items = ((f"{path}.{k}" if path else str(k), str(k), v) for k, v in value.items())
            return {key: walk(v, where) for where, key, v in items if not local(where, key, v)}
        if isinstance(value, list):
            items = ((f"{path}[{i}]", v) for i, v in enumerate(value))
            return [walk(v, where) for where, v in items if not local(where, "", v)]
        return value

    return walk(recipe, ""), left_out


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


def check_portable(left_out: list[str], role: str) -> None:
    """Refuse a generator whose own options hold a local path: rebuilt elsewhere without it,
    it would not be the generator that was trained."""
    for key in left_out:
        if key.startswith(f"{role}.") or key.startswith(f"{role}["):
            raise GanzooError(f"{key}: a path on this machine, which an export cannot carry "
                              "elsewhere; only a generator whose options rebuild it anywhere "
                              "can be exported")


def save_weights(G: Generator, path: Path) -> Path:
    """G's tensors as safetensors, written by a plain open (safetensors' own save_file makes
    its file 0600, whatever the umask)."""
    from safetensors.torch import save

    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in G.state_dict().items()}
    path.write_bytes(save(tensors, metadata={"format": "pt", "library": "ganzoo"}))
    return path


def export_config(G: Generator, recipe: dict[str, Any], state: dict[str, Any],
                  weights: str) -> dict[str, Any]:
    """What rebuilds G: the generator's recipe section (a registered component and its
    options), its shapes and classes, and where its weights came from."""
    import ganzoo

    return {
        "ganzoo_export": EXPORT_VERSION,
        "ganzoo_version": ganzoo.__version__,
        "generator": recipe[state["role"]],
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


def save_config(config: dict[str, Any], folder: Path) -> list[Path]:
    """config.json (what the Hub's libraries read) and config.yaml, the same content."""
    write_text(json.dumps(config, indent=2) + "\n", folder / CONFIG_JSON)
    OmegaConf.save(OmegaConf.create(config), folder / CONFIG)
    return [folder / CONFIG_JSON, folder / CONFIG]


def write_text(text: str, path: Path) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def example_inputs(G: Generator, n: int = 2) -> tuple[Tensor, ...]:
    rng = torch.Generator().manual_seed(0)
    z = (torch.rand(n, *G.input_shape, generator=rng) * 2 - 1 if G.input_shape
         else G.sample_latent(n, generator=rng))
    if G.conditional:
        return z, torch.arange(n) % G.num_classes
    return (z,)


def save_traced(G: Generator, format: str, path: Path) -> Path:
    """G traced with a batch dimension free to vary: TorchScript or ONNX, without the source
    file paths torch records while tracing."""
    sampler = Sampler(G).eval()
    inputs = example_inputs(G)
    with torch.no_grad():
        if format == "torchscript":
            torch.jit.trace(sampler, inputs).save(str(path))
            drop_debug_records(path)
            return path
        try:
            import onnxscript  # noqa: F401  (torch's ONNX exporter needs it)
        except ImportError:
            raise GanzooError("--format onnx needs the onnx and onnxscript packages: "
                              "pip install 'ganzoo[onnx]'") from None
        batch = torch.export.Dim("batch")
        names = ["images" if G.input_shape else "z", "labels"][:len(inputs)]
        program = torch.onnx.export(sampler, inputs, input_names=names,
                                    output_names=["samples"], dynamo=True, verbose=False,
                                    dynamic_shapes=tuple({0: batch} for _ in inputs))
    graphs = [program.model.graph, *program.model.functions.values()]
    for node in (node for graph in graphs for node in graph.all_nodes()):
        node.metadata_props.pop("pkg.torch.onnx.stack_trace", None)  # source paths, lines
    program.save(str(path), external_data=False)
    return path


def drop_debug_records(path: Path) -> None:
    """Rewrite a TorchScript archive without its ``.debug_pkl`` records: they hold the source
    ranges (absolute file paths) of the traced code, and loading does not need them."""
    import os
    import zipfile

    kept = path.with_name(f".{path.name}.kept")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(kept, "w") as target:
        for record in source.infolist():
            if not record.filename.endswith(".debug_pkl"):
                target.writestr(record, source.read(record))
    os.replace(kept, path)


def is_export(folder: Path) -> bool:
    """Whether ``folder`` looks like an export (its config and weights are there)."""
    has_config = (folder / CONFIG_JSON).is_file() or (folder / CONFIG).is_file()
    return has_config and (folder / WEIGHTS).is_file()


def load_exported(folder: str | Path, device: str = "cpu") -> Generator:
    """The generator of an export folder, in eval mode: built from config.json (config.yaml in
    older exports) by the registered component it names, its weights read from
    model.safetensors."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from ganzoo.components import build_one
    from ganzoo.engine.checkpoint import load_weights
    from ganzoo.plugins import load_registry_with_warnings as registry

    folder = Path(folder)
    if not (folder / CONFIG_JSON).is_file() and not (folder / CONFIG).is_file():
        raise GanzooError(f"'{folder}' is not a ganzoo export (no {CONFIG_JSON} in it)")
    if not (folder / WEIGHTS).is_file():
        raise GanzooError(f"'{folder}' is not a ganzoo export (no {WEIGHTS} in it)")
    config, where = read_config(folder)
    num_classes = config.get("num_classes")
    extra = {"input_shape": tuple(config["input_shape"])} if config.get("input_shape") else {}
    G = build_one(registry(), "generator", config["generator"], f"{where}: generator",
                  tuple(config["image_shape"]), num_classes, **extra)
    try:
        weights = load_file(str(folder / WEIGHTS))
    except (SafetensorError, OSError) as exc:
        raise GanzooError(f"'{folder / WEIGHTS}': not a safetensors file ({first_line(exc)}); "
                          "export the run again") from None
    check_weights_file(weights, G, folder / WEIGHTS)
    load_weights(G, weights, "generator", folder / WEIGHTS)
    return G.to(device).eval()


def load_exported_text_encoder(folder: str | Path, device: str = "cpu") -> TextEncoder:
    """The text encoder of a text-to-image export, in eval mode: it turns captions into the
    embeddings its generator takes in place of labels
    (``ganzoo.sample(G, n, text=encoder.embed_captions(captions, n))``)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from ganzoo.components import build_one
    from ganzoo.engine.checkpoint import load_weights
    from ganzoo.plugins import load_registry_with_warnings as registry

    folder = Path(folder)
    config, where = read_config(folder)
    section = config.get("text_encoder")
    if not isinstance(section, dict) or not (folder / TEXT_WEIGHTS).is_file():
        raise GanzooError(f"'{folder}': this export has no text encoder (its generator is not "
                          "conditioned on text, or it was exported by an older ganzoo)")
    encoder = build_one(registry(), "text_encoder", section["component"],
                        f"{where}: text_encoder", tuple(section["caption_shape"]),
                        tuple(section["vocabulary"]))
    try:
        weights = load_file(str(folder / TEXT_WEIGHTS))
    except (SafetensorError, OSError) as exc:
        raise GanzooError(f"'{folder / TEXT_WEIGHTS}': not a safetensors file "
                          f"({first_line(exc)}); export the run again") from None
    load_weights(encoder, weights, "text_encoder", folder / TEXT_WEIGHTS)
    return encoder.to(device).eval()


def check_weights_file(weights: dict[str, Any], G: Generator, path: Path) -> None:
    """Weights as ganzoo writes them: each tensor of the generator's own dtype (float32
    weights, not float64 or a quantized int8), and every number finite."""
    import torch

    own = G.state_dict()
    for name, tensor in weights.items():
        expected = own[name].dtype if name in own else tensor.dtype
        if tensor.dtype != expected:
            raise GanzooError(f"'{path}': {name} is {str(tensor.dtype).removeprefix('torch.')}, "
                              f"but the generator's is {str(expected).removeprefix('torch.')} "
                              "(ganzoo writes them as they are): export the run again")
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise GanzooError(f"'{path}': {name} holds NaN or infinite values; these weights "
                              "cannot sample: export a checkpoint from before the run diverged")


def read_config(folder: Path) -> tuple[dict[str, Any], Path]:
    """An export's config (config.json, else config.yaml), checked for what rebuilding G
    reads, and the file it came from."""
    import yaml

    path = folder / CONFIG_JSON
    try:
        if path.is_file():
            config = json.loads(path.read_text(encoding="utf-8"))
        else:  # OmegaConf's loader is a safe one: a tag that would build an object is refused
            path = folder / CONFIG
            config = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
    except (ValueError, OSError, yaml.YAMLError) as exc:
        raise GanzooError(f"'{path}': not a readable config ({first_line(exc)}); export the "
                          "run again") from None
    if not isinstance(config, dict) or not isinstance(config.get("generator"), dict):
        raise GanzooError(f"'{path}': no 'generator' section naming the generator to build; "
                          "export the run again")
    version = config.get("ganzoo_export", EXPORT_VERSION)
    if not isinstance(version, int) or version > EXPORT_VERSION:
        raise GanzooError(f"'{path}': export format {version!r}, newer than the {EXPORT_VERSION} "
                          f"this ganzoo {ganzoo_version()} reads; upgrade ganzoo "
                          "(pip install -U ganzoo)")
    from ganzoo.recipe import refuse_resolvers

    refuse_resolvers(OmegaConf.create(config), str(path))  # a received file never reads the env
    shapes = [config.get("image_shape"), config.get("input_shape") or [1]]
    if not all(isinstance(s, list) and s and all(type(d) is int and d > 0 for d in s)
               for s in shapes):
        raise GanzooError(f"'{path}': image_shape and input_shape must be lists of positive "
                          f"integers (got {shapes[0]!r}, {config.get('input_shape')!r}); "
                          "export the run again")
    return config, path


def ganzoo_version() -> str:
    import ganzoo

    return ganzoo.__version__


def first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


#: a Hugging Face Hub repo id, org/name (a path that exists here is read as a folder first)
REPO_ID = re.compile(r"\w(?:[\w.-]*\w)?/\w(?:[\w.-]*\w)?")


def from_pretrained(folder_or_repo_id: str | Path, *, revision: str | None = None,
                    cache_dir: str | Path | None = None, local_files_only: bool = False,
                    device: str = "cpu") -> Generator:
    """The generator of an export: a folder, or the Hub repo id (``org/name``) it was
    uploaded to, read from the local Hugging Face cache where it is there (downloaded
    otherwise, unless offline or ``local_files_only``). Repo ids need huggingface_hub."""
    folder = export_folder(folder_or_repo_id, revision=revision, cache_dir=cache_dir,
                           local_files_only=local_files_only)
    return load_exported(folder, device)


def export_folder(source: str | Path, *, revision: str | None = None,
                  cache_dir: str | Path | None = None, local_files_only: bool = False) -> Path:
    """The local folder that holds the export ``source``: itself where it exists here (or is
    no repo id), else the snapshot of that Hub repo (HF_HUB_OFFLINE=1: from the cache)."""
    path = Path(source)
    if path.exists() or not REPO_ID.fullmatch(str(source)):
        return path
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise GanzooError(f"'{source}': no such folder here; to read it from the Hugging Face "
                          "Hub, install the hub extra: pip install 'ganzoo[hub]'") from None
    import ganzoo

    try:
        return Path(snapshot_download(
            str(source), revision=revision, cache_dir=cache_dir,
            local_files_only=local_files_only,
            allow_patterns=[CONFIG_JSON, CONFIG, WEIGHTS, TEXT_WEIGHTS],
            library_name="ganzoo", library_version=ganzoo.__version__))
    except (OSError, ValueError) as exc:  # not cached and offline, no such repo, bad id
        raise GanzooError(f"'{source}': no such folder here, and the Hugging Face Hub repo "
                          f"could not be read ({first_line(exc)}); check the name, or "
                          "download it while online") from None


def data_terms(data: dict[str, Any], registry: Any) -> list[tuple[str, str]]:
    """(name, terms) of the data set and of every data set nested in its options (a
    ``base: {name: ...}`` it is made from), as their plugins state them."""
    terms = []
    for section in nested_sections(data):
        try:
            component = registry.get("dataset", section["name"])
        except GanzooError:  # an option that only looks like a data set
            continue
        terms.append((section["name"], component.licence
                      or "not stated by the dataset's plugin: check the data's terms"))
    return terms


def nested_sections(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, dict):
        return []
    own = [value] if isinstance(value.get("name"), str) else []
    return own + [s for v in value.values() for s in nested_sections(v)]


def licence_text(terms: list[tuple[str, str]]) -> str:
    """LICENSE.md: the weights are under the terms of the data they were learned from."""
    return "\n".join([
        "# Terms of these weights", "",
        "These weights were learned from the data below; use them only as its terms allow:",
        "", *[f"- `{name}`: {text}" for name, text in terms], "",
        "ganzoo, the code that builds and runs this generator, is under the MIT licence; that "
        "licence covers the code, not these weights or the data.", ""])


def front_matter(recipe: dict[str, Any], role: str, G: Generator,
                 terms: list[tuple[str, str]]) -> str:
    """The card's YAML header as the Hub reads it: library, licence, tags, pipeline."""
    import yaml

    from ganzoo.interfaces import is_image_shape

    data = recipe["data"]["name"]
    names = "-".join(dict.fromkeys(name for name, _ in terms)) or data
    header: dict[str, Any] = {
        "library_name": "ganzoo",
        "license": "other",  # the data's terms, which no licence id of the Hub names
        "license_name": re.sub(r"[^a-z0-9]+", "-", f"{names}-data-terms".lower()),
        "license_link": LICENSE,
        "tags": ["gan", "ganzoo", f"generator-{recipe[role]['name']}", f"dataset-{data}"],
    }
    if is_image_shape(tuple(G.image_shape)):
        header["pipeline_tag"] = ("image-to-image" if G.input_shape
                                  else "image-generation" if G.conditional
                                  else "unconditional-image-generation")
    return yaml.safe_dump(header, sort_keys=False, default_flow_style=None, width=100)


def model_card(run: Any, G: Generator, state: dict[str, Any], weights: str,
               files: list[Path], recipe: dict[str, Any], left_out: list[str],
               terms: list[tuple[str, str]]) -> str:
    """README.md: what the model is, what it was trained on, how well it does, how to load it.
    ``recipe``: the resolved recipe without its local paths (``left_out``)."""
    from ganzoo.interfaces import is_image_shape

    data = recipe["data"]
    conditional = f", conditional on {G.num_classes} classes" if G.conditional else ""
    role = state["role"]
    shape = "x".join(map(str, G.image_shape))
    output = (f"images of shape {shape} in [-1, 1]" if is_image_shape(tuple(G.image_shape))
              else f"points of shape {shape}")
    data_options = ", ".join(f"{k}={v}" for k, v in data.items() if k != "name")
    ema = weights == "ema" and state["has_ema"]
    others = [r for r in run.registry.get("game", recipe["game"]["name"]).roles if r != role]
    takes = (f"images of shape {'x'.join(map(str, G.input_shape))} in [-1, 1]" if G.input_shape
             else G.latent_description())
    train = recipe["train"]
    players = ", ".join(f"{r} `{recipe[r]['name']}`" for r in others)
    source = f"the EMA of G (decay {train['ema_decay']})" if ema else "G itself"
    lines = [
        "---", front_matter(recipe, role, G, terms).rstrip(), "---", "",
        f"# {run.name}", "",
        f"A GAN generator trained with ganzoo: {role} `{recipe[role]['name']}` of game "
        f"`{recipe['game']['name']}` ({players}), loss `{recipe['loss']['name']}`, on "
        f"`{data['name']}`{conditional}. It maps {takes} to {output}.", "",
        "## Training", "",
        f"- data: `{data['name']}` ({data_options})" if data_options else
        f"- data: `{data['name']}`",
        f"- steps: {state['step']:,} at batch size {train['batch_size']}, seed {train['seed']}",
        f"- weights: {source}",
        "- the full resolved recipe is `recipe.yaml`: `ganzoo run recipe.yaml` trains it again",
        *local_lines(left_out), "",
        "## Evaluation", "", *evaluation_lines(run), "",
        "## Data licence", "",
        *[f"- `{name}`: {text}" for name, text in terms], "",
        "These weights were learned from that data: use them only as its terms allow "
        f"(`{LICENSE}`). ganzoo's MIT licence covers its code, not these weights.", "",
        "## Use", "", "```python", "import ganzoo",
        "from ganzoo.interfaces import Generator", "",
        "G = Generator.from_pretrained('.')   # this folder, or the Hub repo id 'org/name'",
        "G = ganzoo.load_exported('.')   # the same, from a folder",
        *use_lines(G),
        "```", "",
        "A Hub repo id needs `pip install 'ganzoo[hub]'`; with `HF_HUB_OFFLINE=1` it is read "
        "from the local Hugging Face cache.", "",
        *format_lines(files), "", "## Files", "",
        *[f"- `{f.name}`" for f in files], f"- `{CARD}`", "",
    ]
    return "\n".join(lines)


def local_lines(left_out: list[str]) -> list[str]:
    """What the recipe lost with its local paths, and how to give it back."""
    if not left_out:
        return []
    keys = ", ".join(f"`{key}`" for key in left_out)
    data = [key for key in left_out if key.startswith("data.")]
    again = f" (give {' '.join(f'`{key}=...`' for key in data)} to train again)" if data else ""
    return [f"- left out of `recipe.yaml` as local to the machine that trained it: {keys}"
            f"{again}"]


def use_lines(G: Generator) -> list[str]:
    """How to call the loaded G: sampling from z, or translating images."""
    out = ", ".join(map(str, G.image_shape))
    if G.input_shape:
        shape = ", ".join(map(str, G.input_shape))
        return [f"images = ...   # (N, {shape}), float in [-1, 1]",
                f"outputs = G(images)   # (N, {out})",
                "# or: ganzoo translate . --input images/ --out outputs.npz"]
    if getattr(G, "text_dim", 0):  # conditioned on text: the export holds its encoder
        return ["encoder = ganzoo.load_exported_text_encoder('.')",
                "text = encoder.embed_captions(['a thick seven'], 16)   # in its vocabulary",
                f"samples = ganzoo.sample(G, 16, seed=0, text=text)   # (16, {out})"]
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
        shown, _ = shareable(evaluation["protocol"])  # without local paths
        protocol = ", ".join(f"{k}: {v}" for k, v in shown.items())
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
