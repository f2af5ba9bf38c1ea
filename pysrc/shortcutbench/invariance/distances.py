"""Success distances for NSPGD (seed 004 §3: success when d(x, x_t) < d).

The seed uses LPIPS-Alex, whose AlexNet trunk is downloaded at construction (research
invariance_lt.md §4), so the offline default is 1 − SSIM with data_range 1 (Gaussian window 11,
σ 1.5, K = (0.01, 0.03), valid convolution: Wang et al. 2004, the pytorch-msssim conventions). ℓ2
and ℓ∞ are per-sample norms of x − y. LPIPS is used only when its trunk file is already on disk.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Dict

import torch
import torch.nn.functional as F

from ..errors import UsageError


def _gauss_window(size: int, sigma: float, dtype, device) -> torch.Tensor:
    r = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2
    w = torch.exp(-(r ** 2) / (2 * sigma ** 2))
    return w / w.sum()


def _blur(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Separable valid Gaussian filter per channel; a side shorter than the window is not filtered
    (pytorch-msssim's rule)."""
    c = x.shape[1]
    if x.shape[2] >= w.numel():
        x = F.conv2d(x, w.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
    if x.shape[3] >= w.numel():
        x = F.conv2d(x, w.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return x


def ssim(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0, win_size: int = 11, sigma: float = 1.5,
         k1: float = 0.01, k2: float = 0.03) -> torch.Tensor:
    """Per-sample SSIM of images [B, C, H, W] (mean over channels and valid positions)."""
    if x.shape != y.shape or x.dim() != 4:
        raise ValueError(f"ssim needs two [B, C, H, W] tensors of one shape, got {tuple(x.shape)}, {tuple(y.shape)}")
    x, y = x.double(), y.double()
    w = _gauss_window(win_size, sigma, x.dtype, x.device)
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    mx, my = _blur(x, w), _blur(y, w)
    sxx = _blur(x * x, w) - mx * mx
    syy = _blur(y * y, w) - my * my
    sxy = _blur(x * y, w) - mx * my
    cs = (2 * sxy + c2) / (sxx + syy + c2)
    lum = (2 * mx * my + c1) / (mx * mx + my * my + c1)
    return (lum * cs).flatten(1).mean(1).float()


def one_minus_ssim(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return 1.0 - ssim(x, y)


def l2(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (x - y).flatten(1).norm(dim=1)


def linf(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (x - y).flatten(1).abs().amax(dim=1)


_ALEX = "alexnet-owt-7be5be79.pth"


def _torch_home() -> Path:
    return Path(os.environ.get("TORCH_HOME", Path.home() / ".cache" / "torch"))


def lpips_alex(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """LPIPS-Alex on [0,1] images (1-channel/3-channel; grey is repeated, as the authors' code)."""
    trunk = _torch_home() / "hub" / "checkpoints" / _ALEX
    try:
        import lpips  # type: ignore
    except ImportError:
        raise UsageError("distance 'lpips' needs the `lpips` package (pip install --no-deps lpips) and the "
                         f"AlexNet trunk at {trunk}; offline use distance=ssim") from None
    if not trunk.is_file():
        raise UsageError(f"distance 'lpips' needs the AlexNet trunk at {trunk} (nothing is downloaded at run time); "
                         "use distance=ssim")
    net = _lpips_net(lpips)
    if x.shape[1] == 1:
        x, y = x.repeat(1, 3, 1, 1), y.repeat(1, 3, 1, 1)
    with torch.no_grad():
        return net(2 * x - 1, 2 * y - 1).flatten()


_LPIPS = {}


def _lpips_net(lpips_mod):
    if "alex" not in _LPIPS:
        _LPIPS["alex"] = lpips_mod.LPIPS(net="alex", verbose=False).eval()
    return _LPIPS["alex"]


DISTANCES: Dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "ssim": one_minus_ssim, "l2": l2, "linf": linf, "lpips": lpips_alex,
}


def distance(name: str, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    if name not in DISTANCES:
        raise UsageError(f"unknown distance {name!r}; choose one of {sorted(DISTANCES)}")
    return DISTANCES[name](x, y)


def success_curve(dist: torch.Tensor, thresholds) -> list:
    """Share of attacks with d(x, x_t) < d for each threshold d (NaN distances count as failures)."""
    d = torch.nan_to_num(dist.double(), nan=float("inf"))
    return [float((d < t).double().mean()) if d.numel() else float("nan") for t in thresholds]
