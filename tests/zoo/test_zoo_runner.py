"""``zoo train``: shards split the jobs, shipped jobs are skipped, --retrain trains again to the
same weights, and bad shard strings are one-line errors."""
from dataclasses import replace

import pytest
import torch

from shortcutbench.cli import main
from shortcutbench.data import ColoredMNISTConfig, build_colored_mnist, load_embedded
from shortcutbench.errors import UsageError
from shortcutbench.zoo import catalogue as cat
from shortcutbench.zoo.runner import parse_shard, select_jobs, train_job
from shortcutbench.zoo.shipped import load_shipped


def test_shards_partition_the_jobs():
    everything = select_jobs()
    parts = [select_jobs(shard=(i, 3)) for i in range(3)]
    assert sorted((r.run, s) for p in parts for r, s in p) == sorted((r.run, s) for r, s in everything)
    assert len(everything) == sum(r.seeds for r in cat.CATALOGUE)


def test_only_and_groups_filter():
    jobs = select_jobs(only=("lazy_cnn.erm.e15",))
    assert {r.run for r, _ in jobs} == {"lazy_cnn.erm.control"}
    assert all(r.group == "sweep" for r, _ in select_jobs(groups=("sweep",)))
    with pytest.raises(UsageError, match="matches no zoo run"):
        select_jobs(only=("nope*",))
    assert {r.run for r, _ in select_jobs(groups=("defence",))} >= {"lazy_cnn.pgd_at", "lazy_cnn_temp.ccat_temp"}
    with pytest.raises(UsageError, match="--group nope: no such group"):
        select_jobs(groups=("nope",))


@pytest.mark.parametrize("text", ["3/2", "a/b", "1"])
def test_bad_shard_is_a_usage_error(text, capsys):
    with pytest.raises(UsageError):
        parse_shard(text)
    assert main(["zoo", "train", "--shard", text, "--dry-run"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_ship_skip_retrain(tmp_path):
    data = build_colored_mnist(load_embedded(), ColoredMNISTConfig(train_per_class=20, test_per_class=5,
                                                                   val_per_class=5, val_balanced_per_class=5))
    run = cat.shipped_names()["lazy_cnn.erm.e8"][0]
    run = replace(run, train=replace(run.train, epochs=2, epoch_samples=256), snapshots=(("t.a", 1), ("t.b", 2)))
    assert train_job(run, 0, data, tmp_path) is True
    first, rec = load_shipped("t.b", 0, tmp_path)
    assert rec["epochs"] == 2 and rec["samples"] == 2 * 4 * 64 and len(rec["history"]) == 2
    assert load_shipped("t.a", 0, tmp_path)[1]["history"] == rec["history"][:1]  # a snapshot is the run's prefix
    assert train_job(run, 0, data, tmp_path) is False  # shipped: skipped
    assert train_job(run, 0, data, tmp_path, retrain=True) is True
    again, _ = load_shipped("t.b", 0, tmp_path)
    assert all(torch.equal(first[k], again[k]) for k in first)
