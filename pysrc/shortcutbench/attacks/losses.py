"""Per-sample attack losses on logits z [B, C] (research/adversarial.md §3). Every loss is one an
attack *maximises*; gradients are taken of the sum, so samples do not interact."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

from ..errors import UsageError


def _check_classes(z: torch.Tensor, need: int, what: str) -> None:
    if z.shape[1] < need:
        raise UsageError(f"{what} needs at least {need} classes, the model outputs {z.shape[1]}")


def ce_loss(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Untargeted: cross-entropy of the true class (maximised)."""
    return F.cross_entropy(z, y, reduction="none")


def targeted_ce_loss(z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Targeted: log p_t (= −CE to the target), maximised; exp(loss) is the target's confidence."""
    return -F.cross_entropy(z, t, reduction="none")


def dlr_loss(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """DLR = −(z_y − max_{i≠y} z_i) / (z_π1 − z_π3 + 1e−12) (Croce & Hein 2020, eq. 5)."""
    _check_classes(z, 3, "the DLR loss")
    zs, _ = z.sort(dim=1, descending=True)
    zy = z.gather(1, y[:, None]).squeeze(1)
    other = z.scatter(1, y[:, None], float("-inf")).amax(dim=1)
    return -(zy - other) / (zs[:, 0] - zs[:, 2] + 1e-12)


def targeted_dlr_loss(z: torch.Tensor, y: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Targeted DLR = −(z_y − z_t) / (z_π1 − ½(z_π3 + z_π4) + 1e−12) (Croce & Hein 2020, §4)."""
    _check_classes(z, 4, "the targeted DLR loss")
    zs, _ = z.sort(dim=1, descending=True)
    zy = z.gather(1, y[:, None]).squeeze(1)
    zt = z.gather(1, t[:, None]).squeeze(1)
    return -(zy - zt) / (zs[:, 0] - 0.5 * (zs[:, 2] + zs[:, 3]) + 1e-12)


def margin(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """z_y − max_{j≠y} z_j: positive iff correctly classified (Square minimises it)."""
    zy = z.gather(1, y[:, None]).squeeze(1)
    return zy - z.scatter(1, y[:, None], float("-inf")).amax(dim=1)


def other_confidence_loss(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """max_{k≠y} p_k: the most confident wrong class (Stutz et al. 2020's CCAT evaluation attack,
    "F7P" in their code; research/invariance_lt.md §3). Maximised, it seeks *confident* mistakes."""
    return torch.softmax(z, dim=1).scatter(1, y[:, None], -1.0).amax(dim=1)


def target_confidence_loss(z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Targeted: p_t, the target's confidence (maximised)."""
    return torch.softmax(z, dim=1).gather(1, t[:, None]).squeeze(1)


# name → (untargeted loss(z, y), targeted loss(z, y, t))
_LOSSES = {
    "ce": (ce_loss, lambda z, y, t: targeted_ce_loss(z, t)),
    "dlr": (dlr_loss, targeted_dlr_loss),
    "conf": (other_confidence_loss, lambda z, y, t: target_confidence_loss(z, t)),
}
LOSSES = tuple(_LOSSES)


def attack_loss(name: str, z: torch.Tensor, y: torch.Tensor, t: Optional[torch.Tensor]) -> torch.Tensor:
    """The loss an attack maximises: untargeted when t is None, else towards t."""
    if name not in _LOSSES:
        raise UsageError(f"unknown attack loss {name!r} (known: {', '.join(LOSSES)})")
    untargeted, targeted = _LOSSES[name]
    return untargeted(z, y) if t is None else targeted(z, y, t)
