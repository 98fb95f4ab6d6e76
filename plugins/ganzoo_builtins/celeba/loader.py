"""Loading CelebA's aligned images, with the official partition where it is present."""

from __future__ import annotations

from pathlib import Path

from ganzoo.data import image_dataset
from ganzoo.errors import GanzooError

FOLDER = "img_align_celeba"
PARTITION = "list_eval_partition.txt"
SPLIT_CODES = {"train": "0", "valid": "1", "test": "2"}
#: the official partition is by image number: list_eval_partition.txt says exactly this
SPLIT_RANGES = {"train": (1, 162770), "valid": (162771, 182637), "test": (182638, 202599)}


def load_celeba(options):
    root = Path(options.root).expanduser()
    folder = find_images_folder(root)
    files = sorted(folder.glob("*.jpg"))
    if not files:
        raise GanzooError(f"data.root: no .jpg images found in '{folder}'")
    files, split_note = select_split(files, folder.parent, options.split)
    dataset = image_dataset(
        files, options.image_size, 3, in_memory=options.in_memory,
        cache_key={"loader": "celeba", "root": str(folder.resolve()), "split": options.split},
        name="celeba", source=f"'{folder}'", workers=options.workers, hflip=options.hflip,
    )
    if split_note.startswith("no "):
        dataset.warnings = [*dataset.warnings, f"data.split: {split_note}"]
    return dataset


def find_images_folder(root: Path) -> Path:
    """``root/img_align_celeba``, or ``root`` itself when it is that folder."""
    if (root / FOLDER).is_dir():
        return root / FOLDER
    if root.name == FOLDER and root.is_dir():
        return root
    if not root.exists():
        raise GanzooError(f"data.root: folder '{root}' does not exist. Set data.root to the "
                          f"folder holding {FOLDER}/.")
    nearby = sorted(root.glob(f"*/{FOLDER}")) + sorted(root.glob(f"*/*/{FOLDER}"))
    if nearby:
        holder = nearby[0].parent
        raise GanzooError(f"data.root: no {FOLDER}/ directly in '{root}', but '{holder}' "
                          f"holds one. Set data.root={holder}")
    raise GanzooError(f"data.root: '{root}' has no {FOLDER}/ folder of aligned CelebA JPEGs. "
                      f"Set data.root to the folder holding it.")


def select_split(files: list[Path], root: Path, split: str) -> tuple[list[Path], str]:
    """Keep the split's files by the official partition: its file where present, else the
    index ranges it follows (for files under their original numbers); else every image."""
    partition = root / PARTITION
    if split == "all":
        return files, "all images"
    if not partition.is_file():
        if not all(f.stem.isdigit() for f in files):
            return files, f"no {PARTITION} in '{root}', so every image is used"
        low, high = SPLIT_RANGES[split]
        chosen = [f for f in files if low <= int(f.stem) <= high]
        if not chosen:
            raise GanzooError(f"data.split: no images of split '{split}' (numbers {low} to "
                              f"{high}) in '{root}'")
        return chosen, f"{split} split by the official partition's image numbers"
    wanted = set()
    for line in partition.read_text().split("\n"):
        parts = line.split()
        if len(parts) == 2 and parts[1] == SPLIT_CODES[split]:
            wanted.add(parts[0])
    chosen = [f for f in files if f.name in wanted]
    if not chosen:
        raise GanzooError(f"data.split: no images of split '{split}' found in '{root}'")
    return chosen, f"{split} split of {PARTITION}"
