"""The ERM curve rule picks the setting whose train / Easy-Val curve is the seed's, whatever its
hard accuracy."""
import pytest

from shortcutbench.zoo.erm_choice import SEED_EASY_VAL, SEED_TRAIN, choose, curve_distance


def _hist(train, val):
    return [{"train_acc": t, "val_acc": v} for t, v in zip(train, val)]


def test_the_seed_curve_itself_is_at_distance_zero():
    assert curve_distance([_hist(SEED_TRAIN, SEED_EASY_VAL)]) == pytest.approx(0.0)
    assert curve_distance([_hist([0.92] * 4, [0.95] * 4), _hist([0.94] * 4, [0.96] * 4)]) == pytest.approx(
        curve_distance([_hist([0.93] * 4, [0.955] * 4)]))  # seeds are averaged before comparing


def test_choice_follows_the_curve():
    near = [_hist([t + 0.003 for t in SEED_TRAIN], SEED_EASY_VAL)]
    fast = [_hist([0.99] * 4, [0.99] * 4)]  # a model that learnt shape: far from the seed's curve
    slow = [_hist([0.2] * 4, [0.2] * 4)]
    chosen, dist = choose({(0.01, 0.0): near, (0.1, 0.9): fast, (0.001, 0.0): slow})
    assert chosen == (0.01, 0.0)
    assert dist[(0.01, 0.0)] < dist[(0.1, 0.9)] < dist[(0.001, 0.0)]
    with pytest.raises(ValueError):
        choose({(0.01, 0.0): [_hist([0.9], [0.9])]})  # fewer than 4 epochs
