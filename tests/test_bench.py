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
