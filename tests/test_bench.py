"""The benchmarks that a GPU session runs are known to work before a GPU is lent."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_gpu_script_runs_end_to_end_on_the_cpu_dry(tmp_path, inception_path, data_root):
    """bench/gpu.sh --dry-run: every step of the GPU session's one call, at toy sizes."""
    if not (data_root / "cifar10" / "cifar-10-batches-py-subset").is_dir():
        pytest.skip(f"no CIFAR-10 subset under {data_root} (see ../shared/data)")
    env = {**os.environ, "OUT": str(tmp_path), "PYTHON": sys.executable,
           "GANZOO_FID_INCEPTION": str(inception_path), "GANZOO_DATA_ROOT": str(data_root)}
    done = subprocess.run(["bash", str(ROOT / "bench" / "gpu.sh"), "--dry-run"], env=env,
                          capture_output=True, text=True, timeout=600)
    table = (tmp_path / "gpu.md").read_text()
    assert done.returncode == 0, table + done.stderr[-2000:]
    assert "| FAILED |" not in table and "no GPU figure" in table
    for step in ("CUDA-only tests", "throughput and speed options", "sngan_cifar run",
                 "sngan_cifar FID-16"):
        assert f"| {step}" in table, step
    assert "│ fid " in table and "DCGAN-32 CIFAR-10" in table
    for recipe in ("sngan_cifar", "biggan_cifar", "stylegan2_cifar", "r3gan_cifar"):
        assert f"│ {recipe} " in table, recipe  # its own step, timed


@pytest.mark.slow
def test_the_augmentation_benchmark_measures_each_arm(tmp_path, data_root):
    """bench/augment.py at 2 steps: each arm trains on the real subset, and its row holds the
    final p and D's sign on training and held-out images (FID left out: no network given)."""
    if not (data_root / "cifar10" / "cifar-10-batches-py-subset").is_dir():
        pytest.skip(f"no CIFAR-10 subset under {data_root} (see ../shared/data)")
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "augment.py"), "--steps", "2",
                           "--arms", "none,ada", "--width", "8", "--batch", "8",
                           "--data-root", str(data_root), "--runs", str(tmp_path / "runs"),
                           "--models", str(tmp_path / "no-models")],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [line.split("|")[1:-1] for line in done.stdout.splitlines()
            if line.startswith(("| none", "| ada"))]
    assert [cells[0].strip() for cells in rows] == ["none", "ada"]
    for cells in rows:
        p, sign_train, sign_test = (float(c) for c in cells[1:4])
        assert 0 <= p <= 1 and -1 <= sign_train <= 1 and -1 <= sign_test <= 1
        assert cells[6].strip() == "-"
