"""Datasets on real files (skipped where absent) and on generated fixtures for every error."""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path

import pytest
import torch

from ganzoo.data import InMemoryDataset, epoch_batches, scale_images
from ganzoo.errors import GanzooError
from ganzoo.plugins import load_registry

REGISTRY = load_registry()


def load(name, **options):
    component = REGISTRY.get("dataset", name)
    return component.build(component.options(**options))


def first_batch(dataset, batch_size=8):
    """The first batch's samples and labels (None where the data has none)."""
    batch = next(dataset.batches(batch_size, torch.device("cpu"), 0))
    return batch.x, batch.labels


def check_images(dataset, shape, batch_size=8):
    """Batches of scaled images, and labels where the dataset has classes, the right ones."""
    batch, labels = first_batch(dataset, batch_size)
    if dataset.num_classes:
        assert labels.shape == (batch_size,) and labels.dtype == torch.int64
        assert 0 <= labels.min() and labels.max() < dataset.num_classes
    else:
        assert labels is None
    if isinstance(dataset, InMemoryDataset):  # each label travels with its image
        index = next(epoch_batches(len(dataset), batch_size, 0))
        assert torch.equal(batch, scale_images(dataset.samples[index]))
        if labels is not None:
            assert torch.equal(labels, dataset.labels[index])
    assert batch.shape == (batch_size, *shape) and batch.dtype == torch.float32
    assert -1 <= batch.min() and batch.max() <= 1 and batch.std() > 0.01  # not constant


# ---- real files in ../shared/data ---------------------------------------------------------

def test_real_mnist(mnist_root):
    dataset = load("mnist", root=str(mnist_root))
    assert len(dataset) == 60000 and dataset.labels.shape == (60000,)
    check_images(dataset, (1, 28, 28))
    assert len(load("mnist", root=str(mnist_root), split="test")) == 10000
    check_images(load("mnist", root=str(mnist_root), split="test", image_size=32), (1, 32, 32))


@pytest.fixture(scope="session")
def cifar_subset(data_root):
    folder = data_root / "cifar10" / "cifar-10-batches-py-subset"
    if not (folder / "data_batch_1").is_file():
        pytest.skip(f"the CIFAR-10 subset is not under {folder}")
    return folder


def test_real_cifar_subset_pixels_and_labels(cifar_subset):
    with pytest.raises(GanzooError, match="checksum mismatch for .*data_batch_1.*verify=false"):
        load("cifar10", root=str(cifar_subset))
    train = load("cifar10", root=str(cifar_subset), verify=False)
    assert len(train) == 4660 and train.labels.shape == (4660,)
    assert set(train.labels.tolist()) == set(range(10))
    check_images(train, (3, 32, 32))
    assert len(load("cifar10", root=str(cifar_subset), verify=False, split="test")) == 932


def test_real_cifar_root_one_level_too_high_is_detected(cifar_subset):
    with pytest.raises(GanzooError) as err:
        load("cifar10", root=str(cifar_subset.parent))
    assert f"Set data.root={cifar_subset}" in str(err.value)


@pytest.fixture(scope="session")
def celeba_root(data_root):
    root = data_root / "celeba"
    if not (root / "img_align_celeba").is_dir():
        pytest.skip(f"the CelebA faces are not under {root}")
    return root


def test_real_celeba_faces(celeba_root):
    dataset = load("celeba", root=str(celeba_root))
    # no partition file: the official partition's image numbers (4,560 train faces of 6,000)
    assert len(dataset) == 4560 and not dataset.warnings
    assert len(load("celeba", root=str(celeba_root), split="test")) == 660
    assert len(load("celeba", root=str(celeba_root), split="all")) == 6000
    check_images(dataset, (3, 64, 64))
    # A second load reads the decoded cache.
    assert "read from the cache" in load("celeba", root=str(celeba_root)).description


@pytest.fixture(scope="session")
def cifar_jpeg(data_root, tmp_path_factory):
    archive = data_root / "cifar10" / "cifar10-jpeg.tar.gz"
    if not archive.is_file():
        pytest.skip(f"the JPEG CIFAR-10 is not at {archive}")
    out = tmp_path_factory.mktemp("cifar_jpeg")
    with tarfile.open(archive) as tar:
        tar.extractall(out, filter="data")
    return out


@pytest.mark.slow
def test_image_folder_on_the_jpeg_cifar_test_split_with_labels(cifar_jpeg):
    test = next(p for p in cifar_jpeg.rglob("test") if p.is_dir())
    dataset = load("image_folder", root=str(test), image_size=32, labels=True)
    assert len(dataset) == 10000 and dataset.num_classes == 10
    assert torch.bincount(dataset.labels).tolist() == [1000] * 10
    check_images(dataset, (3, 32, 32))


# ---- generated fixtures --------------------------------------------------------------------

def test_generated_formats_load(fake_data):
    check_images(load("mnist", root=str(fake_data)), (1, 28, 28))
    check_images(load("cifar10", root=str(fake_data), verify=False), (3, 32, 32))
    check_images(load("cifar10", root=str(fake_data / "cifar-10-batches-py"), verify=False,
                      image_size=64), (3, 64, 64))
    check_images(load("celeba", root=str(fake_data / "celeba"), image_size=32), (3, 32, 32))


def test_celeba_partition_file_selects_the_split(fake_data, tmp_path):
    root = tmp_path / "celeba"
    shutil.copytree(fake_data / "celeba", root)
    names = sorted(p.name for p in (root / "img_align_celeba").iterdir())
    (root / "list_eval_partition.txt").write_text(
        "".join(f"{n} {0 if i < 16 else 1 if i < 20 else 2}\n" for i, n in enumerate(names)))
    sizes = {split: len(load("celeba", root=str(root), split=split, image_size=16))
             for split in ("train", "valid", "test", "all")}
    assert sizes == {"train": 16, "valid": 4, "test": 4, "all": 24}


def test_corrupt_images_are_skipped_and_counted(fake_data, tmp_path):
    folder = tmp_path / "imgs"
    shutil.copytree(fake_data / "celeba" / "img_align_celeba", folder)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (folder / "empty.png").write_bytes(b"")
    dataset = load("image_folder", root=str(folder), image_size=16)
    assert len(dataset) == 24
    (warning,) = dataset.warnings
    assert "skipped 2 unreadable or corrupt image file(s) of 26" in warning


def test_streaming_skips_corrupt_images_and_counts_them(fake_data, tmp_path):
    folder = tmp_path / "imgs"
    shutil.copytree(fake_data / "celeba" / "img_align_celeba", folder)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    dataset = load("image_folder", root=str(folder), image_size=16, in_memory="false",
                   workers=0)
    assert len(dataset) == 25 and dataset.warnings == []  # not known before it is read
    batches = dataset.batches(5, torch.device("cpu"), seed=0)
    sizes = [next(batches).x.shape[0] for _ in range(10)]  # two epochs of 5 batches
    assert sorted(sizes) == [4, 4] + [5] * 8
    (warning,) = dataset.warnings
    assert "skipped 1 unreadable or corrupt image file(s) of 25" in warning
    assert "broken.jpg" in warning


def test_image_folder_grayscale_labels_and_streaming(fake_data, tmp_path):
    root = tmp_path / "classes"
    files = sorted((fake_data / "celeba" / "img_align_celeba").iterdir())
    for i, f in enumerate(files):
        target = root / ("cats" if i % 2 else "dogs") / "nested" / f.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(f, target)
    gray = load("image_folder", root=str(root), image_size=16, channels=1, labels=True)
    assert gray.image_shape == (1, 16, 16) and gray.num_classes == 2
    assert torch.bincount(gray.labels).tolist() == [12, 12]
    streamed = load("image_folder", root=str(root), image_size=16, in_memory="false", workers=0,
                    labels=True)
    assert "streamed" in streamed.description
    check_images(streamed, (3, 16, 16))
    # A streamed batch's labels are those of its files.
    images, labels = first_batch(streamed)
    index = next(epoch_batches(len(streamed), 8, 0))
    assert torch.equal(labels, streamed.labels[index])


@pytest.mark.parametrize(
    "name, make_root, message",
    [
        ("image_folder", lambda d, t: t / "missing", "data.root: folder '.*missing' does not"),
        ("image_folder", lambda d, t: (t / "empty").mkdir() or t / "empty",
         "data.root: no images found in '.*empty' \\(searched recursively"),
        ("celeba", lambda d, t: t / "missing", "data.root: folder '.*missing' does not exist"),
        ("celeba", lambda d, t: d, "Set data.root=.*celeba"),
        ("cifar10", lambda d, t: t, "data.root: CIFAR-10 not found in"),
        ("mnist", lambda d, t: d / "MNIST" / "raw", "but they are under '.*'. Set data.root="),
        ("mnist", lambda d, t: t, "MNIST files not found in .*MNIST/raw.* data.download=true"),
    ],
)
def test_layout_errors_name_the_folder_and_what_to_set(fake_data, tmp_path, name, make_root,
                                                      message):
    with pytest.raises(GanzooError, match=message) as err:
        load(name, root=str(make_root(fake_data, tmp_path)))
    assert "\n" not in str(err.value)


def test_truncated_pickle_and_wrong_checksum(fake_data, tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    shutil.copytree(fake_data / "cifar-10-batches-py", folder)
    with pytest.raises(GanzooError, match="checksum mismatch for '.*data_batch_1' .*verify=false"):
        load("cifar10", root=str(tmp_path))
    data = (folder / "data_batch_3").read_bytes()
    (folder / "data_batch_3").write_bytes(data[: len(data) // 2])
    with pytest.raises(GanzooError, match="data_batch_3' is truncated or not a CIFAR-10 batch"):
        load("cifar10", root=str(tmp_path), verify=False)


def test_a_pickle_that_would_run_code_is_refused(fake_data, tmp_path):
    import os
    import pickle

    folder = tmp_path / "cifar-10-batches-py"
    shutil.copytree(fake_data / "cifar-10-batches-py", folder)

    class Exploit:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    (folder / "data_batch_1").write_bytes(pickle.dumps({b"data": Exploit()}))
    with pytest.raises(GanzooError, match="refusing to load"):
        load("cifar10", root=str(tmp_path), verify=False)


def test_batch_larger_than_dataset(fake_data):
    dataset = load("cifar10", root=str(fake_data), verify=False, split="test")
    with pytest.raises(GanzooError, match="train.batch_size: 64 is larger than the dataset"):
        first_batch(dataset, 64)


def test_gaussian_mixture_modes_and_spread():
    grid = load("gaussian_mixture")
    assert grid.modes.shape == (25, 2) and grid.std == 0.05
    points, modes = first_batch(grid, 20000)
    nearest = torch.cdist(points, grid.modes).min(dim=1)
    assert torch.equal(nearest.indices, modes)  # each point's label is its mode
    assert nearest.values.max() < 0.05 * 6
    assert torch.bincount(nearest.indices, minlength=25).min() > 20000 / 25 * 0.8
    ring = load("gaussian_mixture", layout="ring")
    assert ring.modes.shape == (8, 2) and ring.std == 0.02
    assert torch.allclose(ring.modes.norm(dim=1), torch.full((8,), 2.0))


def test_every_dataset_declares_its_sample_shape_without_loading():
    for component in REGISTRY.all("dataset"):
        assert component.sample_shape is not None, component.name
        shape = component.sample_shape(component.options())
        assert isinstance(shape, tuple) and all(isinstance(s, int) for s in shape)
    expected = {"mnist": 10, "cifar10": 10, "stacked_mnist": 1000, "gaussian_mixture": 25}
    for name, classes in expected.items():
        component = REGISTRY.get("dataset", name)
        assert component.num_classes(component.options()) == classes


def test_dataset_description_says_which_path(fake_data):
    assert "in memory" in load("mnist", root=str(fake_data)).description
    assert "streamed" in load("celeba", root=str(fake_data / "celeba"), in_memory="false",
                              workers=0).description


def test_cache_file_is_keyed_by_options(fake_data, tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    root = str(fake_data / "celeba")
    load("celeba", root=root, image_size=16)
    load("celeba", root=root, image_size=32)
    assert len(list(Path(tmp_path / "cache").glob("celeba-*.pt"))) == 2
    assert "read from the cache" in load("celeba", root=root, image_size=16).description


def test_sixteen_bit_and_float_images_are_scaled_not_clipped(tmp_path):
    """Pillow clips 16-bit grayscale to white and float images to black; ganzoo scales them."""
    import numpy as np
    from PIL import Image

    from ganzoo.imagefiles import decode_image

    ramp = np.linspace(0, 1, 64 * 64).reshape(64, 64)
    Image.fromarray((ramp * 65535).astype(np.uint16)).save(tmp_path / "sixteen.png")
    Image.fromarray(ramp.astype(np.float32), mode="F").save(tmp_path / "float.tif")
    assert Image.open(tmp_path / "sixteen.png").mode.startswith("I")
    for name in ("sixteen.png", "float.tif"):
        pixels = decode_image(tmp_path / name, 32, 1)
        assert pixels.min() < 10 and pixels.max() > 245, name
        assert abs(float(pixels.mean()) - 127.5) < 3, name
    Image.fromarray(np.full((8, 8), np.nan, dtype=np.float32), mode="F").save(tmp_path / "n.tif")
    assert decode_image(tmp_path / "n.tif", 8, 1) is None  # skipped, and counted by the caller


def test_a_folder_that_links_to_itself_counts_each_image_once(fake_data, tmp_path):
    import os

    from ganzoo.imagefiles import find_images

    root = tmp_path / "imgs"
    shutil.copytree(fake_data / "celeba" / "img_align_celeba", root)
    os.symlink(root, root / "loop")
    os.symlink(root / "000001.jpg", root / "again.jpg")
    assert len(find_images(root)) == 24


@pytest.mark.parametrize("name, options", [
    ("mnist", {"root": "{root}"}),
    ("stacked_mnist", {"root": "{root}", "size": 32}),
    ("cifar10", {"root": "{root}/cifar-10-batches-py", "verify": False}),
    ("celeba", {"root": "{root}/celeba", "image_size": 16}),
    ("celeba", {"root": "{root}/celeba", "image_size": 16, "in_memory": "false",
                "workers": 0}),
    ("image_folder", {"root": "{root}/celeba", "image_size": 16}),
])
def test_data_hflip_mirrors_about_half_of_every_image_set_and_resumes_alike(
        name, options, fake_data):
    from ganzoo.components import build_one
    from ganzoo.plugins import load_registry

    registry = load_registry()
    section = {"name": name, **{k: v.format(root=fake_data) if isinstance(v, str) else v
                                for k, v in options.items()}}
    plain = build_one(registry, "dataset", section, "data")
    mirrored = build_one(registry, "dataset", {**section, "hflip": True}, "data")
    cpu = torch.device("cpu")
    a = [b.x for _, b in zip(range(3), plain.batches(8, cpu, seed=5), strict=False)]
    b = [b.x for _, b in zip(range(3), mirrored.batches(8, cpu, seed=5), strict=False)]
    flips = torch.cat([(x != y).flatten(1).any(1) for x, y in zip(a, b, strict=True)])
    for x, y in zip(a, b, strict=True):
        same = (x == y).flatten(1).all(1)
        assert torch.equal(torch.where(same[:, None, None, None], x, x.flip(-1)), y)
    assert 0 < flips.sum() < len(flips)  # some images mirrored, not all
    later = next(iter(mirrored.batches(8, cpu, seed=5, start=2))).x
    assert torch.equal(later, b[2])  # a resumed run draws the same flips
