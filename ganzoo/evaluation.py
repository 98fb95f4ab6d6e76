"""Evaluation of any Generator: FID, IS, KID and precision/recall through torch-fidelity, and
mode coverage where the dataset knows its modes. Every result carries its protocol."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import platform
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf
from torch import Tensor

import ganzoo
from ganzoo.components import build_one
from ganzoo.errors import GanzooError
from ganzoo.interfaces import Dataset, FeatureExtractor, Generator, is_image_shape
from ganzoo.recipe import EvalOptions, component_options
from ganzoo.registry import Registry
from ganzoo.sampling import generate, to_uint8

KID_SUBSET = 1000  # torch-fidelity's default subset size for KID
MODE_SAMPLES = 26_000  # generated images for mode coverage, at most (stacked MNIST's convention)


def reference_dataset(recipe: DictConfig, registry: Registry, split: str) -> tuple[Dataset, str]:
    """The recipe's dataset on the reference split (where it has splits), and a note."""
    component = registry.get("dataset", recipe.data.name)
    section = OmegaConf.to_container(recipe.data, resolve=True)
    has_split = component.options is not None and any(
        f.name == "split" for f in dataclasses.fields(component.options))
    note = ""
    if has_split:
        section["split"] = split
    else:
        note = f"dataset {component.name!r} has no splits: the reference is its training data"
    return build_one(registry, "data", OmegaConf.create(section)), note


def build_extractor(options: EvalOptions, registry: Registry) -> FeatureExtractor:
    component = registry.get("feature_extractor", options.extractor)
    values: dict[str, Any] = {"name": component.name}
    if options.extractor_path and component.options is not None:
        values["path"] = options.extractor_path
    extractor = component.build(component_options(component, values, "eval.extractor"))
    if not isinstance(extractor, FeatureExtractor):
        raise GanzooError(f"eval.extractor: {component.name!r} did not build a FeatureExtractor")
    return extractor


def to_uint8_rgb(images: Tensor) -> Tensor:
    """[-1, 1] (N, C, H, W) -> uint8 (N, 3, H, W); grayscale is repeated to three channels."""
    out = to_uint8(images)
    return out.expand(-1, 3, -1, -1).contiguous() if out.shape[1] == 1 else out


class _ReferenceImages(torch.utils.data.Dataset):
    def __init__(self, images: Tensor):
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> Tensor:
        return self.images[i]


def reference_images(dataset: Dataset, n: int, seed: int) -> Tensor:
    """n real images (one epoch's random order, no repeats) as uint8 RGB, on the CPU."""
    batch = min(n, len(dataset), 1000)
    got, chunks = 0, []
    for images in dataset.batches(batch, torch.device("cpu"), seed):
        chunks.append(to_uint8_rgb(images))
        got += len(images)
        if got >= n:
            break
    return torch.cat(chunks)[:n]


def generator_input(G: Generator):
    """G as a torch-fidelity generative model: z ~ N(0, I) in, uint8 RGB images out."""
    from torch_fidelity import GenerativeModelBase

    class FromGanzoo(GenerativeModelBase):
        def __init__(self):
            super().__init__()
            self.G = G

        @property
        def z_size(self) -> int:
            return G.latent_dim

        @property
        def z_type(self) -> str:
            return "normal"

        @property
        def num_classes(self) -> int:
            return 0

        def forward(self, z: Tensor) -> Tensor:
            return to_uint8_rgb(self.G(z.to(next(self.G.parameters()).device)))

    return FromGanzoo()


def kid_subset_size(n: int) -> int:
    """KID's subset size: the usual 1000, or half of a smaller n so that its subsets differ
    (subsets as large as n would all be the whole set, and KID's std would read 0)."""
    return KID_SUBSET if n >= 2 * KID_SUBSET else max(2, n // 2)


def fidelity_metrics(G: Generator, reference: Dataset, options: EvalOptions,
                     extractor: FeatureExtractor, cache_key: str,
                     notes: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """FID / IS / KID / PR between n samples streamed from G and the reference images."""
    import torch_fidelity

    from ganzoo.imagefiles import cache_dir

    real = reference_images(reference, options.n, options.seed)
    if len(real) < options.n:
        notes.append(f"the reference split has {len(real)} images, fewer than n={options.n}")
    want = set(options.metrics)
    isc = "is" in want and extractor.provides_isc
    kid_subset = kid_subset_size(min(options.n, len(real)))
    if "kid" in want and kid_subset < KID_SUBSET:
        notes.append(f"KID subset size {kid_subset}, half of n (the usual {KID_SUBSET} needs "
                     f"n >= {2 * KID_SUBSET}); KID is noisier at this n")
    device = next(G.parameters()).device
    raw = torch_fidelity.calculate_metrics(
        input1=generator_input(G), input1_model_num_samples=options.n,
        input2=_ReferenceImages(real), input2_cache_name=cache_key,
        cache=True, cache_root=str(cache_dir() / "fidelity"),
        fid="fid" in want, kid="kid" in want, prc="pr" in want, isc=isc,
        kid_subset_size=kid_subset, feature_extractor=extractor.fidelity_name,
        batch_size=options.batch_size, cuda=device.type == "cuda", rng_seed=options.seed,
        verbose=False, save_cpu_ram=True, **extractor.fidelity_kwargs(),
    )
    metrics: dict[str, Any] = {}
    if "fid" in want:
        metrics["fid"] = raw["frechet_inception_distance"]
    if "kid" in want:
        metrics["kid_mean"] = raw["kernel_inception_distance_mean"]
        metrics["kid_std"] = raw["kernel_inception_distance_std"]
    if "pr" in want:
        metrics["precision"] = raw["precision"]
        metrics["recall"] = raw["recall"]
    if "is" in want:
        metrics["is_mean"] = raw.get("inception_score_mean") if isc else \
            "not available with this extractor"
        metrics["is_std"] = raw.get("inception_score_std") if isc else None
    protocol = {"n_generated": options.n, "n_reference": len(real),
                "kid_subset_size": kid_subset if "kid" in want else None}
    return metrics, protocol


def evaluate(G: Generator, reference: Dataset, options: EvalOptions, registry: Registry, *,
             dataset_name: str, split_note: str = "", extra: dict | None = None) -> dict:
    """Every measure that fits this G and dataset, with the protocol that produced it."""
    notes = [split_note] if split_note else []
    G.eval()
    result: dict[str, Any] = {"metrics": {}, "modes": None, "notes": notes}
    protocol: dict[str, Any] = {
        "dataset": dataset_name, "reference_split": options.ref,
        "image_shape": list(G.image_shape), "seed": options.seed,
        "ganzoo": ganzoo.__version__, "torch": torch.__version__,
        "python": platform.python_version(), **(extra or {}),
    }
    images = is_image_shape(tuple(G.image_shape))
    if images and options.metrics:
        import torch_fidelity

        extractor = build_extractor(options, registry)
        sha = extractor.weights_sha256()
        key = hashlib.sha256(json.dumps([dataset_name, options.ref, list(G.image_shape),
                                         options.n, options.seed, options.extractor, sha],
                                        default=str).encode()).hexdigest()[:16]
        metrics, counts = fidelity_metrics(G, reference, options, extractor,
                                           f"ganzoo-ref-{dataset_name}-{key}", notes)
        result["metrics"] = metrics
        protocol.update(counts, feature_extractor=options.extractor,
                        fidelity_extractor=extractor.fidelity_name,
                        extractor_weights_sha256=sha,
                        torch_fidelity=torch_fidelity.__version__)
    elif not images:
        notes.append("FID, IS, KID and PR are image metrics; these samples are points")
    n_modes = min(options.n, MODE_SAMPLES) if images else options.n
    coverage = reference.mode_coverage(generate(G, n_modes, options.seed + 1))
    if coverage is not None:
        result["modes"] = coverage
        protocol["n_mode_samples"] = n_modes
    result["protocol"] = protocol
    return result


def score_of(result: dict) -> float | None:
    """What 'best' means during training: FID, or the mode histogram's KL where there is none."""
    if isinstance(result["metrics"].get("fid"), float):
        return result["metrics"]["fid"]
    modes = result.get("modes") or {}
    for key in ("reverse_kl", "kl_to_uniform"):
        if key in modes:
            return modes[key]
    return None


def result_tables(result: dict) -> list[Any]:
    """The result as rich tables: metrics, modes, protocol, notes."""
    from rich.table import Table

    tables = []
    for title, values in (("metrics", result["metrics"]), ("mode coverage", result["modes"]),
                          ("protocol", result["protocol"])):
        if not values:
            continue
        table = Table(title=title, title_justify="left", show_header=False)
        table.add_column(style="bold")
        table.add_column(overflow="fold")
        for key, value in values.items():
            shown = f"{value:.4f}" if isinstance(value, float) else str(value)
            table.add_row(key, shown)
        tables.append(table)
    if result["notes"]:
        table = Table(title="notes", title_justify="left", show_header=False)
        table.add_column(overflow="fold")
        for note in result["notes"]:
            table.add_row(note)
        tables.append(table)
    return tables


def save_result(result: dict, path: Path) -> Path:
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return path
