"""lt_extended: one fused pass over an index range of an extended toy set (seed 001 §6.2)
through the 2-filter conv + global max-pool model: summed cross-entropy, its gradient w.r.t. the
filters (and bias), the number classified correctly, the minimum margin and, on request, the
first misclassified indices. The enumeration is defined by :func:`lt_decode`.

Conventions (shared by kernel and reference): logits [l0, l1] = max over positions of each
filter's map (+ bias); the prediction is argmax with ties going to class 0 (torch.argmax);
margin = l_true − l_other; the gradient of a filter's max flows to its first maximal position
(torch.max semantics). Sums are float64; pre-activations are in the weight's dtype.
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import torch
import torch.nn.functional as F

from .. import _ext


class LTPass(NamedTuple):
    loss_sum: torch.Tensor  # float64 []
    grad_weight: torch.Tensor  # float64 [2, k, k]
    grad_bias: torch.Tensor  # float64 [2]
    correct: torch.Tensor  # int64 []
    min_margin: torch.Tensor  # float64 []
    misclassified: torch.Tensor  # int64 [m], ascending, the first max_misclassified


def lt_decode(bases: torch.Tensor, pixels: torch.Tensor, offsets: torch.Tensor, index: torch.Tensor,
              clip: bool = False) -> torch.Tensor:
    """Samples ``index`` [M] → images [M, n, n]: base ``i // K^P``; digit d of ``i % K^P``
    (least significant first) adds ``offsets[b, d, digit]`` to canvas pixel ``pixels[b, d]``;
    with ``clip`` every pixel is clamped to [0, 1] afterwards."""
    index = index.to(torch.int64)
    radix, digits = offsets.shape[2], pixels.shape[1]
    per = radix ** digits
    b = torch.div(index, per, rounding_mode="floor")
    code = index - b * per
    imgs = bases[b].flatten(1).clone()
    for d in range(digits):
        digit = code % radix
        code = torch.div(code, radix, rounding_mode="floor")
        imgs.scatter_add_(1, pixels[b, d][:, None], offsets[b, d, digit][:, None])
    if clip:
        imgs = imgs.clamp(0.0, 1.0)
    return imgs.view(-1, *bases.shape[1:])


def lt_extended_reference(bases, labels, pixels, offsets, weight, bias=None, start: int = 0,
                          stop: Optional[int] = None, clip: bool = False, with_loss: bool = True,
                          with_grad: bool = True, max_misclassified: int = 0, chunk: int = 1 << 15) -> LTPass:
    """Chunked pure torch: materialise ``chunk`` samples at a time, conv2d and max in the weight's
    dtype, then cross-entropy and its gradient (dL/dlogit = softmax − onehot, times the patch at
    each filter's argmax window) accumulated in float64. Slow by design — it is the definition."""
    per = offsets.shape[2] ** pixels.shape[1]
    total = bases.shape[0] * per
    stop = total if stop is None else stop
    if not 0 <= start <= stop <= total:
        raise ValueError(f"need 0 <= start <= stop <= {total}, got [{start}, {stop})")
    k = weight.shape[-1]
    with_loss = with_loss or with_grad
    loss = torch.zeros((), dtype=torch.float64)
    gw = torch.zeros(2, k * k, dtype=torch.float64)
    gb = torch.zeros(2, dtype=torch.float64)
    correct = 0
    min_margin = torch.tensor(float("inf"), dtype=torch.float64)
    wrong, n_wrong = [], 0
    n = bases.shape[-1]
    s = n - k + 1  # windows[q] = flat canvas indices of pooling window q, row-major taps
    taps = (torch.arange(k)[:, None] * n + torch.arange(k)[None, :]).flatten()
    windows = ((torch.arange(s)[:, None] * n + torch.arange(s)[None, :]).flatten()[:, None] + taps[None, :])
    for lo in range(start, stop, chunk):
        idx = torch.arange(lo, min(lo + chunk, stop), dtype=torch.int64)
        x = lt_decode(bases, pixels, offsets, idx, clip).unsqueeze(1)
        y = labels[torch.div(idx, per, rounding_mode="floor")]
        values, argmax = F.conv2d(x, weight.unsqueeze(1)).flatten(2).max(2)  # first maximal position
        logits = values if bias is None else values + bias
        if with_loss:
            loss += F.cross_entropy(logits.double(), y, reduction="sum")
        if with_grad:
            g = torch.softmax(logits.double(), 1) - F.one_hot(y, 2).double()  # dL/dlogit
            # pixels of each filter's argmax window (F.unfold is pathologically slow on tiny canvases)
            at_max = x.flatten(1).gather(1, windows[argmax].flatten(1)).view(-1, 2, k * k).double()
            gw += torch.einsum("mf,mfp->fp", g, at_max)
            gb += g.sum(0)
        ok = logits.argmax(1) == y
        correct += int(ok.sum())
        margin = logits.gather(1, y[:, None])[:, 0] - logits.gather(1, (1 - y)[:, None])[:, 0]
        min_margin = torch.minimum(min_margin, margin.min().double())
        if max_misclassified and n_wrong < max_misclassified:
            bad = idx[~ok][: max_misclassified - n_wrong]
            wrong.append(bad)
            n_wrong += bad.numel()
    mis = torch.cat(wrong) if wrong else torch.zeros(0, dtype=torch.int64)
    return LTPass(loss, gw.view(2, k, k), gb, torch.tensor(correct, dtype=torch.int64), min_margin, mis)


@_ext.register_fake("lt_extended")
def _lt_extended_fake(bases, labels, pixels, offsets, weight, bias, start, stop, clip, with_loss, with_grad,
                      max_misclassified):
    k = weight.shape[-1]
    f64 = dict(dtype=torch.float64, device=bases.device)
    i64 = dict(dtype=torch.int64, device=bases.device)
    m = torch.library.get_ctx().new_dynamic_size(min=0, max=max(int(max_misclassified), 0))  # data-dependent count
    return (torch.empty((), **f64), torch.empty(2, k, k, **f64), torch.empty(2, **f64), torch.empty((), **i64),
            torch.empty((), **f64), torch.empty(m, **i64))


def lt_extended(bases, labels, pixels, offsets, weight, bias=None, start: int = 0, stop: Optional[int] = None,
                clip: bool = False, with_loss: bool = True, with_grad: bool = True,
                max_misclassified: int = 0) -> LTPass:
    """Compiled kernel when built, else the reference (see the module docstring)."""
    total = bases.shape[0] * offsets.shape[2] ** pixels.shape[1]
    stop = total if stop is None else stop
    if _ext.use_compiled("lt_extended", bases.device):
        out = torch.ops.shortcutbench.lt_extended(bases, labels, pixels, offsets, weight, bias, int(start), int(stop),
                                                  clip, with_loss, with_grad, int(max_misclassified))
        return LTPass(*out)
    return lt_extended_reference(bases, labels, pixels, offsets, weight, bias, start, stop, clip, with_loss,
                                 with_grad, max_misclassified)
