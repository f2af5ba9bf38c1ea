import warnings

import pytest
import torch

from shortcutbench.errors import UsageError
from shortcutbench.invariance.distances import distance, l2, linf, ssim, success_curve


@pytest.mark.parametrize("shape", [(3, 3, 28, 28), (2, 3, 32, 32), (2, 1, 4, 4)])
def test_ssim_matches_pytorch_msssim(shape):
    pm = pytest.importorskip("pytorch_msssim")
    g = torch.Generator().manual_seed(0)
    x = torch.rand(shape, generator=g)
    y = (x + 0.2 * torch.randn(shape, generator=g)).clamp(0, 1)
    with warnings.catch_warnings():  # pytorch-msssim warns that 4 px < window
        warnings.simplefilter("ignore")
        ref = pm.ssim(x.double(), y.double(), data_range=1.0, size_average=False)
    torch.testing.assert_close(ssim(x, y), ref.float(), rtol=1e-5, atol=1e-6)


def test_ssim_closed_form_cases():
    x = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(ssim(x, x), torch.ones(2))  # identity
    a, b = torch.full((1, 1, 16, 16), 0.2), torch.full((1, 1, 16, 16), 0.6)
    c1 = 0.01 ** 2  # constant images: only the luminance term, (2μxμy + C1)/(μx² + μy² + C1)
    torch.testing.assert_close(ssim(a, b), torch.tensor([(2 * 0.12 + c1) / (0.04 + 0.36 + c1)]))


def test_distance_properties():
    g = torch.Generator().manual_seed(2)
    x = torch.rand(4, 3, 28, 28, generator=g)
    noise = torch.randn(4, 3, 28, 28, generator=g)
    for name in ("ssim", "l2", "linf"):
        assert distance(name, x, x).abs().max() < 1e-6
        torch.testing.assert_close(distance(name, x, x + 0.1 * noise), distance(name, x + 0.1 * noise, x))
        d = [distance(name, x, x + s * noise).mean() for s in (0.05, 0.1, 0.2)]
        assert d[0] < d[1] < d[2]
    torch.testing.assert_close(l2(x, x + 0.5), torch.full((4,), 0.5 * (3 * 28 * 28) ** 0.5))
    torch.testing.assert_close(linf(x, x - 0.25), torch.full((4,), 0.25))


def test_lpips_without_weights_is_a_clear_usage_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    x = torch.rand(1, 3, 8, 8)
    with pytest.raises(UsageError, match="lpips"):
        distance("lpips", x, x)
    with pytest.raises(UsageError, match="unknown distance"):
        distance("nope", x, x)


def test_success_curve():
    d = torch.tensor([0.01, 0.05, float("nan"), 0.2])
    assert success_curve(d, [0.02, 0.1, 1.0]) == [0.25, 0.5, 0.75]
