"""The pre-training losses of seed 001 §2.4 / Table 1, on projector outputs of two views.

- NT-Xent (SimCLR, Chen et al. 2020, eq. 1; seed eq. 11): cosine similarities over the 2N views,
  temperature τ, each view's positive is its twin, the other 2N − 2 views are negatives; mean of
  ℓ(i, j) and ℓ(j, i) over all N pairs (the seed's footnote 3 symmetric sum, divided by 2N).
  With ``labels`` (supervised SimCLR, seed §4.1): views of other images of the anchor's class
  are left out of the denominator, so only other classes are negatives.
- SimSiam (Chen & He 2021, eqs. 15-17): ½ D(p₁, sg(z₂)) + ½ D(p₂, sg(z₁)), D = −cosine, averaged.
- Barlow Twins (Zbontar et al. 2021, eq. 1-2; seed eqs. 12-13): C from the two views' outputs,
  each dimension standardised along the batch (the paper's implementation: BatchNorm without
  affine, i.e. centred, divided by the biased std), Σᵢ(1 − Cᵢᵢ)² + λ Σᵢ Σ_{j≠i} Cᵢⱼ², λ = 5·10⁻³.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

SIMCLR_TEMPERATURE = 0.5  # SimCLR's CIFAR-10 setting (Chen et al. 2020, appendix B.9)
BARLOW_LAMBDA = 5e-3  # Zbontar et al. 2021, §2 ("λ = 5·10⁻³")


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = SIMCLR_TEMPERATURE,
            labels: Optional[torch.Tensor] = None) -> torch.Tensor:
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    logits = z @ z.t() / temperature
    twin = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
    excluded = torch.eye(2 * n, dtype=torch.bool, device=z.device)  # k ≠ i
    if labels is not None:
        y = torch.cat([labels, labels]).to(z.device)
        excluded |= y[:, None] == y[None, :]
        excluded[torch.arange(2 * n, device=z.device), twin] = False  # the positive stays
    logits = logits.masked_fill(excluded, float("-inf"))
    return F.cross_entropy(logits, twin)


def negative_cosine(p: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """SimSiam's D(p, sg(z)) per sample: the stop-gradient is part of the definition (eq. 16)."""
    return -F.cosine_similarity(p, z.detach(), dim=1)


def simsiam(p1: torch.Tensor, p2: torch.Tensor, z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
    return (0.5 * negative_cosine(p1, z2) + 0.5 * negative_cosine(p2, z1)).mean()


def cross_correlation(z1: torch.Tensor, z2: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """C [D, D] along the batch of per-dimension standardised outputs (BatchNorm1d(affine=False),
    its eps included, as the paper's code)."""
    def standardise(z):
        return (z - z.mean(0)) / torch.sqrt(z.var(0, unbiased=False) + eps)

    return standardise(z1).t() @ standardise(z2) / z1.shape[0]


def barlow_twins(z1: torch.Tensor, z2: torch.Tensor, lam: float = BARLOW_LAMBDA) -> torch.Tensor:
    c = cross_correlation(z1, z2)
    on = torch.diagonal(c)
    return (1 - on).pow(2).sum() + lam * (c.pow(2).sum() - on.pow(2).sum())
