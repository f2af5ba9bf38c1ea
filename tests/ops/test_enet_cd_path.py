import pytest
import torch

from shortcutbench.glm import lambda_grid, lambda_max
from shortcutbench.ops.enet_cd_path import enet_cd_path_reference
from shortcutbench.testing import ISA_PATHS, needs_kernel, on_isa

pytestmark = pytest.mark.ext


def _problem(n=90, d=8, k=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    X[:, 5] = 2.0  # a constant column: never active
    W = torch.randn(k, d, generator=g, dtype=torch.float64) * (torch.rand(k, d, generator=g) < 0.5)
    y = torch.multinomial(torch.softmax(X @ W.T, 1), 1, generator=g)[:, 0]
    sw = torch.rand(n, generator=g, dtype=torch.float64) + 0.5
    return X, y, sw


@needs_kernel("enet_cd_path")
@pytest.mark.parametrize("k,first", [(3, 0), (2, 1)])
@pytest.mark.parametrize("alpha", [0.5, 0.99])
@pytest.mark.parametrize("predict,screening", [(True, True), (False, False)])
@pytest.mark.parametrize("isa", ISA_PATHS)
def test_compiled_path_matches_reference(k, first, alpha, predict, screening, isa):
    """On every ISA copy of the kernel (csrc/cpu/enet_cd_isa.cpp) this CPU can run."""
    X, y, sw = _problem(k=k)
    lams = torch.tensor(lambda_grid(lambda_max(X, y, k, alpha, "multinomial", sample_weight=sw), 8, 0.02),
                        dtype=torch.float64)
    varies = (X != X[:1]).any(0)
    start = [torch.zeros(k, X.shape[1], dtype=torch.float64), torch.zeros(k, dtype=torch.float64)]
    sc, sr = [t.clone() for t in start], [t.clone() for t in start]
    args = (alpha, 1e-6, 500, 1e-3, first, predict, screening)
    with on_isa(isa):
        out_c = torch.ops.shortcutbench.enet_cd_path(X.T.contiguous(), y, sw, varies, lams, *sc, *args)
    out_r = enet_cd_path_reference(X.T.contiguous(), y, sw, varies, lams, *sr, *args)
    torch.testing.assert_close(out_c[0], out_r[0], rtol=1e-7, atol=1e-9)  # weights at every λ
    torch.testing.assert_close(out_c[1], out_r[1], rtol=1e-7, atol=1e-9)
    torch.testing.assert_close(out_c[2][:, :3], out_r[2][:, :3])  # sweeps, checks, converged: identical
    torch.testing.assert_close(out_c[2][:, 3:8], out_r[2][:, 3:8], rtol=1e-7, atol=1e-10)  # certificates
    assert (out_c[2][:, 2] == 1).all()  # every λ certified to 1e-6
    assert (out_c[2][:, 5] <= 1e-6 * out_c[2][:, 4] * (1 + 1e-12)).all()
    assert (out_c[0][:, :, 5] == 0).all()  # the constant column stayed at 0
    if first:
        assert (out_c[0][:, 0] == 0).all()  # class 0 pinned (binomial form)


@needs_kernel("enet_cd_path")
def test_path_kernel_refuses_a_bad_grid():
    X, y, sw = _problem()
    st = [torch.zeros(3, 8, dtype=torch.float64), torch.zeros(3, dtype=torch.float64)]
    with pytest.raises(RuntimeError, match="lams must be positive and strictly decreasing"):
        torch.ops.shortcutbench.enet_cd_path(X.T.contiguous(), y, sw, torch.ones(8, dtype=torch.bool),
                                             torch.tensor([0.1, 0.2], dtype=torch.float64), *st, 0.5, 1e-6, 10, 1e-3,
                                             0, True, True)
