"""CCAT with a sample-wise learned temperature (seed 004 §5.5; the authors' ``use_temp``): the same
training step as CCAT on the ``lazy_cnn_temp`` architecture, plus 0.001·Σ(T − 1)²."""
from __future__ import annotations

from ..errors import UsageError
from .ccat import CCAT
from .method import METHODS


@METHODS.register("ccat_temp")
class TemperatureCCAT(CCAT):
    name = "ccat_temp"

    def __init__(self, model, *args, **kwargs):
        if not hasattr(model, "temperature"):
            raise UsageError("method 'ccat_temp' needs a model with a learned temperature (arch lazy_cnn_temp)")
        super().__init__(model, *args, **kwargs)
