import numpy as np
import pytest
import scipy.linalg
import torch

from shortcutbench.ops.nullspace_project import nullspace_project, nullspace_project_reference
from shortcutbench.testing import compiled

pytestmark = pytest.mark.ext


def _rand(B, k, n, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(B, n, generator=g, dtype=dtype), torch.randn(B, k, n, generator=g, dtype=dtype)


# Both backends are always collected: without the kernel the compiled one is reported as skipped
# with its reason, not dropped from the run unseen.
BACKENDS = ["reference", "compiled"]


def _project(backend, v, J, halfspace, rcond=1e-6):
    if backend == "compiled":
        if not compiled("nullspace_project", torch.device("cpu")):
            pytest.skip("nullspace_project not compiled")
        return torch.ops.shortcutbench.nullspace_project(v, J, halfspace, rcond)
    return nullspace_project_reference(v, J, halfspace, rcond)


def _scipy_projector(J: np.ndarray, rcond: float = 1e-6) -> np.ndarray:
    N = scipy.linalg.null_space(J, rcond=rcond)
    return np.eye(J.shape[1]) - N @ N.T  # projector onto the row space; null-space projector = I − this


@pytest.mark.parametrize("backend", BACKENDS)
def test_halfspace_identities(backend):
    v, J = _rand(64, 1, 50)
    v[:32] = -v[:32]  # mix of uphill and downhill directions
    u = _project(backend, v, J, True)
    g = J[:, 0]
    gv, gu = (g * v).sum(1), (g * u).sum(1)
    torch.testing.assert_close(gu, gv.clamp_min(0), rtol=1e-9, atol=1e-9)
    up = gv >= 0
    assert up.any() and (~up).any()
    assert torch.equal(u[up], v[up])  # nothing to remove: bit-identical
    assert (u.norm(dim=1) <= v.norm(dim=1) + 1e-12).all()
    torch.testing.assert_close(_project(backend, u, J, True), u, rtol=0, atol=1e-12)  # idempotent


@pytest.mark.parametrize("backend", BACKENDS)
def test_not_the_printed_one_minus_c_update(backend):
    """Seed Algorithm 1 prints u = x_diff − c·x_diff with c = min(cos, 0): a rescaling by (1 − c) that
    keeps ⟨g,u⟩ < 0. Our projection must differ from it and remove the downhill component."""
    v, J = _rand(16, 1, 30, seed=3)
    g = J[:, 0]
    v = torch.where(((g * v).sum(1) < 0)[:, None], v, -v)  # all downhill
    c = torch.clamp((g * v).sum(1) / (g.norm(dim=1) * v.norm(dim=1)), max=0)
    printed = (1 - c)[:, None] * v
    assert ((g * printed).sum(1) < 0).all()
    for halfspace in (True, False):
        u = _project(backend, v, J, halfspace)
        assert not torch.allclose(u, printed)
        assert (g * u).sum(1).abs().max() < 1e-9


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("k", [1, 3, 10])
def test_nullspace_matches_scipy_projector(backend, k):
    n = 40
    v, J = _rand(5, k, n, seed=k)
    if k > 1:  # rank deficiency: a duplicated row and a linear combination
        J[1, -1] = 2.0 * J[1, 0]
        J[2, 1] = J[2, 0] - 0.5 * J[2, -1]
    J[3] = 0.0  # zero gradient → u = v
    u = _project(backend, v, J, False)
    for b in range(5):
        P = np.eye(n) - _scipy_projector(J[b].numpy())  # projector onto null(J_b)
        np.testing.assert_allclose(u[b].numpy(), P @ v[b].numpy(), atol=1e-9)
        np.testing.assert_allclose(J[b].numpy() @ u[b].numpy(), 0, atol=1e-9)
    assert torch.equal(u[3], v[3])


@pytest.mark.parametrize("backend", BACKENDS)
def test_projector_symmetric_idempotent(backend):
    n, k = 12, 4
    _, J1 = _rand(1, k, n, seed=7)
    J1[0, 3] = J1[0, 0] + J1[0, 1]  # rank 3
    eye = torch.eye(n, dtype=torch.float64)
    P = _project(backend, eye, J1.expand(n, k, n).contiguous(), False)  # row i = P e_i
    torch.testing.assert_close(P, P.T, rtol=0, atol=1e-12)
    torch.testing.assert_close(P @ P, P, rtol=0, atol=1e-12)
    assert round(torch.trace(P).item()) == n - 3


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("halfspace,k", [(True, 1), (False, 1), (False, 10)])
def test_compiled_matches_reference(dtype, halfspace, k):
    if not compiled("nullspace_project", torch.device("cpu")):
        pytest.skip("nullspace_project not compiled")
    v, J = _rand(33, k, 784, seed=11, dtype=dtype)
    J[5] = 0
    out = torch.ops.shortcutbench.nullspace_project(v, J, halfspace, 1e-6)
    tol = 1e-4 if dtype == torch.float32 else 1e-10
    torch.testing.assert_close(out, nullspace_project_reference(v, J, halfspace), rtol=tol, atol=tol)
    assert out.dtype == dtype and torch.isfinite(out).all()


@pytest.mark.parametrize("rcond", [1e-6, 1e-3])
def test_compiled_matches_reference_around_the_rank_cut(rcond):
    """Rows dependent up to a perturbation of relative size e on both sides of the cut (σ ≈ e·σ_max
    vs rcond·σ_max): the kernel's pivoted-Cholesky fast path and its eigen fallback must make the
    eigenvalue rule's decision, and the Jacobian of softmax confidences (rows summing to 0) too."""
    if not compiled("nullspace_project", torch.device("cpu")):
        pytest.skip("nullspace_project not compiled")
    sizes = [1e-2, 1e-4, 3e-6, 1e-6, 3e-7, 1e-8, 1e-10, 0.0]
    v, J = _rand(len(sizes) + 1, 10, 784, seed=5)
    g = torch.Generator().manual_seed(6)
    for b, e in enumerate(sizes):
        J[b, 9] = J[b, 0] - 2 * J[b, 3] + e * J[b, 0].norm() * torch.randn(784, generator=g, dtype=J.dtype) / 28
    J[-1, 9] = -J[-1, :9].sum(0)  # like ∇ of all softmax confidences
    out = torch.ops.shortcutbench.nullspace_project(v, J, False, rcond)
    ref = nullspace_project_reference(v, J, False, rcond)
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-7 * v.abs().max().item())


def test_compiled_matches_reference_for_float_softmax_like_jacobians():
    """float32 rows that sum to zero (dependent up to float rounding), as ∇ of all softmax confidences."""
    if not compiled("nullspace_project", torch.device("cpu")):
        pytest.skip("nullspace_project not compiled")
    v, J = _rand(64, 10, 784, seed=9, dtype=torch.float32)
    J[:, 9] = -J[:, :9].sum(1)
    J[::4, 2] *= 1e-3  # a weak class gradient (confident model)
    out = torch.ops.shortcutbench.nullspace_project(v, J, False, 1e-6)
    torch.testing.assert_close(out, nullspace_project_reference(v, J, False), rtol=1e-4, atol=1e-4)
    assert torch.einsum("bkn,bn->bk", J.double(), out.double()).abs().max() < 1e-3


def test_zero_gradient_never_nan():
    v, J = _rand(4, 1, 10)
    J.zero_()
    for halfspace in (True, False):
        u = nullspace_project(v.float(), J.float(), halfspace)
        assert torch.equal(u, v.float())


def test_softmax_shift_invariance():
    """The fact the logit-space attack rests on (seed 004 §5.3): softmax(z + c·1) = softmax(z), and
    ∇_z p_y is orthogonal to 1."""
    z = torch.randn(6, 10, dtype=torch.float64, requires_grad=True)
    c = torch.randn(6, 1, dtype=torch.float64)
    torch.testing.assert_close(torch.softmax(z + c, 1), torch.softmax(z, 1), rtol=0, atol=1e-15)
    torch.softmax(z, 1)[:, 3].sum().backward()
    torch.testing.assert_close(z.grad.sum(1), torch.zeros(6, dtype=torch.float64), rtol=0, atol=1e-15)


@pytest.mark.parametrize("bad, match", [
    (lambda v, J: (v[0], J), "2 dimensions"),
    (lambda v, J: (v, J[:, :, :5]), r"shape \[B, k, n\]"),
    (lambda v, J: (v, J.float()), "share a dtype"),
])
def test_kernel_rejects_bad_input_with_shapes(bad, match):
    if not compiled("nullspace_project", torch.device("cpu")):
        pytest.skip("nullspace_project not compiled")
    v, J = _rand(3, 2, 8)
    with pytest.raises(RuntimeError, match=match):
        torch.ops.shortcutbench.nullspace_project(*bad(v, J), False, 1e-6)
    with pytest.raises(RuntimeError, match="one row"):
        torch.ops.shortcutbench.nullspace_project(v, J, True, 1e-6)


def test_opcheck():
    if not compiled("nullspace_project", torch.device("cpu")):
        pytest.skip("nullspace_project not compiled")
    v, J = _rand(4, 3, 20)
    torch.library.opcheck(torch.ops.shortcutbench.nullspace_project.default, (v, J, False, 1e-6),
                          test_utils=("test_schema", "test_autograd_registration"))
