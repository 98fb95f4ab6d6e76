"""Datasets of captioned images: batches of ``x`` (the images) and ``caption`` (the tokens of
one of the image's captions, drawn anew each time the image comes up).

Two sources: a folder of images with a caption file beside each (``img.png`` + ``img.txt``,
one caption a line), and MNIST captioned from its labels and measured ink (``captions``). The
vocabulary (token k is word k; 0 pads) is built from the captions and travels in the caption
field, so the text encoder is built for it and checkpoints keep it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from ganzoo.data import check_batch_size, epoch_batches, flip_mask, flipped, scale_images
from ganzoo.errors import GanzooError
from ganzoo.interfaces import Batch, Dataset, Field, TextEncoder


@dataclass(frozen=True)
class CaptionField(Field):
    """A field of caption tokens, with the words its tokens stand for (token k: word k-1)."""

    vocabulary: tuple[str, ...] = ()


def caption_field(max_words: int, vocabulary: Sequence[str]) -> CaptionField:
    return CaptionField((max_words,), "int64", f"caption tokens, {len(vocabulary)} words",
                        tuple(vocabulary))


def vocabulary_of(captions: Sequence[str]) -> tuple[str, ...]:
    """Every word of the captions, sorted."""
    return tuple(sorted({w for c in captions for w in TextEncoder.words(c)}))


def token_table(captions: Sequence[str], vocabulary: Sequence[str], max_words: int) -> Tensor:
    """(M, max_words) tokens of M captions whose words are all in the vocabulary."""
    index = {word: k + 1 for k, word in enumerate(vocabulary)}
    table = torch.zeros(len(captions), max_words, dtype=torch.long)
    for i, text in enumerate(captions):
        words = [index[w] for w in TextEncoder.words(text)]
        table[i, :len(words)] = torch.tensor(words, dtype=torch.long)
    return table


class CaptionedImages(Dataset):
    """uint8 images, each with one or more captions (ids into a table of distinct captions)."""

    def __init__(self, images: Tensor, table: Tensor, choices: Tensor, counts: Tensor,
                 vocabulary: tuple[str, ...], source: str, hflip: bool = False):
        self.images, self.table, self.choices, self.counts = images, table, choices, counts
        self.vocabulary, self.source, self.hflip = vocabulary, source, hflip
        self.image_shape = tuple(images.shape[1:])
        self.warnings: list[str] = []

    def __len__(self) -> int:
        return len(self.images)

    @property
    def fields(self) -> dict[str, Field]:
        return {"x": Field(self.image_shape, "float32", "the images"),
                "caption": caption_field(self.table.shape[1], self.vocabulary)}

    @property
    def description(self) -> str:
        return (f"{len(self)} images of shape {self.image_shape} with {len(self.table)} "
                f"distinct captions of {len(self.vocabulary)} words, from {self.source}; in "
                "memory: batches drawn on the device")

    def batches(self, batch_size: int, device: torch.device, seed: int,
                start: int = 0) -> Iterator[Batch]:
        check_batch_size(batch_size, len(self))
        images, table = self.images.to(device), self.table.to(device)
        choices, counts = self.choices.to(device), self.counts.to(device)
        for k, index in enumerate(epoch_batches(len(self), batch_size, seed, start, device),
                                  start):
            # which of its captions each image gets: drawn from (seed, batch) alone
            rng = torch.Generator().manual_seed((seed * 1_000_003 + k) % (1 << 62) + 7)
            u = torch.rand(len(index), generator=rng).to(device)
            pick = (u * counts[index]).long().clamp(max=choices.shape[1] - 1)
            x = flipped(scale_images(images[index]),
                        flip_mask(len(index), seed, k, device) if self.hflip else None)
            yield Batch(x, caption=table[choices[index, pick]])


def load_caption_folder(root: Path, image_size: int, channels: int, max_words: int,
                        hflip: bool) -> CaptionedImages:
    """Every image under ``root`` with a caption file beside it (same name, ``.txt``)."""
    from ganzoo.imagefiles import decode_image, find_images

    if not root.is_dir():
        raise GanzooError(f"data.root: folder '{root}' does not exist; point it at a folder of "
                          "images with a .txt caption file beside each")
    files, captions, skipped = [], [], 0
    for path in find_images(root):
        text = path.with_suffix(".txt")
        if not text.is_file():
            skipped += 1
            continue
        lines = [line.strip() for line in text.read_text(encoding="utf-8").splitlines()]
        lines = [line for line in lines if TextEncoder.words(line)]
        for line in lines:
            if len(TextEncoder.words(line)) > max_words:
                raise GanzooError(f"data.max_words: a caption in '{text}' has "
                                  f"{len(TextEncoder.words(line))} words, more than "
                                  f"{max_words}; raise data.max_words or shorten it")
        if not lines:
            raise GanzooError(f"data.root: '{text}' holds no caption; write one or more, one "
                              "a line")
        files.append(path)
        captions.append(lines)
    if not files:
        raise GanzooError(f"data.root: no image under '{root}' has a caption file beside it "
                          "(img.png + img.txt, one caption a line)")
    decoded = [decode_image(path, image_size, channels) for path in files]
    keep = [i for i, array in enumerate(decoded) if array is not None]
    images = torch.stack([torch.from_numpy(decoded[i]) for i in keep])
    distinct = sorted({c for i in keep for c in captions[i]})
    ids = {c: k for k, c in enumerate(distinct)}
    most = max(len(captions[i]) for i in keep)
    choices = torch.zeros(len(keep), most, dtype=torch.long)
    for row, i in enumerate(keep):
        choices[row, :len(captions[i])] = torch.tensor([ids[c] for c in captions[i]])
    counts = torch.tensor([len(captions[i]) for i in keep])
    vocabulary = vocabulary_of(distinct)
    dataset = CaptionedImages(images, token_table(distinct, vocabulary, max_words), choices,
                              counts, vocabulary, f"'{root}'", hflip)
    if skipped:
        dataset.warnings.append(f"data: {skipped} image(s) under '{root}' have no caption file "
                                "beside them and were left out")
    if len(keep) < len(files):
        dataset.warnings.append(f"data: skipped {len(files) - len(keep)} unreadable image "
                                f"file(s) in '{root}'")
    return dataset


def mnist_vocabulary() -> tuple[str, ...]:
    """Every word of every phrasing of the MNIST captions (held-out ones included)."""
    from ganzoo_builtins.text2image.captions import PHRASINGS, every_caption

    return vocabulary_of([c.text for c in every_caption(PHRASINGS["all"])])


def load_mnist_captions(root: str, split: str, image_size: int, phrasings: str,
                        max_words: int) -> CaptionedImages:
    """MNIST with every phrasing of ``phrasings`` filled in for each digit's measured ink."""
    from ganzoo.data import resize_uint8
    from ganzoo_builtins.mnist import MNISTOptions
    from ganzoo_builtins.mnist.loader import load_mnist
    from ganzoo_builtins.text2image.captions import (
        PHRASINGS,
        bins,
        every_caption,
        measure_ink,
        terciles,
    )

    mnist = load_mnist(MNISTOptions(root=root, split=split, image_size=28))
    images, labels = mnist.samples, mnist.labels
    thickness, slant = measure_ink(images)
    t, s = bins(thickness, terciles(thickness)), bins(slant, terciles(slant))
    chosen = PHRASINGS[phrasings]
    vocabulary = mnist_vocabulary()
    table = token_table([c.text for c in every_caption(chosen)], vocabulary, max_words)
    combination = (labels * 3 + t) * 3 + s  # the caption id within one phrasing
    choices = torch.stack([p * 90 + combination for p in range(len(chosen))], dim=1)
    counts = torch.full((len(images),), len(chosen))
    if image_size != 28:
        images = resize_uint8(images, image_size)
    dataset = MNISTCaptions(images, table, choices, counts, vocabulary,
                            f"MNIST {split} in '{root}', {phrasings} phrasings")
    dataset.root = mnist.root
    return dataset


class MNISTCaptions(CaptionedImages):
    """Captioned MNIST; generated digits are scored by the digit classifier, as MNIST's are."""

    from ganzoo_builtins.mnist.loader import MNISTDataset

    root: Path
    mode_coverage = MNISTDataset.mode_coverage
