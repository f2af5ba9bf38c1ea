"""Provenance for result records: git commit, package versions, threads, backend."""
from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Dict

import torch

from .. import __version__, _ext, ops

_PACKAGES = ("torch", "numpy", "scipy", "pandas", "mlxtend")


def git_commit() -> str:
    root = Path(__file__).resolve().parents[3]
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if out.returncode != 0:
        return "unknown"
    return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def package_versions() -> Dict[str, str]:
    v = {"python": platform.python_version(), "shortcutbench": __version__}
    for name in _PACKAGES:
        try:
            v[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            v[name] = "absent"
    return v


def provenance() -> Dict[str, object]:
    return {
        "git_commit": git_commit(),
        "versions": package_versions(),
        "backend": {"compiled": _ext.has_ops() and not _ext.forced_reference(), "ops": ops.backends()},
        "threads": torch.get_num_threads(),
        "machine": platform.machine(),
    }
