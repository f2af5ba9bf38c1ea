"""ERM under the mitigations' optimiser (Adam lr 1e-3, batch 128, 8 epochs; seed 000 §6): the
control row that separates the effect of an objective from the effect of the optimiser."""
from __future__ import annotations

from .erm import ERM
from .helpers import AdamMethod
from .method import METHODS


@METHODS.register("erm_adam")
class ERMAdam(AdamMethod, ERM):
    name = "erm_adam"
