"""saga_enet op: one SAGA epoch, compiled kernel vs the torch reference (group ``saga_enet``).

n = 5k, d = 512, k = 10 (the issue's path size), batch 64, float32, one thread as the path
solver runs it. Inputs and the starting state are built outside the timed call; every round
starts from a copy of the same state.
"""
import pytest
import torch

from shortcutbench.ops.saga_enet import saga_enet_reference
from shortcutbench.testing import compiled

N, D, K, B = 5000, 512, 10, 64


@pytest.fixture(scope="module")
def problem():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(N, D, generator=g)
    y = torch.randint(0, K, (N,), generator=g)
    order = torch.randperm(N, generator=g)
    state = [torch.zeros(K, D), torch.zeros(K), torch.zeros(N, K), torch.zeros(K, D), torch.zeros(K)]
    return X, y, order, state


def _run(fn, problem):
    X, y, order, state = problem
    st = [t.clone() for t in state]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        out = fn(X, y, torch.empty(0), order, *st, 0.05, 1e-3, 0.99, B, "multinomial", False, N, -1.0)
    finally:
        torch.set_num_threads(threads)
    return out, st


@pytest.mark.benchmark(group="saga_enet")
def bench_saga_enet_compiled(benchmark, problem):
    if not compiled("saga_enet", torch.device("cpu")):
        pytest.skip("saga_enet not compiled")
    out, st = benchmark(_run, torch.ops.shortcutbench.saga_enet, problem)
    _, st_ref = _run(saga_enet_reference, problem)
    torch.testing.assert_close(st[0], st_ref[0], rtol=1e-4, atol=1e-5)
    assert out[1] == -(-N // B)


@pytest.mark.benchmark(group="saga_enet")
def bench_saga_enet_reference_baseline(benchmark, problem):
    out, _ = benchmark(_run, saga_enet_reference, problem)
    assert out[1] == -(-N // B)
