"""The model as attacks evaluate it (the gradient engine and Square's forward passes): the same
function, computed in fewer operations.

Profiling APGD on the zoo's LazyCNN (README, "Where an attack's time goes") put ~95% of the time
in the model's forward + backward and more than half of that in ReLU → max-pool: the NCHW CPU
max-pool is scalar code, and the ReLU and its backward run on 4× more elements than the pool
emits. Two rewrites fix that without touching the model:

- **pool before ReLU.** max and ReLU commute (ReLU is non-decreasing), so
  ``max_pool(relu(a)) == relu(max_pool(a))`` exactly, and so is the input gradient: where the
  window's max is > 0 both pick the same (first) arg-max, elsewhere ReLU's gradient is 0 in
  both. The ReLU then runs on the pooled tensor.
- **channels_last input.** oneDNN's convolutions and the vectorised max-pool run on NHWC; the
  input is converted inside the graph (the engine makes the gradient contiguous again). This
  changes the convolutions' summation order (logits differ by ~1e-6, not bit for bit).

The view is a ``torch.fx`` graph over the model's own submodules (weights shared, never
copied), built once per model. It is used only where it is the same function: a model in eval
mode without hooks that fx can trace; anything else gets the model itself.
"""
from __future__ import annotations

import os
import weakref
from typing import Callable, Optional

import torch
import torch.fx as fx
import torch.nn as nn
import torch.nn.functional as F

_RELUS = (F.relu, torch.relu)
_POOLS = (F.max_pool2d, torch.max_pool2d)
_VIEWS: "weakref.WeakKeyDictionary[nn.Module, Optional[fx.GraphModule]]" = weakref.WeakKeyDictionary()


def _is_relu(gm: fx.GraphModule, node: fx.Node) -> bool:
    if node.op == "call_module":
        return type(gm.get_submodule(node.target)) is nn.ReLU
    if node.op == "call_function":
        return node.target in _RELUS
    return node.op == "call_method" and node.target == "relu"


def _pool_args(gm: fx.GraphModule, node: fx.Node) -> Optional[dict]:
    """kernel_size/stride of a plain max-pool node (no padding, dilation, ceil mode or indices)."""
    if node.op == "call_module" and type(gm.get_submodule(node.target)) is nn.MaxPool2d:
        p = gm.get_submodule(node.target)
        cfg = dict(kernel_size=p.kernel_size, stride=p.stride, padding=p.padding, dilation=p.dilation,
                   ceil_mode=p.ceil_mode, return_indices=p.return_indices)
    elif node.op == "call_function" and node.target in _POOLS:
        names = ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices")
        cfg = {**dict(zip(names, node.args[1:])), **node.kwargs}
    else:
        return None
    plain = (cfg.get("padding", 0) in (0, (0, 0)) and cfg.get("dilation", 1) in (1, (1, 1))
             and not cfg.get("ceil_mode", False) and not cfg.get("return_indices", False))
    return {"kernel_size": cfg["kernel_size"], "stride": cfg.get("stride") or cfg["kernel_size"]} if plain else None


def pool_before_relu(gm: fx.GraphModule) -> int:
    """Rewrite every ReLU → max-pool (the ReLU used only by the pool) as max-pool → ReLU; returns
    how many were rewritten."""
    count = 0
    for node in list(gm.graph.nodes):
        pool = _pool_args(gm, node)
        relu = node.args[0] if pool is not None and node.args else None
        if not isinstance(relu, fx.Node) or not _is_relu(gm, relu) or len(relu.users) != 1:
            continue
        with gm.graph.inserting_before(node):
            pooled = gm.graph.call_function(F.max_pool2d, (relu.args[0],), pool)
            act = gm.graph.call_function(F.relu, (pooled,))
        node.replace_all_uses_with(act)
        gm.graph.erase_node(node)
        gm.graph.erase_node(relu)
        count += 1
    gm.graph.lint()
    gm.recompile()
    return count


class _ChannelsLast(nn.Module):
    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fast = x.dim() == 4 and x.dtype == torch.float32  # oneDNN's NHWC kernels; float64 gains nothing
        return self.inner(x.contiguous(memory_format=torch.channels_last) if fast else x)


def _has_hooks(model: nn.Module) -> bool:
    return any(m._forward_hooks or m._forward_pre_hooks or m._backward_hooks
               or getattr(m, "_backward_pre_hooks", None) for m in model.modules())


def _build(model: nn.Module) -> Optional[nn.Module]:
    try:
        gm = fx.symbolic_trace(model)
    except Exception:  # data-dependent control flow etc.: the model itself is the view
        return None
    pool_before_relu(gm)
    return _ChannelsLast(gm)


def gradient_view(model: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """The function ``model`` computes, rewritten for cheap forward + input-gradient passes
    (module docstring); ``model`` itself where a rewrite could differ from it (a plain function,
    train mode, hooks, not traceable) or where ``SHORTCUTBENCH_PLAIN_ATTACK_MODEL=1``."""
    if not isinstance(model, nn.Module) or model.training or _has_hooks(model) or os.environ.get("SHORTCUTBENCH_PLAIN_ATTACK_MODEL") == "1":
        return model
    if model not in _VIEWS:
        _VIEWS[model] = _build(model)
    return _VIEWS[model] or model
