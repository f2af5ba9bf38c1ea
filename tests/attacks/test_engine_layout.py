"""The attack engine on a channels_last batch (the zoo trains with channels_last; PGD-AT attacks
its training batches): same result as on the NCHW batch."""
import torch

from shortcutbench.attacks import PGD
from shortcutbench.models import create_model


def test_pgd_on_a_channels_last_batch_equals_nchw():
    model = create_model("lazy_cnn", seed=0).eval()
    x, y = torch.rand(6, 3, 28, 28, generator=torch.Generator().manual_seed(0)), torch.arange(6)
    atk = PGD(eps=0.1, steps=3, step_size=0.025, random_start=True, early_stop=False, seed=1)
    ref = atk(model, x, y)
    got = atk(model.to(memory_format=torch.channels_last), x.to(memory_format=torch.channels_last), y)
    assert torch.allclose(got.x_best, ref.x_best, atol=1e-6) and torch.equal(got.success, ref.success)
