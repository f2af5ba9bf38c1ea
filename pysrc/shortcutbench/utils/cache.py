"""Where trained models and generated data are cached (``SHORTCUTBENCH_CACHE`` overrides)."""
from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    root = os.environ.get("SHORTCUTBENCH_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "shortcutbench")
    return Path(root)
