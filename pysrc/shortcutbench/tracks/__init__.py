"""Tracks: one module each, registered by name in TRACKS; every module here is imported so a new
track file registers itself."""
import importlib
import pkgutil

from .base import PROFILES, TRACKS, RunContext, Track, select_profile

for _m in pkgutil.iter_modules(__path__):
    if _m.name not in ("base", "common"):
        importlib.import_module(f"{__name__}.{_m.name}")

__all__ = ["PROFILES", "TRACKS", "RunContext", "Track", "select_profile"]
