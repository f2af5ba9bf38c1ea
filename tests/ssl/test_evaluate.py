import torch

from shortcutbench.ssl.data import SSL_DATA, subset
from shortcutbench.ssl.evaluate import EvalConfig, robustness, shortcut_probe
from shortcutbench.ssl.pretrain import PretrainConfig, pretrain


def test_robustness_counts_are_ordered():
    toy = SSL_DATA.get("toy")()
    clf = pretrain("supervised", toy, PretrainConfig(epochs=2, batch_size=64, train_size=256), seed=0).model
    x, y, _ = subset(toy["test"], 64)
    cfg = EvalConfig(eps=(0.05, 0.3), apgd_steps=10, apgd_short_steps=3, n_targets=2, square_queries=20)
    out = robustness(clf, x, y, cfg, cfg.eps, 0.3)
    assert out["n"] == 64 and 0 <= out["clean"] <= 64
    for row in out["robust"].values():
        assert all(0 <= v <= out["clean"] for v in row.values())
        assert row["standard"] <= row["apgd_ce"]  # the cascade starts from APGD-CE's survivors
    small, large = out["robust"]["0.05"], out["robust"]["0.3"]
    assert large["apgd_ce"] <= small["apgd_ce"]
    assert out["feature_norm"] > 0


class _Split:
    """Hard-split stand-in: colour is the first channel's level, digit the second's."""

    def __init__(self, n=400):
        g = torch.Generator().manual_seed(0)
        self.digit, self.color = torch.randint(0, 10, (n,), generator=g), torch.randint(0, 10, (n,), generator=g)
        self.source_index = torch.arange(n)

    def images(self, idx):
        x = torch.zeros(len(idx), 2, 1, 1)
        x[:, 0, 0, 0], x[:, 1, 0, 0] = self.color[idx].float(), self.digit[idx].float()
        return x


class _Reads(torch.nn.Module):
    """features = one-hot of channel ``c``'s level: a model that sees only colour (c=0) or digit (c=1)."""

    def __init__(self, c):
        super().__init__()
        self.c = c

    def features(self, x):
        return torch.nn.functional.one_hot(x[:, self.c, 0, 0].long(), 10).float()

    def forward(self, x):
        return self.features(x) * 10


def test_shortcut_probe_tells_colour_from_digit():
    colour_only, digit_only = shortcut_probe(_Reads(0), _Split(), 200), shortcut_probe(_Reads(1), _Split(), 200)
    assert colour_only["colour_share"] > 0.9 and digit_only["colour_share"] < 0.1
    assert digit_only["hard_acc"] == 1.0 and colour_only["hard_acc"] < 0.3
