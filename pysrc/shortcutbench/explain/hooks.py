"""Addressing a layer by module name and capturing its output for gradients.

Module backward hooks break under in-place ReLU (pytorch-grad-cam #147/#185, pytorch/pytorch#61519).
Instead a forward hook keeps the layer's output tensor and hands the rest of the network a copy,
so a later in-place op changes the copy, never the tensor we differentiate with respect to;
``torch.autograd.grad(score, capture.live)`` then runs the backward pass only down to that layer
(no input or weight gradients, nothing accumulated in ``.grad``).
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Dict, Iterator, Optional

import torch
import torch.nn as nn

from ..utils.threads import single_thread  # noqa: F401  (re-exported)

from ..errors import UsageError


def get_module(model: nn.Module, name: str) -> nn.Module:
    modules: Dict[str, nn.Module] = dict(model.named_modules())
    if name not in modules or name == "":
        known = ", ".join(n for n in modules if n)
        raise UsageError(f"model has no layer {name!r} (layers: {known})")
    return modules[name]


class Capture:
    """What one forward pass saw at a layer: ``activation`` (a detached copy, taken before any
    later in-place op) and ``live`` (the graph-attached output, when gradients are wanted)."""

    def __init__(self) -> None:
        self.activation: Optional[torch.Tensor] = None
        self.live: Optional[torch.Tensor] = None


@contextmanager
def capture(model: nn.Module, layer: str, want_grad: bool = True) -> Iterator[Capture]:
    cap = Capture()

    def fwd(_module, _inputs, output):
        cap.activation = output.detach().clone()
        if want_grad and output.requires_grad:
            cap.live = output
            return output.clone()  # later in-place ops act on the copy
        return None

    handle = get_module(model, layer).register_forward_hook(fwd)
    try:
        yield cap
    finally:
        handle.remove()


@contextmanager
def replace_output(model: nn.Module, layer: str, fn: Callable[[torch.Tensor], torch.Tensor]) -> Iterator[None]:
    """Run the rest of the network on ``fn(output)`` of ``layer`` (SAE splicing, interventions)."""
    handle = get_module(model, layer).register_forward_hook(lambda _m, _i, out: fn(out))
    try:
        yield
    finally:
        handle.remove()


class _Stop(Exception):
    def __init__(self, out):
        self.out = out


def live_output(model: nn.Module, layer: str, x: torch.Tensor) -> torch.Tensor:
    """The output of ``layer`` for input x, still attached to the autograd graph; the forward pass
    stops there (the layers above are never run)."""
    def stop(_m, _i, out):
        raise _Stop(out)

    handle = get_module(model, layer).register_forward_hook(stop)
    try:
        model(x)
    except _Stop as s:
        return s.out
    finally:
        handle.remove()
    raise UsageError(f"layer {layer!r} did not run in the forward pass")
