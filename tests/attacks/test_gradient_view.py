import copy

import pytest
import torch
import torch.fx as fx
import torch.nn as nn
import torch.nn.functional as F

from shortcutbench.attacks.gradient_view import gradient_view, pool_before_relu
from shortcutbench.models.lazy_cnn import LazyCNN


def _value_and_grad(f, x):
    xr = x.clone().requires_grad_(True)
    z = f(xr)
    (g,) = torch.autograd.grad(F.cross_entropy(z, z.detach().argmin(1)), xr)
    return z.detach(), g


class Functional(nn.Module):
    """F.relu → F.max_pool2d with overlapping windows (kernel 3, stride 2), then a head."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 5 * 5, 10)

    def forward(self, x):
        return self.fc(torch.flatten(F.max_pool2d(F.relu(self.conv(x)), 3, 2), 1))


class Padded(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.pool = nn.MaxPool2d(2, padding=1)

    def forward(self, x):
        return self.pool(torch.relu(self.conv(x))).flatten(1)


class Skip(nn.Module):
    """The ReLU's output is used twice: the pool may not absorb it."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        r = torch.relu(self.conv(x))
        return F.max_pool2d(r, 2).flatten(1).sum(1, keepdim=True) + r.mean((1, 2, 3))[:, None]


class DataDependent(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3 * 8 * 8, 10)

    def forward(self, x):
        return self.fc(x.flatten(1)) if x.sum() > 0 else -self.fc(x.flatten(1))


@pytest.mark.parametrize("make,size,rewrites", [(lambda: LazyCNN(), 28, 3),
                                                (lambda: nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(),
                                                                       nn.MaxPool2d(2), nn.Flatten(),
                                                                       nn.Linear(4 * 7 * 7, 10)), 14, 1),
                                                (Functional, 12, 1), (Padded, 8, 0), (Skip, 8, 0)])
def test_pool_before_relu_is_the_same_function(make, size, rewrites):
    torch.manual_seed(0)
    model = make().eval()
    x = torch.rand(6, 3, size, size)
    x[0] = 0.0  # a constant image: conv output = bias, ties inside every window
    gm = fx.symbolic_trace(model)
    assert pool_before_relu(gm) == rewrites
    z, g = _value_and_grad(model, x)
    z2, g2 = _value_and_grad(gm, x)
    assert torch.equal(z, z2) and torch.equal(g, g2)  # max and ReLU commute: bit for bit


def test_view_matches_the_model_and_shares_its_weights():
    torch.manual_seed(0)
    model = LazyCNN().eval()
    view = gradient_view(model)
    assert view is not model and gradient_view(model) is view  # built once per model
    x = torch.rand(5, 3, 28, 28)
    z, g = _value_and_grad(model, x)
    z2, g2 = _value_and_grad(view, x)
    torch.testing.assert_close(z2, z, rtol=1e-5, atol=1e-5)  # channels_last: other summation order
    torch.testing.assert_close(g2, g, rtol=1e-4, atol=1e-6)
    with torch.no_grad():
        model.fc.bias += 1.0
    torch.testing.assert_close(view(x), model(x), rtol=1e-5, atol=1e-5)


def test_view_is_the_model_where_a_rewrite_could_differ(monkeypatch):
    torch.manual_seed(0)
    train = LazyCNN().train()
    assert gradient_view(train) is train  # train mode: dropout/batch-norm flags are not traced
    hooked = LazyCNN().eval()
    hooked.relu1.register_forward_hook(lambda m, i, o: None)
    assert gradient_view(hooked) is hooked  # hooks would see other tensors (or none)
    dyn = DataDependent().eval()
    assert gradient_view(dyn) is dyn  # fx cannot trace it
    plain = LazyCNN().eval()
    monkeypatch.setenv("SHORTCUTBENCH_PLAIN_ATTACK_MODEL", "1")
    assert gradient_view(plain) is plain


@pytest.mark.parametrize("attack", ["apgd", "square"])
def test_attack_through_the_view_equals_the_plain_model(monkeypatch, attack):
    from shortcutbench.attacks import APGD, Square

    make = {"apgd": lambda: APGD(eps=0.03, steps=10, loss="ce", seed=0),
            "square": lambda: Square(eps=0.15, n_queries=100, seed=0)}[attack]
    torch.manual_seed(0)
    model = LazyCNN().eval()
    x = torch.rand(16, 3, 28, 28)
    with torch.no_grad():
        y = model(x).argmax(1)
    fast = make()(model, x, y)
    monkeypatch.setenv("SHORTCUTBENCH_PLAIN_ATTACK_MODEL", "1")
    plain = make()(copy.deepcopy(model), x, y)
    assert fast.success.any() and not fast.success.all()  # a case that can tell them apart
    assert torch.equal(fast.success, plain.success)
    torch.testing.assert_close(fast.best_loss, plain.best_loss, rtol=1e-4, atol=1e-5)


def test_square_evaluates_through_the_view(monkeypatch):
    from shortcutbench.attacks import Square, square

    seen = []
    monkeypatch.setattr(square, "gradient_view", lambda m: seen.append(m) or gradient_view(m))
    model = LazyCNN().eval()
    x = torch.rand(4, 3, 28, 28)
    with torch.no_grad():
        y = model(x).argmax(1)  # every point still to attack, so Square runs
    Square(eps=0.1, n_queries=5, seed=0)(model, x, y)
    assert seen == [model]
