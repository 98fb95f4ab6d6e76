"""Shared fixtures.

Real data is read from ``--data-root`` or $GANZOO_DATA_ROOT, by default ``../shared/data``
beside the repository; tests that need it skip, saying why, where it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
RECIPES = REPO / "recipes"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--data-root", default=None,
                     help="folder with the real datasets (default: $GANZOO_DATA_ROOT or "
                          "../shared/data beside the repository)")


@pytest.fixture(scope="session")
def data_root(request: pytest.FixtureRequest) -> Path:
    given = request.config.getoption("--data-root") or os.environ.get("GANZOO_DATA_ROOT")
    return Path(given) if given else REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def mnist_root(data_root: Path) -> Path:
    if not (data_root / "MNIST" / "raw" / "train-images-idx3-ubyte").is_file():
        pytest.skip(f"real MNIST not found under {data_root}/MNIST/raw "
                    "(set --data-root or GANZOO_DATA_ROOT)")
    return data_root


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run the test from a fresh folder, so default run folders land there."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def tiny_train() -> list[str]:
    """Overrides that shrink any recipe to a few CPU steps."""
    return ["train.steps=3", "train.batch_size=8", "train.log_every=1", "train.sample_every=2",
            "train.num_samples=4", "train.device=cpu"]


@pytest.fixture(scope="session")
def fake_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Small generated files in the real formats: MNIST IDX, CIFAR-10 pickles, CelebA JPEGs."""
    import pickle
    import struct

    import numpy as np
    from PIL import Image

    root = tmp_path_factory.mktemp("fake_data")
    rng = np.random.default_rng(0)
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for prefix, n in (("train", 64), ("t10k", 16)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(
            struct.pack(">IIII", 2051, n, 28, 28) + images.tobytes())
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(
            struct.pack(">II", 2049, n) + rng.integers(0, 10, n, dtype=np.uint8).tobytes())
    batches = root / "cifar-10-batches-py"
    batches.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (16, 3072), dtype=np.uint8),
                 b"labels": list(rng.integers(0, 10, 16).tolist())}
        (batches / name).write_bytes(pickle.dumps(batch, protocol=2))
    (batches / "batches.meta").write_bytes(pickle.dumps({b"label_names": [b"x"] * 10}))
    faces = root / "celeba" / "img_align_celeba"
    faces.mkdir(parents=True)
    for i in range(24):
        pixels = rng.integers(0, 256, (218, 178, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(faces / f"{i + 1:06d}.jpg")
    return root


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Keep the decoded-image cache out of the user's home during tests."""
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="session")
def inception_path(request: pytest.FixtureRequest) -> Path:
    """The offline FID Inception network: $GANZOO_FID_INCEPTION, or ../shared/models/."""
    given = os.environ.get("GANZOO_FID_INCEPTION")
    path = Path(given) if given else (REPO.parent / "shared" / "models"
                                      / "inception-2015-12-05-fid.torchscript.pt")
    if not path.is_file():
        pytest.skip(f"the offline FID Inception network is not at {path} "
                    "(set GANZOO_FID_INCEPTION)")
    return path
