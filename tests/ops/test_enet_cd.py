import math

import pytest
import torch

from shortcutbench.glm import duality_gap, lambda_max
from shortcutbench.ops.enet_cd import binomial_to_symmetric, enet_cd, enet_cd_reference
from shortcutbench.testing import needs_kernel

pytestmark = pytest.mark.ext
needs_enet_cd = needs_kernel("enet_cd")


def _problem(n=80, d=7, k=3, seed=0, weighted=True):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    W = torch.randn(k, d, generator=g, dtype=torch.float64) * (torch.rand(k, d, generator=g) < 0.5)
    y = torch.multinomial(torch.softmax(X @ W.T, 1), 1, generator=g)[:, 0]
    sw = torch.rand(n, generator=g, dtype=torch.float64) + 0.5 if weighted else torch.empty(0, dtype=torch.float64)
    return X, y, sw


def _state(X, k):
    W = torch.zeros(k, X.shape[1], dtype=torch.float64)
    b = torch.zeros(k, dtype=torch.float64)
    return W, b, W @ X.T + b[:, None], torch.zeros(X.shape[1], k, dtype=torch.float64)


@needs_enet_cd
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("k,first", [(3, 0), (2, 0), (2, 1)])
def test_compiled_sweeps_match_reference(weighted, alpha, k, first):
    X, y, sw = _problem(k=k, weighted=weighted)
    lam = 0.3 * lambda_max(X, y, k, alpha, "multinomial", sample_weight=sw if weighted else None)
    cols = torch.tensor([0, 2, 3, 5, 6])  # a screened subset: columns 1 and 4 must not move
    Xt = X.T.contiguous()
    sc, sr = _state(X, k), _state(X, k)
    out_c = torch.ops.shortcutbench.enet_cd(Xt, y, sw, cols, *sc, lam, alpha, 3, 1e-12, first)
    out_r = enet_cd_reference(Xt, y, sw, cols, *sr, lam, alpha, 3, 1e-12, first)
    for a, b in zip(sc, sr):  # weights, bias, logits and the certificate's gradient
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-11)
    torch.testing.assert_close(out_c[:3], out_r[:3], rtol=1e-6, atol=1e-14)  # sweeps, change, halvings
    torch.testing.assert_close(out_c[3:], out_r[3:], rtol=1e-10, atol=1e-13)  # primal, dual, gap, loss
    if first:
        assert (sc[0][0] == 0).all() and sc[1][0] == 0  # class 0 pinned
    assert (sc[0][:, [1, 4]] == 0).all()
    torch.testing.assert_close(sc[2], sc[0] @ X.T + sc[1][:, None], rtol=0, atol=1e-10)  # eta stays W X + b


@pytest.mark.parametrize("alpha", [0.5, 1.0])
def test_sweeps_reach_the_optimum(alpha):
    # an independent check of the op's meaning: run to convergence, the duality gap (objective.py) is ~0
    X, y, sw = _problem(n=120, d=6, k=3, seed=1)
    lam = 0.1 * lambda_max(X, y, 3, alpha, "multinomial", sample_weight=sw)
    W, b, eta, G = _state(X, 3)
    out = enet_cd(X.T.contiguous(), y, sw, torch.arange(6), W, b, eta, G, lam, alpha, 500, 1e-16)
    cert = duality_gap(X, y, W, b, lam, alpha, "multinomial", sample_weight=sw)
    assert abs(out[5] - cert.gap) <= 1e-12  # the op's own certificate is this one
    # α = 1: the dual point is the rescaled residual (objective.py), whose gap floors at ~1e-9 here
    assert cert.gap <= (1e-12 if alpha < 1 else 1e-8) * cert.primal, (cert.gap, out)
    assert (W != 0).any() and (W == 0).any()  # the ℓ1 part keeps some weights at zero


def test_objective_never_increases():
    # each accepted block step passes the Armijo test, so every sweep lowers the objective
    X, y, sw = _problem(seed=2)
    lam = 0.05 * lambda_max(X, y, 3, 0.9, "multinomial", sample_weight=sw)
    W, b, eta, G = _state(X, 3)
    prev = math.inf
    for _ in range(6):
        enet_cd(X.T.contiguous(), y, sw, torch.arange(7), W, b, eta, G, lam, 0.9, 1, 0.0)
        cur = duality_gap(X, y, W, b, lam, 0.9, "multinomial", sample_weight=sw).primal
        assert cur <= prev + 1e-15
        prev = cur


@needs_enet_cd
def test_kernel_checks_quote_the_inputs():
    X, y, sw = _problem()
    st = _state(X, 3)
    with pytest.raises(RuntimeError, match=r"enet_cd works in float64: Xt Float"):
        torch.ops.shortcutbench.enet_cd(X.T.float().contiguous(), y, sw, torch.arange(7), *st, 0.1, 0.5, 1, 0.0, 0)
    with pytest.raises(RuntimeError, match=r"cols\[0\] = 9 outside 0..6"):
        torch.ops.shortcutbench.enet_cd(X.T.contiguous(), y, sw, torch.tensor([9]), *st, 0.1, 0.5, 1, 0.0, 0)
    with pytest.raises(RuntimeError, match=r"first_class must be 0, or 1 with k = 2"):
        torch.ops.shortcutbench.enet_cd(X.T.contiguous(), y, sw, torch.arange(7), *st, 0.1, 0.5, 1, 0.0, 1)


@pytest.mark.parametrize("alpha", [0.3, 0.9])
def test_binomial_form_solves_the_two_class_problem(alpha):
    # research note §3: the two-class optimum is W = (−v/2, v/2) with v the binomial optimum at
    # λ' = λ(1+α)/2, α' = 2α/(1+α); here checked against the symmetric form solved directly
    X, y, sw = _problem(n=150, d=6, k=2, seed=4)
    lam = 0.2 * lambda_max(X, y, 2, alpha, "multinomial", sample_weight=sw)
    Xt = X.T.contiguous()
    Ws, bs, es, Gs = _state(X, 2)
    # tol 1e-16, not 0: with 0 no pass ever settles, so the reference (the op without _C) runs
    # 2000 sweeps of up to 1000 passes each (hours); the gaps below are still asserted ≤ 1e-12
    enet_cd(Xt, y, sw, torch.arange(6), Ws, bs, es, Gs, lam, alpha, 2000, 1e-16)
    Wb, bb, eb, Gb = _state(X, 2)
    lam_b, alpha_b = lam * (1 + alpha) / 2, 2 * alpha / (1 + alpha)
    out = enet_cd(Xt, y, sw, torch.arange(6), Wb, bb, eb, Gb, lam_b, alpha_b, 2000, 1e-16, 1)
    W, b, lam_m, alpha_m = binomial_to_symmetric(Wb, bb, lam_b, alpha_b)
    assert math.isclose(lam_m, lam) and math.isclose(alpha_m, alpha)
    ref = duality_gap(X, y, W, b, lam, alpha, "multinomial", sample_weight=sw)
    assert abs(out[3] - ref.primal) <= 1e-12 and abs(out[5] - ref.gap) <= 1e-12 and ref.gap <= 1e-12
    sym = duality_gap(X, y, Ws, bs, lam, alpha, "multinomial", sample_weight=sw)
    assert sym.gap <= 1e-12 and abs(sym.primal - ref.primal) <= 1e-12
    # both certified to ~1e-12: the weights agree to √(2·gap/(λ(1−α))) (strong convexity)
    mu = lam * (1 - alpha)
    bound = math.sqrt(2 * max(ref.gap, 1e-16) / mu) + math.sqrt(2 * max(sym.gap, 1e-16) / mu)
    assert float((W - Ws).norm()) <= bound


@needs_enet_cd
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("alpha", [0.5, 1.0])
@pytest.mark.parametrize("bias_gap", [0.0, 9.0])
def test_binomial_certificate_matches_reference_far_from_the_optimum(weighted, alpha, bias_gap):
    # the kernel's two-class certificate (one exp per example, 1-d bias Newton) is the symmetric
    # one of objective.py at any point, also where the bias Newton starts far off and its steps
    # are clipped (bias_gap 9)
    X, y, sw = _problem(k=2, weighted=weighted, seed=5)
    lam = 0.2 * lambda_max(X, y, 2, alpha, "multinomial", sample_weight=sw if weighted else None)
    g = torch.Generator().manual_seed(6)
    W = torch.zeros(2, 7, dtype=torch.float64)
    W[1] = torch.randn(7, generator=g, dtype=torch.float64) * (torch.rand(7, generator=g) < 0.6)
    b = torch.tensor([0.0, bias_gap], dtype=torch.float64)
    Xt = X.T.contiguous()
    sc = (W.clone(), b.clone(), W @ Xt + b[:, None], torch.zeros(7, 2, dtype=torch.float64))
    sr = tuple(t.clone() for t in sc)
    out_c = torch.ops.shortcutbench.enet_cd(Xt, y, sw, torch.arange(7), *sc, lam, alpha, 0, 0.0, 1)
    out_r = enet_cd_reference(Xt, y, sw, torch.arange(7), *sr, lam, alpha, 0, 0.0, 1)
    torch.testing.assert_close(sc[3], sr[3], rtol=1e-9, atol=1e-12)  # the certificate's gradient
    torch.testing.assert_close(out_c[3:], out_r[3:], rtol=1e-10, atol=1e-13)  # primal, dual, gap, loss, accuracy
