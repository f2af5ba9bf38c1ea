"""CLI contract: --help everywhere, bad input → exit 2 with one line and no traceback."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shortcutbench.cli import main
from shortcutbench.results.record import make_record
from shortcutbench.results.tables import Table
from shortcutbench.tracks import TRACKS, RunContext
from shortcutbench.tracks.base import Track


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"], ["data", "show", "--help"], ["leaderboard", "--help"],
                                  ["doctor", "--help"]])
def test_help_everywhere(capsys, argv):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 0
    assert "usage: shortcutbench" in capsys.readouterr().out


def test_doctor_reports_backend_and_threads(capsys):
    code, out, _ = _run(capsys, "doctor")
    assert code == 0
    assert "compiled core (shortcutbench._C):" in out and "openmp_max_threads" in out
    assert "colorize: cpu:" in out
    if "compiled core (shortcutbench._C): yes" in out:
        assert "ISA path: " in out


def test_doctor_names_the_isa_path_the_environment_chose(capsys, monkeypatch):
    from shortcutbench import _ext

    if not _ext.has_ops():
        pytest.skip("shortcutbench._C not built")
    before = _ext.isa()
    try:
        _ext._C.set_isa("baseline")
        code, out, _ = _run(capsys, "doctor")
    finally:
        _ext._C.set_isa(before)
    assert code == 0 and "ISA path: baseline" in out


def _one_line_error(err: str, fragment: str):
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("shortcutbench: error:") and fragment in lines[0], err


def _write(path: Path, data: bytes):
    path.write_bytes(data)


@pytest.mark.parametrize("argv, fragment", [
    (["run", "nosuchtrack"], "unknown track 'nosuchtrack'"),
    (["run", "shortcut", "--profile", "huge"], "invalid choice: 'huge'"),
    (["run", "shortcut", "--seeds", "0"], "--seeds must be >= 1"),
    (["run", "shortcut", "--seed-from", "-1"], "--seed-from must be in 0..N-1, got -1"),
    (["run", "shortcut", "--seeds", "2", "--seed-from", "2"], "--seed-from must be in 0..1, got 2"),
    (["data", "show", "colored_mnist", "--set", "rho=1.5"], "rho must be in (0, 1], got 1.5"),
    (["data", "show", "colored_mnist", "--set", "rho=0"], "rho must be in (0, 1]"),
    (["data", "show", "colored_mnist", "--set", "rho=abc"], "--set rho=abc: expected float"),
    (["data", "show", "colored_mnist", "--set", "colour=red"], "unknown option 'colour'"),
    (["data", "show", "nosuch"], "unknown dataset 'nosuch'"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_bad_arguments_exit_2_one_line(capsys, tmp_path, argv, fragment):
    argv = argv + (["--out", str(tmp_path / "o")] if argv[0] in ("run", "data") and "--help" not in argv else [])
    code, _, err = _run(capsys, *argv)
    assert code == 2
    _one_line_error(err, fragment)
    assert not (tmp_path / "o" / "records.sqlite").exists()  # nothing written


def test_missing_and_broken_idx_exit_2(capsys, tmp_path):
    code, _, err = _run(capsys, "run", "shortcut", "--mnist-dir", str(tmp_path / "absent"), "--out", str(tmp_path / "o"))
    assert code == 2
    _one_line_error(err, "does not exist")
    d = tmp_path / "idx"
    d.mkdir()
    _write(d / "train-images-idx3-ubyte", b"\x00\x00\x08\x01" + b"\x00" * 20)  # wrong magic
    for name in ("train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        _write(d / name, b"")
    code, _, err = _run(capsys, "run", "shortcut", "--mnist-dir", str(d), "--out", str(tmp_path / "o"))
    assert code == 2
    _one_line_error(err, "magic number 0x00000801")
    _write(d / "train-images-idx3-ubyte", b"\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00\x00\x1c\x00\x00\x00\x1c" + b"\x00" * 100)
    code, _, err = _run(capsys, "data", "show", "mnist", "--mnist-dir", str(d), "--out", str(tmp_path / "o"))
    assert code == 2
    _one_line_error(err, "truncated")
    assert not (tmp_path / "o" / "records.sqlite").exists()


def test_unwritable_out_exit_2(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = _run(capsys, "run", "shortcut", "--out", str(blocker / "sub"))
    assert code == 2
    _one_line_error(err, "is not writable")


def test_leaderboard_without_records_exit_2(capsys, tmp_path):
    code, _, err = _run(capsys, "leaderboard", "--out", str(tmp_path))
    assert code == 2
    _one_line_error(err, "no records")


def test_data_show_writes_grid(capsys, tmp_path):
    code, out, _ = _run(capsys, "data", "show", "colored_mnist", "--set", "rho=0.9", "--out", str(tmp_path))
    assert code == 0
    assert "train dominant share per digit: 0:0.9000" in out and "hard cells: 90 conflicting, counts min 100 max 100" in out
    assert (tmp_path / "colored_mnist_samples.png").stat().st_size > 5000


def test_console_script_exit_code_and_no_traceback(tmp_path):
    env = {**os.environ, "SHORTCUTBENCH_PROGRESS": "0"}
    proc = subprocess.run([sys.executable, "-m", "shortcutbench", "run", "nosuchtrack"], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


REPO = Path(__file__).resolve().parents[1]


def _tree(root: Path):
    """path → bytes of every file under root that git sees (records.sqlite, a cache of records/, is ignored)."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != "records.sqlite"}


class _TinyTrack(Track):
    """A track that costs nothing: one record per run (under the run's profile), a one-table render."""

    name = "tiny_board"

    def evaluate(self, model, ctx):
        return {}

    def run(self, ctx):
        yield make_record(self.name, "lazy_cnn.erm", 0, ctx.profile, "tiny.v1", {"acc": 0.5}, {}, "fp", 0.0)

    def render(self, records, out_dir):
        return [Table(self.name, self.name, ["model", "profile"], sorted([r.model_id, r.profile] for r in records))]


def test_user_runs_leave_the_committed_board_alone(capsys, tmp_path, monkeypatch):
    """`run` (and so `make run`) writes to results/ by default; `leaderboard --include results`
    shows the user's rows, marked, beside the board's in results/board/; leaderboard/ is untouched."""
    monkeypatch.setitem(TRACKS._entries, _TinyTrack.name, _TinyTrack)
    board = tmp_path / "leaderboard"
    (board / "records").mkdir(parents=True)
    committed = next(iter(_TinyTrack().run(RunContext(profile="full"))))
    (board / "records" / "tiny_board.jsonl").write_text(committed.to_json() + "\n")
    before = _tree(board)
    monkeypatch.chdir(tmp_path)
    code, _, _ = _run(capsys, "run", "tiny_board")  # the default --out, as `make run`
    assert code == 0 and _tree(board) == before
    assert (tmp_path / "results" / "records" / "tiny_board.jsonl").read_text().count("\n") == 1
    code, _, _ = _run(capsys, "leaderboard", "--include", "results", "--track", "tiny_board")
    assert code == 0 and _tree(board) == before
    rows = [line for line in (tmp_path / "results" / "board" / "tiny_board.md").read_text().splitlines()
            if line.startswith("| ")]
    assert rows[1:] == ["| lazy_cnn.erm | full |", "| lazy_cnn.erm (yours) | quick |"]
    code, _, err = _run(capsys, "leaderboard", "--include", "nowhere")
    assert code == 2 and "no records in 'nowhere'" in err
    code, _, err = _run(capsys, "leaderboard", "--include", "leaderboard/")
    assert code == 2 and "is the board itself" in err


def test_leaderboard_html_renders_each_track_once(capsys, tmp_path, monkeypatch):
    """The site reuses the tables written to DIR/*.md: a track's render (bootstraps, figures) runs once."""
    calls = []

    class Counting(_TinyTrack):
        def render(self, records, out_dir):
            calls.append(len(records))
            return super().render(records, out_dir)

    monkeypatch.setitem(TRACKS._entries, _TinyTrack.name, Counting)
    (tmp_path / "records").mkdir()
    (tmp_path / "records" / "tiny_board.jsonl").write_text(next(iter(Counting().run(RunContext()))).to_json() + "\n")
    code, _, _ = _run(capsys, "leaderboard", "--out", str(tmp_path), "--html", "--track", "tiny_board")
    assert code == 0 and calls == [1]
    assert "lazy_cnn.erm" in (tmp_path / "tiny_board.md").read_text()
    assert "tiny_board" in (tmp_path / "site" / "index.html").read_text()


def test_make_run_writes_to_an_ignored_directory():
    """The Makefile's run target passes OUT (default results), and git ignores results/ at the root only."""
    make = (REPO / "Makefile").read_text()
    assert "\nOUT     ?= results\n" in make and "run all --profile $(PROFILE) --out $(OUT)" in make
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    ignored = subprocess.run(["git", "check-ignore", "results/records/shortcut.jsonl",
                              "pysrc/shortcutbench/results/new.py"], cwd=REPO, capture_output=True, text=True)
    assert ignored.stdout.split() == ["results/records/shortcut.jsonl"]


@pytest.mark.parametrize("extra", [["--screenshot", "x.png"], ["--html", "--screenshot", "x.jpg"]])
def test_leaderboard_screenshot_needs_html_and_png(capsys, tmp_path, extra):
    (tmp_path / "records").mkdir()
    (tmp_path / "records" / "t.jsonl").write_text("")
    code, _, err = _run(capsys, "leaderboard", "--out", str(tmp_path), *extra)
    assert code == 2
    _one_line_error(err, "needs --html and a .png path")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["records"]  # nothing written
