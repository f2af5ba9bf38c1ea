import pytest
import torch
import torch.nn.functional as F

from shortcutbench.invariance.ccat import soft_cross_entropy, soft_targets
from shortcutbench.models import create_model
from shortcutbench.train import METHODS, Batch, TrainConfig
from shortcutbench.train.ccat import linf_attack


def test_gamma_zero_is_plain_cross_entropy():
    z, y = torch.randn(5, 10), torch.randint(0, 10, (5,))
    torch.testing.assert_close(soft_cross_entropy(z, soft_targets(y, torch.zeros(5), 10)), F.cross_entropy(z, y))


@pytest.mark.parametrize("method,arch", [("ccat", "lazy_cnn"), ("ccat_perceptual", "lazy_cnn"),
                                         ("ccat_temp", "lazy_cnn_temp")])
def test_one_training_step_runs_and_changes_weights(method, arch):
    torch.manual_seed(0)
    algo = METHODS.get(method)(create_model(arch), TrainConfig(), None, iters=2)
    before = [p.detach().clone() for p in algo.model.parameters()]
    g = torch.Generator().manual_seed(0)
    batch = Batch(torch.rand(8, 3, 28, 28, generator=g), torch.arange(8), torch.zeros(8, dtype=torch.long),
                  torch.arange(8))
    out = algo.training_step(batch, 0, 0)
    assert torch.isfinite(torch.tensor(out["loss"]))
    assert any(not torch.equal(a, b) for a, b in zip(before, algo.model.parameters()))


def test_inner_attack_stays_in_the_ball_and_returns_the_best_iterate():
    torch.manual_seed(0)
    model = create_model("lazy_cnn").eval()
    g = torch.Generator().manual_seed(1)
    x, y = torch.rand(6, 3, 28, 28, generator=g), torch.arange(6)
    for obj in ("f7p", "ce"):
        xa = linf_attack(model, x, y, 0.1, iters=3, objective=obj, generator=g)
        assert (xa - x).abs().max() <= 0.1 + 1e-6 and xa.min() >= 0 and xa.max() <= 1
        with torch.no_grad():
            p = torch.softmax(model(xa), 1)
            p0 = torch.softmax(model(x), 1)
        if obj == "f7p":  # the best iterate is at least as good as the start (a candidate) in expectation
            other = lambda q: q.scatter(1, y[:, None], -1).amax(1)  # noqa: E731
            assert other(p).mean() >= other(p0).mean() - 1e-3
