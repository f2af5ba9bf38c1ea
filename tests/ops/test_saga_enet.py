import pytest
import torch

from shortcutbench.ops.saga_enet import enet_prox, saga_enet, saga_enet_reference
from shortcutbench.testing import ISA_PATHS, needs_kernel, on_isa

pytestmark = pytest.mark.ext
needs_saga_enet = needs_kernel("saga_enet")  # the compiled-vs-reference tests; the rest run on either


def _problem(family, dtype, n=100, d=12, k=4, seed=0, weighted=True):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=torch.float64).to(dtype)
    if family == "multinomial":
        target = torch.randint(0, k, (n,), generator=g)
    else:
        target = torch.randn(n, k, generator=g, dtype=torch.float64).to(dtype)
    sw = torch.rand(n, generator=g, dtype=torch.float64).to(dtype) if weighted else torch.empty(0, dtype=dtype)
    order = torch.randperm(n, generator=g)
    state = [torch.zeros(k, d, dtype=dtype), torch.zeros(k, dtype=dtype), torch.zeros(n, k, dtype=dtype),
             torch.zeros(k, d, dtype=dtype), torch.zeros(k, dtype=dtype)]
    return X, target, sw, order, state


@needs_saga_enet
@pytest.mark.parametrize("family", ["multinomial", "gaussian"])
@pytest.mark.parametrize("group", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("weighted", [False, True])
def test_compiled_epoch_matches_reference(family, group, dtype, weighted):
    X, target, sw, order, st_c = _problem(family, dtype, weighted=weighted)
    st_r = [t.clone() for t in st_c]
    # gaussian residuals are larger than softmax ones: a larger λ so the prox both zeroes and keeps weights
    lam = 0.1 if family == "multinomial" else 0.3
    for _ in range(2):  # several epochs: table, averages and weights all carry over
        out_c = torch.ops.shortcutbench.saga_enet(X, target, sw, order, *st_c, 0.05, lam, 0.7, 32, family, group,
                                                  X.shape[0], -1.0)
        out_r = saga_enet_reference(X, target, sw, order, *st_r, 0.05, lam, 0.7, 32, family, group, X.shape[0])
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == torch.float32 else dict(rtol=1e-10, atol=1e-12)
    for a, b in zip(st_c, st_r):
        torch.testing.assert_close(a, b, **tol)
    torch.testing.assert_close(out_c[:3], out_r[:3], rtol=1e-5, atol=1e-5)
    assert (st_c[0] == 0).any() and (st_c[0] != 0).any()  # the prox did zero some weights, not all


@needs_saga_enet
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("n, d, batch", [(103, 600, 30), (97, 9, 7)])
@pytest.mark.parametrize("isa", ISA_PATHS)
def test_compiled_epoch_matches_reference_off_the_blocks(n, d, batch, threads, isa):
    """Minibatches not a multiple of the kernel's 4/8-row blocks, d above its column block, a last
    partial minibatch, and more than one thread: every remainder path against the reference, on
    every ISA copy of the kernel this CPU can run (saga_enet_kernel.h)."""
    X, target, sw, order, st_c = _problem("multinomial", torch.float64, n=n, d=d)
    st_r = [t.clone() for t in st_c]
    with on_isa(isa):
        prev = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            for _ in range(2):
                torch.ops.shortcutbench.saga_enet(X, target, sw, order, *st_c, 0.02, 0.02, 0.7, batch, "multinomial",
                                                  False, n, -1.0)
                saga_enet_reference(X, target, sw, order, *st_r, 0.02, 0.02, 0.7, batch, "multinomial", False, n)
        finally:
            torch.set_num_threads(prev)
    for a, b in zip(st_c, st_r):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    assert (st_c[0] != 0).any()


def test_step_tol_stops_without_applying_the_step():
    X, target, sw, order, st = _problem("multinomial", torch.float64, weighted=False)
    ref = [t.clone() for t in st]
    out = saga_enet(X, target, sw, order, *st, 0.05, 0.02, 0.7, 32, "multinomial", False, X.shape[0], 1e9)
    assert out[2] == 1 and out[1] == 0
    assert torch.equal(st[0], ref[0]) and torch.equal(st[1], ref[1])  # weights untouched
    assert not torch.equal(st[2], ref[2])  # the table was already updated (glm-saga's order)


def test_prox_by_hand():
    v = torch.tensor([[3.0, -0.5, -2.0]])
    torch.testing.assert_close(enet_prox(v, 1.0, 1.0), torch.tensor([[1.0, 0.0, -0.5]]))
    # group: column norms 5 and 0 (all-zero column: no NaN) with threshold 1 → scale 4/5, 0
    g = torch.tensor([[3.0, 0.0], [4.0, 0.0]])
    out = enet_prox(g, 1.0, 0.0, group=True)
    torch.testing.assert_close(out, torch.tensor([[2.4, 0.0], [3.2, 0.0]]))
    assert torch.isfinite(out).all()


def test_one_full_batch_step_is_proximal_gradient():
    # With the table at the true residuals and one batch = all rows, SAGA is one prox-gradient step.
    X, target, _, _, st = _problem("gaussian", torch.float64, n=20, weighted=False)
    W0 = torch.randn(st[0].shape, dtype=torch.float64)
    st[0].copy_(W0)
    r = X @ W0.T - target
    st[2].copy_(r)
    st[3].copy_(r.T @ X / 20)
    st[4].copy_(r.mean(0))
    saga_enet(X, target, torch.empty(0, dtype=torch.float64), torch.arange(20), *st, 0.1, 0.3, 0.5, 20, "gaussian",
              False, 20)
    expect = enet_prox(W0 - 0.1 * (r.T @ X / 20), 0.1 * 0.3 * 0.5, 0.1 * 0.3 * 0.5)
    torch.testing.assert_close(st[0], expect)


@needs_saga_enet
@pytest.mark.parametrize("bad, match", [
    (lambda a: a.update(X=a["X"][0]), "2 dimensions"),
    (lambda a: a.update(weight=a["weight"][:, :3].contiguous()), "weight must have shape"),
    (lambda a: a.update(target=a["target"] + 10), "labels must lie"),
    (lambda a: a.update(order=a["order"] + 1000), "order must index"),
    (lambda a: a.update(table=a["table"].double()), "dtype of X"),
])
def test_kernel_rejects_bad_input(bad, match):
    X, target, sw, order, st = _problem("multinomial", torch.float32)
    args = dict(X=X, target=target, sw=sw, order=order, weight=st[0], bias=st[1], table=st[2], w_avg=st[3], b_avg=st[4])
    bad(args)
    with pytest.raises(RuntimeError, match=match):
        torch.ops.shortcutbench.saga_enet(*args.values(), 0.1, 0.1, 0.5, 8, "multinomial", False, 100, -1.0)
