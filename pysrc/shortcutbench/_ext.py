"""Loading of the compiled core ``shortcutbench._C`` and the per-op backend choice.

Every public op in :mod:`shortcutbench.ops` calls :func:`use_compiled` to decide between the
compiled kernel and its pure-torch reference. Without ``_C`` (not built, or
``SHORTCUTBENCH_FORCE_REFERENCE=1``) ops fall back to the reference with one warning.
"""
from __future__ import annotations

import functools
import os
import warnings
from typing import Dict, Optional

import torch

_C = None
_IMPORT_ERROR: Optional[BaseException] = None
try:  # importing the module runs the TORCH_LIBRARY registrations of every op
    from . import _C  # type: ignore[attr-defined,no-redef]
except ImportError as exc:  # pragma: no cover - exercised on pure-Python installs
    _IMPORT_ERROR = exc

_warned = False


def has_ops() -> bool:
    return _C is not None


def assert_has_ops() -> None:
    if _C is None:
        raise RuntimeError(
            "shortcutbench._C is not built; run `make install` (or `pip install "
            f"--no-build-isolation -e .`). Import error: {_IMPORT_ERROR}"
        )


def forced_reference() -> bool:
    return os.environ.get("SHORTCUTBENCH_FORCE_REFERENCE", "0") == "1"


def has_kernel(op: str, device: torch.device) -> bool:
    """Whether ``_C`` registered a kernel for ``op`` on ``device``'s dispatch key."""
    if _C is None:
        return False
    return _registered(op, "CUDA" if device.type == "cuda" else "CPU")


@functools.lru_cache(maxsize=None)
def _registered(op: str, key: str) -> bool:
    # registrations happen at import of _C and never change: the dispatcher query (~µs, per
    # call of an op) is paid once (measured ~3% of a small-problem SAGA path)
    return torch._C._dispatch_has_kernel_for_dispatch_key(f"shortcutbench::{op}", key)


def use_compiled(op: str, device: torch.device) -> bool:
    global _warned
    if forced_reference():
        return False
    if has_kernel(op, device):
        return True
    if not _warned:
        warnings.warn(
            f"shortcutbench: no compiled kernel for {op} on {device.type} "
            f"({'_C not built' if _C is None else 'not registered'}); using the torch reference",
            RuntimeWarning,
            stacklevel=3,
        )
        _warned = True
    return False


def register_fake(op: str):
    """Decorator registering ``fn`` as the fake (meta) kernel of ``shortcutbench::<op>``: output
    shapes, dtypes and devices without computing, for FakeTensor, ``torch.compile`` and
    ``torch.library.opcheck``. Without ``_C`` the op does not exist and ``fn`` stays a function."""
    def deco(fn):
        if _C is not None:
            torch.library.register_fake(f"shortcutbench::{op}")(fn)
        return fn
    return deco


def isa() -> str:
    """The instruction-set path of the per-ISA kernels in use ("none" without ``_C``)."""
    return _C.isa() if _C is not None else "none"


def build_info() -> Dict[str, str]:
    if _C is None:
        return {"compiled": "no", "reason": str(_IMPORT_ERROR)}
    info = dict(_C.build_info())
    info["compiled"] = "yes"
    return info
