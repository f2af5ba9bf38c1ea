import pytest
import torch

from shortcutbench.attacks import dlr_loss, targeted_dlr_loss
from shortcutbench.errors import UsageError


def test_dlr_invariant_under_affine_logits():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(50, 10, generator=g)
    y = torch.randint(0, 10, (50,), generator=g)
    t = (y + 1 + torch.randint(0, 9, (50,), generator=g)) % 10
    for a, b in ((3.0, -2.0), (0.1, 5.0)):
        torch.testing.assert_close(dlr_loss(a * z + b, y), dlr_loss(z, y), rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(targeted_dlr_loss(a * z + b, y, t), targeted_dlr_loss(z, y, t), rtol=1e-4, atol=1e-5)


def test_dlr_by_hand_and_sign_follows_correctness():
    z = torch.tensor([[4.0, 1.0, 0.0, -1.0]])
    # correct (y = 0): −(4 − 1) / (4 − 0) = −0.75; wrong (y = 1): −(1 − 4) / 4 = 0.75
    assert dlr_loss(z, torch.tensor([0])).item() == pytest.approx(-0.75)
    assert dlr_loss(z, torch.tensor([1])).item() == pytest.approx(0.75)
    # targeted, y = 0, t = 3: −(4 − (−1)) / (4 − (0 + (−1))/2) = −5 / 4.5
    assert targeted_dlr_loss(z, torch.tensor([0]), torch.tensor([3])).item() == pytest.approx(-5 / 4.5)


def test_too_few_classes_is_a_usage_error():
    with pytest.raises(UsageError, match="at least 3 classes"):
        dlr_loss(torch.randn(2, 2), torch.tensor([0, 1]))
    with pytest.raises(UsageError, match="at least 4 classes"):
        targeted_dlr_loss(torch.randn(2, 3), torch.tensor([0, 1]), torch.tensor([1, 2]))


def test_confidence_loss_by_hand():
    """`conf`: the best other-class confidence (untargeted, Stutz et al.'s F7P) or p_t (targeted)."""
    from shortcutbench.attacks.losses import attack_loss

    z = torch.tensor([[0.5, 0.3, 0.2], [0.1, 0.6, 0.3]]).log()
    y, t = torch.tensor([0, 1]), torch.tensor([2, 0])
    torch.testing.assert_close(attack_loss("conf", z, y, None), torch.tensor([0.3, 0.3]))
    torch.testing.assert_close(attack_loss("conf", z, y, t), torch.tensor([0.2, 0.1]))
    with pytest.raises(UsageError, match="unknown attack loss 'nope'.*conf"):
        attack_loss("nope", z, y, None)
