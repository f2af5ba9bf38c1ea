"""Figures: same inputs give the same bytes; the interval plot draws matched controls."""
from shortcutbench.results import plots


def test_intervals_with_matched_controls_are_deterministic_and_differ_from_without(tmp_path):
    args = (["erm", "cf_invar"], [0.06, 0.98], [0.05, 0.97], [0.08, 0.99])
    plots.intervals(*args, tmp_path / "a.png", "t", "hard accuracy", controls=[None, (0.87, 0.85, 0.88)])
    plots.intervals(*args, tmp_path / "b.png", "t", "hard accuracy", controls=[None, (0.87, 0.85, 0.88)])
    plots.intervals(*args, tmp_path / "c.png", "t", "hard accuracy")
    a, b, c = ((tmp_path / f"{n}.png").read_bytes() for n in "abc")
    assert a[:4] == b"\x89PNG" and a == b and a != c
