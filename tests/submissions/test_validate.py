"""Every validation failure: a broken submission → one line naming the problem, exit 2, nothing run."""
import shutil

import pytest
import torch

import dummy_tracks  # noqa: F401  (registers dummy_a, dummy_b, dummy_own_models)
from helpers import LINEAR, write_submission
from shortcutbench.cli import main
from shortcutbench.submissions.export import TEMPLATE_DIR


def _submit(capsys, root, *extra):
    code = main(["submit", str(root), "--validate-only", *extra])
    out, err = capsys.readouterr()
    return code, out, err


def _fails_with(capsys, root, fragment, *extra):
    code, out, err = _submit(capsys, root, *extra)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, (code, err)
    assert lines[0].startswith("shortcutbench: error:") and fragment in lines[0], lines[0]
    return lines[0]


def test_good_submission_passes(capsys, tmp_path):
    code, out, err = _submit(capsys, write_submission(tmp_path / "s"))
    assert code == 0 and "sub.tiny-linear" in out and "passed 8 checks" in out and "tracks: dummy_a" in out


def test_missing_toml(capsys, tmp_path):
    tmp_path.joinpath("empty").mkdir()
    _fails_with(capsys, tmp_path / "empty", "no submission.toml")


def test_invalid_toml(capsys, tmp_path):
    root = write_submission(tmp_path / "s")
    (root / "submission.toml").write_text("name = \n")
    _fails_with(capsys, root, "not valid TOML")


def test_missing_fields(capsys, tmp_path):
    _fails_with(capsys, write_submission(tmp_path / "s", drop=("licence", "extra_data")),
                "lacks required field(s): extra_data, licence")


def test_wrong_field_type(capsys, tmp_path):
    _fails_with(capsys, write_submission(tmp_path / "s", uses_group_labels='"no"'),
                "field 'uses_group_labels' must be a bool")


def test_missing_model_file(capsys, tmp_path):
    root = write_submission(tmp_path / "s")
    (root / "weights.pt").unlink()
    _fails_with(capsys, root, "weights file 'weights.pt' not found")


def test_factory_not_found(capsys, tmp_path):
    _fails_with(capsys, write_submission(tmp_path / "s", factory="make_model"), "factory 'make_model' not found")


def test_weights_do_not_match_architecture(capsys, tmp_path):
    other = LINEAR.replace("def build():\n    torch.manual_seed(0)\n    return Net()",
                           "def build():\n    return Net(out=5)")
    line = _fails_with(capsys, write_submission(tmp_path / "s", weights_from=other), "do not match the architecture")
    assert "fc.weight [5, 2352] vs [10, 2352]" in line


def test_weights_not_loadable_safely(capsys, tmp_path):
    root = write_submission(tmp_path / "s")
    (root / "weights.pt").write_bytes(b"not a torch file")
    _fails_with(capsys, root, "with weights_only=True")


def test_wrong_input_shape(capsys, tmp_path):
    gray = LINEAR.replace("3 * 28 * 28", "28 * 28")  # a 1-channel model
    _fails_with(capsys, write_submission(tmp_path / "s", code=gray), "model fails on input [8, 3, 28, 28]")


def test_wrong_output_shape(capsys, tmp_path):
    nine = LINEAR.replace("out=10", "out=9")
    _fails_with(capsys, write_submission(tmp_path / "s", code=nine), "wrong output shape: input [8, 3, 28, 28] gave [8, 9]")


def test_nan_outputs(capsys, tmp_path):
    nan = LINEAR.replace("return self.fc(x.flatten(1))", "return self.fc(x.flatten(1)) / 0.0 * 0.0")
    _fails_with(capsys, write_submission(tmp_path / "s", code=nan), "NaN/Inf")


def test_non_deterministic(capsys, tmp_path):
    noisy = LINEAR.replace("return self.fc(x.flatten(1))", "return self.fc(x.flatten(1)) + torch.randn(x.shape[0], 10)")
    _fails_with(capsys, write_submission(tmp_path / "s", code=noisy), "non-deterministic outputs in eval mode")


def test_dropout_is_fine_in_eval_mode(capsys, tmp_path):
    drop = LINEAR.replace("return self.fc(x.flatten(1))",
                          "return self.fc(torch.nn.functional.dropout(x.flatten(1), 0.5, self.training))")
    assert _submit(capsys, write_submission(tmp_path / "s", code=drop))[0] == 0


def test_softmax_instead_of_logits(capsys, tmp_path):
    soft = LINEAR.replace("return self.fc(x.flatten(1))", "return self.fc(x.flatten(1)).softmax(1)")
    _fails_with(capsys, write_submission(tmp_path / "s", code=soft), "outputs are probabilities")


def test_log_softmax_is_accepted(capsys, tmp_path):  # log-probabilities are logits up to a constant per row
    logsoft = LINEAR.replace("return self.fc(x.flatten(1))", "return self.fc(x.flatten(1)).log_softmax(1)")
    assert _submit(capsys, write_submission(tmp_path / "s", code=logsoft))[0] == 0


def test_weights_change_during_evaluation(capsys, tmp_path):
    drift = LINEAR.replace("return self.fc(x.flatten(1))",
                           "self.fc.bias.data += 1\n        return self.fc(x.flatten(1))")
    _fails_with(capsys, write_submission(tmp_path / "s", code=drift), "changes its weights during evaluation (fc.bias)")


def test_unknown_track_in_toml_and_on_the_command_line(capsys, tmp_path):
    _fails_with(capsys, write_submission(tmp_path / "a", tracks='["nope"]'), "unknown track(s) 'nope'")
    _fails_with(capsys, write_submission(tmp_path / "b"), "unknown track(s) 'zzz'", "--tracks", "zzz")


def test_track_that_does_not_take_submissions(capsys, tmp_path):
    _fails_with(capsys, write_submission(tmp_path / "s"), "do not evaluate submitted models", "--tracks",
                "dummy_own_models")
    code, out, _ = _submit(capsys, write_submission(tmp_path / "all", tracks='["all"]'))
    assert code == 0 and "dummy_own_models" not in out and "dummy_a" in out and "shortcut" in out


def test_torchscript_submission(capsys, tmp_path):
    root = write_submission(tmp_path / "s")
    ns = {}
    exec(LINEAR, ns)
    torch.jit.trace(ns["build"]().eval(), torch.rand(2, 3, 28, 28)).save(str(root / "model.ts"))
    text = (root / "submission.toml").read_text().split("[model]")[0]
    (root / "submission.toml").write_text(text + '[model]\ntorchscript = "model.ts"\n')
    assert _submit(capsys, root)[0] == 0
    (root / "model.ts").write_bytes(b"garbage")
    _fails_with(capsys, root, "cannot load TorchScript 'model.ts'")


def test_shipped_template_is_valid(capsys, tmp_path):
    root = tmp_path / "t"
    shutil.copytree(TEMPLATE_DIR, root)
    ns = {}
    exec((root / "model.py").read_text(), ns)
    torch.save(ns["build"]().state_dict(), root / "weights.pt")  # the template ships without weights
    code, out, _ = _submit(capsys, root, "--tracks", "dummy_a")
    assert code == 0 and "sub.my-model" in out
