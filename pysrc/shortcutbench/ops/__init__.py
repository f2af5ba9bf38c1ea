"""Compiled ops, each a thin wrapper over ``torch.ops.shortcutbench.<op>`` with a pure-torch
reference (``<op>_reference``) that defines its meaning and serves as the test oracle.

Add an op ``<op>`` (one name everywhere): csrc/<op>.cpp (schema), csrc/cpu/<op>_cpu.cpp
(+ csrc/cuda/<op>_cuda.cu), ops/<op>.py (wrapper + reference), tests/ops/test_<op>.py,
benchmarks/bench_<op>.py and an asv class in benchmarks/asv/benchmarks/ops.py. Every module in
this package is one op; ``OPS`` is discovered from them (``shortcutbench doctor`` lists it).
"""
import pkgutil

from .colorize import colorize, colorize_reference

OPS = sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))

__all__ = ["OPS", "colorize", "colorize_reference"]
