import torch

from shortcutbench.models import create_model
from shortcutbench.train import METHODS, Batch, TrainConfig


def _batch(n=16):
    g = torch.Generator().manual_seed(0)
    return Batch(torch.rand(n, 3, 28, 28, generator=g), torch.randint(0, 10, (n,), generator=g),
                 torch.zeros(n, dtype=torch.long), torch.arange(n))


def test_methods_registered_with_hparams():
    assert {"pgd_at", "fgsm_at"} <= set(METHODS.list())
    assert METHODS.get("pgd_at").default_hparams["eps"] == 0.1


def test_training_step_attacks_inside_the_ball_and_updates_weights():
    for name in ("pgd_at", "fgsm_at"):
        torch.manual_seed(0)
        model = create_model("lazy_cnn")
        method = METHODS.get(name)(model, TrainConfig(), data=None, eps=0.1)
        atk = method.attack()
        b = _batch()
        x_adv = atk(model, b.x, b.y).x_best
        assert ((x_adv - b.x).abs().flatten(1).amax(1) <= 0.1 + 1e-6).all()
        before = [p.detach().clone() for p in model.parameters()]
        out = method.training_step(b, 0, 0)
        assert out["loss"] > 0
        assert any(not torch.equal(p0, p1) for p0, p1 in zip(before, model.parameters()))


def test_adversarial_loss_exceeds_clean_loss():
    torch.manual_seed(0)
    model = create_model("lazy_cnn")
    b = _batch(32)
    method = METHODS.get("pgd_at")(model, TrainConfig(), data=None)
    x_adv = method.attack()(model, b.x, b.y).x_best
    ce = torch.nn.functional.cross_entropy
    with torch.no_grad():
        assert ce(model(x_adv), b.y) > ce(model(b.x), b.y)
