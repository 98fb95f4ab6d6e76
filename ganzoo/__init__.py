"""ganzoo: a plugin-based zoo of Generative Adversarial Networks on PyTorch.

Importing this package is cheap: torch is imported only by the modules that train or build.
"""

import pluggy

__version__ = "0.1.0"

#: Marks a plugin's hook implementations, built-in and third-party alike.
hookimpl = pluggy.HookimplMarker("ganzoo")

__all__ = ["__version__", "hookimpl"]
