"""pgd_step: one fused, batched iteration of a projected-gradient attack (PGD, APGD).

For every sample i of a batch (all image-shaped tensors are [B, ...], per-sample tensors [B]),
given the current iterate x with its loss (to maximise), its gradient and its success flag:

1. bookkeeping: if loss > best_loss (strictly): best_loss, best_x, best_grad ← loss, x, grad;
   if success: adv_x ← x (the latest successful iterate wins, as in AutoAttack).
2. restart from the best point where ``restore`` (APGD checkpoint, research/adversarial.md §3):
   (base, g) = (best_x, best_grad) if restore else (x, grad), after step 1.
3. step and project (AutoAttack's APGD update; plain PGD is alpha = 1):
   z = P(base + step · s(g)),  s = sign (ℓ∞) or g / (‖g‖₂ + 1e-12) (ℓ2);
   x_next = P(base + alpha · (z − base) + (1 − alpha) · (base − x_prev));
   P = projection onto the ε-ball around x_orig (ℓ∞: clip; ℓ2: δ / (‖δ‖ + 1e-12) · min(ε, ‖δ‖)),
   then clamp to [0, 1].
4. x_prev ← base (the momentum's previous point for the next call).

best_loss, best_x, best_grad, adv_x and x_prev are updated in place; x_next is returned.
"""
from __future__ import annotations

import torch

from .. import _ext


def _project(v: torch.Tensor, x_orig: torch.Tensor, eps: torch.Tensor, l2: bool) -> torch.Tensor:
    """v ↦ P(v): onto the per-sample ε-ball around x_orig, then into [0, 1]. v, x_orig: [B, D]."""
    if l2:
        d = v - x_orig
        n = d.norm(dim=1, keepdim=True)
        v = x_orig + d / (n + 1e-12) * torch.minimum(eps[:, None], n)
    else:
        v = torch.minimum(torch.maximum(v, x_orig - eps[:, None]), x_orig + eps[:, None])
    return v.clamp(0.0, 1.0)


def pgd_step_reference(x, x_prev, grad, x_orig, eps, step, loss, success, restore,
                       best_loss, best_x, best_grad, adv_x, alpha: float, l2: bool) -> torch.Tensor:
    shape = x.shape
    B = shape[0]
    D = x[0].numel() if B else 0
    f = lambda t: t.reshape(B, D)  # noqa: E731
    xf, gf, xof = f(x), f(grad), f(x_orig)
    improved = loss > best_loss
    best_loss.copy_(torch.where(improved, loss, best_loss))
    best_x.copy_(torch.where(improved.view(-1, *[1] * (len(shape) - 1)), x, best_x))
    best_grad.copy_(torch.where(improved.view(-1, *[1] * (len(shape) - 1)), grad, best_grad))
    adv_x.copy_(torch.where(success.view(-1, *[1] * (len(shape) - 1)), x, adv_x))
    r = restore[:, None]
    base = torch.where(r, f(best_x), xf)
    g = torch.where(r, f(best_grad), gf)
    if l2:
        s = g / (g.norm(dim=1, keepdim=True) + 1e-12)
    else:
        s = g.sign()
    z = _project(base + step[:, None] * s, xof, eps, l2)
    nxt = _project(base + alpha * (z - base) + (1.0 - alpha) * (base - f(x_prev)), xof, eps, l2)
    x_prev.copy_(base.view(shape))
    return nxt.view(shape)


@_ext.register_fake("pgd_step")
def _pgd_step_fake(x, x_prev, grad, x_orig, eps, step, loss, success, restore, best_loss, best_x, best_grad, adv_x,
                   alpha, l2):
    return torch.empty(x.shape, dtype=x.dtype, device=x.device)  # contiguous, like the kernels and the reference


def pgd_step(x, x_prev, grad, x_orig, eps, step, loss, success, restore,
             best_loss, best_x, best_grad, adv_x, alpha: float, l2: bool) -> torch.Tensor:
    if _ext.use_compiled("pgd_step", x.device):
        return torch.ops.shortcutbench.pgd_step(x, x_prev, grad, x_orig, eps, step, loss, success, restore,
                                                best_loss, best_x, best_grad, adv_x, float(alpha), bool(l2))
    return pgd_step_reference(x, x_prev, grad, x_orig, eps, step, loss, success, restore,
                              best_loss, best_x, best_grad, adv_x, alpha, l2)
