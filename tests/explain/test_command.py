"""``shortcutbench explain`` end to end on a shipped zoo model (loaded, never trained)."""
from shortcutbench.cli import main
from shortcutbench.zoo import cache_dir


def test_explain_writes_a_panel_from_the_shipped_weights(tmp_path):
    out = tmp_path / "panels"
    zoo_cache = cache_dir() / "zoo"
    before = set(zoo_cache.iterdir()) if zoo_cache.is_dir() else set()
    assert main(["explain", "--model", "lazy_cnn.erm", "--method", "gradcam", "--images", "hard:0-1", "--device", "cpu",
                 "--out", str(out)]) == 0
    assert any(p.suffix == ".png" and p.stat().st_size > 0 for p in out.iterdir())
    assert (set(zoo_cache.iterdir()) if zoo_cache.is_dir() else set()) == before  # nothing trained


def test_explain_unshipped_seed_is_a_usage_error(capsys):
    assert main(["explain", "--model", "lazy_cnn.erm", "--seed", "99", "--method", "gradcam"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not shipped" in err[0]


def test_explain_unknown_model_is_a_usage_error(capsys):
    assert main(["explain", "--model", "lazy_cnn.nope", "--method", "gradcam"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown zoo model 'lazy_cnn.nope'" in err[0]
