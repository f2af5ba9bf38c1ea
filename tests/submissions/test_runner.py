"""`shortcutbench submit`: one subprocess per track, resumable after a kill, a time limit, records
carry the submission hash."""
import json
import os
import signal
import subprocess
import sys
import time

import dummy_tracks  # noqa: F401
from helpers import cli_env as _env, write_submission
from shortcutbench.cli import main

TABLES = ("dummy_a.md", "dummy_b.md", "overall.md", "overall.csv")


def _submit_cmd(sub, out):
    return [sys.executable, "-m", "shortcutbench", "submit", str(sub), "--tracks", "dummy_a", "dummy_b",
            "--profile", "quick", "--out", str(out)]


def _lines(out, track):
    path = out / "records" / f"{track}.jsonl"
    return path.read_text().splitlines() if path.exists() else []


def _workers(out, track):
    """PIDs of live workers of ``track`` whose command line names ``out``."""
    pids = []
    for name in os.listdir("/proc"):
        try:
            argv = open(f"/proc/{name}/cmdline", "rb").read().split(b"\0") if name.isdigit() else []
        except OSError:
            continue
        if b"shortcutbench.submissions.worker" in argv and str(out).encode() in argv and track.encode() in argv:
            pids.append(int(name))
    return pids


def test_killed_run_resumes_without_losing_or_duplicating(tmp_path):
    sub = write_submission(tmp_path / "sub")
    out = tmp_path / "killed"
    # dummy_b hangs; once its worker runs, SIGKILL the run: the worker must die with it
    proc = subprocess.Popen(_submit_cmd(sub, out), env=_env(DUMMY_SLEEP_ON="dummy_b"), start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + 90
    while not _lines(out, "dummy_a") and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    while not _workers(out, "dummy_b") and time.time() < deadline and proc.poll() is None:
        time.sleep(0.1)
    assert _workers(out, "dummy_b"), "the dummy_b worker should be running"
    time.sleep(1.0)  # let it get going
    os.killpg(proc.pid, signal.SIGKILL)  # the run's group; the worker has its own session
    proc.wait()
    deadline = time.time() + 10
    while _workers(out, "dummy_b") and time.time() < deadline:
        time.sleep(0.1)
    assert _workers(out, "dummy_b") == [], "the worker outlived the killed run"
    assert len(_lines(out, "dummy_a")) == 1 and _lines(out, "dummy_b") == []

    again = subprocess.run(_submit_cmd(sub, out), env=_env(), capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "dummy_a: already stored" in again.stdout and "dummy_b: stored record" in again.stdout
    assert len(_lines(out, "dummy_a")) == 1 and len(_lines(out, "dummy_b")) == 1

    fresh = tmp_path / "fresh"  # the same submission run once without interruption
    assert subprocess.run(_submit_cmd(sub, fresh), env=_env(), capture_output=True, timeout=120).returncode == 0
    for name in TABLES:
        assert (out / name).read_text() == (fresh / name).read_text(), name
    rec = json.loads(_lines(out, "dummy_b")[0])
    assert rec["model_id"] == "sub.tiny-linear" and len(rec["config"]["submission"]["hash"]) == 16
    assert rec["metrics"]["uses_group_labels"] is False


def test_time_limit_stops_a_track_and_stores_nothing(tmp_path, capsys, monkeypatch):
    sub = write_submission(tmp_path / "sub", tracks='["dummy_b"]')
    for k, v in _env(DUMMY_SLEEP_ON="dummy_b").items():
        monkeypatch.setenv(k, v)
    code = main(["submit", str(sub), "--profile", "quick", "--out", str(tmp_path / "lb"), "--time-limit", "8"])
    out, err = capsys.readouterr()
    assert code == 1 and "dummy_b: stopped after the time limit of 8 s; nothing stored" in out
    assert "1 track(s) failed: dummy_b" in err
    assert _lines(tmp_path / "lb", "dummy_b") == []


def test_changed_submission_is_a_new_hash(tmp_path):
    from shortcutbench.submissions import read_submission

    sub = write_submission(tmp_path / "sub")
    h = read_submission(sub).hash
    (sub / "model.py").write_text((sub / "model.py").read_text() + "\n# edit\n")
    assert read_submission(sub).hash != h
