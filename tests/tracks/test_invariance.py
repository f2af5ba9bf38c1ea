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


class _Split:
    def __init__(self, x, y):
        self.x, self.digit = x, y

    def images(self, idx=None):
        return self.x if idx is None else self.x[idx]


def _flat(means):
    return torch.tensor(means).view(-1, 1, 1, 1).expand(len(means), 1, 4, 4).clone()


def test_thresholded_rerr_against_the_engine_attacks_by_hand():
    """RErr counts clean or adversarial mistakes (0.3 wrong clean, 0.51/0.52 flipped: 3 of 5);
    RErr@99%TPR keeps only inputs as confident as τ = 1 (saturated softmax): the confidently wrong
    0.3 among the three confident ones; the flipped ones stay below τ."""
    from shortcutbench.tracks.invariance import _thresholded

    protocol, model = PROTOCOLS["quick"], MeanBrightness()
    x, y = _flat([0.51, 0.52, 0.9, 0.95, 0.3]), torch.zeros(5, dtype=torch.long)
    data = {"val": _Split(_flat([0.9] * 20), torch.zeros(20, dtype=torch.long))}
    out = _thresholded(model, data, x, y, _linf(model, x, y, protocol, "ce"), protocol)
    assert out["tau_99tpr"] == 1.0 and out["clean_err"] == 0.2
    assert out["rerr"] == 0.6
    assert abs(out["rerr_99tpr"] - 1 / 3) < 1e-12
