"""``shortcutbench explain`` end to end on the ERM zoo entry (trained once into the test cache)."""
import json

from shortcutbench.cli import main
from shortcutbench.tracks import shortcut
from shortcutbench.tracks.common import colored_mnist
from shortcutbench.zoo import cache_dir


def test_explain_writes_a_panel_and_builds_the_shortcut_tracks_zoo_entry(tmp_path):
    out = tmp_path / "panels"
    assert main(["explain", "--model", "lazy_cnn.erm", "--method", "gradcam", "--images", "hard:0-1",
                 "--out", str(out)]) == 0
    assert any(p.suffix == ".png" and p.stat().st_size > 0 for p in out.iterdir())
    protocol = shortcut.PROTOCOLS["quick"]
    key = shortcut.zoo_spec(protocol, "erm", 0).key(colored_mnist(None, protocol.data).fingerprint)
    history = json.loads((cache_dir() / "zoo" / f"{key}.json").read_text())["history"]
    assert "hard_curve_acc" in history[-1]  # the shortcut track's curves can read an entry built here


def test_explain_unknown_model_is_a_usage_error(capsys):
    assert main(["explain", "--model", "lazy_cnn.nope", "--method", "gradcam"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown zoo model 'lazy_cnn.nope'" in err[0]
