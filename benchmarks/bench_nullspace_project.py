"""nullspace_project op: batched compiled projection (k = 10 rows, 784-pixel images, 256 samples)
vs the batched torch reference and vs the per-sample ``torch.linalg`` loop one writes first
(``*_baseline``). Issue 8 target: compiled ≥ 10× faster than the per-sample loop."""
import pytest
import torch

from shortcutbench.ops.nullspace_project import nullspace_project_reference
from shortcutbench.testing import compiled

B, K, N = 256, 10, 784


@pytest.fixture(scope="module")
def batch():
    g = torch.Generator().manual_seed(0)
    return torch.randn(B, N, generator=g), torch.randn(B, K, N, generator=g)


def per_sample_linalg_loop(v, J):
    out = torch.empty_like(v)
    for b in range(v.shape[0]):
        Jb = J[b]
        out[b] = v[b] - Jb.T @ torch.linalg.solve(Jb @ Jb.T, Jb @ v[b])
    return out


def _check(out, v, J):
    assert torch.einsum("bkn,bn->bk", J.double(), out.double()).abs().max() < 1e-2
    assert out.shape == v.shape


@pytest.mark.benchmark(group="nullspace_project")
def bench_nullspace_project_compiled(benchmark, batch):
    if not compiled("nullspace_project", torch.device("cpu")):
        pytest.skip("nullspace_project not compiled")
    out = benchmark(torch.ops.shortcutbench.nullspace_project, *batch, False, 1e-6)
    _check(out, *batch)


@pytest.mark.benchmark(group="nullspace_project")
def bench_nullspace_project_reference(benchmark, batch):
    out = benchmark(nullspace_project_reference, *batch, False)
    _check(out, *batch)


@pytest.mark.benchmark(group="nullspace_project")
def bench_nullspace_project_per_sample_linalg_baseline(benchmark, batch):
    out = benchmark(per_sample_linalg_loop, *batch)
    _check(out, *batch)
