import pytest
import torch

from shortcutbench.attacks import (APGD, APGDT, ATTACKS, FGSM, PGD, Cascade, Square, apgd_checkpoints,
                                   create_attack, model_flags, robust_accuracy)
from shortcutbench.errors import UsageError


def test_apgd_checkpoints_follow_the_code():
    assert apgd_checkpoints(100) == [22, 41, 57, 70, 80, 87, 93, 99]
    assert apgd_checkpoints(10) == list(range(2, 11))


def test_apgd_halves_its_step_exactly_at_the_checkpoints(monkeypatch):
    """The engine, not just the schedule function: with a loss that never improves, both of APGD's
    conditions fire at every check, so η halves (and x restarts from the best point) after
    iterations 22, 41, 57, 70, 80, 87, 93, 99 for N = 100, and at no other iteration."""
    from shortcutbench.attacks import engine

    calls = []
    real = engine.pgd_step

    def spy(x, x_prev, g, xo, e, st, lv, s, restore, *rest):
        calls.append((bool(restore.all()), bool(restore.any()), float(st[0])))
        return real(x, x_prev, g, xo, e, st, lv, s, restore, *rest)

    monkeypatch.setattr(engine, "pgd_step", spy)
    flat = lambda v: torch.tensor([[3.0, 1.0, 0.0, -1.0]]).expand(v.shape[0], 4) + 0 * v.flatten(1)[:, :1]  # noqa: E731
    x = torch.rand(5, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    APGD(eps=0.1, steps=100)(flat, x, torch.zeros(5, dtype=torch.long))
    assert len(calls) == 100  # one step per iteration 0 … 99 (x_100 is only evaluated)
    marks = [t for t, (all_rows, _, _) in enumerate(calls) if all_rows]  # calls[t] makes x_{t+1} from x_t
    assert marks == [22, 41, 57, 70, 80, 87, 93, 99]
    assert not any(any_row for t, (_, any_row, _) in enumerate(calls) if t not in marks)
    for t, (_, _, step) in enumerate(calls):  # η₀ = 2ε, halved at each checkpoint passed
        assert step == pytest.approx(0.2 / 2 ** sum(m <= t for m in marks))


def test_registry_lists_presets_and_presets_are_frozen():
    for name in ("fgsm", "pgd", "pgd40", "apgd-ce", "apgd-dlr", "apgd-t", "square", "standard"):
        assert name in ATTACKS
    a = create_attack("pgd40", eps=0.1)
    assert a.steps == 40
    with pytest.raises(Exception):
        a.eps = 0.2
    with pytest.raises(UsageError, match="unknown attack"):
        create_attack("nope")


ATTACKS_UNDER_TEST = [
    lambda e, n: FGSM(eps=e, norm=n),
    lambda e, n: PGD(eps=e, norm=n, steps=10),
    lambda e, n: PGD(eps=e, norm=n, steps=10, momentum=0.5, restarts=2),
    lambda e, n: APGD(eps=e, norm=n, steps=12, loss="ce"),
    lambda e, n: APGD(eps=e, norm=n, steps=12, loss="dlr"),
    lambda e, n: APGDT(eps=e, norm=n, steps=8, n_targets=3),
]


@pytest.mark.parametrize("make", ATTACKS_UNDER_TEST)
@pytest.mark.parametrize("norm,eps", [("linf", 0.03), ("l2", 0.5)])
def test_perturbation_invariants(tiny, make, norm, eps):
    m, x, y = tiny
    res = make(eps, norm)(m, x, y)
    for out in (res.x_adv, res.x_best):
        d = (out - x).flatten(1)
        size = d.abs().amax(1) if norm == "linf" else d.norm(dim=1)
        assert (size <= eps + 1e-6).all() and out.min() >= 0 and out.max() <= 1 and not out.isnan().any()
    with torch.no_grad():  # reported successes are real, failures return x
        pred = m(res.x_adv).argmax(1)
    assert (pred[res.success] != y[res.success]).all()
    assert torch.equal(res.x_adv[~res.success], x[~res.success])


def test_square_invariants_and_linf_only(tiny):
    m, x, y = tiny
    res = Square(eps=0.05, n_queries=60)(m, x, y)
    assert ((res.x_adv - x).abs().flatten(1).amax(1) <= 0.05 + 1e-6).all()
    assert res.x_adv.min() >= 0 and res.x_adv.max() <= 1
    with pytest.raises(UsageError, match="linf"):
        Square(eps=0.5, norm="l2")(m, x, y)


@pytest.mark.parametrize("name,config", [("fgsm", {}), ("pgd", {"steps": 10}), ("apgd-ce", {"steps": 10}),
                                         ("standard", {"steps": 8, "n_targets": 3, "square_queries": 30})])
@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_robust_accuracy_at_zero_equals_clean_and_never_rises(tiny, name, config, norm):
    m, x, y = tiny
    with torch.no_grad():
        clean = (m(x).argmax(1) == y).float().mean().item()
    grid = (0.0, 0.01, 0.03, 0.1) if norm == "linf" else (0.0, 0.1, 0.3, 1.0)
    res = [robust_accuracy(m, x, y, create_attack(name, eps=e, norm=norm, **config)) for e in grid]
    accs = [r.robust.float().mean().item() for r in res]
    assert accs[0] == clean
    # FGSM's single step may overshoot, so only the iterative attacks are held to monotonicity
    assert name == "fgsm" or all(a >= b for a, b in zip(accs, accs[1:])), accs
    assert accs[-1] < clean  # the grid is wide enough to break something: the test can fail
    for e, r in zip(grid, res):  # the cascade's returned points obey the threat model too
        d = (r.x_adv - x).flatten(1)
        size = d.abs().amax(1) if norm == "linf" else d.norm(dim=1)
        assert (size <= e + 1e-6).all() and r.x_adv.min() >= 0 and r.x_adv.max() <= 1 and not r.x_adv.isnan().any()


def test_cascade_is_at_most_each_member(tiny):
    m, x, y = tiny
    e = 0.02
    members = (FGSM(eps=e), PGD(eps=e, steps=5, random_start=False), APGD(eps=e, steps=10))
    ens = Cascade(members).evaluate(m, x, y).robust.float().mean().item()
    for a in members:
        assert ens <= robust_accuracy(m, x, y, a).robust.float().mean().item()
    std = robust_accuracy(m, x, y, create_attack("standard", eps=e, steps=10, n_targets=3, square_queries=20))
    assert std.robust.float().mean() <= robust_accuracy(m, x, y, APGD(eps=e, steps=10)).robust.float().mean()
    assert not (std.robust & ~std.clean).any()


def test_same_seed_same_result_and_device_follows_input(tiny):
    m, x, y = tiny
    a, b = PGD(eps=0.03, steps=5)(m, x, y), PGD(eps=0.03, steps=5)(m, x, y)
    assert torch.equal(a.x_adv, b.x_adv) and a.x_adv.device == x.device


def test_active_set_does_not_change_results(tiny):
    """Shrinking the batch to unbroken rows must give each row the result it gets alone."""
    m, x, y = tiny
    atk = PGD(eps=0.02, steps=8, random_start=False)
    full = atk(m, x, y)
    for i in (0, 5, 17):
        one = atk(m, x[i:i + 1], y[i:i + 1])
        assert one.success.item() == full.success[i].item()
        torch.testing.assert_close(one.x_best, full.x_best[i:i + 1])


def test_model_flags_catch_masking_models(tiny):
    m, x, y = tiny

    class Dropout(torch.nn.Module):
        def forward(self, x):
            return torch.nn.functional.dropout(m(x), 0.5, training=True)

    class Softmax(torch.nn.Module):
        def forward(self, x):
            return m(x).softmax(1)

    class Rounded(torch.nn.Module):
        def forward(self, x):
            return m(torch.round(x * 4) / 4)

    assert not any(v for k, v in model_flags(m, x, y).items() if k != "logit_spread")
    assert model_flags(Dropout(), x, y)["randomness"]
    assert model_flags(Softmax(), x, y)["softmax_outputs"]
    assert model_flags(Rounded(), x, y)["zero_grad_share"] == 1.0


def test_bad_inputs_are_usage_errors(tiny):
    m, x, y = tiny
    with pytest.raises(UsageError, match=r"\[0, 1\]"):
        PGD(eps=0.1)(m, x * 2, y)
    with pytest.raises(UsageError, match="norm"):
        PGD(eps=0.1, norm="l1")
    with pytest.raises(UsageError, match="classes"):
        APGDT(eps=0.1, n_targets=9)(lambda v: m(v)[:, :4], x, y % 4)


# Every registered attack, small enough to run twice in a test (issue 21: layouts and empty batches).
SMALL_CONFIG = {"apgd": dict(steps=6), "apgd-ce": dict(steps=6), "apgd-dlr": dict(steps=6),
                "apgd-t": dict(steps=4, n_targets=3), "fgsm": {}, "pgd": dict(steps=6), "pgd40": dict(steps=6),
                "square": dict(n_queries=20), "standard": dict(steps=4, n_targets=3, square_queries=10)}


def test_small_config_covers_every_registered_attack():
    assert sorted(SMALL_CONFIG) == sorted(ATTACKS)


@pytest.mark.parametrize("name", sorted(SMALL_CONFIG))
def test_channels_last_batch_is_attacked_like_a_contiguous_one(tiny, name):
    """The fused pgd_step updates its state in any memory format; a channels_last batch gives the
    contiguous batch's result (up to the model's own layout-dependent rounding)."""
    m, x, y = tiny
    atk = create_attack(name, eps=0.03, **SMALL_CONFIG[name])
    x_cl = x.contiguous(memory_format=torch.channels_last)
    if isinstance(atk, Cascade):  # the cascade attacks row subsets; the attack itself gets x as passed
        plain, cl = robust_accuracy(m, x, y, atk).robust, robust_accuracy(m, x_cl, y, atk).robust
    else:
        plain, cl = ~atk(m, x, y).success, ~atk(m, x_cl, y).success
    assert abs(int(plain.sum()) - int(cl.sum())) <= 1
    assert (plain == cl).float().mean() >= 0.95


@pytest.mark.parametrize("name", sorted(SMALL_CONFIG))
def test_empty_batch_gives_an_empty_result(tiny, name):
    m, x, y = tiny
    res = robust_accuracy(m, x[:0], y[:0], create_attack(name, eps=0.03, **SMALL_CONFIG[name]))
    assert res.robust.shape == (0,) and res.clean.shape == (0,)
    for attack in ("fgsm", "pgd", "apgd-ce"):  # the engine's own result, not only the cascade's
        if name == attack:
            out = create_attack(name, eps=0.03, **SMALL_CONFIG[name])(m, x[:0], y[:0])
            assert out.x_adv.shape == x[:0].shape and out.success.shape == (0,)
