"""Loading image pairs, the datasets that hand them out, and the degradations."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ganzoo.data import check_batch_size, epoch_batches, flip_mask, flipped, scale_images
from ganzoo.errors import GanzooError
from ganzoo.imagefiles import (
    IMAGE_EXTENSIONS,
    cached,
    decode_all,
    find_images,
    fingerprint,
    to_8bit,
)
from ganzoo.interfaces import Batch, Dataset, Field
from ganzoo_builtins.pairs import (
    DegradedOptions,
    DegradedUnpairedOptions,
    PairedFoldersOptions,
    SideBySideOptions,
    UnpairedFoldersOptions,
    under_base,
)

#: Luminance weights of ITU-R BT.601, as Pillow's RGB -> L conversion uses.
LUMA = (0.299, 0.587, 0.114)


# ---- finding and decoding files ------------------------------------------------------------

def images_in(root: Path, option: str) -> list[Path]:
    """The images under ``root``, or a one-line error naming the option that points there."""
    if not root.is_dir():
        what = "is a file; point it at a folder of images" if root.exists() else "does not exist"
        raise GanzooError(f"data.{option}: '{root}' {what}")
    files = find_images(root)
    if not files:
        raise GanzooError(f"data.{option}: no images found in '{root}' (searched recursively "
                          f"for {' '.join(IMAGE_EXTENSIONS)})")
    return files


def by_stem(root: Path, files: Sequence[Path]) -> dict[str, Path]:
    """Files by relative path without extension ('city/0001'); the first of duplicates wins."""
    found: dict[str, Path] = {}
    for path in files:
        found.setdefault(path.relative_to(root).with_suffix("").as_posix(), path)
    return found


def match_pairs(root_a: Path, root_b: Path) -> tuple[list[Path], list[Path], list[str]]:
    """Files of both folders matched by name: (A files, B files, warnings about the rest)."""
    a = by_stem(root_a, images_in(root_a, "root_a"))
    b = by_stem(root_b, images_in(root_b, "root_b"))
    common = sorted(a.keys() & b.keys())
    if not common:
        raise GanzooError(f"data.root_b: no image in '{root_b}' has the name of one in "
                          f"'{root_a}' (e.g. '{min(a)}' vs '{min(b)}'); give each pair's "
                          "files the same relative path and name")
    warnings = []
    for option, root, other, alone in (("root_a", root_a, root_b, a.keys() - b.keys()),
                                       ("root_b", root_b, root_a, b.keys() - a.keys())):
        if alone:
            warnings.append(f"data.{option}: skipped {len(alone)} image(s) in '{root}' with no "
                            f"match of the same name in '{other}', the first '{min(alone)}'")
    return [a[s] for s in common], [b[s] for s in common], warnings


def fit(img: Any, size: int) -> np.ndarray:
    """A PIL image centre-cropped to a square and resized to size x size, as (C, H, W) uint8."""
    from PIL import Image, ImageOps

    array = np.asarray(ImageOps.fit(img, (size, size), Image.BILINEAR), dtype=np.uint8)
    return array[None] if array.ndim == 2 else np.ascontiguousarray(array.transpose(2, 0, 1))


def decode_halves(path: Path, size: int, channels: int) -> np.ndarray | None:
    """(2, C, size, size) uint8: the left and right halves of an A|B file, each fitted to
    size x size; None for a file that cannot be read as an image."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            img = to_8bit(img)
            if img is None:
                return None
            img = img.convert("RGB" if channels == 3 else "L")
            w, h = img.size
            if w < 2:
                return None
            halves = img.crop((0, 0, w // 2, h)), img.crop((w - w // 2, 0, w, h))
            return np.stack([fit(half, size) for half in halves])
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def decode_side_by_side(files: Sequence[Path], size: int, channels: int) -> dict[str, Tensor]:
    """Every A|B file's halves, decoded in threads: {'a', 'b', 'kept' (readable files)}."""
    with ThreadPoolExecutor() as pool:
        arrays = list(pool.map(lambda path: decode_halves(path, size, channels), files))
    kept = [i for i, array in enumerate(arrays) if array is not None]
    if not kept:
        return {"kept": torch.empty(0, dtype=torch.int64)}
    halves = torch.from_numpy(np.stack([arrays[i] for i in kept]))
    return {"a": halves[:, 0], "b": halves[:, 1], "kept": torch.tensor(kept)}


def decode_pairs(a: Sequence[Path], b: Sequence[Path], size: int,
                 channels: tuple[int, int]) -> dict[str, Tensor]:
    """Both sides of each pair: {'a', 'b', 'kept' (the pairs readable on both sides)}."""
    images_a, kept_a = decode_all(a, size, channels[0], describe="decoding root_a")
    images_b, kept_b = decode_all(b, size, channels[1], describe="decoding root_b")
    in_a, in_b = torch.isin(kept_a, kept_b), torch.isin(kept_b, kept_a)
    return {"a": images_a[in_a], "b": images_b[in_b], "kept": kept_a[in_a]}


def decode_folder(files: Sequence[Path], size: int, channels: int) -> dict[str, Tensor]:
    images, kept = decode_all(files, size, channels, describe=f"decoding '{files[0].parent}'")
    return {"images": images, "kept": kept}


def identity(files: Sequence[Path]) -> dict[str, Any]:
    """What changes when files are added, removed, rewritten or renamed (which may change what
    pairs with what): their names, their fingerprint and the latest status change."""
    return {**fingerprint(files), "names": [str(path) for path in files],
            "changed": max(path.stat().st_ctime_ns for path in files)}


def load_cached(name: str, files: Sequence[Path], key: dict[str, Any], option: str,
                decode: Callable[[], dict[str, Tensor]], unit: str = "image file(s)"
                ) -> tuple[dict[str, Tensor], list[str]]:
    """``decode()``'s tensors, from the cache where the same ``files`` (one per sample, by name
    and content) were decoded before, and a warning for the unreadable ones; refused when none
    is readable."""
    def checked() -> dict[str, Tensor]:
        tensors = decode()
        if len(tensors["kept"]) == 0:  # raised here, nothing is cached
            raise GanzooError(f"data.{option}: none of the {len(files)} {unit} could be read "
                              f"as images (the first: '{files[0]}')")
        return tensors

    tensors, _, _ = cached(name, {**key, **identity(files)}, checked)
    skipped = len(files) - len(tensors["kept"])
    warnings = [f"data.{option}: skipped {skipped} unreadable or corrupt {unit} of "
                f"{len(files)}"] if skipped else []
    return tensors, warnings


# ---- loading each layout -------------------------------------------------------------------

def load_paired_folders(options: PairedFoldersOptions) -> PairedImages:
    root_a, root_b = Path(options.root_a).expanduser(), Path(options.root_b).expanduser()
    files_a, files_b, warnings = match_pairs(root_a, root_b)
    channels = (options.channels_a, options.channels_b)
    key = {"roots": [str(root_a.resolve()), str(root_b.resolve())], "size": options.image_size,
           "channels": channels, "b": identity(files_b)}
    tensors, skipped = load_cached(
        "paired_folders", files_a, key, "root_a",
        lambda: decode_pairs(files_a, files_b, options.image_size, channels),
        unit="pair(s) of image files")
    return PairedImages(tensors["a"], tensors["b"], options.fields(), options.hflip,
                        f"{len(tensors['kept'])} pairs from '{root_a}' and '{root_b}'",
                        warnings + skipped)


def load_side_by_side(options: SideBySideOptions) -> PairedImages:
    root = Path(options.root).expanduser()
    files = images_in(root, "root")
    key = {"root": str(root.resolve()), "size": options.image_size,
           "channels": options.channels}
    tensors, warnings = load_cached(
        "side_by_side", files, key, "root",
        lambda: decode_side_by_side(files, options.image_size, options.channels))
    source, target = ("a", "b") if options.direction == "AtoB" else ("b", "a")
    return PairedImages(tensors[source], tensors[target], options.fields(), options.hflip,
                        f"{len(tensors['kept'])} A|B pairs from '{root}', {options.direction}",
                        warnings)


def load_unpaired_folders(options: UnpairedFoldersOptions) -> UnpairedImages:
    root = Path(options.root).expanduser()
    if not root.is_dir():
        raise GanzooError(f"data.root: folder '{root}' does not exist")
    domains, warnings = {}, []
    for name, folder in options.folders().items():
        domains[name], skipped = load_domain(root / folder, options)
        warnings += skipped
    return UnpairedImages(domains, options.fields(), options.hflip, f"'{root}'", warnings)


def load_domain(folder: Path, options: UnpairedFoldersOptions) -> tuple[Tensor, list[str]]:
    """One domain's images (uint8) and warnings about its unreadable files."""
    if not folder.is_dir():
        raise GanzooError(f"data.root: '{folder.parent}' has no {folder.name}/ folder "
                          f"(CycleGAN's layout: {options.split}A/ and {options.split}B/ in it)")
    files = images_in(folder, "root")
    key = {"root": str(folder.resolve()), "size": options.image_size,
           "channels": options.channels}
    tensors, warnings = load_cached(
        "unpaired_folders", files, key, "root",
        lambda: decode_folder(files, options.image_size, options.channels))
    return tensors["images"], [f"{w} in {folder.name}/" for w in warnings]

# ---- flips and degradations ----------------------------------------------------------------

def grayscale(images: Tensor) -> Tensor:
    """(N, 3, H, W) -> (N, 1, H, W) luminance; in [-1, 1] too, since the weights sum to 1."""
    weights = torch.tensor(LUMA, dtype=images.dtype, device=images.device)
    return torch.einsum("nchw,c->nhw", images, weights).unsqueeze(1)


def gaussian_blur(images: Tensor, sigma: float) -> Tensor:
    """A separable Gaussian blur (radius 3 sigma). The borders are mirrored half a pixel out
    (the edge pixel repeated), so each image keeps its mean exactly and flat regions their
    value."""
    radius = math.ceil(3 * sigma)
    offsets = torch.arange(-radius, radius + 1, dtype=images.dtype, device=images.device)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    kernel = (kernel / kernel.sum()).repeat(images.shape[1], 1, 1, 1)  # (C, 1, 1, K)
    rows = F.conv2d(mirrored(images, -1, radius), kernel, groups=images.shape[1])
    return F.conv2d(mirrored(rows, -2, radius), kernel.transpose(2, 3), groups=images.shape[1])


def mirrored(images: Tensor, dim: int, radius: int) -> Tensor:
    """``images`` extended by ``radius`` on both sides of ``dim`` by half-sample symmetry."""
    n = images.shape[dim]
    index = torch.arange(-radius, n + radius, device=images.device) % (2 * n)
    return images.index_select(dim, torch.where(index < n, index, 2 * n - 1 - index))


def degrade(images: Tensor, options: DegradedOptions) -> Tensor:
    """The source of a degraded pair, from its target images (N, C, H, W) in [-1, 1]."""
    if options.degradation == "downscale":
        return F.avg_pool2d(images, options.factor)  # the exact area average of each block
    if options.degradation == "grayscale":
        return grayscale(images).expand(-1, options.gray_channels, -1, -1).contiguous()
    return gaussian_blur(images, options.sigma)


# ---- the datasets --------------------------------------------------------------------------

class _Declared(Dataset):
    """A dataset whose fields are given, with what it loaded in words."""

    def __init__(self, fields: dict[str, Field], about: str):
        self._fields, self.about = dict(fields), about

    @property
    def fields(self) -> dict[str, Field]:
        return dict(self._fields)

    @property
    def description(self) -> str:
        return f"{self.about}; in memory: batches drawn on the device"


class PairedImages(_Declared):
    """Pairs of uint8 images (N, C, H, W) held in memory, moved to the device once; both sides
    of a pair are drawn, scaled to [-1, 1] and flipped alike."""

    def __init__(self, source: Tensor, target: Tensor, fields: dict[str, Field], hflip: bool,
                 about: str, warnings: Sequence[str] = ()):
        super().__init__(fields, about)
        self.source, self.target, self.hflip = source, target, hflip
        self.image_shape = tuple(target.shape[1:])
        self.warnings = list(warnings)

    def __len__(self) -> int:
        return self.source.shape[0]

    def batches(self, batch_size: int, device: torch.device, seed: int,
                start: int = 0) -> Iterator[Batch]:
        check_batch_size(batch_size, len(self))
        source, target = self.source.to(device), self.target.to(device)
        for k, index in enumerate(epoch_batches(len(self), batch_size, seed, start, device),
                                  start):
            mask = flip_mask(batch_size, seed, k, device) if self.hflip else None
            yield Batch(source=flipped(scale_images(source[index]), mask),
                        target=flipped(scale_images(target[index]), mask))


class UnpairedImages(_Declared):
    """Two domains of uint8 images held in memory, each drawn in its own epoch order (from a
    seed derived from (seed, domain)) and flipped on its own."""

    def __init__(self, domains: dict[str, Tensor], fields: dict[str, Field], hflip: bool,
                 root: str, warnings: Sequence[str] = ()):
        sizes = ", ".join(f"{len(images)} in {name}" for name, images in domains.items())
        super().__init__(fields, f"unpaired images from {root} ({sizes})")
        self.domains, self.hflip = domains, hflip
        self.image_shape = tuple(domains["b"].shape[1:])
        self.warnings = list(warnings)

    def __len__(self) -> int:
        return max(len(images) for images in self.domains.values())

    def batches(self, batch_size: int, device: torch.device, seed: int,
                start: int = 0) -> Iterator[Batch]:
        check_batch_size(batch_size, min(len(images) for images in self.domains.values()))
        streams = [self.domain_batches(name, d, batch_size, device, seed, start)
                   for d, name in enumerate(self.domains)]
        for images in zip(*streams, strict=True):
            yield Batch(**dict(zip(self.domains, images, strict=True)))

    def domain_batches(self, name: str, domain: int, batch_size: int, device: torch.device,
                       seed: int, start: int) -> Iterator[Tensor]:
        """One domain's endless batches: its own epoch order and flips."""
        images = self.domains[name].to(device)
        order = epoch_batches(len(images), batch_size, 2 * seed + domain, start, device)
        for k, index in enumerate(order, start):
            mask = (flip_mask(batch_size, seed, k, device, stream=1 + domain)
                    if self.hflip else None)
            yield flipped(scale_images(images[index]), mask)


class Degraded(_Declared):
    """Pairs made from an image dataset: the target is its image, the source that image
    degraded (on the device, batch by batch); its labels pass through."""

    def __init__(self, base: Dataset, options: DegradedOptions):
        fields = options.fields(base.fields, base.num_classes)
        super().__init__(fields, f"{options.source_summary()} as source, from "
                                 f"{base.description}")
        self.image_shape = tuple(fields["target"].shape)
        self.num_classes = base.num_classes
        self.base, self.options = base, options

    def __len__(self) -> int:
        return len(self.base)

    @property
    def warnings(self) -> list[str]:  # the base's, which may grow while it streams
        return [under_base(warning) for warning in self.base.warnings]

    @property
    def description(self) -> str:
        return self.about

    def batches(self, batch_size: int, device: torch.device, seed: int,
                start: int = 0) -> Iterator[Batch]:
        for k, batch in enumerate(self.base.batches(batch_size, device, seed, start), start):
            mask = flip_mask(len(batch), seed, k, device) if self.options.hflip else None
            target = flipped(batch.x, mask)
            yield Batch(source=degrade(target, self.options), target=target,
                        labels=batch.labels)


class DegradedUnpaired(UnpairedImages):
    """Unpaired domains from an image dataset held in memory, its images taken alternately: a,
    the 1st, 3rd, 5th... degraded (on the device, batch by batch); b, the others as they are."""

    def __init__(self, base: Dataset, options: DegradedUnpairedOptions):
        images = getattr(base, "samples", None)
        if not isinstance(images, Tensor):
            raise GanzooError(f"data.base: dataset {options.base['name']!r} streams its images, "
                              "but degraded_unpaired splits them into two halves held in "
                              "memory; set data.base.in_memory: true, or use unpaired_folders")
        if len(images) < 2:
            raise GanzooError(f"data.base: {len(images)} image(s) cannot be split into two "
                              "domains; give the base dataset at least two")
        paired = options.fields(base.fields, None)
        super().__init__({"a": images[0::2], "b": images[1::2]},
                         options.unpaired_fields(paired), options.hflip, "", base.warnings)
        self.about = (f"unpaired domains: a, {len(self.domains['a'])} images "
                      f"{options.degraded_words()} (the 1st, 3rd, 5th...); b, the other "
                      f"{len(self.domains['b'])} as they are; from {base.description}")
        self.options = options

    @property
    def description(self) -> str:
        return self.about

    def domain_batches(self, name: str, domain: int, batch_size: int, device: torch.device,
                       seed: int, start: int) -> Iterator[Tensor]:
        batches = super().domain_batches(name, domain, batch_size, device, seed, start)
        if name == "b":
            return batches
        return (degrade(images, self.options) for images in batches)
