"""pgd_step op: compiled fused kernel vs the pure-torch reference (group ``pgd_step``), on an
attack-sized batch (1,000 Colored-MNIST-shaped images, ℓ∞ and ℓ2, APGD momentum)."""
import pytest
import torch

from shortcutbench.ops.pgd_step import pgd_step_reference
from shortcutbench.testing import compiled


def _state(l2, b=1000):
    g = torch.Generator().manual_seed(0)
    x0 = torch.rand(b, 3, 28, 28, generator=g)
    x = (x0 + 0.05 * (2 * torch.rand(x0.shape, generator=g) - 1)).clamp(0, 1)
    return dict(x=x, x_prev=x.clone(), grad=torch.randn(x0.shape, generator=g), x_orig=x0,
                eps=torch.full((b,), 0.1), step=torch.full((b,), 0.02), loss=torch.randn(b, generator=g),
                success=torch.rand(b, generator=g) > 0.9, restore=torch.rand(b, generator=g) > 0.9,
                best_loss=torch.randn(b, generator=g), best_x=x0.clone(), best_grad=torch.zeros_like(x0),
                adv_x=x0.clone())


def _run(fn, st):
    return fn(st["x"], st["x_prev"], st["grad"], st["x_orig"], st["eps"], st["step"], st["loss"], st["success"],
              st["restore"], st["best_loss"], st["best_x"], st["best_grad"], st["adv_x"], 0.75, st["l2"])


@pytest.mark.parametrize("l2", [False, True])
@pytest.mark.benchmark(group="pgd_step")
def bench_pgd_step_compiled(benchmark, l2):
    if not compiled("pgd_step", torch.device("cpu")):
        pytest.skip("pgd_step not compiled")
    st = dict(_state(l2), l2=l2)
    out = benchmark(_run, torch.ops.shortcutbench.pgd_step, st)
    assert out.shape == st["x"].shape
    # the timed calls mutate their state; check one call on fresh state against the reference
    got = _run(torch.ops.shortcutbench.pgd_step, dict(_state(l2), l2=l2))
    torch.testing.assert_close(got, _run(pgd_step_reference, dict(_state(l2), l2=l2)), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("l2", [False, True])
@pytest.mark.benchmark(group="pgd_step")
def bench_pgd_step_reference_baseline(benchmark, l2):
    st = dict(_state(l2), l2=l2)
    out = benchmark(_run, pgd_step_reference, st)
    assert out.shape == st["x"].shape and 0 <= out.min() and out.max() <= 1
