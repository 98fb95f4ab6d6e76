"""Datasets of image pairs: paired_folders, side_by_side, unpaired_folders and degraded.

Generated images encode which pair they belong to in their pixels: image i of a pair has the
value 20 * i + x in column x (side B: 255 minus that), so a batch tells which pair each sample
came from and whether it was flipped.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from ganzoo.components import build_one
from ganzoo.errors import GanzooError
from ganzoo.plugins import load_registry

REGISTRY = load_registry()
CPU = torch.device("cpu")
SIZE = 8


def pattern(i: int, side: str = "a") -> np.ndarray:
    """(SIZE, SIZE) uint8: 20 * i + column on side a, 255 minus that on side b."""
    row = 20 * i + np.arange(SIZE, dtype=np.uint8)
    image = np.tile(row, (SIZE, 1))
    return image if side == "a" else 255 - image


def save(path: Path, pixels: np.ndarray, channels: int = 3) -> None:
    """Save (H, W) gray values as an RGB image (or, with ``channels=1``, grayscale), or
    (H, W, 3) colours as they are."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if pixels.ndim == 2 and channels == 3:
        pixels = np.stack([pixels] * 3, axis=-1)
    Image.fromarray(pixels).save(path)


def read(images: torch.Tensor, side: str = "a") -> tuple[list[int], list[bool]]:
    """Which pair each image (N, C, H, W) in [-1, 1] encodes, and whether it is flipped."""
    pixels = ((images + 1) * 127.5).round().long()
    pixels = pixels if side == "a" else 255 - pixels
    first, last = pixels[:, 0, 0, 0], pixels[:, 0, 0, -1]
    return (torch.minimum(first, last) // 20).tolist(), (first > last).tolist()


def build(name: str, **options):
    return build_one(REGISTRY, "dataset", {"name": name, **options}, "data")


def first(dataset, batch_size: int = 4, seed: int = 0, start: int = 0):
    return next(dataset.batches(batch_size, CPU, seed, start))


def shapes(batch) -> dict[str, tuple[int, ...]]:
    return {name: tuple(value.shape) for name, value in batch.fields.items()}


@pytest.fixture
def paired(tmp_path: Path) -> dict[str, str]:
    """Six pairs (one in a sub-folder, B as grayscale .bmp) and one lone file on each side."""
    for i in range(6):
        stem = f"sub/{i}" if i == 3 else f"{i}"
        save(tmp_path / "A" / f"{stem}.png", pattern(i))
        save(tmp_path / "B" / f"{stem}.bmp", pattern(i, "b"), channels=1)
    save(tmp_path / "A" / "only_a.png", pattern(9))
    save(tmp_path / "B" / "only_b.png", pattern(9, "b"), channels=1)
    return {"root_a": str(tmp_path / "A"), "root_b": str(tmp_path / "B"),
            "image_size": SIZE, "channels_b": 1}


@pytest.fixture
def side_by_side(tmp_path: Path) -> str:
    """Five A|B files: A (left half) and B (right half) of pair i, side by side."""
    for i in range(5):
        save(tmp_path / "ab" / f"{i}.png", np.concatenate([pattern(i), pattern(i, "b")], axis=1))
    return str(tmp_path / "ab")


@pytest.fixture
def unpaired(tmp_path: Path) -> str:
    """trainA/ with 4 images, trainB/ with 6, testA/ and testB/ with 2 each."""
    for folder, n in (("trainA", 4), ("trainB", 6), ("testA", 2), ("testB", 2)):
        for i in range(n):
            save(tmp_path / "cyc" / folder / f"{i}.png", pattern(i, folder[-1].lower()))
    return str(tmp_path / "cyc")


@pytest.fixture
def photos(tmp_path: Path) -> str:
    """Twelve random colour images, for the degradations."""
    rng = np.random.default_rng(0)
    for i in range(12):
        save(tmp_path / "photos" / f"{i}.png",
             rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8))
    return str(tmp_path / "photos")


def folder_base(root: str, **options) -> dict:
    return {"name": "image_folder", "root": root, "image_size": SIZE, **options}


# ---- what a batch holds --------------------------------------------------------------------

def test_paired_folders_match_by_name_and_warn_about_the_rest(paired):
    dataset = build("paired_folders", **paired)
    assert len(dataset) == 6 and dataset.image_shape == (1, SIZE, SIZE)
    assert set(dataset.fields) == {"source", "target"}
    batch = first(dataset, batch_size=6)
    assert shapes(batch) == {"source": (6, 3, SIZE, SIZE), "target": (6, 1, SIZE, SIZE)}
    assert batch.source.dtype == torch.float32
    assert -1 <= batch.source.min() and batch.source.max() <= 1
    source, _ = read(batch.source)
    target, _ = read(batch.target, "b")
    assert sorted(source) == list(range(6)) and source == target
    assert len(dataset.warnings) == 2
    assert "data.root_a:" in dataset.warnings[0] and "'only_a'" in dataset.warnings[0]
    assert "data.root_b:" in dataset.warnings[1] and "'only_b'" in dataset.warnings[1]


def test_side_by_side_splits_the_halves_and_direction_swaps_them(side_by_side):
    forward = first(build("side_by_side", root=side_by_side, image_size=SIZE), batch_size=5)
    assert shapes(forward) == {"source": (5, 3, SIZE, SIZE), "target": (5, 3, SIZE, SIZE)}
    assert read(forward.source)[0] == read(forward.target, "b")[0]
    assert sorted(read(forward.source)[0]) == list(range(5))
    backward = first(build("side_by_side", root=side_by_side, image_size=SIZE,
                           direction="BtoA"), batch_size=5)
    assert torch.equal(backward.source, forward.target)
    assert torch.equal(backward.target, forward.source)


def test_unpaired_domains_are_drawn_independently(unpaired):
    dataset = build("unpaired_folders", root=unpaired, image_size=SIZE, hflip=True)
    assert len(dataset) == 6 and set(dataset.fields) == {"a", "b"}
    batches = dataset.batches(2, CPU, 0)
    drawn = [next(batches) for _ in range(6)]
    assert shapes(drawn[0]) == {"a": (2, 3, SIZE, SIZE), "b": (2, 3, SIZE, SIZE)}
    a = [read(batch.a) for batch in drawn]
    b = [read(batch.b, "b") for batch in drawn]
    # each domain walks through its own epochs: trainA's 4 images in 2 batches, trainB's 6 in 3
    assert sorted(i for index, _ in a[:2] for i in index) == list(range(4))
    assert sorted(i for index, _ in b[:3] for i in index) == list(range(6))
    assert [flips for _, flips in a] != [flips for _, flips in b]  # flipped on their own
    test = build("unpaired_folders", root=unpaired, image_size=SIZE, split="test")
    assert len(test) == 2


# ---- flips and resuming --------------------------------------------------------------------

def test_hflip_flips_source_and_target_alike(paired):
    dataset = build("paired_folders", **paired, hflip=True)
    batches = dataset.batches(6, CPU, 0)
    flips = []
    for _ in range(4):
        batch = next(batches)
        source, source_flips = read(batch.source)
        target, target_flips = read(batch.target, "b")
        assert source == target and source_flips == target_flips
        flips += source_flips
    assert any(flips) and not all(flips)
    plain = build("paired_folders", **paired)
    assert not any(read(first(plain, 6).source)[1])


EACH = [("paired_folders", "paired"), ("side_by_side", "side_by_side"),
        ("unpaired_folders", "unpaired"), ("degraded", "photos"), ("degraded", "fake_data")]


def section(fixture: str, request: pytest.FixtureRequest) -> dict:
    """A dataset's options for the files that ``fixture`` made."""
    given = request.getfixturevalue(fixture)
    if fixture == "paired":
        return dict(given)
    if fixture == "photos":
        return {"base": folder_base(given)}
    if fixture == "fake_data":  # MNIST, with labels
        return {"base": {"name": "mnist", "root": str(given)}}
    return {"root": given, "image_size": SIZE}


@pytest.mark.parametrize("name, fixture", EACH)
def test_batch_k_depends_only_on_seed_and_k(name, fixture, request):
    dataset = build(name, **section(fixture, request), hflip=True)
    batches = dataset.batches(2, CPU, seed=3)
    skipped = [next(batches) for _ in range(8)][-1]
    resumed = first(dataset, batch_size=2, seed=3, start=7)
    assert skipped.fields.keys() == resumed.fields.keys()
    assert all(torch.equal(skipped[k], resumed[k]) for k in skipped.fields)
    other = first(dataset, batch_size=2, seed=4, start=7)
    assert not all(torch.equal(skipped[k], other[k]) for k in skipped.fields)


# ---- degradations --------------------------------------------------------------------------

def test_degraded_downscale_is_the_area_average(photos):
    dataset = build("degraded", base=folder_base(photos), factor=4)
    batch = first(dataset)
    assert shapes(batch) == {"source": (4, 3, 2, 2), "target": (4, 3, SIZE, SIZE)}
    blocks = batch.target.reshape(4, 3, 2, 4, 2, 4).mean(dim=(3, 5))
    assert torch.allclose(batch.source, blocks, atol=1e-6)
    assert dataset.image_shape == (3, SIZE, SIZE)


def test_degraded_grayscale_is_the_luminance(photos):
    batch = first(build("degraded", base=folder_base(photos), degradation="grayscale"))
    assert shapes(batch)["source"] == (4, 1, SIZE, SIZE)
    r, g, b = batch.target.unbind(1)
    assert torch.allclose(batch.source[:, 0], 0.299 * r + 0.587 * g + 0.114 * b, atol=1e-6)


def test_degraded_blur_keeps_the_mean_and_smooths(photos, tmp_path):
    batch = first(build("degraded", base=folder_base(photos), degradation="blur", sigma=1.0))
    assert batch.source.shape == batch.target.shape
    assert torch.allclose(batch.source.mean(dim=(2, 3)), batch.target.mean(dim=(2, 3)),
                          atol=1e-5)
    assert batch.source.std() < 0.6 * batch.target.std()
    for i in range(4):  # flat images stay exactly as they are
        save(tmp_path / "flat" / f"{i}.png", np.full((SIZE, SIZE), 40 * i, dtype=np.uint8))
    flat = first(build("degraded", base=folder_base(str(tmp_path / "flat")), degradation="blur"))
    assert torch.allclose(flat.source, flat.target, atol=1e-5)


def test_degraded_passes_the_base_labels_through(fake_data):
    base = {"name": "mnist", "root": str(fake_data)}
    dataset = build("degraded", base=base, degradation="downscale", factor=4)
    plain = first(build("mnist", root=str(fake_data)), batch_size=8)
    batch = first(dataset, batch_size=8)
    assert shapes(batch) == {"source": (8, 1, 7, 7), "target": (8, 1, 28, 28), "labels": (8,)}
    assert torch.equal(batch.labels, plain.labels) and torch.equal(batch.target, plain.x)
    assert dataset.num_classes == 10 and dataset.fields["labels"].dtype == "int64"


# ---- the registry and declared fields ------------------------------------------------------

@pytest.mark.parametrize("name, fixture", EACH)
def test_declared_fields_are_the_built_ones(name, fixture, request):
    options = section(fixture, request)
    component = REGISTRY.get("dataset", name)
    dataset = build(name, **options)
    assert component.fields(component.options(**options)) == dataset.fields
    assert component.sample_shape(component.options(**options)) == dataset.image_shape
    assert shapes(first(dataset, 2)) == {k: (2, *f.shape) for k, f in dataset.fields.items()}


def test_the_registry_lists_them_with_default_shapes():
    expected = {"paired_folders": {"source", "target"}, "side_by_side": {"source", "target"},
                "unpaired_folders": {"a", "b"}, "degraded": {"source", "target"}}
    for name, fields in expected.items():
        component = REGISTRY.get("dataset", name)
        assert component.summary and component.licence and component.package == "ganzoo"
        assert set(component.fields(component.options())) == fields
    degraded = REGISTRY.get("dataset", "degraded")
    fields = degraded.fields(degraded.options())  # celeba's 64x64, declared without loading
    assert fields["source"].shape == (3, 16, 16) and fields["target"].shape == (3, 64, 64)


# ---- errors --------------------------------------------------------------------------------

def refused(match: str, name: str, **options) -> str:
    with pytest.raises(GanzooError, match=match) as err:
        build(name, **options)
    assert "\n" not in str(err.value)
    return str(err.value)


def test_errors_name_the_option(paired, photos, unpaired, tmp_path):
    refused(r"^data\.root_a: '.*missing' does not exist", "paired_folders",
            **{**paired, "root_a": str(tmp_path / "missing")})
    save(tmp_path / "other" / "elsewhere.png", pattern(0))
    refused(r"^data\.root_b: no image in .* has the name of one in", "paired_folders",
            **{**paired, "root_b": str(tmp_path / "other")})
    refused(r"^data\.factor: 3 does not divide the base's 8x8 images", "degraded",
            base=folder_base(photos), factor=3)
    refused(r"^data\.base\.name: dataset 'gaussian_mixture' gives samples of shape \(2,\)",
            "degraded", base={"name": "gaussian_mixture"})
    refused(r"^data\.base\.name: dataset 'side_by_side' gives no single images 'x' \(it gives "
            r"source, target\)", "degraded", base={"name": "side_by_side", "root": photos})
    refused(r"^data\.degradation: grayscale needs colour images", "degraded",
            base=folder_base(photos, channels=1), degradation="grayscale")
    refused(r"^data\.base\.root: folder .* does not exist", "degraded",
            base=folder_base(str(tmp_path / "missing")))
    shutil.rmtree(Path(unpaired) / "trainB")
    refused(r"^data\.root: .* has no trainB/ folder", "unpaired_folders", root=unpaired)
    refused(r"^data\.direction: must be one of 'AtoB', 'BtoA'", "side_by_side",
            root=str(tmp_path), direction="AtoC")
    (tmp_path / "empty").mkdir()
    refused(r"^data\.root: no images found in", "side_by_side", root=str(tmp_path / "empty"))


# ---- real faces ----------------------------------------------------------------------------

@pytest.fixture(scope="session")
def celeba_faces(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CelebA root holding the first 32 real aligned faces (linked, not copied)."""
    folder = data_root / "celeba" / "img_align_celeba"
    if not folder.is_dir():
        pytest.skip(f"the CelebA faces are not under {folder.parent}")
    root = tmp_path_factory.mktemp("celeba")
    (root / folder.name).mkdir()
    for face in sorted(folder.glob("*.jpg"))[:32]:
        (root / folder.name / face.name).symlink_to(face)
    return root


def test_real_faces_downscaled_keep_their_content(celeba_faces):
    dataset = build("degraded", base={"name": "celeba", "root": str(celeba_faces)}, hflip=True)
    batch = first(dataset, batch_size=16)
    assert shapes(batch) == {"source": (16, 3, 16, 16), "target": (16, 3, 64, 64)}
    assert not dataset.warnings  # train faces by the official partition's numbers
    assert torch.allclose(batch.source, F.avg_pool2d(batch.target, 4), atol=1e-6)
    upsampled = F.interpolate(batch.source, scale_factor=4, mode="bilinear")
    own = (upsampled - batch.target).abs().mean()
    others = (upsampled - batch.target.roll(1, dims=0)).abs().mean()
    assert own < 0.5 * others  # each small face is its own face, not any face


# ---- with a game ---------------------------------------------------------------------------

GAMES = {
    "kit_paired": "generator: {name: kit_translator}\ndiscriminator: {name: kit_patch}\n",
    "kit_cycle": "".join(f"{role}: {{name: kit_{net}}}\n" for role, net in (
        ("g_ab", "translator"), ("g_ba", "translator"), ("d_a", "patch"), ("d_b", "patch"))),
}


def game_recipe(tmp_path: Path, game: str, data: str) -> str:
    path = tmp_path / f"{game}.yaml"
    path.write_text(f"game: {{name: {game}}}\n{GAMES[game]}loss: {{name: nonsaturating}}\n"
                    f"data: {data}\ntrain: {{steps: 2, batch_size: 4, log_every: 1, "
                    "sample_every: 2, checkpoint_every: 2, num_samples: 4, device: cpu}\n")
    return str(path)


def test_translation_games_train_on_them(photos, unpaired, tmp_path, capsys):
    pytest.importorskip("ganzoo_testkit")
    from ganzoo.cli import main

    colourize = game_recipe(tmp_path, "kit_paired", "{name: degraded, degradation: grayscale, "
                            f"base: {{name: image_folder, root: '{photos}', image_size: 8}}}}")
    assert main(["show", colourize]) == 0
    assert "image 1x8x8 -> 3x8x8" in capsys.readouterr().out
    assert main(["run", colourize, f"train.run_dir={tmp_path / 'paired'}"]) == 0
    assert (tmp_path / "paired" / "samples" / "step_0000002.png").is_file()
    cycle = game_recipe(tmp_path, "kit_cycle", f"{{name: unpaired_folders, root: '{unpaired}', "
                        "image_size: 8, channels: 1, hflip: true}")
    assert main(["show", cycle]) == 0
    assert "image 1x8x8 -> 1x8x8" in capsys.readouterr().out


def test_renaming_files_re_pairs_them_and_is_not_served_from_the_cache(paired):
    build("paired_folders", **paired)  # decoded and cached
    b = Path(paired["root_b"])
    (b / "0.bmp").rename(b / "tmp.bmp")
    (b / "1.bmp").rename(b / "0.bmp")
    (b / "tmp.bmp").rename(b / "1.bmp")
    batch = first(build("paired_folders", **paired), batch_size=6)
    pairs = set(zip(read(batch.source)[0], read(batch.target, "b")[0], strict=True))
    assert {(0, 1), (1, 0), (2, 2)} <= pairs
