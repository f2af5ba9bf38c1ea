import pytest
import torch

from shortcutbench.ops.pgd_step import pgd_step, pgd_step_reference
from shortcutbench.testing import compiled, devices

pytestmark = pytest.mark.ext


def _state(b, dtype=torch.float32, device="cpu", seed=0, eps=0.1):
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.rand(*s, generator=g, dtype=dtype)  # noqa: E731
    x0 = r(b, 3, 5, 5)
    x = (x0 + (2 * r(b, 3, 5, 5) - 1) * eps).clamp(0, 1)
    st = dict(
        x=x, x_prev=(x0 + (2 * r(b, 3, 5, 5) - 1) * eps).clamp(0, 1), grad=torch.randn(b, 3, 5, 5, generator=g, dtype=dtype),
        x_orig=x0, eps=r(b) * 0.3, step=r(b) * 0.2, loss=torch.randn(b, generator=g, dtype=dtype),
        success=r(b) > 0.5, restore=r(b) > 0.5, best_loss=torch.randn(b, generator=g, dtype=dtype),
        best_x=r(b, 3, 5, 5), best_grad=torch.randn(b, 3, 5, 5, generator=g, dtype=dtype), adv_x=r(b, 3, 5, 5))
    return {k: v.to(device) for k, v in st.items()}


def _call(fn, st, alpha, l2):
    st = {k: v.clone() for k, v in st.items()}
    out = fn(st["x"], st["x_prev"], st["grad"], st["x_orig"], st["eps"], st["step"], st["loss"], st["success"],
             st["restore"], st["best_loss"], st["best_x"], st["best_grad"], st["adv_x"], alpha, l2)
    return out, st


@pytest.mark.parametrize("device", devices)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("l2", [False, True])
@pytest.mark.parametrize("alpha", [1.0, 0.75])
@pytest.mark.parametrize("b", [0, 1, 33])
def test_compiled_matches_reference(device, dtype, l2, alpha, b):
    if not compiled("pgd_step", device):
        pytest.skip("pgd_step not compiled")
    st = _state(b, dtype, device)
    got, st_c = _call(torch.ops.shortcutbench.pgd_step, st, alpha, l2)
    want, st_r = _call(pgd_step_reference, st, alpha, l2)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == torch.float32 else dict(rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(got, want, **tol)
    for k in ("x_prev", "best_loss", "best_x", "best_grad", "adv_x"):
        torch.testing.assert_close(st_c[k], st_r[k], **tol)


@pytest.mark.parametrize("l2", [False, True])
def test_projection_invariants(l2):
    st = _state(64, torch.float64, eps=0.5)
    out, _ = _call(pgd_step, st, 0.75, l2)
    d = (out - st["x_orig"]).flatten(1)
    norm = d.norm(dim=1) if l2 else d.abs().amax(dim=1)
    assert (norm <= st["eps"] + 1e-6).all()
    assert out.min() >= 0 and out.max() <= 1 and not out.isnan().any()


def test_linf_step_by_hand():
    # one pixel, far from the box: x0 = 0.5, x = 0.5, grad > 0, step 0.03, eps 0.05 → 0.53
    one = lambda v: torch.tensor([v], dtype=torch.float64)  # noqa: E731
    img = lambda v: torch.full((1, 1), v, dtype=torch.float64)  # noqa: E731
    st = dict(x=img(0.5), x_prev=img(0.5), grad=img(2.0), x_orig=img(0.5), eps=one(0.05), step=one(0.03),
              loss=one(1.0), success=torch.tensor([True]), restore=torch.tensor([False]), best_loss=one(0.0),
              best_x=img(0.0), best_grad=img(0.0), adv_x=img(0.0))
    out, s = _call(pgd_step, st, 1.0, False)
    assert out.item() == pytest.approx(0.53)
    assert s["best_loss"].item() == 1.0 and s["best_x"].item() == 0.5 and s["adv_x"].item() == 0.5
    # momentum alpha = 0.75, eps 0.1, x = 0.53, x_prev = 0.52: z = 0.56;
    # x_next = 0.53 + 0.75 * 0.03 + 0.25 * 0.01 = 0.555
    st2 = dict(st, x=img(0.53), x_prev=img(0.52), eps=one(0.1))
    out2, _ = _call(pgd_step, st2, 0.75, False)
    assert out2.item() == pytest.approx(0.555)
    # eps 0.05: z is clipped to 0.55, x_next = 0.53 + 0.75 * 0.02 + 0.25 * 0.01 = 0.5475
    out3, _ = _call(pgd_step, dict(st2, eps=one(0.05)), 0.75, False)
    assert out3.item() == pytest.approx(0.5475)
    # x_prev = 0.45 pushes past the ball: 0.53 + 0.015 + 0.02 = 0.565 → projected to 0.55
    out4, _ = _call(pgd_step, dict(st2, eps=one(0.05), x_prev=img(0.45)), 0.75, False)
    assert out4.item() == pytest.approx(0.55)


def test_restore_uses_best_point_and_gradient():
    one = lambda v: torch.tensor([v], dtype=torch.float64)  # noqa: E731
    img = lambda v: torch.full((1, 1), v, dtype=torch.float64)  # noqa: E731
    st = dict(x=img(0.6), x_prev=img(0.6), grad=img(1.0), x_orig=img(0.5), eps=one(0.2), step=one(0.05),
              loss=one(-1.0), success=torch.tensor([False]), restore=torch.tensor([True]), best_loss=one(0.0),
              best_x=img(0.45), best_grad=img(-1.0), adv_x=img(0.5))
    out, s = _call(pgd_step, st, 1.0, False)
    assert out.item() == pytest.approx(0.40)  # from best_x 0.45 along -sign
    assert s["x_prev"].item() == pytest.approx(0.45) and s["adv_x"].item() == 0.5


def test_l2_step_by_hand():
    # 2 pixels: grad (3, 4) → unit (0.6, 0.8); step 0.1 → δ = (0.06, 0.08), ‖δ‖ = 0.1 ≤ eps
    v = lambda a, b: torch.tensor([[a, b]], dtype=torch.float64)  # noqa: E731
    one = lambda a: torch.tensor([a], dtype=torch.float64)  # noqa: E731
    st = dict(x=v(0.5, 0.5), x_prev=v(0.5, 0.5), grad=v(3.0, 4.0), x_orig=v(0.5, 0.5), eps=one(0.05),
              step=one(0.1), loss=one(0.0), success=torch.tensor([False]), restore=torch.tensor([False]),
              best_loss=one(1.0), best_x=v(0, 0), best_grad=v(0, 0), adv_x=v(0, 0))
    out, _ = _call(pgd_step, st, 1.0, True)  # projected onto ‖δ‖ = 0.05: (0.03, 0.04)
    torch.testing.assert_close(out, v(0.53, 0.54))


def test_kernel_rejects_bad_shapes():
    if not compiled("pgd_step", torch.device("cpu")):
        pytest.skip("pgd_step not compiled")
    st = _state(4)
    st["eps"] = st["eps"][:3]
    with pytest.raises(RuntimeError, match=r"eps must have shape \[4\]"):
        _call(torch.ops.shortcutbench.pgd_step, st, 1.0, False)
    st = _state(4)
    st["grad"] = st["grad"].double()
    with pytest.raises(RuntimeError, match="grad must have dtype"):
        _call(torch.ops.shortcutbench.pgd_step, st, 1.0, False)


def test_opcheck():
    if not compiled("pgd_step", torch.device("cpu")):
        pytest.skip("pgd_step not compiled")
    st = _state(3)
    args = (st["x"], st["x_prev"], st["grad"], st["x_orig"], st["eps"], st["step"], st["loss"], st["success"],
            st["restore"], st["best_loss"], st["best_x"], st["best_grad"], st["adv_x"], 0.75, False)
    torch.library.opcheck(torch.ops.shortcutbench.pgd_step.default, args, test_utils=("test_schema",))
