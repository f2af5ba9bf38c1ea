"""Sparse autoencoders on frozen classifier features (seed 000 §8).

- Features (§8.3): ``spatial_mean`` averages a [B, C, h, w] layer over space → [B, C];
  ``per_position`` samples 64 positions per image → [B·64, C] (labels repeated); the pooled
  vector ``gap`` is spatial_mean of the 1×1 gap layer.
- Standardised per dimension with μ, σ of the SAE's training features (§8.4).
- SAE (§8.2): z = ReLU(W_enc x + b_enc), x̂ = W_dec z + b_dec, K = 4·D; loss = MSE(x̂, x) (mean over
  elements) + λ·E|z| (mean over elements), λ = 1e−3; Adam lr 1e−3, 3 epochs × 150 steps of 512.
- Quality (research notes §4): L0 = E #{z_k > 0}; FVE = 1 − Σ‖x − x̂‖² / Σ‖x − μ‖² with μ the
  evaluation set's mean (not SAELens 6.18's squared-mean slip); dead = share of latents that never
  fire on the evaluation set; accuracy and CE of the classifier with x̂ spliced in.
- Splicing and interventions: a gap/spatial_mean reconstruction replaces the layer's spatial mean
  by adding (x̂ − x)·σ to every position, so the mean becomes x̂ exactly and the spatial pattern
  around it is kept; per_position replaces every position by its reconstruction. An intervention
  adds only the *change* its edit makes to the decoding, dec(z') − dec(z), so the reconstruction
  error does not count as an effect of the edit.
- Selectivity (§8.5): η² = Σ_c n_c(μ_c − μ)² / Σ_n (z_n − μ)² per latent for digit and for colour
  labels, minus its null expectation (K − 1)/(N − 1) under no association.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import UsageError
from .hooks import capture, replace_output, single_thread

MODES = ("spatial_mean", "per_position")


@dataclass(frozen=True)
class SAEConfig:
    expansion: int = 4
    l1: float = 1e-3
    lr: float = 1e-3
    epochs: int = 3
    steps_per_epoch: int = 150
    batch_size: int = 512
    positions: int = 64  # per_position samples per image
    seed: int = 0


class SparseAutoencoder(nn.Module):
    def __init__(self, d_in: int, d_latent: int):
        super().__init__()
        self.enc = nn.Linear(d_in, d_latent)
        self.dec = nn.Linear(d_latent, d_in)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.enc(x))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.dec(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


@dataclass
class Standardiser:
    mean: torch.Tensor
    std: torch.Tensor

    @classmethod
    def fit(cls, x: torch.Tensor) -> "Standardiser":
        return cls(x.mean(0), x.std(0).clamp_min(1e-6))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


@torch.no_grad()
def collect(model: nn.Module, layer: str, images: torch.Tensor, mode: str, positions: int = 64, seed: int = 0,
            batch: int = 1000) -> Tuple[torch.Tensor, torch.Tensor]:
    """(features [N', D], source image index [N']) for an SAE at ``layer`` in ``mode``."""
    if mode not in MODES:
        raise UsageError(f"unknown SAE mode {mode!r} (known: {', '.join(MODES)})")
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    feats, src = [], []
    for i in range(0, images.shape[0], batch):
        with capture(model, layer, want_grad=False) as cap:
            model(images[i:i + batch])
        a = cap.activation
        if a.dim() == 2:
            a = a[:, :, None, None]
        b, c = a.shape[:2]
        idx = torch.arange(i, i + b)
        if mode == "spatial_mean":
            feats.append(a.mean((2, 3)))
            src.append(idx)
        else:
            flat = a.flatten(2)  # [b, C, hw]
            pos = torch.randint(0, flat.shape[2], (b, positions), generator=gen)
            feats.append(flat.gather(2, pos[:, None, :].expand(b, c, positions)).permute(0, 2, 1).reshape(-1, c))
            src.append(idx.repeat_interleave(positions))
    return torch.cat(feats), torch.cat(src)


def train_sae(x: torch.Tensor, config: SAEConfig = SAEConfig()) -> SparseAutoencoder:
    """Train on standardised features x [N, D]."""
    with single_thread():
        return _train(x, config)


def _train(x: torch.Tensor, config: SAEConfig) -> SparseAutoencoder:
    gen = torch.Generator().manual_seed(config.seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        sae = SparseAutoencoder(x.shape[1], config.expansion * x.shape[1])
    opt = torch.optim.Adam(sae.parameters(), lr=config.lr)
    for _ in range(config.epochs * config.steps_per_epoch):
        xb = x[torch.randint(0, x.shape[0], (config.batch_size,), generator=gen)]
        z = sae.encode(xb)
        loss = F.mse_loss(sae.decode(z), xb) + config.l1 * z.abs().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return sae.eval()


def fraction_variance_explained(x: torch.Tensor, x_hat: torch.Tensor) -> float:
    """1 − Σ‖x − x̂‖² / Σ‖x − μ‖², μ the mean of x over the set."""
    num = (x - x_hat).pow(2).sum()
    den = (x - x.mean(0)).pow(2).sum()
    return float(1 - num / den)


@torch.no_grad()
def quality(sae: SparseAutoencoder, x: torch.Tensor) -> Dict[str, float]:
    z = sae.encode(x)
    fired = (z > 0)
    return {"l0": float(fired.sum(1).float().mean()), "fve": fraction_variance_explained(x, sae.decode(z)),
            "dead_frac": float((~fired.any(0)).float().mean()), "mse": float((x - sae.decode(z)).pow(2).mean())}


def eta_squared(z: torch.Tensor, labels: torch.Tensor, num_classes: int = 10) -> torch.Tensor:
    """[K] between-class / total sum of squares per latent (NaN for a constant latent)."""
    z = z.double()
    mu = z.mean(0)
    onehot = F.one_hot(labels, num_classes).double()  # [N, K_classes]
    n_c = onehot.sum(0)
    mu_c = (onehot.t() @ z) / n_c.clamp_min(1)[:, None]
    between = (n_c[:, None] * (mu_c - mu).pow(2)).sum(0)
    total = (z - mu).pow(2).sum(0)
    return torch.where(total > 0, between / torch.where(total > 0, total, torch.ones_like(total)),
                       torch.full_like(total, float("nan")))


def eta_null(num_classes: int, n: int) -> float:
    """E[η²] when the feature is unrelated to the labels: (K − 1)/(N − 1)."""
    return (num_classes - 1) / (n - 1)


class SplicedSAE:
    """An SAE attached to a classifier layer: encode a batch's layer output, edit the latents,
    continue the forward pass."""

    def __init__(self, model: nn.Module, layer: str, mode: str, sae: SparseAutoencoder, std: Standardiser):
        self.model, self.layer, self.mode, self.sae, self.std = model, layer, mode, sae, std

    def _per_position(self, a: torch.Tensor) -> torch.Tensor:
        return a.permute(0, 2, 3, 1).reshape(-1, a.shape[1])

    def _back(self, v: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        b, c, h, w = a.shape
        return v.reshape(b, h, w, c).permute(0, 3, 1, 2)

    def _features(self, a: torch.Tensor) -> torch.Tensor:
        a4 = a if a.dim() == 4 else a[:, :, None, None]
        return self.std(a4.mean((2, 3)) if self.mode == "spatial_mean" else self._per_position(a4))

    def _apply(self, a: torch.Tensor, new_std_feats: torch.Tensor, old_std_feats: torch.Tensor) -> torch.Tensor:
        """Add the change (new − old) in standardised units, mapped back to activation units."""
        a4 = a if a.dim() == 4 else a[:, :, None, None]
        d = (new_std_feats - old_std_feats) * self.std.std
        out = a4 + (d[:, :, None, None] if self.mode == "spatial_mean" else self._back(d, a4))
        return out if a.dim() == 4 else out[:, :, 0, 0]

    @torch.no_grad()
    def logits(self, x: torch.Tensor, edit: Optional[callable] = None, reconstruct: bool = False) -> torch.Tensor:
        """Logits with the layer's features replaced by their reconstruction (``reconstruct``)
        and/or with ``edit(z) → z'`` applied, as dec(z') − dec(z) added to the activations."""
        def fn(a):
            f = self._features(a)
            z = self.sae.encode(f)
            target = self.sae.decode(z) if reconstruct else f
            if edit is not None:
                target = target + self.sae.decode(edit(z.clone())) - self.sae.decode(z)
            return self._apply(a, target, f)

        self.model.eval()
        with replace_output(self.model, self.layer, fn):
            return self.model(x)

    @torch.no_grad()
    def latents(self, x: torch.Tensor) -> torch.Tensor:
        with capture(self.model, self.layer, want_grad=False) as cap:
            self.model(x)
        return self.sae.encode(self._features(cap.activation))
