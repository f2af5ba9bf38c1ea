"""The invariance_two_layer track (tracks/invariance_two_layer.py): it takes no ``--set`` keys, its
split is fixed, its evaluate pairs and aggregates the null-space steps as its table says, and the
table renders from hand-made records. The null-step maths itself is tests/invariance/test_two_layer.py's."""
import math
from dataclasses import replace

import pytest
import torch

from shortcutbench.cli import main
from shortcutbench.data import load_digits
from shortcutbench.errors import UsageError
from shortcutbench.invariance.two_layer import TwoLayerConfig, TwoLayerMLP
from shortcutbench.results.record import make_record
from shortcutbench.tracks import RunContext
from shortcutbench.tracks.invariance_two_layer import PROTOCOLS, TwoLayerTrack, _split


def test_no_options_a_set_key_is_refused_in_one_line(capsys, tmp_path):
    with pytest.raises(UsageError, match=r"no option 'hidden' \(allowed: none\)"):
        TwoLayerTrack().options(RunContext(options={"hidden": "10"}))
    out = tmp_path / "out"
    assert main(["run", "invariance_two_layer", "--set", "hidden=10", "--out", str(out)]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1 and not out.exists()


def test_split_is_a_fixed_shuffle_of_every_digit():
    """The embedded digits are ordered by class, so a plain slice would leave classes out of the
    test part; the split is a seeded shuffle: the same every call, every digit once, pixels /255."""
    digits = load_digits(None)
    xtr, ytr, xte, yte = _split(digits, 4000)
    assert (len(ytr), len(yte)) == (4000, len(digits.labels) - 4000)
    assert torch.equal(torch.bincount(torch.cat([ytr, yte]), minlength=10), torch.bincount(digits.labels, minlength=10))
    assert set(yte.tolist()) == set(range(10))
    assert xtr.shape[1:] == (1, 28, 28) and float(xtr.min()) >= 0 and float(xtr.max()) <= 1
    assert float(xtr.max()) == pytest.approx(float(digits.images.max()) / 255)
    assert all(torch.equal(a, b) for a, b in zip(_split(digits, 4000), (xtr, ytr, xte, yte)))


def _evaluate(thresholds):
    """A random 784-16-10 MLP on 20 images, labels 0..9 twice: the sources are images 10..19 (the
    second of each class), the targets images 0..9 (the first)."""
    torch.manual_seed(0)
    model = TwoLayerMLP(784, 16, 10).eval()
    xte = torch.rand(20, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    yte = torch.arange(20) % 10
    protocol = replace(PROTOCOLS["quick"], mlp=TwoLayerConfig(hidden=16), thresholds=thresholds)
    return model, xte, yte, TwoLayerTrack()._evaluate(model, xte, yte, protocol)


def test_evaluate_pairs_every_source_class_with_every_other_target_class():
    model, xte, yte, m = _evaluate((1e9, 0.0))
    assert m["pairs"] == 10 * 9
    with torch.no_grad():
        assert m["test_acc"] == pytest.approx(float((model(xte).argmax(1) == yte).double().mean()))
    # threshold above every |pre-activation|: all 16 W1 rows join M (with the 10 rows W2[:,S]·W1[S],
    # which lie in W1's row space), so the step is in null(W1): no unit can flip, the logits stay
    all_rows = m["t=1000000000.0"]
    assert all_rows["rows"] == 10 + 16 and all_rows["null_dim"] == 784 - 16
    assert all_rows["no_flip"] == 1.0 and all_rows["pred_kept"] == 1.0
    assert all_rows["max_logit_change_no_flip"] < 1e-9
    # the first pair: class 0's source (image 10) towards class 1's target (image 1)
    ex = all_rows["example"]
    assert torch.equal(torch.tensor(ex["source"]), xte[10, 0]) and torch.equal(torch.tensor(ex["target"]), xte[1, 0])
    for t in m:
        if t.startswith("t="):
            v = m[t]
            assert v["l2_after"] <= v["l2_before"] + 1e-6  # a projection of x_t − x_s never moves away from x_t
            assert v["pred_kept"] >= v["no_flip"]  # no unit flipped → same logits → same prediction
            assert math.isnan(v["max_logit_change_no_flip"]) or v["max_logit_change_no_flip"] < 1e-9
    assert m["t=0.0"]["rows"] >= 10  # W2[:,S]·W1[S] at least; flipped units add W1 rows


def _record(profile, acc):
    v = {"null_dim": 768.0, "rows": 7.6, "no_flip": 0.5, "pred_kept": 0.75, "max_logit_change_no_flip": 1.234e-7,
         "median_logit_change": 0.1234, "median_conf_change": 0.0456, "l2_before": 3.214, "l2_after": 2.046,
         "ssim_dist_after": 0.4121, "example": {"source": [[0.0] * 28] * 28, "target": [[1.0] * 28] * 28,
                                                "result": [[0.5] * 28] * 28}}
    return make_record("invariance_two_layer", "mlp500.adam", 0, profile, PROTOCOLS[profile].name,
                       {"test_acc": acc, "pairs": 90, "t=0.3": v}, {}, "fp", 1.0)


def test_render_one_row_per_threshold_of_the_most_thorough_profile(tmp_path):
    table = TwoLayerTrack().render([_record("quick", 0.5), _record("full", 0.9512)], tmp_path)[0]
    assert table.rows == [["mlp500.adam", "95.1", "0.3", "90", "8", "768", "50", "1.2e-07", "0.123", "0.046", "75",
                           "3.21 → 2.05", "0.412"]]
    assert len(table.columns) == len(table.rows[0])
    assert table.figures == ["figures/invariance_two_layer/mlp500.adam_t=0.3_example.png"]
    assert (tmp_path / table.figures[0]).stat().st_size > 1000
