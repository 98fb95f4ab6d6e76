"""Helpers for dataset plugins: datasets held in device memory, and streamed ones.

In memory (what fits): one uint8 tensor moved to the training device once; batches are drawn by
index on the device and scaled there, with no DataLoader in the hot loop. Streamed (what does
not fit): a DataLoader with workers (pinned memory on CUDA) over one endless batch sampler, so
its workers are started once and live as long as the run.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import torch
from torch import Tensor

from ganzoo.errors import GanzooError
from ganzoo.interfaces import Batch, Dataset

#: ``in_memory: auto`` holds a dataset in memory up to this many bytes of uint8 pixels.
IN_MEMORY_LIMIT = 1 << 30


class InMemoryDataset(Dataset):
    """Samples held as one tensor, moved to the training device once.

    uint8 images (N, C, H, W) are scaled to [-1, 1] on the device, batch by batch; float
    samples are returned as they are. Each epoch is a fresh permutation drawn on the device.
    ``labels`` (N,), where given, come with every batch.
    """

    def __init__(self, samples: Tensor, labels: Tensor | None = None,
                 num_classes: int | None = None, source: str = "", hflip: bool = False):
        self.samples = samples
        self.labels = labels
        self.image_shape = tuple(samples.shape[1:])
        self.num_classes = num_classes
        self.source = source
        self.hflip = hflip  # mirror each image left-right with probability 1/2
        self.warnings: list[str] = []

    def __len__(self) -> int:
        return self.samples.shape[0]

    @property
    def description(self) -> str:
        where = f" from {self.source}" if self.source else ""
        return (f"{len(self)} samples of shape {self.image_shape}{where}; "
                "in memory: batches drawn on the device")

    def batches(self, batch_size: int, device: torch.device, seed: int,
                start: int = 0) -> Iterator[Batch]:
        check_batch_size(batch_size, len(self))
        data = self.samples.to(device)
        labels = self.labels.to(device) if self.labels is not None else None
        for k, index in enumerate(epoch_batches(len(self), batch_size, seed, start, device),
                                  start):
            images = flipped(scale_images(data[index]),
                             flip_mask(len(index), seed, k, device) if self.hflip else None)
            yield Batch(images, labels[index] if labels is not None else None)


class StreamedImages(Dataset):
    """Image files decoded on the fly by DataLoader workers, for datasets too big to hold."""

    def __init__(self, files: Sequence[Path], size: int, channels: int,
                 labels: Tensor | None = None, num_classes: int | None = None,
                 source: str = "", workers: int = 2, hflip: bool = False):
        self.files, self.size, self.channels = list(files), size, channels
        self.hflip = hflip  # mirror each image left-right with probability 1/2
        self.labels, self.num_classes = labels, num_classes
        self.image_shape = (channels, size, size)
        self.source, self.workers = source, workers
        self.skipped: list[str] = []  # unreadable files met so far: found only while streaming
        self._warnings: list[str] = []

    def __len__(self) -> int:
        return len(self.files)

    @property
    def warnings(self) -> list[str]:
        """The warnings given at loading, then a count of the unreadable files met so far."""
        if not self.skipped:
            return self._warnings
        return [*self._warnings,
                f"data: skipped {len(self.skipped)} unreadable or corrupt image file(s) of "
                f"{len(self.files)} in {self.source} so far, the first '{self.skipped[0]}'"]

    @warnings.setter
    def warnings(self, value: list[str]) -> None:
        self._warnings = list(value)

    @property
    def description(self) -> str:
        return (f"{len(self)} images of shape {self.image_shape} from {self.source}; streamed: "
                f"DataLoader with {self.workers} workers, pinned memory on CUDA")

    def batches(self, batch_size: int, device: torch.device, seed: int,
                start: int = 0) -> Iterator[Batch]:
        from torch.utils.data import DataLoader

        check_batch_size(batch_size, len(self))
        order = (index.tolist() for index in epoch_batches(len(self), batch_size, seed, start))
        loader = DataLoader(
            _DecodedFiles(self.files, self.size, self.channels, self.labels),
            batch_sampler=order, num_workers=self.workers, pin_memory=device.type == "cuda",
            collate_fn=_stack_readable,
        )
        for k, (images, labels, unreadable) in enumerate(loader, start):  # endless
            self.skipped += [name for name in unreadable if name not in self.skipped]
            if len(images):
                mask = flip_mask(len(images), seed, k, device) if self.hflip else None
                yield Batch(flipped(scale_images(images.to(device, non_blocking=True)), mask),
                            labels.to(device, non_blocking=True) if labels is not None else None)


class _DecodedFiles(torch.utils.data.Dataset):
    def __init__(self, files: Sequence[Path], size: int, channels: int,
                 labels: Tensor | None = None):
        self.files, self.size, self.channels, self.labels = files, size, channels, labels

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor | None] | str:
        """The decoded image and its label, or the file's name when it cannot be read."""
        from ganzoo.imagefiles import decode_image

        array = decode_image(self.files[i], self.size, self.channels)
        if array is None:
            return str(self.files[i])
        return torch.from_numpy(array), (self.labels[i] if self.labels is not None else None)


def _stack_readable(items: list[tuple[Tensor, Tensor | None] | str]
                    ) -> tuple[Tensor, Tensor | None, list[str]]:
    """Collate the readable images and their labels; also return the names of the files that
    were not readable."""
    good = [x for x in items if not isinstance(x, str)]
    unreadable = [x for x in items if isinstance(x, str)]
    images = torch.stack([image for image, _ in good]) if good else torch.empty(0)
    labels = (torch.stack([label for _, label in good])
              if good and good[0][1] is not None else None)
    return images, labels, unreadable


def image_dataset(files: Sequence[Path], size: int, channels: int, *, in_memory: str,
                  cache_key: dict, name: str, source: str, labels: Tensor | None = None,
                  num_classes: int | None = None, workers: int = 2,
                  hflip: bool = False) -> InMemoryDataset | StreamedImages:
    """The right dataset for a list of image files: decoded once and cached, or streamed.

    ``in_memory``: 'auto' (in memory up to IN_MEMORY_LIMIT bytes), 'true' or 'false';
    ``hflip``: mirror each image left-right with probability 1/2.
    """
    from ganzoo.imagefiles import cache_dir, cached, decode_all, fingerprint

    pixels = len(files) * channels * size * size
    if in_memory == "false" or (in_memory == "auto" and pixels > IN_MEMORY_LIMIT):
        return StreamedImages(files, size, channels, labels, num_classes, source, workers,
                              hflip)

    def decode() -> dict[str, Tensor]:
        images, kept = decode_all(files, size, channels, describe=f"decoding {name}")
        if len(kept) == 0:  # raised here, nothing is cached
            raise GanzooError(f"data.root: none of the {len(files)} image files in {source} "
                              f"could be read as an image (the first: '{files[0]}')")
        return {"images": images, "kept": kept}

    key = {**cache_key, "size": size, "channels": channels, **fingerprint(files)}
    tensors, cache_file, hit = cached(name, key, decode)
    kept = tensors["kept"]
    if cache_file is None:
        where = f"decoded (the cache folder '{cache_dir()}' is not writable: set $GANZOO_CACHE)"
    else:
        where = f"{'read from' if hit else 'decoded into'} the cache '{cache_file}'"
    dataset = InMemoryDataset(tensors["images"],
                              labels=labels[kept] if labels is not None else None,
                              num_classes=num_classes, source=f"{source}, {where}",
                              hflip=hflip)
    if cache_file is None:
        dataset.warnings.append(f"data: the decoded images could not be cached in "
                                f"'{cache_dir()}'; they will be decoded again next time")
    skipped = len(files) - len(kept)
    if skipped:
        dataset.warnings.append(f"data: skipped {skipped} unreadable or corrupt image file(s) "
                                f"of {len(files)} in {source}")
    return dataset


def epoch_batches(n: int, batch_size: int, seed: int, start: int = 0,
                  device: torch.device | str = "cpu") -> Iterator[Tensor]:
    """Endless index batches: each epoch a permutation seeded by (seed, epoch), the ragged tail
    dropped; the first batch yielded is batch number ``start`` counted from the very first."""
    per_epoch = n // batch_size
    epoch, offset = divmod(start, per_epoch)
    rng = torch.Generator(device=device)
    while True:
        rng.manual_seed(seed * 1_000_003 + epoch)
        order = torch.randperm(n, device=device, generator=rng)
        for b in range(offset, per_epoch):
            yield order[b * batch_size:(b + 1) * batch_size]
        epoch, offset = epoch + 1, 0


def flip_mask(n: int, seed: int, batch: int, device: torch.device | str,
              stream: int = 0) -> Tensor:
    """Which of ``n`` samples to flip (each with probability 1/2), drawn from a generator seeded
    by (seed, batch index, stream) alone, so that a resumed run flips the same samples."""
    mixed = (seed * 0x9E3779B97F4A7C15 + batch * 0xBF58476D1CE4E5B9 + stream * 0x94D049BB133111EB)
    rng = torch.Generator().manual_seed(mixed % (1 << 63))
    return (torch.rand(n, generator=rng) < 0.5).to(device)


def flipped(images: Tensor, mask: Tensor | None) -> Tensor:
    """``images`` mirrored left-right where ``mask`` is true (None: none)."""
    if mask is None:
        return images
    return torch.where(mask.view(-1, *[1] * (images.dim() - 1)), images.flip(-1), images)


def scale_images(batch: Tensor) -> Tensor:
    """uint8 in [0, 255] -> float in [-1, 1]; float input is returned unchanged."""
    if batch.dtype == torch.uint8:
        return batch.float().div_(127.5).sub_(1.0)
    return batch


def check_batch_size(batch_size: int, n: int) -> None:
    if batch_size > n:
        raise GanzooError(
            f"train.batch_size: {batch_size} is larger than the dataset ({n} samples)"
        )


def resize_uint8(images: Tensor, size: int) -> Tensor:
    """Resize square (N, C, H, W) uint8 images to size x size, antialiased, back to uint8."""
    import torch.nn.functional as F

    out = F.interpolate(images.float(), size=(size, size), mode="bilinear", antialias=True,
                        align_corners=False)
    return out.round().clamp_(0, 255).to(torch.uint8)

