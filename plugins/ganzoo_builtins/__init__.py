"""ganzoo's built-in plugins. Each sub-package is one plugin, registered through the same
hooks as any third-party package; its ``__init__`` is cheap to import and builds lazily."""
