"""Where models run (``--device``).

The device is the *model's*: its parameters live there and its forward/backward run there,
while data, training bookkeeping, attack bookkeeping and records stay on CPU; tensors cross at
the model's boundary (inputs to the device, outputs back to the caller's device; autograd
follows both copies). One boundary keeps every track, training method and attack unchanged, and
it sits where the time is: an attack spends ~95% of its time in the model (README, compiled
core). On CPU nothing is wrapped, so CPU runs are unchanged bit for bit.
"""
from __future__ import annotations

import argparse
from typing import Any, Optional

import torch
import torch.nn as nn
from torch.utils._pytree import tree_map

from ..errors import UsageError

_current = torch.device("cpu")


def resolve_device(name: str) -> torch.device:
    """``cpu``, ``cuda`` or ``cuda:N``, checked against this machine (UsageError: one line, exit 2)."""
    try:
        dev = torch.device(name)
    except (RuntimeError, TypeError):
        dev = None
    if dev is None or dev.type not in ("cpu", "cuda"):
        raise UsageError(f"--device {name!r}: unknown device (use cpu, cuda or cuda:N)")
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            why = "torch is a CPU-only build" if torch.version.cuda is None else "no GPU is visible"
            raise UsageError(f"--device {name}: CUDA is not available on this machine ({why}, torch {torch.__version__})")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise UsageError(f"--device {name}: only {torch.cuda.device_count()} GPU(s) visible")
    return dev


def add_device_arg(p: argparse.ArgumentParser) -> None:
    """``--device`` for a command that runs models (the CLI's main() applies it before any work)."""
    p.add_argument("--device", default="cpu", metavar="DEV",
                   help="where models run: cpu (default), cuda or cuda:N; data and bookkeeping stay on CPU "
                        "(exit 2 when that device is not available here)")


def use_device(name: str) -> torch.device:
    """Set the process's model device (the CLI calls this once, before any work)."""
    global _current
    _current = resolve_device(name)
    return _current


def current_device() -> torch.device:
    return _current


def _move(tree: Any, device: torch.device) -> Any:
    return tree_map(lambda v: v.to(device) if isinstance(v, torch.Tensor) else v, tree)


def _inputs_in(module: nn.Module, args, kwargs):
    first = next((v for v in list(args) + list(kwargs.values()) if isinstance(v, torch.Tensor)), None)
    module._caller_device = first.device if first is not None else torch.device("cpu")
    dev = next(module.parameters()).device
    return _move(args, dev), _move(kwargs, dev)


def _outputs_out(module: nn.Module, args, kwargs, output):
    return _move(output, module._caller_device)


class _BoundedFeatures:
    """``model.features(x)`` through the same boundary (methods and tracks read features directly)."""

    def __init__(self, model: nn.Module):
        self.model = model

    def __call__(self, *args, **kwargs):
        args, kwargs = _inputs_in(self.model, args, kwargs)
        return _move(type(self.model).features(self.model, *args, **kwargs), self.model._caller_device)


def place(model: nn.Module, device: Optional[torch.device] = None) -> nn.Module:
    """``model`` on ``device`` (default: the process's, see :func:`use_device`) behind the
    boundary of the module docstring; on CPU the model is returned as it is."""
    dev = current_device() if device is None else torch.device(device)
    if dev.type == "cpu" or not any(True for _ in model.parameters()):
        return model
    return install_boundary(model.to(dev))


def install_boundary(model: nn.Module) -> nn.Module:
    """Hooks that move inputs to the parameters' device and outputs back (once per model)."""
    if not getattr(model, "_device_boundary", False):
        model.register_forward_pre_hook(_inputs_in, with_kwargs=True)
        model.register_forward_hook(_outputs_out, with_kwargs=True)
        if callable(getattr(type(model), "features", None)):
            model.features = _BoundedFeatures(model)
        model._device_boundary = True
    return model
