"""Issue 24's cases: submitted code cannot forge a score, hang the CLI, outlive the time limit,
write outside its sandbox, or slip a bad output past the checks."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid

import pytest

import dummy_tracks  # noqa: F401
from helpers import LINEAR, cli_env, write_submission
from shortcutbench.submissions.sandbox import isolation

LIMIT = 8  # s per stage: room for a cold torch import in the sandbox on a loaded 2-core machine
NAMESPACES = pytest.mark.skipif(not isolation().namespaces, reason=f"no namespace sandbox: {isolation().detail}")


def _submit(sub, out, *extra, limit=120, env=None, timeout=300):
    cmd = [sys.executable, "-m", "shortcutbench", "submit", str(sub), "--profile", "quick", "--out", str(out),
           "--time-limit", str(limit), *extra]
    return subprocess.run(cmd, env=env or cli_env(), capture_output=True, text=True, timeout=timeout)


def _stored(out):
    db = out / "records.sqlite"
    if not db.exists():
        return []
    with sqlite3.connect(db) as con:
        return [json.loads(b) for (b,) in con.execute("SELECT body FROM records")]


def _error_lines(res):
    return [l for l in res.stderr.splitlines() if l.startswith("shortcutbench: error:")]


FORGER = LINEAR + """
import dummy_tracks
import shortcutbench.tracks.base as base

def _forged(self, model, ctx):
    return {"mean_max_prob": 0.999, "argmax": [7] * 16}

dummy_tracks._Dummy.evaluate = _forged          # what the scorer calls, if it shared our interpreter
base.Track.evaluate = _forged
"""


def test_score_patching_model_cannot_change_the_stored_score(tmp_path):
    honest = _submit(write_submission(tmp_path / "honest"), tmp_path / "honest-lb", "--no-export")
    assert honest.returncode == 0, honest.stderr
    (h,) = _stored(tmp_path / "honest-lb")
    forger = write_submission(tmp_path / "forger", code=FORGER, weights_from=LINEAR)
    for flags, kind in [(["--no-export"], "code"), ([], "verified: exported from code")]:
        res = _submit(forger, tmp_path / kind, *flags)
        assert res.returncode == 0 and f"kind: {kind}" in res.stdout, res.stderr
        (f,) = _stored(tmp_path / kind)
        assert f["config"]["submission"]["kind"] == kind and f["metrics"]["argmax"] == h["metrics"]["argmax"]
        assert f["metrics"]["mean_max_prob"] == pytest.approx(h["metrics"]["mean_max_prob"], rel=1e-6)
        assert f["metrics"]["mean_max_prob"] < 0.5  # the forged value is 0.999


@pytest.mark.parametrize("bad", ["nan", "shape"])
def test_bad_output_on_a_non_validation_batch_stores_nothing(tmp_path, bad):
    # fine on the 8-image validation batch; the dummy track's batch of 16 gets NaN or [16, 5]
    wrong = {"nan": "y * float('nan')", "shape": "y[:, :5]"}[bad]
    code = LINEAR.replace("return self.fc(x.flatten(1))",
                          f"y = self.fc(x.flatten(1))\n        return y if x.shape[0] == 8 else {wrong}")
    res = _submit(write_submission(tmp_path / "s", code=code), tmp_path / "out", "--no-export")
    assert res.returncode != 0
    (line,) = _error_lines(res)
    assert "track 'dummy_a': model call 1 (batch of 16" in line
    assert ("NaN/Inf" if bad == "nan" else "returned shape [16, 5], expected [16, 10]") in line
    assert _stored(tmp_path / "out") == [] and not (tmp_path / "out" / "records").exists()


HANG = {"import": "import time\ntime.sleep(600)\n" + LINEAR,
        "forward": LINEAR.replace("return self.fc(x.flatten(1))", "import time; time.sleep(600)")}


@pytest.mark.parametrize("validate_only", [True, False], ids=["validate-only", "run"])
@pytest.mark.parametrize("where", ["import", "forward"])
def test_hang_ends_at_the_time_limit_with_one_line(tmp_path, where, validate_only):
    sub = write_submission(tmp_path / "s", code=HANG[where], weights_from=LINEAR)
    t0 = time.monotonic()
    res = _submit(sub, tmp_path / "out", *(["--validate-only"] if validate_only else []), limit=LIMIT)
    took = time.monotonic() - t0
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    stage = "load" if where == "import" else "checks"
    assert f"stage {stage!r} exceeded the time limit of {LIMIT} s" in res.stderr
    assert LIMIT <= took < LIMIT + 60
    assert not (tmp_path / "out").exists()  # nothing created: validation never passed


def _pids_with(marker):
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if marker.encode() in f.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return False


def _daemon_at_import(marker: str) -> str:
    """Submission code that, at import, starts a daemon (fork, setsid, fork) named by ``marker`` in
    its command line: it would outlive a process-group kill."""
    return f"""
import os, sys
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(600)", "{marker}"])
    os._exit(0)
"""


@pytest.mark.parametrize("level", ["namespaces", "process"])
def test_no_descendant_survives_the_limit(tmp_path, level):
    if level == "namespaces" and not isolation().namespaces:
        pytest.skip(f"no namespace sandbox: {isolation().detail}")
    marker = f"sb-escapee-{uuid.uuid4().hex}"
    sub = write_submission(tmp_path / "s", code=_daemon_at_import(marker) + HANG["forward"], weights_from=LINEAR)
    env = cli_env(**({"SHORTCUTBENCH_SANDBOX": "process"} if level == "process" else {}))
    proc = subprocess.Popen([sys.executable, "-m", "shortcutbench", "submit", str(sub), "--validate-only",
                             "--time-limit", str(LIMIT)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    seen = set()
    while proc.poll() is None:
        seen.update(_pids_with(marker))
        time.sleep(0.2)
    err = proc.stderr.read()
    assert proc.returncode == 2 and "exceeded the time limit" in err, err
    assert seen, "the escapee never started: the test would prove nothing"
    time.sleep(0.5)
    assert [p for p in seen if _alive(p)] == [] and [p for p in _pids_with(marker) if _alive(p)] == []


@pytest.mark.parametrize("level", ["namespaces", "process"])
def test_a_killed_scorer_takes_the_hanging_sandbox_with_it(tmp_path, level):
    """SIGKILL the scorer while the model hangs in forward (no time limit will come): the sandboxed
    process reads EOF on its lifeline and stops, and under namespaces so does a daemon it detached
    (setsid, double fork). At the process level such a daemon is out of reach once the scorer is
    gone (the README's threat model), so only the sandboxed process itself is checked there."""
    if level == "namespaces" and not isolation().namespaces:
        pytest.skip(f"no namespace sandbox: {isolation().detail}")
    marker = f"sb-orphan-{uuid.uuid4().hex}"
    daemon = _daemon_at_import(marker) if level == "namespaces" else ""
    sub = write_submission(tmp_path / "s", code=daemon + HANG["forward"], weights_from=LINEAR)
    env = cli_env(**({"SHORTCUTBENCH_SANDBOX": "process"} if level == "process" else {}))
    proc = subprocess.Popen([sys.executable, "-m", "shortcutbench", "submit", str(sub), "--validate-only",
                             "--time-limit", "600"], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = f"shortcutbench.submissions.server\0{sub.resolve()}"
    deadline = time.time() + 120
    while not (_pids_with(server) and (level == "process" or _pids_with(marker))) and time.time() < deadline:
        time.sleep(0.2)
    sandboxed = _pids_with(server) + _pids_with(marker)
    assert sandboxed and proc.poll() is None, "the sandbox never started: the test would prove nothing"
    time.sleep(2.0)  # into the hanging forward
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 15
    while [p for p in sandboxed if _alive(p)] and time.time() < deadline:
        time.sleep(0.2)
    assert [p for p in sandboxed if _alive(p)] == [], "the sandbox outlived the killed scorer"


class _Pwn:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


@pytest.mark.parametrize("how", ["torch-zip", "raw-pickle", "as-torchscript"])
def test_malicious_pickle_creates_no_file(tmp_path, how):
    import pickle

    import torch

    sub = write_submission(tmp_path / "s")
    target = tmp_path / "pwned"
    if how == "torch-zip":
        torch.save({"fc.weight": _Pwn(target)}, sub / "weights.pt")
    elif how == "raw-pickle":
        (sub / "weights.pt").write_bytes(pickle.dumps(_Pwn(target)))
    else:
        (sub / "model.ts").write_bytes(pickle.dumps(_Pwn(target)))
        text = (sub / "submission.toml").read_text().split("[model]")[0]
        (sub / "submission.toml").write_text(text + '[model]\ntorchscript = "model.ts"\n')
    res = _submit(sub, tmp_path / "out", "--validate-only")
    assert res.returncode == 2 and len(_error_lines(res)) == 1, res.stderr
    assert not target.exists()


@NAMESPACES
def test_write_outside_the_sandbox_fails(tmp_path):
    outside = tmp_path / "escaped.txt"
    code = f"""
import socket
results = []
for attempt in ("write", "network"):
    try:
        if attempt == "write":
            open({str(outside)!r}, "w").write("escaped")
        else:
            socket.create_connection(("127.0.0.1", 9), timeout=2)
        results.append(attempt + " worked")
    except OSError as exc:
        results.append(attempt + " failed")
open("inside.txt", "w").write(",".join(results))   # the scratch dir (cwd) is writable
assert results == ["write failed", "network failed"], results
""" + LINEAR
    res = _submit(write_submission(tmp_path / "s", code=code, weights_from=LINEAR), tmp_path / "out",
                  "--validate-only")
    assert res.returncode == 0, res.stderr
    assert not outside.exists()


def test_without_namespaces_the_level_is_reported(tmp_path):
    res = subprocess.run([sys.executable, "-m", "shortcutbench", "doctor"], capture_output=True, text=True,
                         env=cli_env(SHORTCUTBENCH_SANDBOX="process"), timeout=120)
    assert res.returncode == 0 and "submission sandbox: process (SHORTCUTBENCH_SANDBOX=process" in res.stdout


def test_enter_refuses_the_starters_mount_namespace(tmp_path):
    from shortcutbench.submissions.sandbox import enter, mount_namespace

    before = open("/proc/self/mountinfo").read()
    with pytest.raises(OSError, match="refusing to remount"):
        enter(tmp_path, mount_namespace())  # run outside unshare it would make the real / read-only
    assert open("/proc/self/mountinfo").read() == before


def test_remote_model_gives_the_codes_logits_and_input_gradients(tmp_path):
    import torch

    from shortcutbench.submissions import read_submission
    from shortcutbench.submissions.remote import ModelClient, RemoteModel
    from shortcutbench.submissions.sandbox import Limits

    ns = {}
    exec(LINEAR, ns)
    local = ns["build"]().eval()
    x = torch.rand(5, 3, 28, 28)
    with ModelClient(read_submission(write_submission(tmp_path / "s")), Limits(time_s=60)) as client:
        remote = RemoteModel(client)
        with client.stage("test"):
            torch.testing.assert_close(remote(x), local(x))
            xr, xl = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
            yr, yl = remote(xr), local(xl)
            for k in (3, 7):  # several gradients of one output (NSPGD's Jacobian rows): one graph, reused
                (gr,) = torch.autograd.grad(yr[:, k].sum(), xr, retain_graph=True)
                (gl,) = torch.autograd.grad(yl[:, k].sum(), xl, retain_graph=True)
                torch.testing.assert_close(gr, gl)
    assert client.proc.returncode is not None  # closed with the context


def test_code_that_cannot_be_exported_is_scored_as_code_and_says_why(tmp_path):
    # a branch on the input's values: torch.export cannot trace it into one graph
    branchy = LINEAR.replace("return self.fc(x.flatten(1))",
                             "y = self.fc(x.flatten(1))\n        return y if float(x.mean()) > 0 else -y")
    res = _submit(write_submission(tmp_path / "s", code=branchy), tmp_path / "out", "--validate-only")
    assert res.returncode == 0, res.stderr
    assert "kind: code (not exported: " in res.stdout
