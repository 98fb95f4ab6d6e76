"""Image files -> uint8 tensors: finding, decoding (resize the short side, centre-crop) and caching.

Dataset plugins use these so that every folder of images behaves the same way.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ganzoo.files import CheckpointWriteError, save_atomic

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff", ".ppm")
CACHE_ENV = "GANZOO_CACHE"


def find_images(root: Path) -> list[Path]:
    """Every image file under ``root``, recursively, in a stable (sorted) order. Links are
    followed, but a folder or file reached twice (a link to a parent, say) counts once."""
    found, seen_folders, seen_files = [], set(), set()
    for folder, subfolders, names in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen_folders:
            subfolders[:] = []  # been here by another path: do not walk it again
            continue
        seen_folders.add(real)
        subfolders.sort()
        for name in sorted(names):
            path = Path(folder) / name
            if name.lower().endswith(IMAGE_EXTENSIONS) and path.resolve() not in seen_files:
                seen_files.add(path.resolve())
                found.append(path)
    return sorted(found)


def decode_image(path: Path, size: int, channels: int) -> np.ndarray | None:
    """(C, size, size) uint8: resize the short side to ``size``, then centre-crop.

    Returns None for a file that cannot be read as an image.
    """
    from PIL import Image

    try:
        with Image.open(path) as img:
            img.draft("RGB" if channels == 3 else "L", (2 * size, 2 * size))  # fast JPEG decode
            img = to_8bit(img)
            if img is None:
                return None
            img = img.convert("RGB" if channels == 3 else "L")
            w, h = img.size
            scale = size / min(w, h)
            new_w, new_h = max(size, round(w * scale)), max(size, round(h * scale))
            img = img.resize((new_w, new_h), Image.BILINEAR)
            left, top = (new_w - size) // 2, (new_h - size) // 2
            img = img.crop((left, top, left + size, top + size))
            array = np.array(img, dtype=np.uint8)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    return array[None] if channels == 1 else np.ascontiguousarray(array.transpose(2, 0, 1))


def to_8bit(img: Any) -> Any:
    """Pillow's 16-bit, 32-bit integer and float grayscale modes scaled to 8-bit 'L' (Pillow's
    own conversion clips them: a 16-bit PNG turns white, a float TIFF black); None for values
    that cannot be scaled (NaN, or beyond 16 bits)."""
    from PIL import Image

    if img.mode not in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        return img
    values = np.asarray(img, dtype=np.float64)
    if not np.isfinite(values).all() or values.min() < 0:
        return None
    if img.mode == "F" and values.max() <= 1.0:
        scale = 255.0  # floats in [0, 1]
    elif img.mode.startswith("I;16") or values.max() > 255:
        scale = 255.0 / 65535.0
    else:
        scale = 1.0
    if values.max() * scale > 255.5:
        return None
    return Image.fromarray(np.round(values * scale).astype(np.uint8), mode="L")


def decode_all(paths: Sequence[Path], size: int, channels: int,
               describe: str = "decoding images") -> tuple[Tensor, Tensor]:
    """Decode every file in threads (PIL releases the GIL), with a progress bar.

    Returns (images uint8 (N, C, size, size), indices of the files that were readable).
    """
    from rich.progress import track

    out = np.empty((len(paths), channels, size, size), dtype=np.uint8)
    ok = np.zeros(len(paths), dtype=bool)

    def work(i: int) -> None:
        array = decode_image(paths[i], size, channels)
        if array is not None:
            out[i], ok[i] = array, True

    with ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1)) as pool:
        for _ in track(pool.map(work, range(len(paths))), total=len(paths),
                       description=describe, transient=True):
            pass
    keep = np.flatnonzero(ok)
    return torch.from_numpy(out[keep]), torch.from_numpy(keep)


def cache_dir() -> Path:
    """$GANZOO_CACHE, or ~/.cache/ganzoo."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "ganzoo")


def fingerprint(paths: Sequence[Path]) -> dict[str, Any]:
    """What changes when files are added, removed or rewritten: count, bytes, newest mtime."""
    stats = [p.stat() for p in paths]
    return {"files": len(stats), "bytes": sum(s.st_size for s in stats),
            "mtime": max((s.st_mtime_ns for s in stats), default=0)}


def cached(name: str, key: dict[str, Any], build: Callable[[], dict[str, Tensor]]
           ) -> tuple[dict[str, Tensor], Path | None, bool]:
    """Load ``build()``'s tensors from the cache, or build and save them atomically.

    Returns (tensors, cache file or None where it could not be written, whether it was a hit).
    """
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()
    path = cache_dir() / f"{name}-{digest[:16]}.pt"
    if path.is_file():
        try:
            return torch.load(path, map_location="cpu", weights_only=True), path, True
        except Exception:  # a damaged cache file is rebuilt, never trusted
            path.unlink(missing_ok=True)
    tensors = build()
    try:
        save_atomic(tensors, path)
    except CheckpointWriteError:  # a read-only or full cache still trains; it decodes again
        return tensors, None, False
    return tensors, path, False
