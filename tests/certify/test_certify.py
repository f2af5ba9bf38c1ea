import numpy as np
import pytest
import torch

from shortcutbench.certify import (LinearView, exact_radius, grid_check, grid_counterexample_model, ibp_radius,
                                   pgd_attack, pgd_run, worst_margin)
from shortcutbench.data.lt import oracle_filters, toy_dataset
from shortcutbench.models.conv_maxpool import ConvMaxPool


@pytest.mark.parametrize("name", ["lt", "triangle_square"])
def test_oracle_filters_have_radius_one_half_on_every_image(name):
    """Seed 001 §6.1: the hand-made model is robust for every ε < 0.5 and no further (the target
    pattern can be drawn at 0.5 over the true one)."""
    data = toy_dataset(name)
    view = LinearView.of(oracle_filters(data), None, data.canvas)
    for i in range(len(data)):
        x, y = data.images[i].double().numpy().ravel(), int(data.labels[i])
        for clip in (False, True):
            r, delta = exact_radius(view, x, y, clip=clip)
            assert r == pytest.approx(0.5, abs=1e-7)
            assert np.abs(delta).max() <= 0.5 + 1e-7
            logits = view.logits(x + delta)
            assert logits[1 - y] >= logits[y] - 1e-7  # the LP's point really flips (a tie at 0.5)


def test_linear_case_matches_closed_form():
    """Canvas = filter size: one window, the model is linear; the ℓ∞ radius of a linear margin
    m(x) = (w_y − w_o)·x + b_y − b_o is m(x) / ‖w_y − w_o‖₁ (unclipped)."""
    g = torch.Generator().manual_seed(0)
    for trial in range(5):
        w = torch.randn(2, 3, 3, generator=g, dtype=torch.float64)
        b = torch.randn(2, generator=g, dtype=torch.float64)
        x = torch.rand(3, 3, generator=g, dtype=torch.float64).numpy().ravel()
        view = LinearView.of(w, b, 3)
        logits = view.logits(x)
        y = int(np.argmax(logits))
        dw = (w[y] - w[1 - y]).numpy().ravel()
        closed = (logits[y] - logits[1 - y]) / np.abs(dw).sum()
        assert exact_radius(view, x, y)[0] == pytest.approx(closed, rel=1e-7)
        # IBP bounds the two logits separately: radius m / (‖w_y‖₁ + ‖w_o‖₁) ≤ the exact one
        ibp_closed = (logits[y] - logits[1 - y]) / (w[0].abs().sum() + w[1].abs().sum()).item()
        assert ibp_radius(view, x, y) == pytest.approx(ibp_closed, rel=1e-5)
        assert worst_margin(view, x, y, closed / 2)[0] == pytest.approx((logits[y] - logits[1 - y]) / 2, rel=1e-7)


def test_grid_is_not_a_proof():
    f, b, img, y, eps = grid_counterexample_model()
    g = grid_check(f, b, img[None], torch.tensor([y]), eps)
    assert int(g.wrong[0]) == 0 and float(g.min_margin[0]) == pytest.approx(1.0, abs=1e-9)  # −0.1 − (−1.1)
    view = LinearView.of(f, b, 3)
    margin, delta = worst_margin(view, img.numpy().ravel(), y, eps)
    assert margin == pytest.approx(-1.0, abs=1e-7)  # V bottom −2.1 against −1.1
    assert delta[4] == pytest.approx(0.2, abs=1e-6)  # the centre pixel, between grid values
    assert exact_radius(view, img.numpy().ravel(), y)[0] == pytest.approx(0.31, abs=1e-7)


def test_ibp_exact_pgd_ordering_on_a_trained_like_model():
    data = toy_dataset("lt")
    g = torch.Generator().manual_seed(3)
    model = ConvMaxPool(3).set_filters(oracle_filters(data) + 0.1 * torch.randn(2, 3, 3, generator=g))
    view = LinearView.of(model.filters, None, 4)
    for i in range(len(data)):
        x, y = data.images[i].double().numpy().ravel(), int(data.labels[i])
        r = exact_radius(view, x, y, clip=True)[0]
        assert ibp_radius(view, x, y, clip=True) <= r + 1e-7
        if r > 0:  # PGD cannot break an image inside its exact radius
            assert not pgd_attack(model, data.images[i:i + 1, None], data.labels[i:i + 1], r * 0.98,
                                  generator=torch.Generator().manual_seed(0)).any()


def test_pgd_finds_nothing_inside_the_radius_and_only_real_counterexamples_beyond_it():
    """The oracle's exact radius is 1/2 on every L-T image (first test): the engine's PGD must break
    nothing at ε = 0.45, and every point it returns at ε = 0.6 must lie in the ε-box ∩ [0, 1] and flip
    the logits of the LP's linear view (numpy, float64: independent of the torch model)."""
    data = toy_dataset("lt")
    model = ConvMaxPool(3).set_filters(oracle_filters(data))
    view = LinearView.of(oracle_filters(data), None, data.canvas)
    x = data.images.unsqueeze(1)
    assert not pgd_run(model, x, data.labels, 0.45).success.any()
    res = pgd_run(model, x, data.labels, 0.6)
    assert res.success.any()
    for i in res.success.nonzero()[:, 0].tolist():
        adv, y = res.x_adv[i, 0].double(), int(data.labels[i])
        assert float((adv - data.images[i].double()).abs().max()) <= 0.6 + 1e-6
        assert 0.0 <= float(adv.min()) and float(adv.max()) <= 1.0
        logits = view.logits(adv.numpy().ravel())
        assert logits[1 - y] > logits[y] - 1e-6


def test_pgd_at_zero_eps_is_the_clean_prediction_and_draws_no_noise():
    """ε = 0: no perturbation exists, so the answer is the clean misclassification; the shared
    generator of an ε sweep is left untouched (the next ε sees the same stream as before)."""
    data = toy_dataset("lt")
    x = data.images.unsqueeze(1)
    gen = torch.Generator().manual_seed(5)
    state = gen.get_state()
    right = ConvMaxPool(3).set_filters(oracle_filters(data))
    swapped = ConvMaxPool(3).set_filters(oracle_filters(data).flip(0))  # class filters swapped: every image wrong
    assert not pgd_attack(right, x, data.labels, 0.0, generator=gen).any()
    assert pgd_attack(swapped, x, data.labels, 0.0, generator=gen).all()
    assert torch.equal(gen.get_state(), state)
