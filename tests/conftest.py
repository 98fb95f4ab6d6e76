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
