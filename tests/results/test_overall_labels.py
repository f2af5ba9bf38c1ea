"""Overall table: labels used come from the records that declare them."""
from shortcutbench.results.overall import _labels
from shortcutbench.results.record import make_record


def _rec(track, **metrics):
    return make_record(track, "lazy_cnn.cf_invar", 0, "full", "p", metrics, {}, "fp", 0.0)


def test_labels_ignore_tracks_that_declare_nothing():
    declared = _rec("shortcut", uses_group_labels=False, uses_color_labels=True)
    assert _labels([declared, _rec("diagnostics")]) == "colour"
    assert _labels([_rec("diagnostics")]) == "?"
    assert _labels([_rec("shortcut", uses_group_labels=False, uses_color_labels=False)]) == "none"
