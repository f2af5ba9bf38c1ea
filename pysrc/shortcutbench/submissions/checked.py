"""Every output of every model call checked, on every track: a submission that is well behaved
on the validation batch and returns NaN or a wrong shape on another is stopped, not scored."""
from __future__ import annotations

import torch
import torch.nn as nn

from ..errors import UsageError
from .format import NUM_CLASSES
from .ipc import ChannelError


class OutputError(UsageError):
    """A model call broke the output contract; the message names the call and its batch."""


class CheckedModel(nn.Module):
    """``inner`` with a check after each call: a tensor ``[B, n_classes]`` of the input's floating
    dtype, finite. ``where`` prefixes the error (e.g. the track)."""

    def __init__(self, inner: nn.Module, where: str, n_classes: int = NUM_CLASSES):
        super().__init__()
        self.inner, self.where, self.n_classes = inner, where, n_classes
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        batch = f"{self.where}: model call {self.calls} (batch of {x.shape[0]}, input {list(x.shape)})"
        try:
            y = self.inner(x)
        except (UsageError, ChannelError):  # a stage's time limit or a dead sandbox: reported by the stage
            raise
        except Exception as exc:  # the model's own error (here or in the sandbox): one line
            text = str(exc).strip().splitlines()
            raise OutputError(f"{batch} raised {type(exc).__name__}: {text[0] if text else ''}") from None
        if not isinstance(y, torch.Tensor):
            raise OutputError(f"{batch} returned {type(y).__name__}, expected a logits tensor")
        if tuple(y.shape) != (x.shape[0], self.n_classes):
            raise OutputError(f"{batch} returned shape {list(y.shape)}, expected [{x.shape[0]}, {self.n_classes}]")
        if y.dtype != x.dtype:
            raise OutputError(f"{batch} returned dtype {str(y.dtype).removeprefix('torch.')}, expected "
                              f"{str(x.dtype).removeprefix('torch.')} (the input's)")
        bad = int((~torch.isfinite(y.detach())).sum())
        if bad:
            raise OutputError(f"{batch} returned {bad} NaN/Inf value(s) of {y.numel()}")
        return y
