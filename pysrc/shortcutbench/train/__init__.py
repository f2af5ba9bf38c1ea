"""Training: ERM and every mitigation method, one file each, registered by name in METHODS."""
import importlib
import pkgutil

from .method import METHODS, Batch, Method, TrainConfig
from .loop import FitResult, fit

# Every module in this package registers its method on import (drop a file in, it appears).
for _m in pkgutil.iter_modules(__path__):
    if _m.name not in ("method", "loop"):
        importlib.import_module(f"{__name__}.{_m.name}")

__all__ = ["METHODS", "Batch", "Method", "TrainConfig", "FitResult", "fit"]
