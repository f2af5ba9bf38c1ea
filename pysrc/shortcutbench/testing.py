"""Canonical devices and dtypes for tests (pytorch_scatter's testing.py pattern)."""
from __future__ import annotations

import contextlib

import pytest
import torch

from . import _ext

devices = [torch.device("cpu")] + ([torch.device("cuda:0")] if torch.cuda.is_available() else [])
float_dtypes = [torch.float32, torch.float64]
has_ext = _ext.has_ops()
# instruction-set paths of the kernels that keep one copy per ISA (csrc/cpu/isa.h)
ISA_PATHS = ("baseline", "avx2", "avx512")


def compiled(op: str, device: torch.device) -> bool:
    return _ext.has_kernel(op, device)


def needs_kernel(op: str, device: torch.device = torch.device("cpu")):
    """Skip marker for tests of a compiled kernel against its reference. They skip only where the
    kernel is absent: an install without the extension (``SHORTCUTBENCH_NO_EXT=1``; the op then
    runs its reference) or a device it was not built for. ``make test`` builds it, so they run."""
    if _ext.has_ops():
        why = f"no {device.type} kernel registered"
    else:
        why = f"shortcutbench._C not importable: {_ext._IMPORT_ERROR}"
    return pytest.mark.skipif(not compiled(op, device), reason=f"{op} not compiled ({why})")


@contextlib.contextmanager
def on_isa(name: str):
    """Run the per-ISA kernels on path ``name`` inside the block, then restore the path; skips the
    test where the extension is absent or the CPU lacks the path."""
    if not has_ext:
        pytest.skip(f"shortcutbench._C not importable: {_ext._IMPORT_ERROR}")
    if name not in _ext._C.isa_supported():
        pytest.skip(f"this CPU cannot run the {name} path")
    before = _ext.isa()
    _ext._C.set_isa(name)
    try:
        yield name
    finally:
        _ext._C.set_isa(before)
