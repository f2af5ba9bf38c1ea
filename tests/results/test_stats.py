import math

import pytest

from shortcutbench.results.stats import binomial_se, fmt_pct, mean_se, paired_difference, t_interval


def test_mean_se_uses_sample_std():
    m, se = mean_se([0.1, 0.2, 0.3])
    assert m == pytest.approx(0.2)
    assert se == pytest.approx(0.1 / math.sqrt(3))  # std(ddof=1) = 0.1


def test_t_interval_matches_table_value():
    lo, hi = t_interval([0.1, 0.2, 0.3])
    # Student t, 2 degrees of freedom, 97.5% quantile = 4.302653 (statistical tables)
    assert hi - 0.2 == pytest.approx(4.302653 * 0.1 / math.sqrt(3), rel=1e-6)
    assert lo == pytest.approx(0.4 - hi)


def test_single_seed_has_no_error_bar():
    m, se = mean_se([0.5])
    assert m == 0.5 and math.isnan(se)
    assert fmt_pct(m, se) == "50.0"


def test_paired_difference_on_shared_seeds():
    d, se, n = paired_difference({0: 0.5, 1: 0.7, 2: 0.9}, {0: 0.4, 1: 0.5, 3: 0.0})
    assert n == 2 and d == pytest.approx(0.15)
    assert se == pytest.approx(0.05)


def test_binomial_se():
    assert binomial_se(0.5, 100) == pytest.approx(0.05)
