"""The certificate must never be contradicted by an attack (issue #23), and the check must be able
to fail: a deliberately overstated certificate is caught."""
import pytest
import torch
import torch.nn as nn

import shortcutbench.causal.delta as delta
from shortcutbench.causal.delta import DeltaConfig, delta_metrics
from shortcutbench.causal.encoders import bake, constrain_linf, shallow_body
from shortcutbench.causal.task import TASKS


def _linear_case(n=24, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = 0.3 + 0.4 * torch.rand(n, 3, 4, 4, generator=gen)  # far from 0 and 1: clipping never binds at small ε
    lin = nn.Linear(48, 1)
    with torch.no_grad():
        lin.weight.copy_(torch.randn(1, 48, generator=gen))
        f = lin(x.flatten(1)).squeeze(1)
        # spread the outputs over the θ range
        lin.weight.mul_(1.4 / f.std())
        lin.bias.sub_(float(lin(x.flatten(1)).mean()))
    net = nn.Sequential(nn.Flatten(), lin).eval()
    task = TASKS.get("theta")
    with torch.no_grad():
        y = task.head()(net(x).squeeze(1)).argmax(1)  # labels the model gets right
    return net, task, x, y


def test_linear_regressor_certificate_holds_and_is_tight():
    net, task, x, y = _linear_case()
    m = delta_metrics(net, task, x, y, DeltaConfig(eps_grid=(0.5 / 255, 1 / 255, 2 / 255, 4 / 255, 8 / 255)))
    assert m["clean_acc"] == 1.0
    assert m["violations"] == {"fgsm": 0, "apgd-ce": 0, "apgd-ce-10": 0}
    r = torch.tensor(m["r_lip"])
    # a linear model's certificate is exact: FGSM flips every sample just above its radius
    res = delta.ATTACKS["fgsm"](0.0, 0)(nn.Sequential(net, task.head()), x, y, eps=(r * 1.02).float())
    assert bool(res.success.all())


@pytest.mark.slow
def test_constrained_cnn_is_never_broken_below_its_radius():
    body, head = shallow_body(), nn.Linear(64, 1)
    torch.manual_seed(0)
    constrain_linf(body, head, gain=16.0)
    net = nn.Sequential(*body, head)
    bake(net)
    net = net.eval()
    x = torch.rand(16, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    task = TASKS.get("theta")
    with torch.no_grad():
        net[-1].bias.sub_(float(net(x).mean()))
        y = task.head()(net(x).squeeze(1)).argmax(1)
    m = delta_metrics(net, task, x, y, DeltaConfig(eps_grid=(1 / 255, 8 / 255)))
    assert m["lambda"] <= 16.0 + 1e-4
    assert sum(m["violations"].values()) == 0


def test_an_overstated_certificate_is_caught(monkeypatch):
    net, task, x, y = _linear_case(seed=1)
    monkeypatch.setattr(delta, "linf_lipschitz", lambda n: 0.25 * float(n[-1].weight.detach().abs().sum()))
    monkeypatch.setattr(delta, "interval_radius", lambda *a, **k: torch.zeros(x.shape[0], dtype=torch.float64))
    m = delta_metrics(net, task, x, y, DeltaConfig(eps_grid=(1 / 255, 2 / 255, 4 / 255, 8 / 255)))
    assert m["violations"]["fgsm"] > 0
