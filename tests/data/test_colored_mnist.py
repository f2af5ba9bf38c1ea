from dataclasses import replace

import numpy as np
import pytest
import torch

from shortcutbench.data import PALETTE, ColoredMNISTConfig, build_colored_mnist, load_embedded
from shortcutbench.data.colored_mnist import confusing_colors
from shortcutbench.errors import UsageError


@pytest.fixture(scope="module")
def digits():
    return load_embedded()


@pytest.fixture(scope="module")
def data(digits):
    return build_colored_mnist(digits)


def test_split_sizes(data):
    sizes = {k: len(v) for k, v in data.splits.items()}
    # embedded: 500 per digit = 100 test + 40 val + 40 val_balanced + 320 train
    assert sizes == {"train": 3200, "val": 400, "val_balanced": 400, "hard_val": 3600, "easy": 1000, "hard": 9000}


def test_splits_use_disjoint_digits(data):
    src = {k: set(data[k].source_index.tolist()) for k in ("train", "val", "val_balanced", "easy")}
    keys = list(src)
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            assert not src[a] & src[b], (a, b)
    assert set(data["hard"].source_index.tolist()) == src["easy"]
    assert set(data["hard_val"].source_index.tolist()) == src["val_balanced"]


@pytest.mark.parametrize("split", ["train", "val"])
def test_dominant_share_is_exact(data, split):
    s = data[split]
    for d in range(10):
        members = s.digit == d
        m = int(members.sum())
        assert int(s.aligned[members].sum()) == round(0.95 * m)  # 304 of 320, 38 of 40


def test_conflicting_colours_spread_evenly(data):
    s = data["train"]
    for d in range(10):
        cols = s.color[(s.digit == d) & ~s.aligned]
        counts = torch.bincount(cols, minlength=10)
        nonzero = counts[counts > 0]
        assert set(torch.nonzero(counts).flatten().tolist()) == set(confusing_colors(d, 9))
        assert int(nonzero.max() - nonzero.min()) <= 1


def test_hard_split_balanced_and_all_conflicting(data):
    hard = data["hard"]
    assert not bool(hard.aligned.any())
    cells = torch.bincount(hard.group, minlength=100).reshape(10, 10)
    assert cells.diag().sum() == 0
    off = cells[~torch.eye(10, dtype=torch.bool)]
    assert off.numel() == 90 and bool((off == 100).all())


def test_easy_all_aligned_and_val_balanced_even(data):
    assert bool(data["easy"].aligned.all())
    vb = data["val_balanced"]
    cells = torch.bincount(vb.group, minlength=100).reshape(10, 10)
    assert bool((cells == 4).all())


def test_pixels_are_grayscale_times_colour(data):
    s = data["hard"]
    idx = torch.arange(0, 9000, 997)
    x = s.images(idx)
    expect = s.gray[idx].float()[:, None] / 255 * PALETTE[s.color[idx]][:, :, None, None]
    torch.testing.assert_close(x, expect)
    assert float(x.min()) >= 0 and float(x.max()) <= 1


def test_same_config_same_data(digits, data):
    again = build_colored_mnist(digits)
    assert again.fingerprint == data.fingerprint
    for k in data.splits:
        assert torch.equal(again[k].color, data[k].color)


# One test per knob: changing it changes the data, in the way the knob means.
def test_knob_rho(digits, data):
    other = build_colored_mnist(digits, ColoredMNISTConfig(rho=0.8))
    assert other.fingerprint != data.fingerprint
    assert int(other["train"].aligned.sum()) == 10 * round(0.8 * 320)


def test_knob_n_confusing_colors(digits, data):
    other = build_colored_mnist(digits, ColoredMNISTConfig(n_confusing_colors=2))
    assert other.fingerprint != data.fingerprint
    s = other["train"]
    for d in range(10):
        cols = set(s.color[(s.digit == d) & ~s.aligned].tolist())
        assert cols == {(d + 1) % 10, (d + 2) % 10}


def test_knob_color_jitter(digits, data):
    assert torch.equal(data["train"].rgb, PALETTE[data["train"].color])
    other = build_colored_mnist(digits, ColoredMNISTConfig(color_jitter=0.05))
    assert other.fingerprint != data.fingerprint
    diff = other["train"].rgb - PALETTE[other["train"].color]
    assert 0.02 < float(diff.std()) < 0.06
    assert float(other["train"].rgb.min()) >= 0 and float(other["train"].rgb.max()) <= 1


def test_knob_color_location(digits, data):
    other = build_colored_mnist(digits, ColoredMNISTConfig(color_location="background"))
    assert other.fingerprint != data.fingerprint
    x = other["easy"].images(torch.tensor([0]))
    corner = x[0, :, 0, 0]  # MNIST corners are background (gray 0) → painted colour
    torch.testing.assert_close(corner, PALETTE[other["easy"].color[0]])


def test_knob_data_seed(digits, data):
    other = build_colored_mnist(digits, ColoredMNISTConfig(data_seed=1))
    assert other.fingerprint != data.fingerprint
    assert not torch.equal(other["train"].source_index, data["train"].source_index)


@pytest.mark.parametrize("kwargs, message", [
    ({"rho": 0.0}, r"rho must be in \(0, 1\]"),
    ({"rho": 1.5}, r"rho must be in \(0, 1\]"),
    ({"n_confusing_colors": 0}, "n_confusing_colors"),
    ({"color_jitter": -0.1}, "color_jitter"),
    ({"color_location": "everywhere"}, "color_location"),
])
def test_bad_knobs_are_usage_errors(kwargs, message):
    with pytest.raises(UsageError, match=message):
        ColoredMNISTConfig(**kwargs)


def test_rho_one_has_no_conflicting_training_images(digits):
    d = build_colored_mnist(digits, ColoredMNISTConfig(rho=1.0))
    assert bool(d["train"].aligned.all())


def test_recolored_split(data):
    r = data["easy"].recolored(1)
    assert bool((r.color == 1).all())
    torch.testing.assert_close(r.images(torch.tensor([3]))[0, 0].abs().sum(), torch.tensor(0.0))  # green: no red
