"""NSPGD attack engine: 100 (source, target) pairs × 100 iterations, batched (one call over all
pairs, the compiled projection) vs a per-pair loop (``*_baseline``: the same attack called once per
pair, as the authors' script runs one target at a time). A two-layer MLP on 784-pixel images keeps
the model cheap, so the ratio measures the attack machinery."""
import pytest
import torch

from shortcutbench.invariance.nspgd import NSPGDConfig, nspgd
from shortcutbench.invariance.two_layer import TwoLayerMLP

PAIRS, ITERS = 100, 100


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    model = TwoLayerMLP(784, 256, 10).eval()
    g = torch.Generator().manual_seed(1)
    xs, xt = torch.rand(PAIRS, 1, 28, 28, generator=g), torch.rand(PAIRS, 1, 28, 28, generator=g)
    return model, xs, xt, NSPGDConfig(step=0.05, iters=ITERS, delta=0.5)


def _check(x, xs, xt):
    assert x.shape == xs.shape and torch.isfinite(x).all()
    assert (x - xt).norm() < (xs - xt).norm()


@pytest.mark.benchmark(group="nspgd")
def bench_nspgd_batched(benchmark, setup):
    model, xs, xt, cfg = setup
    res = benchmark.pedantic(nspgd, (model, xs, xt, cfg), rounds=3, iterations=1)
    _check(res.x, xs, xt)


@pytest.mark.benchmark(group="nspgd")
def bench_nspgd_per_pair_loop_baseline(benchmark, setup):
    model, xs, xt, cfg = setup

    def loop():
        return torch.cat([nspgd(model, xs[i:i + 1], xt[i:i + 1], cfg).x for i in range(PAIRS)])

    x = benchmark.pedantic(loop, rounds=1, iterations=1)
    _check(x, xs, xt)
