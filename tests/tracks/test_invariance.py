import torch
import torch.nn as nn

from shortcutbench.tracks.invariance import PROTOCOLS, _linf, _untargeted_success


class MeanBrightness(nn.Module):
    """Class 0 iff the mean pixel exceeds 0.5, with a steep margin: an ℓ∞ step of ε moves the mean
    by at most ε, so exactly the inputs within ε of 0.5 can be flipped."""

    def forward(self, x):
        s = 100.0 * (x.flatten(1).mean(1) - 0.5)
        return torch.stack([s, -s], 1)


def test_linf_column_uses_the_engine_and_counts_flips_of_correct_inputs():
    protocol = PROTOCOLS["quick"]  # ε = 0.03
    model = MeanBrightness()
    means = torch.tensor([0.51, 0.52, 0.9, 0.95, 0.3])  # two flippable, two out of reach, one wrong
    x = means.view(-1, 1, 1, 1).expand(5, 1, 4, 4).clone()
    y = torch.zeros(5, dtype=torch.long)
    ce = _linf(model, x, y, protocol, "ce")
    assert (ce.x_adv - x).abs().max() <= protocol.linf_eps + 1e-6
    assert ce.success.tolist() == [True, True, False, False, True]  # the wrong one counts as done
    assert _untargeted_success(model, x, y, ce) == 0.5  # 2 of the 4 correctly classified
