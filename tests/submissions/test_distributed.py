"""A 2-process torchrun evaluation (gloo) stores the same metrics as a single process."""
import os
import subprocess
import sys
from pathlib import Path

from helpers import write_submission
from shortcutbench.results import Store
from shortcutbench.submissions import read_submission
from shortcutbench.submissions.format import KINDS
from shortcutbench.submissions.runner import evaluate_track
from shortcutbench.tracks import RunContext

PYSRC = Path(__file__).parents[2] / "pysrc"


def test_two_process_torchrun_equals_single_process(tmp_path):
    sub = write_submission(tmp_path / "sub", tracks='["shortcut"]')
    out = tmp_path / "lb"
    env = {**os.environ, "PYTHONPATH": str(PYSRC), "OMP_NUM_THREADS": "1", "SHORTCUTBENCH_PROGRESS": "0"}
    res = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                          "-m", "shortcutbench", "submit", str(sub), "--profile", "quick", "--out", str(out),
                          "--distributed", "--no-export"], env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.count("shortcut: stored record") == 1  # rank 0 alone writes
    (rec,) = Store.in_dir(out).query("shortcut")
    # the same code submission through one sandbox, in this process
    single = evaluate_track(read_submission(sub), "shortcut", RunContext(profile="quick", out_dir=out), KINDS["code"])
    assert rec.record_id == single.record_id
    assert rec.metrics == single.metrics
