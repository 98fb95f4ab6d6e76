"""ganzoo: a plugin-based zoo of Generative Adversarial Networks on PyTorch.

Importing this package is cheap: torch is imported only by the modules that train or build.
The Python API (``ganzoo.train``, ``ganzoo.load_run``, ``ganzoo.build``, ...; see
``ganzoo.api`` and docs/python.md) is loaded on first use.
"""

from typing import Any

import pluggy

__version__ = "0.1.0"

#: Marks a plugin's hook implementations, built-in and third-party alike.
hookimpl = pluggy.HookimplMarker("ganzoo")

#: the Python API, imported from its module when first used
API = {"Run": "ganzoo.api", "build": "ganzoo.api", "evaluate": "ganzoo.api",
       "load_run": "ganzoo.api", "train": "ganzoo.api", "resume": "ganzoo.api",
       "sample": "ganzoo.api",
       "to_pil": "ganzoo.api", "to_pil_images": "ganzoo.api",
       "export": "ganzoo.exports", "load_exported": "ganzoo.exports",
       "load_exported_text_encoder": "ganzoo.exports",
       "write_report": "ganzoo.report"}

__all__ = ["__version__", "hookimpl", *API]


def __getattr__(name: str) -> Any:
    if name in API:
        import importlib

        return getattr(importlib.import_module(API[name]), name)
    raise AttributeError(f"module 'ganzoo' has no attribute {name!r}")
