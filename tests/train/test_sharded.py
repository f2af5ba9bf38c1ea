import json
import os
import socket
import subprocess
import sys

import pytest
import torch

from shortcutbench.data.lt import extended_spec, toy_dataset
from shortcutbench.train.extended_set import ExtendedTrainConfig, train_extended
from shortcutbench.train.sharded import shard_range


@pytest.mark.parametrize("n, world", [(10, 3), (524_288, 2), (1, 4), (0, 2)])
def test_shard_range_partitions_the_index_space(n, world):
    parts = [shard_range(n, r, world) for r in range(world)]
    assert parts[0][0] == 0 and parts[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(parts, parts[1:]))
    assert max(h - l for l, h in parts) - min(h - l for l, h in parts) <= 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_torchrun_two_processes_equal_one(tmp_path):
    """2-process gloo training (index range split, sums all-reduced) = single-process training."""
    out = tmp_path / "r.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(sys.path)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", f"--master_port={_free_port()}",
           "-m", "shortcutbench.train.sharded", "--value-set", "inbound_pattern", "--steps", "4", "--out", str(out)]
    subprocess.run(cmd, check=True, env=env, timeout=240, capture_output=True)
    sharded = json.loads(out.read_text())
    assert sharded["world"] == 2
    data = toy_dataset("lt")
    single = train_extended(extended_spec(data, 0.41, "inbound_pattern"), ExtendedTrainConfig(max_steps=4), kernel=3)
    torch.testing.assert_close(torch.tensor(sharded["filters"]), single.model.filters.detach(), rtol=1e-6, atol=1e-7)
    assert [h["acc"] for h in sharded["history"]] == [h["acc"] for h in single.history]
    for a, b in zip(sharded["history"], single.history):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-9)
        assert a["min_margin"] == pytest.approx(b["min_margin"], rel=1e-6)
