"""Small inputs for every op in three layouts, shared by the op-contract tests (test_contract.py).

``CASES[op](layout, device)`` → :class:`Case`. Layouts: ``"contiguous"``; ``"strided"``
(channels_last for image batches, transposed or sliced views elsewhere, mutated arguments
included); ``"empty"`` (a size-0 batch, or no work: no rows visited, no λ, no columns).
``grad_arg`` names a float input that is not updated in place, set to require grad for opcheck's
autograd-registration test.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, Tuple

import torch

LAYOUTS = ("contiguous", "strided", "empty")


@dataclass
class Case:
    args: Tuple
    grad_arg: int  # index of a non-mutated float tensor argument
    tol: Dict = field(default_factory=lambda: dict(rtol=1e-5, atol=1e-6))
    skip_out: Tuple[int, ...] = ()  # outputs whose last column is wall-clock seconds (compared without it)
    # opcheck utilities that compare outputs exactly and so cannot pass with a seconds column; the
    # AOT path is then checked by test_inside_torch_compile, which drops that column
    opcheck_skip: Tuple[str, ...] = ()


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _strided(t: torch.Tensor) -> torch.Tensor:
    """The same values in a non-contiguous layout: channels_last for 4-d, else a transposed copy."""
    if t.dim() == 4:
        return t.contiguous(memory_format=torch.channels_last)
    if t.dim() >= 2:
        return t.transpose(-1, -2).contiguous().transpose(-1, -2)
    return torch.stack([t, t], 1)[:, 0]  # every other element of a buffer


def _layout(args, layout, device):
    out = []
    for a in args:
        if isinstance(a, torch.Tensor):
            a = a.to(device)
            if layout == "strided" and a.numel() > 1 and a.is_floating_point():
                a = _strided(a)
        out.append(a)
    assert layout != "strided" or any(isinstance(a, torch.Tensor) and not a.is_contiguous() for a in out)
    return tuple(out)


def colorize(layout, device):
    n = 0 if layout == "empty" else 4
    g = _gen()
    gray, color = torch.rand(n, 6, 5, generator=g), torch.rand(n, 3, generator=g)
    return Case(_layout((gray, color, True), layout, device), grad_arg=1)


def lt_extended(layout, device):
    g = _gen()
    B = 0 if layout == "empty" else 2
    bases = torch.rand(B, 5, 5, generator=g)
    labels = torch.tensor([0, 1])[:B]
    pixels = torch.stack([torch.randperm(25, generator=g)[:3] for _ in range(2)])[:B]  # distinct per row
    offsets = (torch.rand(B, 3, 2, generator=g) - 0.5) * 0.8
    weight, bias = torch.randn(2, 3, 3, generator=g), torch.randn(2, generator=g)
    stop = B * 2 ** 3
    return Case(_layout((bases, labels, pixels, offsets, weight, bias, 0, stop, True, True, True, 5), layout, device),
                grad_arg=4, tol=dict(rtol=1e-5, atol=1e-5))


def nullspace_project(layout, device):
    B = 0 if layout == "empty" else 5
    g = _gen()
    v, J = torch.randn(B, 7, generator=g), torch.randn(B, 2, 7, generator=g)
    return Case(_layout((v, J, False, 1e-6), layout, device), grad_arg=0)


def pgd_step(layout, device):
    b = 0 if layout == "empty" else 3
    g = _gen()
    r = lambda *s: torch.rand(*s, generator=g)  # noqa: E731
    img = (b, 3, 4, 4)
    x0 = r(*img)
    x = (x0 + (2 * r(*img) - 1) * 0.1).clamp(0, 1)
    args = (x, x.clone(), torch.randn(*img, generator=g), x0, r(b) * 0.3, r(b) * 0.2, torch.randn(b, generator=g),
            r(b) > 0.5, r(b) > 0.5, torch.randn(b, generator=g), r(*img), torch.randn(*img, generator=g), r(*img),
            0.75, False)
    return Case(_layout(args, layout, device), grad_arg=2)


def saga_enet(layout, device):
    n, d, k = 30, 6, 3
    g = _gen()
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    target = torch.randint(0, k, (n,), generator=g)
    order = torch.randperm(n, generator=g)[: 0 if layout == "empty" else n]
    small = lambda *s: 0.01 * torch.randn(*s, generator=g, dtype=torch.float64)  # noqa: E731
    zeros = lambda *s: torch.zeros(*s, dtype=torch.float64)  # noqa: E731
    args = (X, target, torch.rand(n, generator=g, dtype=torch.float64), order, small(k, d), small(k), zeros(n, k),
            zeros(k, d), zeros(k), 0.05,
            0.05, 0.5, 8, "multinomial", False, n, -1.0)
    return Case(_layout(args, layout, device), grad_arg=0, tol=dict(rtol=1e-9, atol=1e-11))


def _glm_problem(n=40, d=5, k=3):
    g = _gen()
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = torch.randint(0, k, (n,), generator=g)
    return X, y, torch.rand(n, generator=g, dtype=torch.float64) + 0.5


def enet_cd(layout, device):
    X, y, sw = _glm_problem()
    k, d = 3, X.shape[1]
    W, b = torch.zeros(k, d, dtype=torch.float64), torch.zeros(k, dtype=torch.float64)
    cols = torch.arange(0 if layout == "empty" else d)
    grad = torch.zeros(d, k, dtype=torch.float64)
    args = (X.T.contiguous(), y, sw, cols, W, b, W @ X.T + b[:, None], grad, 0.02, 0.5, 3, 1e-10, 0)
    return Case(_layout(args, layout, device), grad_arg=0, tol=dict(rtol=1e-8, atol=1e-10))


def enet_cd_path(layout, device):
    X, y, sw = _glm_problem()
    k, d = 3, X.shape[1]
    lams = torch.tensor([0.1, 0.05, 0.02], dtype=torch.float64)[: 0 if layout == "empty" else 3]
    args = (X.T.contiguous(), y, sw, torch.ones(d, dtype=torch.bool), lams, torch.zeros(k, d, dtype=torch.float64),
            torch.zeros(k, dtype=torch.float64), 0.5, 1e-6, 200, 10.0, 0, True, True)
    return Case(_layout(args, layout, device), grad_arg=0, tol=dict(rtol=1e-6, atol=1e-8), skip_out=(2,),
                opcheck_skip=("test_aot_dispatch_dynamic",))


CASES: Dict[str, Callable[[str, torch.device], Case]] = {
    "colorize": colorize, "enet_cd": enet_cd, "enet_cd_path": enet_cd_path, "lt_extended": lt_extended,
    "nullspace_project": nullspace_project, "pgd_step": pgd_step, "saga_enet": saga_enet,
}
