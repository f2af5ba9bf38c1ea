import math

import pytest
import torch

from shortcutbench.causal.task import TASKS, IntervalTask
from shortcutbench.errors import UsageError


def test_theta_task_is_the_seeds():
    t = TASKS.get("theta")
    assert t.delta_star == pytest.approx(math.pi / 16)  # gaps of π/8 between the seed's intervals
    assert torch.allclose(t.boundaries, torch.tensor([-3 * math.pi / 16, 3 * math.pi / 16], dtype=torch.float64))


def test_labels_leave_gaps_out():
    t = IntervalTask("t", "light", "theta", ((0.0, 1.0), (2.0, 3.0)))
    assert t.labels(torch.tensor([0.5, 1.5, 2.0, 3.5])).tolist() == [0, -1, 1, -1]
    assert t.delta_star == 0.5


def test_overlapping_intervals_are_rejected():
    with pytest.raises(UsageError):
        IntervalTask("bad", "light", "theta", ((0.0, 1.0), (0.5, 2.0)))


def test_head_argmax_is_the_region_and_margin_its_distance():
    t = IntervalTask("t", "light", "theta", ((0.0, 1.0), (2.0, 3.0), (4.0, 5.0)))  # boundaries 1.5, 3.5
    head = t.head()
    f = torch.tensor([0.2, 1.4, 1.6, 3.0, 3.6, 9.0])
    assert head(f).argmax(1).tolist() == [0, 0, 1, 1, 2, 2]
    y = torch.tensor([0, 0, 1, 1, 2, 1])
    assert torch.allclose(head.margin(f, y), torch.tensor([1.3, 0.1, 0.1, 0.5, 0.1, -5.5]), atol=1e-6)


def test_a_perfect_regressor_has_margin_at_least_delta_star():
    t = TASKS.get("distance")
    values = torch.linspace(9.0, 19.0, 1001)
    y = t.labels(values)
    keep = y >= 0
    assert float(t.head().margin(values[keep], y[keep]).min()) >= t.delta_star - 1e-5
