"""Datasets of image pairs, for translation games (pix2pix, CycleGAN, super-resolution,
colourization): pairs matched by name in two folders, pix2pix's A|B files, CycleGAN's unpaired
domains, and pairs made from any image dataset by a degradation, or unpaired domains made so
(degraded images and originals, from disjoint halves of the images).

Paired batches hold ``source`` (the input) and ``target`` (its true output); unpaired ones
``a`` and ``b``, drawn independently. ``hflip`` flips both sides of a pair alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ganzoo import hookimpl
from ganzoo.errors import GanzooError
from ganzoo.options import one_of, positive

YOUR_IMAGES = "your own images: state their licence here before sharing the model"
Shape = tuple[int, ...]


def square(channels: int, size: int) -> Shape:
    return (channels, size, size)


def image_fields(shapes: dict[str, Shape], summaries: dict[str, str]) -> dict[str, Any]:
    """Float image fields by name, as ``Dataset.fields`` gives them."""
    from ganzoo.interfaces import Field

    return {name: Field(tuple(shape), "float32", summaries[name]) for name, shape in shapes.items()}


def check_image_options(image_size: int, channels: dict[str, int]) -> None:
    positive("image_size", image_size)
    for name, value in channels.items():
        one_of(name, value, (1, 3))


@dataclass
class PairedFoldersOptions:
    root_a: str = "data/pairs/A"  # the source images (searched recursively)
    root_b: str = "data/pairs/B"  # the targets: same relative path and name, any extension
    image_size: int = 256  # resize the short side, then centre-crop (pix2pix: 256)
    channels_a: int = 3  # 3: RGB, 1: grayscale
    channels_b: int = 3
    hflip: bool = False  # flip each pair (both sides alike) with probability 1/2

    def __post_init__(self) -> None:
        check_image_options(self.image_size, {"channels_a": self.channels_a,
                                              "channels_b": self.channels_b})

    def fields(self) -> dict[str, Any]:
        return image_fields(
            {"source": square(self.channels_a, self.image_size),
             "target": square(self.channels_b, self.image_size)},
            {"source": "an image of root_a", "target": "root_b's image of the same name"})


@dataclass
class SideBySideOptions:
    root: str = "data/facades/train"  # files holding A (left half) and B (right half)
    image_size: int = 256  # each half: resize the short side, then centre-crop
    channels: int = 3  # 3: RGB, 1: grayscale
    direction: str = "AtoB"  # AtoB: the left half is the source | BtoA: the right half is
    hflip: bool = False  # flip each pair (both halves alike) with probability 1/2

    def __post_init__(self) -> None:
        check_image_options(self.image_size, {"channels": self.channels})
        one_of("direction", self.direction, ("AtoB", "BtoA"))

    def fields(self) -> dict[str, Any]:
        halves = ("the left half (A)", "the right half (B)")
        source, target = halves if self.direction == "AtoB" else halves[::-1]
        shape = square(self.channels, self.image_size)
        return image_fields({"source": shape, "target": shape},
                            {"source": source, "target": target})


@dataclass
class UnpairedFoldersOptions:
    root: str = "data/horse2zebra"  # holds trainA/ and trainB/ (testA/, testB/ for split=test)
    split: str = "train"  # train | test
    image_size: int = 256  # resize the short side, then centre-crop (CycleGAN: 256)
    channels: int = 3  # 3: RGB, 1: grayscale
    hflip: bool = False  # flip each image with probability 1/2, each domain independently

    def __post_init__(self) -> None:
        check_image_options(self.image_size, {"channels": self.channels})
        one_of("split", self.split, ("train", "test"))

    def folders(self) -> dict[str, str]:
        """Field name -> the sub-folder of ``root`` holding that domain."""
        return {"a": f"{self.split}A", "b": f"{self.split}B"}

    def fields(self) -> dict[str, Any]:
        shape = square(self.channels, self.image_size)
        return image_fields({name: shape for name in self.folders()},
                            {name: f"an image of {folder}/, drawn independently"
                             for name, folder in self.folders().items()})


@dataclass
class DegradedOptions:
    base: dict[str, Any] = field(default_factory=lambda: {"name": "celeba"})  # an image dataset
    degradation: str = "downscale"  # downscale | grayscale | blur: how the source is made
    factor: int = 4  # downscale: the source is H/factor x W/factor (area average)
    sigma: float = 1.5  # blur: the Gaussian's standard deviation, in pixels
    hflip: bool = False  # flip each pair with probability 1/2
    # the base's split where set (eval sets it to eval.ref: held-out pairs); None: the base's
    split: str | None = None
    gray_channels: int = 1  # grayscale: the source's channels, 1 or 3 (the luminance thrice)

    def __post_init__(self) -> None:
        if not isinstance(self.base.get("name"), str):
            raise ValueError("base.name: missing; name the image dataset to degrade, "
                             "e.g. base: {name: celeba}")
        one_of("degradation", self.degradation, ("downscale", "grayscale", "blur"))
        positive("factor", self.factor)
        positive("sigma", self.sigma)
        one_of("gray_channels", self.gray_channels, (1, 3))

    def source_shape(self, target: Shape) -> Shape:
        """The degraded image's shape, or a one-line error where ``target`` cannot be degraded."""
        channels, height, width = target
        if self.degradation == "grayscale":
            if channels != 3:
                raise GanzooError(f"data.degradation: grayscale needs colour images, but the "
                                  f"base's have {channels} channel(s); use downscale or blur")
            return (self.gray_channels, height, width)
        if self.degradation == "downscale":
            if height % self.factor or width % self.factor:
                raise GanzooError(f"data.factor: {self.factor} does not divide the base's "
                                  f"{height}x{width} images; pick a factor that does, or set "
                                  f"data.base.image_size to a multiple of {self.factor}")
            return (channels, height // self.factor, width // self.factor)
        return target

    def source_summary(self) -> str:
        return {"downscale": f"the target downscaled {self.factor}x",
                "grayscale": "the target in grayscale",
                "blur": f"the target blurred (Gaussian, sigma {self.sigma:g})"}[self.degradation]

    def degraded_words(self) -> str:
        """How a degraded image differs: 'in grayscale', 'downscaled 4x', ..."""
        return self.source_summary().removeprefix("the target ")

    def fields(self, base: dict[str, Any], num_classes: int | None) -> dict[str, Any]:
        """The fields given the base dataset's fields and classes."""
        from ganzoo.interfaces import default_fields

        target = base_image_shape(base, self.base["name"])
        fields = image_fields({"source": self.source_shape(target), "target": target},
                              {"source": self.source_summary(), "target": "the base's image"})
        if num_classes:
            fields["labels"] = default_fields(target, num_classes)["labels"]
        return fields


@dataclass
class DegradedUnpairedOptions(DegradedOptions):
    """Domain a: the base's images degraded; domain b: its images as they are. On its training
    split (split None) the two are disjoint halves of the base's images, taken alternately (its
    1st, 3rd, 5th... image in a, its 2nd, 4th... in b), so no image is seen in both domains; on
    a split that is set (as eval sets it to eval.ref), every image of that split is a pair:
    ``source`` (degraded, as domain a) and ``target`` (its truth), to measure G_ab against."""

    # grayscale: 3 equal channels, so that both domains are one shape (CycleGAN's identity
    # term feeds each G the other domain's images); 1: the luminance alone
    gray_channels: int = 3

    def unpaired_fields(self, paired: dict[str, Any]) -> dict[str, Any]:
        """The training split's fields a and b, from the paired ones of ``fields``."""
        from ganzoo.interfaces import Field

        shapes = {"a": paired["source"].shape, "b": paired["target"].shape}
        summaries = {"a": f"one of the 1st, 3rd, 5th... images {self.degraded_words()}",
                     "b": "one of the 2nd, 4th, 6th... images as it is, unpaired with a"}
        return {name: Field(tuple(shapes[name]), "float32", summaries[name]) for name in shapes}


def declared_unpaired_fields(options: DegradedUnpairedOptions) -> dict[str, Any]:
    paired = declared_degraded_fields(options)
    return paired if options.split is not None else options.unpaired_fields(paired)


def base_image_shape(fields: dict[str, Any], name: str) -> Shape:
    """The shape of the base dataset's images ``x``, or a one-line error where it has none."""
    if "x" not in fields:
        raise GanzooError(f"data.base.name: dataset {name!r} gives no single images 'x' (it "
                          f"gives {', '.join(fields)}); degrade an image dataset such as celeba")
    shape = tuple(fields["x"].shape)
    if len(shape) != 3:
        raise GanzooError(f"data.base.name: dataset {name!r} gives samples of shape {shape}, "
                          "not images (C, H, W); degrade an image dataset such as celeba, "
                          "cifar10 or image_folder")
    return shape


def declared_degraded_fields(options: DegradedOptions) -> dict[str, Any]:
    """The degraded fields from the options alone. The base is not loaded: its fields, shape
    and classes come from what its registry component declares (fields, or sample_shape and
    num_classes); a base that declares no num_classes is taken to have none."""
    from ganzoo.interfaces import default_fields
    from ganzoo.plugins import load_registry
    from ganzoo.recipe import component_options

    component = load_registry().get("dataset", options.base["name"])
    base = component_options(component, options.base, "data.base")
    classes = component.num_classes(base) if component.num_classes is not None else None
    if component.fields is not None:
        return options.fields(component.fields(base), classes)
    if component.sample_shape is None:
        raise GanzooError(f"data.base.name: dataset {options.base['name']!r} does not declare "
                          "its sample shape, so the pairs' shapes are known only by loading it")
    return options.fields(default_fields(tuple(component.sample_shape(base)), classes), classes)


def declared_base_shape(options: DegradedOptions) -> Shape:
    return tuple(declared_degraded_fields(options)["target"].shape)


def build_paired_folders(options: PairedFoldersOptions):
    """Pairs matched by name in two folders (root_a: source, root_b: target), in memory"""
    from ganzoo_builtins.pairs.loader import load_paired_folders

    return load_paired_folders(options)


def build_side_by_side(options: SideBySideOptions):
    """pix2pix's files: A and B side by side in each image; direction picks the source"""
    from ganzoo_builtins.pairs.loader import load_side_by_side

    return load_side_by_side(options)


def build_unpaired_folders(options: UnpairedFoldersOptions):
    """CycleGAN's unpaired domains trainA/ and trainB/ (a and b), drawn independently"""
    from ganzoo_builtins.pairs.loader import load_unpaired_folders

    return load_unpaired_folders(options)


def build_degraded(options: DegradedOptions):
    """Pairs from any image dataset: the source is its image downscaled, grayscale or blurred"""
    from ganzoo_builtins.pairs.loader import Degraded

    return Degraded(build_base(options), options)


def build_base(options: DegradedOptions):
    """The base dataset (on options.split where set), its errors spelt as the recipe's keys."""
    from ganzoo.components import build_nested

    section = dict(options.base)
    if options.split is not None:
        section["split"] = options.split
    try:
        return build_nested("dataset", section, "base")
    except GanzooError as exc:
        raise GanzooError(under_base(str(exc))) from exc


def build_degraded_unpaired(options: DegradedUnpairedOptions):
    """Unpaired domains from any image dataset: a its images degraded, b its images, from
    disjoint halves; on the split eval sets, pairs (source, target) to measure against"""
    from ganzoo_builtins.pairs.loader import DegradedUnpaired

    if options.split is not None:
        return build_degraded(options)
    return DegradedUnpaired(build_base(options), options)


def under_base(message: str) -> str:
    """A base dataset's message as the user's recipe spells its keys: a plugin names its own
    options ``data.root``, which here are ``data.base.root``."""
    return re.sub(r"^data(?=[.:])(?!\.base[.:])", "data.base", message)


@hookimpl
def ganzoo_register_datasets(register):
    for name, build, options in (("paired_folders", build_paired_folders, PairedFoldersOptions),
                                 ("side_by_side", build_side_by_side, SideBySideOptions)):
        register(name, build, options=options, licence=YOUR_IMAGES,
                 sample_shape=lambda o: tuple(o.fields()["target"].shape),
                 fields=lambda o: o.fields())
    register("unpaired_folders", build_unpaired_folders, options=UnpairedFoldersOptions,
             licence=YOUR_IMAGES, sample_shape=lambda o: tuple(o.fields()["b"].shape),
             fields=lambda o: o.fields())
    for name, build, options, fields in (
            ("degraded", build_degraded, DegradedOptions, declared_degraded_fields),
            ("degraded_unpaired", build_degraded_unpaired, DegradedUnpairedOptions,
             declared_unpaired_fields)):
        register(name, build, options=options, sample_shape=declared_base_shape,
                 fields=fields, licence="the base dataset's terms (see data.base)")
