"""The summary table's join and flags, on hand-made records (numbers chosen so each flag flips)."""
from shortcutbench.results.record import make_record
from shortcutbench.tracks.diagnostics_summary import SUMMARY_COLS, summary_rows


def _entry(ratio_a, ratio_c, pointing, deletion):
    return {"ratio_aligned": ratio_a, "ratio_conflicting": ratio_c, "pointing_aligned": pointing,
            "pointing_conflicting": pointing, "deletion_aligned": deletion, "deletion_conflicting": deletion}


def _record(model_id, seed, gradcam, colour, digit, rho):
    sites = {f"{layer}/spatial_mean": {"best_colour": colour, "best_digit": digit}
             for layer in ("relu1", "relu2", "relu3", "gap")}
    metrics = {"attribution": {"acc_aligned": 1.0, "acc_conflicting": 0.5, "gradcam": gradcam,
                               "random": _entry(1.0, 1.0, 0.3, 0.5), "sobel": _entry(0.2, 0.2, 0.9, 0.2),
                               "constant": _entry(1.0, 1.0, 0.2, 0.5)},
               "sae": {"sites": sites},
               "randomisation": {"gradcam": {"spearman": rho, "baselines": {"sobel": 0.5}}}}
    return make_record("diagnostics", model_id, seed, "full", "p", metrics, {}, "fp", 0.0)


def test_rows_joined_on_model_id_with_flags():
    recs = {"lazy_cnn.jtt": [_record("lazy_cnn.jtt", 0, _entry(0.4, 0.9, 0.95, 0.1), 0.2, 0.6, [0.6, 0.7])],
            "lazy_cnn.erm": [_record("lazy_cnn.erm", s, _entry(0.4, 0.3, 0.5, 0.3), 0.9, 0.1, [0.6, -0.2])
                             for s in (0, 1)]}
    rows = summary_rows(recs)
    col = {c: i for i, c in enumerate(SUMMARY_COLS)}
    erm, jtt = rows
    assert erm[0] == "lazy_cnn.erm" and erm[1] == "2" and jtt[0] == "lazy_cnn.jtt"  # ERM first
    assert erm[col["conflicting > aligned"]] == "0/2 seeds" and jtt[col["conflicting > aligned"]] == "1/1 seeds"
    # pointing: best baseline is Sobel (0.9); ERM 0.5 does not beat it, JTT 0.95 does
    assert erm[col["Grad-CAM pointing ↑ (best baseline)"]].endswith("(sobel 0.900) ⚠")
    assert jtt[col["Grad-CAM pointing ↑ (best baseline)"]].endswith("(sobel 0.900) ✓")
    # deletion (lower is better): best baseline Sobel 0.2; ERM 0.3 ⚠, JTT 0.1 ✓
    assert erm[col["Grad-CAM deletion ↓ (best baseline)"]].endswith("⚠")
    assert jtt[col["Grad-CAM deletion ↓ (best baseline)"]].endswith("✓")
    assert erm[col["colour > digit every layer"]] == "✓" and jtt[col["colour > digit every layer"]] == "✗"
    assert erm[col["Grad-CAM randomisation ρ head → all"]] == "0.60 → -0.20 ✓ falls"
    assert jtt[col["Grad-CAM randomisation ρ head → all"]].endswith("⚠ does not fall")


def test_undefined_ratio_of_a_collapsed_model_is_stated_not_compared():
    """A model whose Grad-CAM is 0 on the stroke (IRM collapsed to one class) stores ratio None."""
    from shortcutbench.explain.metrics import ratio_text

    rec = _record("lazy_cnn.irm", 0, _entry(None, None, 0.3, 0.1), 0.9, 0.1, [0.5, 0.0])
    row = summary_rows({"lazy_cnn.irm": [rec]})[0]
    assert row[SUMMARY_COLS.index("conflicting > aligned")] == "– (map 0 on the stroke)"
    assert row[SUMMARY_COLS.index("Grad-CAM bg/stroke aligned")] == "–"
    assert ratio_text(None).startswith("undefined") and ratio_text(0.444) == "0.44"
