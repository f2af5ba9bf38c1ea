"""Attribution maps: golden values (research notes §2, derived by hand), closed forms, Captum."""
import numpy as np
import pytest
import torch

from shortcutbench.errors import UsageError
from shortcutbench.explain import ATTRIBUTIONS, attribute, normalise, to_input
from shortcutbench.explain.attribution import ig_alphas

from .toy_models import Linear, OneConv, SumSquares, gap_fc_net

X16 = torch.arange(16.0).view(1, 1, 4, 4)


@pytest.mark.parametrize("inplace", [False, True])
def test_golden_values_one_conv(inplace):
    m = OneConv(inplace)
    g = attribute("gradcam", m, X16, 0, "conv1")
    torch.testing.assert_close(g.raw[0], torch.tensor([[11.25, 13.5], [20.25, 22.5]]))
    torch.testing.assert_close(g.normalised()[0], torch.tensor([[0, 0.2], [0.8, 1.0]]), atol=1e-6, rtol=0)
    pp = attribute("gradcam++", m, X16, 0, "conv1")
    torch.testing.assert_close(pp.raw[0], torch.tensor([[0, 1 / 6], [31 / 24, 5 / 3]]))
    torch.testing.assert_close(pp.normalised()[0], torch.tensor([[0, 0.1], [0.775, 1.0]]), atol=1e-6, rtol=0)
    hr = attribute("hirescam", m, X16, 0, "conv1")
    torch.testing.assert_close(hr.raw[0], torch.tensor([[0.0, 4.0], [25.0, 25.0]]))


@pytest.mark.parametrize("inplace", [False, True])
def test_cam_equals_gradcam_equals_hirescam_on_gap_fc(inplace):
    m = gap_fc_net(0, inplace)
    x = torch.rand(6, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    t = torch.tensor([0, 1, 2, 3, 4, 0])
    # layer "3" (the ReLU after the last conv) is what the GAP reads: ∂y/∂A = w_c/Z everywhere
    raw = {k: attribute(k, m, x, t, "3", **({"fc": "6"} if k == "cam" else {})).raw for k in ("cam", "gradcam", "hirescam")}
    z = 8 * 8
    torch.testing.assert_close(raw["cam"] / z, raw["gradcam"], atol=1e-7, rtol=1e-5)
    torch.testing.assert_close(raw["hirescam"], raw["gradcam"], atol=1e-7, rtol=1e-5)
    maps = [normalise(v) for v in raw.values()]  # equal up to the 1e−7 in the denominator
    torch.testing.assert_close(maps[0], maps[1], atol=1e-3, rtol=0)
    torch.testing.assert_close(maps[1], maps[2], atol=1e-3, rtol=0)


def test_batched_equals_per_image():
    m = gap_fc_net(2)
    x = torch.rand(5, 3, 8, 8, generator=torch.Generator().manual_seed(3))
    for method in ("gradcam", "gradcam++", "hirescam", "saliency", "ig"):
        batch = attribute(method, m, x, None, "2").raw
        single = torch.cat([attribute(method, m, x[i:i + 1], None, "2").raw for i in range(5)])
        torch.testing.assert_close(batch, single, atol=1e-5, rtol=1e-4)


def test_channels_last_gives_the_same_gradients_without_ties():
    """NHWC is a memory layout, not a different function: on a trained-free lazy CNN with inputs
    whose pool windows hold no ties, gradients equal NCHW's to rounding; IG stays complete."""
    from shortcutbench.models import create_model

    m = create_model("lazy_cnn", seed=0).eval()
    x = torch.rand(6, 3, 28, 28, generator=torch.Generator().manual_seed(4)) + 0.5
    for method, kw in (("saliency", {}), ("smoothgrad", {"n_samples": 3})):
        ref = attribute(method, m, x, None, **kw).raw
        torch.testing.assert_close(attribute(method, m, x, None, channels_last=True, **kw).raw, ref,
                                   atol=1e-6 * float(ref.abs().max()), rtol=1e-4)
    w = torch.randn(1, 3, 5, 5, generator=torch.Generator().manual_seed(0))
    xl = torch.rand(4, 3, 5, 5, generator=torch.Generator().manual_seed(1))
    a = attribute("ig", Linear(w), xl, 0, n_steps=7, channels_last=True)
    torch.testing.assert_close(a.raw, w * xl, atol=1e-5, rtol=1e-5)
    assert a.delta.abs().max() < 1e-4 and a.raw.is_contiguous()


def test_ig_linear_model_is_exact():
    w = torch.randn(1, 3, 5, 5, generator=torch.Generator().manual_seed(0))
    m = Linear(w)
    x = torch.rand(4, 3, 5, 5, generator=torch.Generator().manual_seed(1))
    xb = torch.rand(1, 3, 5, 5, generator=torch.Generator().manual_seed(2))
    for rule in ("gausslegendre", "riemann_left", "riemann_right", "riemann_middle"):
        a = attribute("ig", m, x, 0, n_steps=7, rule=rule, baseline=xb)
        torch.testing.assert_close(a.raw, w * (x - xb), atol=1e-5, rtol=1e-5)
        assert a.delta.abs().max() < 1e-4
    # trapezoid weights sum to 1 − 1/n (Captum's convention): δ = −ΔF/n on a linear model
    a = attribute("ig", m, x, 0, n_steps=10, rule="riemann_trapezoid", baseline=xb)
    gap = (w * (x - xb)).flatten(1).sum(1)
    torch.testing.assert_close(a.delta, -gap / 10, atol=1e-4, rtol=1e-4)


def test_ig_sum_of_squares_gauss_legendre_is_x_squared():
    x = torch.randn(3, 2, 4, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    a = attribute("ig", SumSquares().double(), x, 0, n_steps=2)  # 2-point Gauss-Legendre is exact for linear ∂F
    torch.testing.assert_close(a.raw, x.pow(2))
    assert a.delta.abs().max() < 1e-10


def test_ig_alphas_weights():
    a, s = ig_alphas(5, "gausslegendre")
    assert abs(float(s.sum()) - 1) < 1e-12 and float(a.min()) > 0 and float(a.max()) < 1
    # ∫₀¹ α⁴ dα = 1/5, exact for 3+ points
    assert abs(float((s * a ** 4).sum()) - 0.2) < 1e-12


def test_saliency_and_smoothgrad_shapes_and_reduction():
    m = gap_fc_net(4)
    x = torch.rand(3, 3, 8, 8, generator=torch.Generator().manual_seed(5))
    s = attribute("saliency", m, x, 1)
    assert s.raw.shape == x.shape and (s.raw >= 0).all()
    torch.testing.assert_close(s.map, s.raw.amax(1))
    sg1 = attribute("smoothgrad", m, x, 1, n_samples=4, seed=3)
    sg2 = attribute("smoothgrad", m, x, 1, n_samples=4, seed=3)
    torch.testing.assert_close(sg1.raw, sg2.raw)  # seeded
    sg0 = attribute("smoothgrad", m, x, 1, n_samples=1, noise=0.0)
    torch.testing.assert_close(sg0.raw, s.raw)  # no noise, one sample = saliency


def test_to_input_upsamples_then_normalises():
    maps = torch.tensor([[[0.0, 1.0], [2.0, 3.0]]])
    up = to_input(maps, (4, 4))
    assert up.shape == (1, 4, 4) and abs(float(up.min())) < 1e-6 and abs(float(up.max()) - 1) < 1e-6


def test_bad_input_one_line_errors():
    m = OneConv()
    with pytest.raises(UsageError, match="no layer"):
        attribute("gradcam", m, X16, 0, "conv9")
    with pytest.raises(UsageError, match="needs --layer"):
        attribute("gradcam", m, X16, 0, None)
    with pytest.raises(UsageError, match="target classes"):
        attribute("gradcam", m, X16, 7, "conv1")
    with pytest.raises(UsageError, match="unknown attribution method"):
        attribute("lime", m, X16, 0, "conv1")
    with pytest.raises(UsageError, match=r"\[B, C, H, W\]"):
        attribute("saliency", m, X16[0], 0)
    assert {"cam", "gradcam", "gradcam++", "hirescam", "saliency", "smoothgrad", "ig"} <= set(ATTRIBUTIONS.list())


captum = pytest.importorskip("captum")


def test_against_captum():
    from captum.attr import IntegratedGradients, LayerGradCam, Saliency

    m = gap_fc_net(6)
    x = torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(7))
    t = torch.tensor([0, 3, 1, 4])
    ours = attribute("gradcam", m, x, t, "2").raw
    theirs = LayerGradCam(m, m[2]).attribute(x, target=t, relu_attributions=True)[:, 0]
    torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(attribute("saliency", m, x, t).raw, Saliency(m).attribute(x, target=t, abs=True))
    for rule in ("gausslegendre", "riemann_right", "riemann_trapezoid"):
        ig, delta = IntegratedGradients(m).attribute(x, target=t, n_steps=20, method=rule,
                                                     return_convergence_delta=True)
        a = attribute("ig", m, x, t, n_steps=20, rule=rule)
        torch.testing.assert_close(a.raw, ig.float(), atol=1e-6, rtol=1e-4)
        np.testing.assert_allclose(a.delta.numpy(), delta.float().numpy(), atol=1e-5)


def test_no_side_effects_on_the_model():
    m = gap_fc_net(8).train()
    x = torch.rand(2, 3, 8, 8)
    for method in ("gradcam", "gradcam++", "saliency", "ig"):
        attribute(method, m, x, None, "2")
    assert m.training and all(p.grad is None for p in m.parameters())
