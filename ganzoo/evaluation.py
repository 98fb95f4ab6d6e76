"""Evaluation of any Generator by the registered metrics (FID, KID, PR, IS, mode coverage and
whatever plugins add). Every result carries its protocol.

``Evaluation`` implements ``ganzoo.interfaces.EvalContext``, what a Metric computes from: the
generator, the reference data, samples (class-balanced for a conditional G) and the
torch-fidelity results shared by the metrics that use them, computed once per evaluation."""

from __future__ import annotations

import contextlib
import hashlib
import json
import platform
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf
from torch import Tensor

import ganzoo
from ganzoo.components import build_one
from ganzoo.errors import GanzooError
from ganzoo.interfaces import (
    Dataset,
    EvalContext,
    FeatureExtractor,
    Generator,
    Metric,
    is_image_shape,
)
from ganzoo.progress import Tracker
from ganzoo.recipe import EvalOptions, as_dict, field_names
from ganzoo.registry import Registry
from ganzoo.sampling import generate, to_uint8

KID_SUBSET = 1000  # torch-fidelity's default subset size for KID
MODE_SAMPLES = 26_000  # generated images for mode coverage, at most (stacked MNIST's convention)


def reference_dataset(recipe: DictConfig, registry: Registry,
                      split: str) -> tuple[Dataset, str, dict[str, Any]]:
    """The recipe's dataset on the reference split (where it has splits), a note, and the data
    section it was built from (which, with n and the seed, decides the reference images)."""
    component = registry.get("dataset", recipe.data.name)
    section = OmegaConf.to_container(recipe.data, resolve=True)
    has_split = "split" in field_names(component.options)
    note = ""
    if "hflip" in field_names(component.options):
        section["hflip"] = False  # the reference is the data as it is, never mirrored
    if has_split:
        section["split"] = split
    else:
        note = f"dataset {component.name!r} has no splits: the reference is its training data"
    return build_one(registry, "dataset", section, "data"), note, section


def extractor_spec(options: EvalOptions) -> dict[str, Any]:
    """eval.extractor as {name: ..., <options>} (it may be written as a bare name)."""
    given = options.extractor
    spec = as_dict(given) if isinstance(given, Mapping | DictConfig) else {"name": given}
    if not isinstance(spec.get("name"), str):
        raise GanzooError("eval.extractor: expected a feature extractor's name or {name: ..., "
                          f"<options>}} (got {given!r}); see 'ganzoo list feature_extractors'")
    return spec


def build_extractor(options: EvalOptions, registry: Registry) -> FeatureExtractor:
    spec = extractor_spec(options)
    component = registry.get("feature_extractor", spec["name"])
    values: dict[str, Any] = {**spec, "name": component.name}
    if options.extractor_path and component.options is not None:
        values["path"] = options.extractor_path
    return build_one(registry, "feature_extractor", values, "eval.extractor")


def to_uint8_rgb(images: Tensor) -> Tensor:
    """[-1, 1] (N, C, H, W) -> uint8 (N, 3, H, W); grayscale is repeated to three channels."""
    out = to_uint8(images)
    return out.expand(-1, 3, -1, -1).contiguous() if out.shape[1] == 1 else out


class _ReferenceImages(torch.utils.data.Dataset):
    """The reference images as torch-fidelity reads them (in this process: save_cpu_ram), each
    read counted by ``on_read``, which is first called when the first is read (a cached
    reference is never read)."""

    def __init__(self, images: Tensor, on_read: Callable[[], Callable[[int], None]] | None = None):
        self.images, self.on_read, self.advance = images, on_read, None

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> Tensor:
        if self.on_read is not None:
            self.advance = self.advance or self.on_read()
            self.advance(1)
        return self.images[i]


def reference_images(dataset: Dataset, n: int, seed: int) -> Tensor:
    """n real images (one epoch's random order, no repeats) as uint8 RGB, on the CPU."""
    batch = min(n, len(dataset), 1000)
    got, chunks = 0, []
    for images in (b.x for b in dataset.batches(batch, torch.device("cpu"), seed)):
        chunks.append(to_uint8_rgb(images))
        got += len(images)
        if got >= n:
            break
    return torch.cat(chunks)[:n]


def reference_images_by_class(dataset: Dataset, n: int, seed: int) -> dict[int, Tensor]:
    """Up to n real images of each class, as uint8 RGB on the CPU, taken in one epoch's random
    order (no repeats); {} where the data has no labels."""
    classes = dataset.num_classes or 0
    batch = min(len(dataset), 1000)
    chunks: dict[int, list[Tensor]] = {c: [] for c in range(classes)}
    counts = dict.fromkeys(range(classes), 0)
    for _, b in zip(range(len(dataset) // batch), dataset.batches(batch, torch.device("cpu"),
                                                                  seed), strict=False):
        if b.labels is None:
            return {}
        for c in b.labels.unique().tolist():
            if counts.get(c, n) < n:
                picked = b.x[b.labels == c][:n - counts[c]]
                chunks[c].append(to_uint8_rgb(picked))
                counts[c] += len(picked)
        if all(got >= n for got in counts.values()):
            break
    return {c: torch.cat(parts) for c, parts in chunks.items() if parts}


def balanced_labels(n: int, num_classes: int | None) -> Tensor | None:
    """Labels 0, 1, ..., K-1, 0, 1, ...: every class equally often (None when unconditional)."""
    return torch.arange(n) % num_classes if num_classes else None


def generator_input(G: Generator, labels: Tensor | None = None,
                    on_batch: Callable[[int], None] | None = None):
    """G as a torch-fidelity generative model: z ~ N(0, I) in (mapped to G's prior), uint8
    RGB images out. A conditional G takes the given labels in order, batch after batch;
    ``on_batch`` is told each batch's size."""
    from torch_fidelity import GenerativeModelBase

    class FromGanzoo(GenerativeModelBase):
        def __init__(self):
            super().__init__()
            self.G = G
            self.used = 0  # labels handed out so far

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
            device = next(self.G.parameters()).device
            y = None
            if labels is not None:
                y = labels[self.used:self.used + len(z)].to(device)
                self.used += len(z)
            if on_batch is not None:
                on_batch(len(z))
            return to_uint8_rgb(self.G(self.G.prior_from_normal(z.to(device)), y))

    return FromGanzoo()


def kid_subset_size(n: int) -> int:
    """KID's subset size: the usual 1000, or half of a smaller n so that its subsets differ
    (subsets as large as n would all be the whole set, and KID's std would read 0)."""
    return KID_SUBSET if n >= 2 * KID_SUBSET else max(2, n // 2)


#: torch-fidelity's result keys -> ours, per metric
FIDELITY_KEYS = {
    "fid": {"frechet_inception_distance": "fid"},
    "kid": {"kernel_inception_distance_mean": "kid_mean",
            "kernel_inception_distance_std": "kid_std"},
    "pr": {"precision": "precision", "recall": "recall"},
    "is": {"inception_score_mean": "is_mean", "inception_score_std": "is_std"},
}


#: the torch-fidelity options (keyword arguments of calculate_metrics) each metric reads, and
#: so must agree on for two metrics to share one pass (besides what a request passes itself)
FIDELITY_USES = {"pr": ("prc_neighborhood",)}


@dataclass
class _FidelityPass:
    """One call of torch-fidelity: the metrics it computes and the options they agree on."""

    keys: set[str] = field(default_factory=set)
    kwargs: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] | None = None

    def takes(self, kwargs: Mapping[str, Any]) -> bool:
        return all(self.kwargs.get(k, v) == v for k, v in kwargs.items())


class Evaluation(EvalContext):
    """The EvalContext of one evaluation (``ganzoo.interfaces.EvalContext`` says what metrics
    may use). ``fidelity_keys``: the torch-fidelity metrics requested in
    this evaluation, computed together on the first ``fidelity`` call; ``fidelity_requests``:
    (key, options) of those that pass torch-fidelity options (PR's neighbourhood), which
    share that pass where their options agree and get one of their own where they do not."""

    def __init__(self, G: Generator, reference: Dataset, options: EvalOptions,
                 registry: Registry, *, fidelity_keys: set[str], notes: list[str],
                 protocol: dict[str, Any], reference_options: dict[str, Any] | None = None,
                 fidelity_requests: Sequence[tuple[str, Mapping[str, Any]]] = (),
                 progress: Tracker | None = None):
        self.G, self.reference, self.options, self.registry = G, reference, options, registry
        self.progress = progress or Tracker(None)
        self.reference_options = reference_options or {}
        self.fidelity_keys, self.notes, self.protocol = fidelity_keys, notes, protocol
        self.fidelity_requests = [(k, dict(o)) for k, o in fidelity_requests]
        self.num_classes = G.num_classes if G.conditional else None
        self.is_image = is_image_shape(tuple(G.image_shape))
        self._passes: list[_FidelityPass] | None = None
        self._real: Tensor | None = None
        self._features: dict[tuple[int | None, int], tuple[Tensor, Tensor]] = {}
        self._by_class: dict[int, dict[int, Tensor]] = {}  # n -> class -> its images
        self._net: Any = None  # torch-fidelity's feature extractor, built on first use

    def labels(self, n: int) -> Tensor | None:
        """Class-balanced labels for n samples of a conditional G; None otherwise."""
        return balanced_labels(n, self.num_classes)

    def samples(self, n: int, seed_offset: int = 1) -> Tensor:
        """n samples of G on the CPU (class-balanced when conditional), from eval.seed."""
        advance = self.progress.task("eval: sampled", n)
        samples = generate(self.G, n, self.options.seed + seed_offset, labels=self.labels(n))
        advance(n)
        return samples

    def fidelity(self, key: str, **options: Any) -> dict[str, Any]:
        """Our values of one torch-fidelity metric ('fid', 'kid', 'pr' or 'is'); ``options``
        are keyword arguments of torch-fidelity's calculate_metrics (``prc_neighborhood=5``)."""
        if not self.is_image:
            note = "FID, IS, KID and PR are image metrics; these samples are points"
            if note not in self.notes:
                self.notes.append(note)
            return {}
        found = self._pass_for(key, options)
        if found.result is None:
            found.result = self._compute_fidelity(found.keys, found.kwargs)
        result = found.result
        if key == "is" and not result.get("_isc"):
            return {"is_mean": "not available with this extractor", "is_std": None}
        return {ours: result[theirs] for theirs, ours in FIDELITY_KEYS[key].items()}

    def _pass_for(self, key: str, options: Mapping[str, Any]) -> _FidelityPass:
        """The torch-fidelity pass that computes ``key`` with these options: the requests of
        this evaluation are grouped into passes on the first call."""
        if self._passes is None:
            self._passes = []
            for want in sorted(self.fidelity_keys - {k for k, _ in self.fidelity_requests}):
                self._join(want, {})
            for want, wanted_options in self.fidelity_requests:
                self._join(want, wanted_options)
        return self._join(key, options)

    def _join(self, key: str, options: Mapping[str, Any]) -> _FidelityPass:
        from torch_fidelity.defaults import DEFAULTS

        kwargs = {k: DEFAULTS.get(k) for k in FIDELITY_USES.get(key, ())} | dict(options)
        assert self._passes is not None
        for candidate in self._passes:
            if candidate.takes(kwargs) and (key in candidate.keys or candidate.result is None):
                candidate.keys.add(key)
                candidate.kwargs.update(kwargs)
                return candidate
        self._passes.append(_FidelityPass({key}, kwargs))
        return self._passes[-1]

    def _reference_images(self) -> Tensor:
        """The n reference images every image metric of this evaluation compares with."""
        if self._real is None:
            n = self.options.n
            self._real = reference_images(self.reference, n, self.options.seed)
            if len(self._real) < n:
                self.notes.append(f"the reference split has {len(self._real)} images, fewer "
                                  f"than n={n}")
        return self._real

    def features(self, label: int | None = None, n: int | None = None) -> tuple[Tensor, Tensor]:
        """(generated, real) features of the layer FID uses, as (N, D) on the CPU (see
        ``EvalContext.features``); computed once per (label, n) in an evaluation."""
        n = n or self.options.n
        if (label, n) not in self._features:
            self._features[(label, n)] = self._extract_features(label, n)
        return self._features[(label, n)]

    def _extract_features(self, label: int | None, n: int) -> tuple[Tensor, Tensor]:
        import torch_fidelity
        from torch_fidelity.utils import (
            create_feature_extractor,
            extract_featuresdict_from_input_id_cached,
            get_featuresdict_from_generative_model,
            resolve_feature_layer_for_metric,
        )

        from ganzoo.imagefiles import cache_dir

        options, G = self.options, self.G
        extractor = build_extractor(options, self.registry)
        name, sha = extractor.fidelity_name, extractor.weights_sha256()
        layer = resolve_feature_layer_for_metric("fid", feature_extractor=name)
        cuda = next(G.parameters()).device.type == "cuda"
        kwargs = dict(batch_size=options.batch_size, verbose=False, save_cpu_ram=True,
                      rng_seed=options.seed, **extractor.fidelity_kwargs())
        if self._net is None:
            self._net = create_feature_extractor(name, [layer], cuda=cuda, **kwargs)
        cache = f"ganzoo-ref-{self.protocol['dataset']}-{self.reference_cache_key(sha, name)}"
        if label is None:  # the samples and reference images torch-fidelity's metrics see
            labels, what = self.labels(n), ""
            real = self._reference_images() if n == options.n else reference_images(
                self.reference, n, options.seed)
            cache += "" if n == options.n else f"-first{n}"
        else:  # the same z for every class
            labels, what = torch.full((n,), label, dtype=torch.long), f"class {label} "
            if n not in self._by_class:
                self._by_class[n] = reference_images_by_class(self.reference, n, options.seed)
            real = self._by_class[n].get(label)
            if real is None:  # no image of this class: nothing to compare with
                return torch.zeros(0, 0), torch.zeros(0, 0)
            cache += f"-class{label}-of{n}"
        model = generator_input(G, labels, self.progress.task(
            f"eval: {what}samples through {name}", n))
        fake = get_featuresdict_from_generative_model(model, self._net, n, options.batch_size,
                                                      cuda, options.seed, False)[layer]
        reals = extract_featuresdict_from_input_id_cached(
            2, self._net, input2=_ReferenceImages(real, lambda: self.progress.task(
                f"eval: {what}reference images through {name}", len(real))),
            input2_cache_name=cache, cache=True, cache_root=str(cache_dir() / "fidelity"),
            cuda=cuda, **kwargs)[layer]
        self.protocol.update(
            feature_extractor=extractor_spec(options)["name"], fidelity_extractor=name,
            resize=extractor.resize, extractor_weights_sha256=sha,
            torch_fidelity=torch_fidelity.__version__)
        if label is None and n == options.n:
            self.protocol.update(n_generated=n, n_reference=len(real))
        return fake, reals

    def mode_coverage(self) -> dict[str, Any]:
        """Modes covered by samples of G, where the reference data knows its modes."""
        n = min(self.options.n, MODE_SAMPLES) if self.is_image else self.options.n
        coverage = self.reference.mode_coverage(self.samples(n))
        if coverage is None:
            self.notes.append("mode coverage: this dataset has no known modes")
            return {}
        self.protocol["n_mode_samples"] = n
        return coverage

    def reference_cache_key(self, extractor_sha: str, extractor_fidelity_name: str) -> str:
        """The reference features are cached under everything that decides them: the dataset
        and all its options (root, split, size...), how many images it holds, n, the seed, and
        the extractor with its options (its resize) and weights."""
        options = self.options
        identity = [self.reference_options, options.ref, len(self.reference),
                    list(self.G.image_shape), options.n, options.seed,
                    extractor_spec(options), extractor_fidelity_name, extractor_sha]
        return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()
                              ).hexdigest()[:16]

    def _compute_fidelity(self, want: set[str], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """The torch-fidelity metrics ``want`` between n samples of G and the reference, with
        the options ``kwargs`` (each pass draws the same samples, from eval.seed)."""
        import torch_fidelity

        from ganzoo.imagefiles import cache_dir

        options, G = self.options, self.G
        extractor = build_extractor(options, self.registry)
        sha = extractor.weights_sha256()
        dataset_name = self.protocol["dataset"]
        key = self.reference_cache_key(sha, extractor.fidelity_name)
        real = self._reference_images()
        isc = "is" in want and extractor.provides_isc
        kid_subset = kid_subset_size(min(options.n, len(real)))
        note = (f"KID subset size {kid_subset}, half of n (the usual {KID_SUBSET} needs "
                f"n >= {2 * KID_SUBSET}); KID is noisier at this n")
        if "kid" in want and kid_subset < KID_SUBSET and note not in self.notes:
            self.notes.append(note)
        neighbours = kwargs.get("prc_neighborhood")
        if "pr" in want and neighbours is not None and neighbours >= min(options.n, len(real)):
            raise GanzooError(f"eval.metrics: pr with k={neighbours} needs more than {neighbours} "
                              f"samples of each kind (n={options.n}, {len(real)} reference "
                              "images); lower k or raise --n")
        device = next(G.parameters()).device
        call = dict(
            input1=generator_input(G, self.labels(options.n), self.progress.task(
                f"eval: samples through {extractor.fidelity_name}", options.n)),
            input1_model_num_samples=options.n,
            input2=_ReferenceImages(real, lambda: self.progress.task(
                f"eval: reference images through {extractor.fidelity_name}", len(real))),
            input2_cache_name=f"ganzoo-ref-{dataset_name}-{key}",
            cache=True, cache_root=str(cache_dir() / "fidelity"),
            fid="fid" in want, kid="kid" in want, prc="pr" in want, isc=isc,
            kid_subset_size=kid_subset, feature_extractor=extractor.fidelity_name,
            batch_size=options.batch_size, cuda=device.type == "cuda", rng_seed=options.seed,
            verbose=False, save_cpu_ram=True, **extractor.fidelity_kwargs(),
        )
        raw = torch_fidelity.calculate_metrics(**{**call, **kwargs})
        self.protocol.update(
            n_generated=options.n, n_reference=len(real),
            feature_extractor=extractor_spec(options)["name"],
            fidelity_extractor=extractor.fidelity_name, resize=extractor.resize,
            extractor_weights_sha256=sha, torch_fidelity=torch_fidelity.__version__)
        if "kid" in want or "kid_subset_size" not in self.protocol:
            self.protocol["kid_subset_size"] = kid_subset if "kid" in want else None
        return {**raw, "_isc": isc}


@dataclass
class MetricEntry:
    """One entry of eval.metrics, built: the metric's registered name, the options the entry
    gives (not its defaults), and the suffix its value names get where another entry uses the
    same metric with other options (``precision[k=5]``)."""

    name: str
    options: dict[str, Any]
    metric: Metric
    suffix: str = ""

    @property
    def spec(self) -> str | dict[str, Any]:
        """The entry as the protocol lists it: the name, or {name, options}."""
        return {"name": self.name, **self.options} if self.options else self.name

    def named(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return {f"{k}{self.suffix}": v for k, v in values.items()}


def build_metrics(entries: Sequence[Any], registry: Registry) -> list[MetricEntry]:
    """The metrics of eval.metrics, built with their options checked. An entry is a name
    ('fid') or a mapping {name: pr, k: 5}; the same entry twice is computed once. Entries of
    one metric with different options all keep their values: those with options get them as
    a suffix of their value names (precision, precision[k=5]); plain names are not changed."""
    built: list[MetricEntry] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(entries):
        path = f"eval.metrics[{i}]"
        if isinstance(entry, str):
            section: dict[str, Any] = {"name": entry}
        elif isinstance(entry, Mapping | DictConfig):
            section = as_dict(entry)
        else:
            raise GanzooError(f"{path}: expected a metric name or a mapping such as "
                              f"{{name: pr, k: 5}} (got {entry!r})")
        name = section.get("name")
        if not isinstance(name, str) or not name:
            raise GanzooError(f"{path}.name: missing; name the metric to use (see "
                              "'ganzoo list metrics')")
        try:
            component = registry.get("metric", name)
        except GanzooError as exc:
            raise GanzooError(f"{path}.name: {exc}") from None
        given = {k: v for k, v in section.items() if k != "name"}
        identity = json.dumps([component.name, given], sort_keys=True, default=str)
        if identity in seen:
            continue
        seen[identity] = i
        built.append(MetricEntry(component.name, given,
                                 build_one(registry, "metric", section, path)))
    counts: dict[str, int] = {}
    for entry in built:
        counts[entry.name] = counts.get(entry.name, 0) + 1
    labels: dict[str, str] = {}
    for entry in built:
        if counts[entry.name] > 1 and entry.options:
            entry.suffix = "[" + ",".join(f"{k}={v}" for k, v in entry.options.items()) + "]"
        label = entry.name + entry.suffix
        if label in labels:
            raise GanzooError(f"eval.metrics: {label!r} is given twice ({labels[label]} and "
                              f"{entry.spec}), whose values would share names; keep one")
        labels[label] = str(entry.spec)
    return built


def has_modes(dataset: Dataset) -> bool:
    return type(dataset).mode_coverage is not Dataset.mode_coverage


def check_shapes(G: Generator, reference: Dataset) -> None:
    """A G that takes noise makes samples of the shape it declares, and that of the data."""
    if G.input_shape:
        return
    declared = tuple(G.image_shape)
    G.eval()
    labels = balanced_labels(2, G.num_classes) if G.conditional else None
    made = tuple(generate(G, 2, 0, labels=labels).shape[1:])
    if made != declared:
        raise GanzooError(f"generator: it declares samples of shape {declared} (image_shape) "
                          f"but makes {made}; fix its image_shape or its last layer")
    data = reference.fields.get("x")
    if data is not None and tuple(data.shape) != declared:
        raise GanzooError(f"generator: its samples are {declared}, the reference data's "
                          f"{tuple(data.shape)}; evaluate it against data of its own shape")


def evaluate(G: Generator, reference: Dataset, options: EvalOptions, registry: Registry, *,
             dataset_name: str, split_note: str = "", extra: dict | None = None,
             reference_options: dict[str, Any] | None = None,
             sampling: Mapping[str, Any] | None = None, progress: Tracker | None = None) -> dict:
    """Every metric of eval.metrics (plus mode coverage where the data has modes), with the
    protocol that produced them. ``sampling``: G's sampling options ({'truncation': 1.0}),
    in force for every sample and recorded in the protocol; ``progress`` shows the sampling
    and feature extraction."""
    entries = list(options.metrics)
    metrics = build_metrics(entries, registry)
    if has_modes(reference) and "modes" not in [m.name for m in metrics]:
        metrics += build_metrics(["modes"], registry)
    values_in_force = G.check_sampling_options(sampling) if sampling else {}
    check_shapes(G, reference)
    notes = [split_note] if split_note else []
    protocol: dict[str, Any] = {
        "dataset": dataset_name, "reference_split": options.ref,
        "image_shape": list(G.image_shape), "seed": options.seed, **values_in_force,
        "metrics": [entry.spec for entry in metrics],
        "ganzoo": ganzoo.__version__, "torch": torch.__version__,
        "python": platform.python_version(), **(extra or {}),
    }
    if G.conditional:
        protocol["labels"] = (f"class-balanced: sample i has label i mod {G.num_classes}")
    G.eval()
    requests = [(m.metric.fidelity_key, getattr(m.metric, "fidelity_options", None) or {})
                for m in metrics if getattr(m.metric, "fidelity_key", None)]
    ctx = Evaluation(G, reference, options, registry, notes=notes, protocol=protocol,
                      fidelity_keys={key for key, _ in requests},
                      fidelity_requests=[(key, o) for key, o in requests if o],
                      reference_options=reference_options or {"name": dataset_name},
                      progress=progress)
    values: dict[str, Any] = {}
    directions: dict[str, str] = {}
    with G.sampling(**values_in_force) if values_in_force else contextlib.nullcontext():
        for entry in metrics:
            values.update(entry.named(entry.metric.compute(ctx)))
            directions.update(entry.named(entry.metric.directions))
    return {"metrics": values, "directions": directions, "notes": notes, "protocol": protocol}


def best_score(result: dict, best: str = "auto") -> tuple[float | None, str]:
    """(the value that picks best.pt, 'min' or 'max'). ``best``: eval.best, e.g. 'fid',
    'my_score:max'; auto is FID, or the mode histogram's KL where there is no FID."""
    metrics = result["metrics"]
    if best == "auto":
        for key in ("fid", "reverse_kl", "kl_to_uniform"):
            if isinstance(metrics.get(key), float):
                return metrics[key], "min"
        return None, "min"
    key, _, direction = best.partition(":")
    direction = direction or result.get("directions", {}).get(key, "min")
    value = metrics.get(key)
    if not isinstance(value, int | float):
        raise GanzooError(f"eval.best: {key!r} is not among the evaluated values "
                          f"({', '.join(sorted(metrics)) or 'none'}); add its metric to "
                          "eval.metrics or name another value")
    return float(value), direction


def result_tables(result: dict) -> list[Any]:
    """The result as rich tables: metrics, modes, protocol, notes."""
    from rich.table import Table

    tables = []
    for title, values in (("metrics", result["metrics"]), ("protocol", result["protocol"])):
        if not values:
            continue
        table = Table(title=title, title_justify="left", show_header=False)
        table.add_column(style="bold")
        table.add_column(overflow="fold")
        for key, value in values.items():
            if isinstance(value, list):
                value = ", ".join(map(str, value))
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
    """Save ``result`` as ``path`` (``step_0000030.eval.json``), or, where an evaluation was
    saved there already, as the first free ``step_0000030.2.eval.json``, ``.3.``...: every
    evaluation of a checkpoint is kept, each with its protocol. Written atomically and
    never over another file; the path written."""
    path = Path(path)
    try:
        return _save_result_file(result, path)
    except OSError as exc:  # a full disk, a read-only folder: nothing half-written stays
        from ganzoo.files import write_failure

        raise GanzooError(f"{path}: the evaluation could not be saved "
                          f"({write_failure(exc, path.parent)}); nothing was written beside "
                          "the checkpoint: free space or make the folder writable, then run "
                          "it again") from None


def _save_result_file(result: dict, path: Path) -> Path:
    import os
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(name)
    try:
        with open(fd, "w", encoding="utf-8") as f:
            f.write(json.dumps(result, indent=2) + "\n")
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # as an ordinary new file (mkstemp's is private)
        for k in range(1, 1_000_000):
            target = path if k == 1 else numbered_result(path, k)
            try:
                os.link(tmp, target)  # atomic, and fails where target exists
                return target
            except FileExistsError:
                continue
            except OSError:  # a file system without hard links: rename, where still free
                if os.path.lexists(target):
                    continue
                os.replace(tmp, target)
                return target
        raise GanzooError(f"{path}: too many evaluations saved beside it; move some away")
    finally:
        tmp.unlink(missing_ok=True)


#: how the k-th saved evaluation of one checkpoint is named: step_0000030.3.eval.json
RESULT_SUFFIX = ".eval.json"


def numbered_result(path: Path, k: int) -> Path:
    """The name of the k-th evaluation saved as ``path`` (k >= 2)."""
    name = path.name
    stem, suffix = ((name[:-len(RESULT_SUFFIX)], RESULT_SUFFIX) if name.endswith(RESULT_SUFFIX)
                    else (path.stem, path.suffix))
    return path.with_name(f"{stem}.{k}{suffix}")


def result_order(path: Path) -> tuple[str, int]:
    """Saved evaluations in order: by checkpoint (as their names sort), then oldest first
    (step_0000030.eval.json, then .2., .3., ...)."""
    stem = path.name.removesuffix(RESULT_SUFFIX)
    base, dot, number = stem.rpartition(".")
    if dot and number.isdigit() and int(number) >= 2:
        return base, int(number)
    return stem, 1


def read_results(path: Path) -> list[dict[str, Any]]:
    """The evaluations saved in one file: a result (as ``save_result`` writes it), or a list
    of them. A file that is not one is one line naming it."""
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GanzooError(f"{path}: cannot be read as a saved evaluation ({exc}); move it "
                          "out of the checkpoints folder") from None
    results = saved if isinstance(saved, list) else [saved]
    for result in results:
        if not (isinstance(result, dict) and isinstance(result.get("metrics"), dict)):
            raise GanzooError(f"{path}: does not hold saved evaluations (results with "
                              "'metrics'); move it out of the checkpoints folder")
    return results
