"""Compiled ops, each a thin wrapper over ``torch.ops.shortcutbench.<op>`` with a pure-torch
reference (``<op>_reference``) that defines its meaning and serves as the test oracle.

Add an op ``<op>`` (one name everywhere): csrc/<op>.cpp (schema, Autograd kernel),
csrc/cpu/<op>_cpu.cpp, csrc/cuda/<op>_cuda.cu, ops/<op>.py (wrapper, reference, fake kernel),
tests/ops/test_<op>.py, benchmarks/bench_<op>.py and an asv class in
benchmarks/asv/benchmarks/ops.py. Every module in this package is one op; ``OPS`` is discovered
from them (``shortcutbench doctor`` lists it).
"""
import pkgutil
from typing import Dict

import torch

from .. import _ext

from .colorize import colorize, colorize_reference
from .enet_cd import enet_cd, enet_cd_reference
from .enet_cd_path import enet_cd_path, enet_cd_path_reference
from .lt_extended import LTPass, lt_decode, lt_extended, lt_extended_reference
from .nullspace_project import nullspace_project, nullspace_project_reference
from .pgd_step import pgd_step, pgd_step_reference
from .saga_enet import saga_enet, saga_enet_reference

OPS = sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))



def backends() -> Dict[str, str]:
    """Backend each op uses on CPU (and on CUDA when a device is present) right now."""
    out = {}
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    for op in OPS:
        parts = []
        for dev in devices:
            if _ext.forced_reference():
                parts.append(f"{dev.type}: reference (forced)")
            elif _ext.has_kernel(op, dev):
                parts.append(f"{dev.type}: compiled")
            else:
                parts.append(f"{dev.type}: reference")
        out[op] = ", ".join(parts)
    return out


__all__ = ["OPS", "backends", "LTPass", "colorize", "colorize_reference", "enet_cd", "enet_cd_path", "enet_cd_path_reference",
           "enet_cd_reference", "lt_decode", "lt_extended", "lt_extended_reference", "nullspace_project",
           "nullspace_project_reference", "pgd_step", "pgd_step_reference", "saga_enet", "saga_enet_reference"]
