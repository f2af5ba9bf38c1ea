"""The three SSL losses against the papers' formulas: hand-computed cases (lightly, the obvious
peer library, needs torchvision, which is not in this project's pinned environment) and the
seed's eq. 11 / eq. 13 written out element by element."""
import math

import pytest
import torch

from shortcutbench.ssl import losses

E1, E2 = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])


def nt_xent_by_formula(z1, z2, tau):
    """Seed eq. 11, ℓ(i, j) = −log exp(sim(z_i, z_j)/τ) / Σ_{k≠i} exp(sim(z_i, z_k)/τ), averaged
    over all 2N anchors (footnote 3's symmetric sum)."""
    z = torch.cat([z1, z2]).double()
    n2 = z.shape[0]
    sim = lambda a, b: float(a @ b / (a.norm() * b.norm()))  # noqa: E731
    total = 0.0
    for i in range(n2):
        j = (i + n2 // 2) % n2
        den = sum(math.exp(sim(z[i], z[k]) / tau) for k in range(n2) if k != i)
        total += -math.log(math.exp(sim(z[i], z[j]) / tau) / den)
    return total / n2


def test_nt_xent_hand_cases():
    # twins identical, the other image orthogonal: each anchor sees e^{1/τ} over e^{1/τ} + 2·e^0
    z = torch.stack([E1, E2])
    assert losses.nt_xent(z, z, 0.5).item() == pytest.approx(math.log(2 + math.e ** 2) - 2, rel=1e-6)
    # twins orthogonal, a negative identical: e^0 over 2·e^0 + e^{1/τ}
    assert losses.nt_xent(z, z.flip(0), 0.5).item() == pytest.approx(math.log(2 + math.e ** 2), rel=1e-6)
    # scale-free (cosine similarity)
    assert losses.nt_xent(3 * z, z, 0.5).item() == pytest.approx(math.log(2 + math.e ** 2) - 2, rel=1e-6)


@pytest.mark.parametrize("tau", [0.1, 0.5, 1.0])
def test_nt_xent_equals_the_formula_on_random_vectors(tau):
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(6, 5, generator=g), torch.randn(6, 5, generator=g)
    assert losses.nt_xent(z1, z2, tau).item() == pytest.approx(nt_xent_by_formula(z1, z2, tau), rel=1e-5)


def test_supervised_nt_xent_drops_same_class_negatives():
    z = torch.stack([E1, E2])
    # both images of one class: only the twin is left in each denominator → −log 1
    assert losses.nt_xent(z, z, 0.5, labels=torch.tensor([3, 3])).item() == pytest.approx(0.0, abs=1e-7)
    # different classes: the plain NT-Xent
    assert losses.nt_xent(z, z, 0.5, labels=torch.tensor([0, 1])).item() == pytest.approx(
        math.log(2 + math.e ** 2) - 2, rel=1e-6)


def test_simsiam_hand_case_and_stop_gradient():
    p1, z2 = torch.tensor([[1.0, 0.0]], requires_grad=True), torch.tensor([[1.0, 1.0]], requires_grad=True)
    p2, z1 = torch.tensor([[0.0, 1.0]], requires_grad=True), torch.tensor([[2.0, 0.0]], requires_grad=True)
    loss = losses.simsiam(p1, p2, z1, z2)
    # ½·D(p1, z2) + ½·D(p2, z1) = ½·(−1/√2) + ½·0
    assert loss.item() == pytest.approx(-0.5 / math.sqrt(2), rel=1e-6)
    loss.backward()
    assert z1.grad is None and z2.grad is None  # stop-gradient on the target branch
    assert p1.grad.abs().sum() > 0 and p2.grad.abs().sum() > 0


def test_barlow_twins_hand_cases():
    c = 1 / math.sqrt(1 + 1e-5) ** 2  # standardised with BatchNorm's eps = 1e-5
    a = torch.tensor([[1.0, 1.0], [-1.0, -1.0]])  # two perfectly correlated dimensions
    b = torch.tensor([[1.0, -1.0], [-1.0, 1.0]])
    lam = losses.BARLOW_LAMBDA
    # C = c·[[1, 1], [1, 1]]: invariance (1 − c)² twice, redundancy λ·c² twice
    assert losses.barlow_twins(a, a).item() == pytest.approx(2 * (1 - c) ** 2 + 2 * lam * c ** 2, rel=1e-5)
    # C = c·[[1, −1], [1, −1]]: (1 − c)² + (1 + c)² + λ·2c²
    assert losses.barlow_twins(a, b).item() == pytest.approx((1 - c) ** 2 + (1 + c) ** 2 + 2 * lam * c ** 2, rel=1e-5)
    assert lam == 5e-3  # Zbontar et al. 2021


def test_cross_correlation_is_the_seeds_eq_13_on_centred_outputs():
    g = torch.Generator().manual_seed(1)
    z1, z2 = torch.randn(64, 4, generator=g).double(), torch.randn(64, 4, generator=g).double()
    z1, z2 = z1 - z1.mean(0), z2 - z2.mean(0)
    expected = torch.empty(4, 4, dtype=torch.float64)
    for i in range(4):
        for j in range(4):
            expected[i, j] = (z1[:, i] * z2[:, j]).sum() / (z1[:, i].pow(2).sum().sqrt() * z2[:, j].pow(2).sum().sqrt())
    got = losses.cross_correlation(z1, z2, eps=0.0)
    assert torch.allclose(got, expected, atol=1e-12)
