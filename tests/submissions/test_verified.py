"""Verified submissions (safetensors for a registry architecture, an exported ATen graph) load
without running submitted code; a tampered graph is refused; the kind reaches the tables."""
import json
import os
import stat

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

import dummy_tracks  # noqa: F401
from helpers import TOML
from shortcutbench.cli import main
from shortcutbench.models import create_model
from shortcutbench.results.overall import overall_table
from shortcutbench.results.record import make_record
from shortcutbench.submissions import validate
from shortcutbench.submissions.program import export_to_file


def _verified(root, model_lines, files):
    root.mkdir(parents=True)
    (root / "submission.toml").write_text("".join(f"{k} = {v}\n" for k, v in TOML.items()) + "\n[model]\n" +
                                          model_lines)
    for name, write in files.items():
        write(root / name)
    return root


def _cnn():
    torch.manual_seed(0)
    return create_model("lazy_cnn").eval()


def test_safetensors_for_a_registry_architecture(tmp_path):
    model = _cnn()
    root = _verified(tmp_path / "s", 'arch = "lazy_cnn"\nweights = "w.safetensors"\n',
                     {"w.safetensors": lambda p: save_file(model.state_dict(), str(p))})
    v = validate(root)
    assert v.kind == "verified: safetensors" and v.sub.verified and v.tracks == ["dummy_a"]


def test_unknown_architecture_is_one_line(tmp_path, capsys):
    root = _verified(tmp_path / "s", 'arch = "resnet9000"\nweights = "w.safetensors"\n',
                     {"w.safetensors": lambda p: p.write_bytes(b"x")})
    assert main(["submit", str(root), "--validate-only"]) == 2
    assert "arch 'resnet9000' is not in the model registry" in capsys.readouterr().err


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    path = tmp_path_factory.mktemp("prog") / "model.safetensors"
    export_to_file(_cnn(), path)
    return path


def test_exported_program_computes_the_model(tmp_path, program):
    root = _verified(tmp_path / "s", 'program = "model.safetensors"\n',
                     {"model.safetensors": lambda p: p.write_bytes(program.read_bytes())})
    v = validate(root)
    assert v.kind == "verified: export"
    from shortcutbench.submissions import load_verified

    graph, model = load_verified(v.sub), _cnn()
    for batch in (1, 5, 64):  # the batch dimension is dynamic
        x = torch.rand(batch, 3, 28, 28)
        torch.testing.assert_close(graph(x), model(x))
    x = torch.rand(2, 3, 28, 28, requires_grad=True)
    graph(x).sum().backward()  # attacks need input gradients
    assert x.grad is not None and x.grad.abs().sum() > 0


@pytest.mark.parametrize("needle, replacement", [
    ("torch.ops.aten.relu.default", "torch.os.system"),  # any attribute under torch: code execution
    ("Symbol('s77', positive=True, integer=True)", "__import__('os').system('touch {pwned}')"),  # sympify = eval
    ('"metadata": {', '"metadata": {"stack_trace": "x", '),  # dropped, not refused: must still load
])
def test_tampered_program_is_refused_and_runs_nothing(tmp_path, capsys, program, needle, replacement):
    pwned = tmp_path / "pwned"
    with safe_open(str(program), framework="pt") as f:
        meta, tensors = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    text = meta["program"]
    if needle.startswith("Symbol") and needle not in text:  # torch names the size symbol itself
        needle = next(tok for tok in text.split('"') if tok.startswith("Symbol("))
    assert needle in text
    meta = {**meta, "program": text.replace(needle, replacement.replace("{pwned}", str(pwned)), 1)}
    root = _verified(tmp_path / "s", 'program = "model.safetensors"\n',
                     {"model.safetensors": lambda p: save_file(tensors, str(p), metadata=meta)})
    code = main(["submit", str(root), "--validate-only"])
    err = capsys.readouterr().err
    if needle.startswith('"metadata"'):
        assert code == 0, err
    else:
        assert code == 2 and len(err.strip().splitlines()) == 1 and "not" in err
    assert not pwned.exists()


def _rec(model_id, value, kind=None):
    config = {"submission": {"kind": kind, "hash": "h", "extra_data": False}} if kind else {}
    return make_record("dummy_a", model_id, 0, "quick", "p", {"mean_max_prob": value}, config, "-", 0.0)


def test_code_submissions_rank_apart_unless_trusted():
    recs = [_rec("zoo.a", 0.5), _rec("sub.v", 0.4, "verified: safetensors"), _rec("sub.c", 0.9, "code"),
            _rec("sub.old", 0.8, None)]
    recs[-1].config["submission"] = {"hash": "h", "extra_data": False}  # a record from before kinds: code
    rows = {r[1]: (r[0], r[2]) for r in overall_table(recs).rows}
    assert rows == {"zoo.a": ("1", "zoo"), "sub.v": ("2", "verified: safetensors"), "sub.c": ("code 1", "code"),
                    "sub.old": ("code 2", "code")}
    trusted = [r[:2] for r in overall_table(recs, trust_code=True).rows]
    assert trusted == [["1", "sub.c"], ["2", "sub.old"], ["3", "zoo.a"], ["4", "sub.v"]]


def test_written_files_follow_the_umask_and_bad_input_creates_nothing(tmp_path, capsys):
    model = _cnn()
    root = _verified(tmp_path / "s", 'arch = "lazy_cnn"\nweights = "w.safetensors"\n',
                     {"w.safetensors": lambda p: save_file(model.state_dict(), str(p))})
    out = tmp_path / "lb"
    for bad in (["--set", "no-equals-sign"], ["--time-limit", "0"], ["--mnist-dir", str(tmp_path / "none")]):
        assert main(["submit", str(root), "--out", str(out), "--profile", "quick", *bad]) == 2
        assert not out.exists(), bad
    old = os.umask(0o022)
    try:
        env = dict(os.environ)
        os.environ.update(SHORTCUTBENCH_TRACK_PLUGINS="dummy_tracks", SHORTCUTBENCH_PROGRESS="0")
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(dummy_tracks.Path(dummy_tracks.__file__).parent),
                                                                 env.get("PYTHONPATH")]))
        assert main(["submit", str(root), "--out", str(out), "--profile", "quick"]) == 0, capsys.readouterr().err
    finally:
        os.umask(old)
        os.environ.clear()
        os.environ.update(env)
    written = [out / "overall.md", out / "overall.csv", out / "dummy_a.md", out / "records" / "dummy_a.jsonl"]
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in written} == {p.name: 0o644 for p in written}
    (rec,) = [json.loads(l) for l in (out / "records" / "dummy_a.jsonl").read_text().splitlines()]
    assert rec["config"]["submission"]["kind"] == "verified: safetensors"


class _Counter(torch.nn.Module):
    """Carries state between calls: a query counter that shifts the logits."""

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3 * 28 * 28, 10)
        self.register_buffer("calls", torch.zeros(()))

    def forward(self, x):
        self.calls.add_(1)
        return self.fc(x.flatten(1)) + self.calls


def test_graph_that_writes_its_own_state_is_refused(tmp_path):
    from shortcutbench.submissions.program import ProgramError, load_program

    path = tmp_path / "counter.safetensors"
    export_to_file(_Counter().eval(), path)
    with pytest.raises(ProgramError, match="the graph writes to calls"):
        load_program(path)
