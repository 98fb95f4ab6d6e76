"""docs/python.md runs: its code blocks, in order, in one namespace, from a folder that holds
the recipes (as a notebook beside a checkout would)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def python_blocks(page: Path) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", page.read_text(encoding="utf-8"), re.M | re.S)


def test_the_page_has_code_to_run():
    blocks = python_blocks(ROOT / "docs" / "python.md")
    assert len(blocks) >= 8
    used = "".join(blocks)
    for name in ("ganzoo.train", "ganzoo.load_run", ".sample(", ".generator(", "ganzoo.to_pil",
                 "ganzoo.build", "ganzoo.evaluate", "ganzoo.export", "ganzoo.load_exported",
                 "ganzoo.write_report"):
        assert name in used, name


def test_every_code_block_of_the_python_page_runs(tmp_path, monkeypatch):
    (tmp_path / "recipes").symlink_to(ROOT / "recipes")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "docs_python"}
    for number, block in enumerate(python_blocks(ROOT / "docs" / "python.md"), 1):
        try:
            exec(compile(block, f"docs/python.md block {number}", "exec"), namespace)
        except Exception as exc:  # name the block that broke
            pytest.fail(f"docs/python.md block {number} failed: {type(exc).__name__}: {exc}")
    assert (tmp_path / "two-runs.html").is_file()
    assert (tmp_path / "grid.png").is_file()


@pytest.mark.slow
def test_the_python_page_runs_as_a_notebook_and_its_image_cells_show_images(tmp_path):
    """Each code block a cell of a Jupyter notebook, run by a real kernel: no cell fails, the
    cells that end with an image, a figure or a Run show a PNG or the run's HTML card."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    (tmp_path / "recipes").symlink_to(ROOT / "recipes")
    blocks = python_blocks(ROOT / "docs" / "python.md")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(b) for b in blocks])
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    shown = {}
    for cell in notebook.cells:
        last = cell.source.strip().splitlines()[-1]
        kinds = {kind for output in cell.outputs for kind in output.get("data", {})}
        shown[last] = kinds
    assert "image/png" in shown["big"]  # a PIL image
    assert "image/png" in shown['figures["losses.png"]']  # a matplotlib figure
    assert "text/html" in shown["run"]  # the run's card
    card = next(o for c in notebook.cells if c.source.strip().endswith("\nrun")
                for o in c.outputs if "text/html" in o.get("data", {}))
    assert "data:image/png;base64," in card["data"]["text/html"]  # with its newest samples
