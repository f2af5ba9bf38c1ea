"""Canonical devices and dtypes for tests (pytorch_scatter's testing.py pattern)."""
from __future__ import annotations

import torch

from . import _ext

devices = [torch.device("cpu")] + ([torch.device("cuda:0")] if torch.cuda.is_available() else [])
float_dtypes = [torch.float32, torch.float64]
has_ext = _ext.has_ops()


def compiled(op: str, device: torch.device) -> bool:
    return _ext.has_kernel(op, device)
