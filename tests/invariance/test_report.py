"""The invariance report renders from records without numpy warnings (issue #25: `leaderboard
--html` printed "Mean of empty slice" for the never-attacked diagonal of the success matrix)."""
import base64
import dataclasses
import math
import warnings

import numpy as np

from shortcutbench.invariance.report import render
from shortcutbench.results.record import make_record
from shortcutbench.tracks import TRACKS
from shortcutbench.tracks.invariance import PROTOCOLS


def _images(n: int):
    a = np.zeros((n, 3, 28, 28), dtype=np.uint8)
    return {"shape": list(a.shape), "uint8_b64": base64.b64encode(a.tobytes()).decode()}


def _record(model_id: str, seed: int, hit: float):
    """A quick-profile record shaped like the track's: one source per class, off-diagonal cells
    attacked, the diagonal NaN (stored as null) in every seed."""
    p = PROTOCOLS["quick"]
    matrix = [[math.nan if a == b else hit for a in range(10)] for b in range(10)]
    pairs = [(b, a) for b in range(10) for a in range(10) if a != b]
    proj = {"success": hit, "matrix": matrix, "curve": [hit] * len(p.thresholds), "median_distance": 0.2,
            "start_distance": 0.6, "median_l2": 3.0, "mean_steps": 10.0, "iters_run": 30, "time_s": 1.0,
            "panel": {"target_class": [b for b, _ in pairs], "source_class": [a for _, a in pairs],
                      "images": _images(len(pairs)), "conf": [0.5] * len(pairs), "targets": _images(10),
                      "target_conf": [0.9] * 10},
            "path_percentiles": np.full((3, len(p.radii), 2), 0.5).tolist()}
    metrics = {"pairs": len(pairs), "misclassified_sources": 0, "halfspace": proj, "clean_err": 0.01,
               "linf_success": 0.5, "rerr": 0.5, "rerr_99tpr": 0.4, "tau_99tpr": 0.9}
    return make_record("invariance", model_id, seed, "quick", p.name, metrics,
                       {"protocol": dataclasses.asdict(p)}, "fp", 1.0)


def test_render_warns_nothing_on_the_never_attacked_diagonal(tmp_path):
    records = [_record("lazy_cnn.erm", 0, 0.3), _record("lazy_cnn.erm", 1, 0.5), _record("lazy_cnn.pgd_at", 0, 0.1)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any numpy RuntimeWarning fails the test
        (table,) = render(TRACKS.get("invariance")(), records, tmp_path)
    assert [r[0] for r in table.rows] == ["lazy_cnn.erm", "lazy_cnn.pgd_at"]
    assert table.rows[0][3] == "40.0 ± 10.0"  # NSPGD success, mean ± SE over the two seeds
    assert (tmp_path / "figures" / "invariance" / "lazy_cnn.erm_halfspace_success_matrix.png").is_file()
