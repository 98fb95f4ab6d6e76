"""Start-up stays cheap: listing components never imports torch (timings live in bench/)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("torch", "torchvision", "numpy", "matplotlib", "torch_fidelity", "PIL")


def modules_after(code: str) -> set[str]:
    script = code + "\nimport sys\nprint(' '.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout
    return set(out.split())


def test_loading_every_plugin_imports_no_heavy_module():
    loaded = modules_after("from ganzoo.plugins import load_registry\nload_registry()")
    assert "ganzoo_builtins.dcgan" in loaded and "ganzoo_relativistic" in loaded
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


def test_list_and_help_import_no_heavy_module():
    loaded = modules_after("from ganzoo.cli import main\nmain(['list'])\n"
                           "try:\n    main(['--help'])\nexcept SystemExit:\n    pass")
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


def test_importing_ganzoo_and_reaching_its_api_imports_no_heavy_module():
    """The Python API is there on 'import ganzoo', without side effects: torch comes only
    when a function that needs it runs."""
    loaded = modules_after("import ganzoo\nganzoo.train, ganzoo.load_run, ganzoo.Run, "
                           "ganzoo.build, ganzoo.evaluate")
    assert "ganzoo.api" in loaded
    assert not loaded & set(HEAVY), loaded & set(HEAVY)
