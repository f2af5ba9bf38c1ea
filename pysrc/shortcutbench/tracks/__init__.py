"""Tracks: one module each, registered by name in TRACKS; every module here is imported so a new
track file registers itself."""
import importlib
import os
import pkgutil

from .base import PROFILES, TRACKS, RunContext, Track, select_profile

for _m in pkgutil.iter_modules(__path__):
    if _m.name not in ("base", "common"):
        importlib.import_module(f"{__name__}.{_m.name}")
# Third-party tracks: SHORTCUTBENCH_TRACK_PLUGINS="pkg.mod,other.mod" imports modules that register more.
for _name in filter(None, os.environ.get("SHORTCUTBENCH_TRACK_PLUGINS", "").split(",")):
    importlib.import_module(_name.strip())

__all__ = ["PROFILES", "TRACKS", "RunContext", "Track", "select_profile"]
