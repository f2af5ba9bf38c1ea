"""nullspace_project op: batched compiled projection (k = 10 rows, 784-pixel images, 256 samples, the
size of NSPGD's batches of (source, target) pairs) vs the batched torch reference and vs the
per-sample ``torch.linalg`` loop one writes first (``*_baseline``). Issue 8 target: compiled ≥ 10×
faster than the per-sample loop.

Threads: the loop runs on one thread, its best: its ops are far below torch's intra-op grain, and two
threads on busy cores made it 8× slower here (spin-waiting). The compiled op is timed on one thread
and on two (OpenMP over the batch); the rank-deficient case (rows summing to zero, like the Jacobian
of all softmax confidences) checks that the kernel's fast path also covers it."""
from contextlib import contextmanager

import pytest
import torch

from shortcutbench.ops.nullspace_project import nullspace_project_reference
from shortcutbench.testing import compiled

B, K, N = 256, 10, 784


@pytest.fixture(scope="module")
def batch():
    g = torch.Generator().manual_seed(0)
    return torch.randn(B, N, generator=g), torch.randn(B, K, N, generator=g)


@pytest.fixture(scope="module")
def rank_deficient(batch):
    v, J = batch
    J = J.clone()
    J[:, -1] = -J[:, :-1].sum(1)
    return v, J


@contextmanager
def threads(n):
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def per_sample_linalg_loop(v, J):
    out = torch.empty_like(v)
    for b in range(v.shape[0]):
        Jb = J[b]
        out[b] = v[b] - Jb.T @ torch.linalg.solve(Jb @ Jb.T, Jb @ v[b])
    return out


def _check(out, v, J):
    assert torch.einsum("bkn,bn->bk", J.double(), out.double()).abs().max() < 1e-2
    assert out.shape == v.shape


def _compiled(benchmark, v, J, n_threads):
    if not compiled("nullspace_project", torch.device("cpu")):
        pytest.skip("nullspace_project not compiled")
    with threads(n_threads):
        out = benchmark(torch.ops.shortcutbench.nullspace_project, v, J, False, 1e-6)
    _check(out, v, J)


@pytest.mark.benchmark(group="nullspace_project")
def bench_nullspace_project_compiled_1thread(benchmark, batch):
    _compiled(benchmark, *batch, 1)


@pytest.mark.benchmark(group="nullspace_project")
def bench_nullspace_project_compiled_2threads(benchmark, batch):
    _compiled(benchmark, *batch, 2)


@pytest.mark.benchmark(group="nullspace_project")
def bench_nullspace_project_compiled_rank_deficient_1thread(benchmark, rank_deficient):
    _compiled(benchmark, *rank_deficient, 1)


@pytest.mark.benchmark(group="nullspace_project")
def bench_nullspace_project_reference(benchmark, batch):
    with threads(1):
        out = benchmark(nullspace_project_reference, *batch, False)
    _check(out, *batch)


@pytest.mark.benchmark(group="nullspace_project")
def bench_nullspace_project_per_sample_linalg_baseline(benchmark, batch):
    with threads(1):
        out = benchmark(per_sample_linalg_loop, *batch)
    _check(out, *batch)
