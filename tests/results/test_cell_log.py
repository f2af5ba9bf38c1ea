import json

from shortcutbench.results.cell_log import DIR, CellLog

CLEAN = "0123456789abcdef0123456789abcdef01234567"


def test_a_log_reads_back_what_it_logged_and_skips_a_torn_line(tmp_path):
    log = CellLog.open(tmp_path, "attack", {"model": "m", "seed": 0}, commit=CLEAN)
    assert log.path.parent == tmp_path / DIR / "attack"
    calls = []
    compute = lambda v: (lambda: calls.append(v) or {"v": v, "seconds": 2.0})
    assert log.cached(("easy", "linf", 0.1, "fgsm"), compute(1)) == {"v": 1, "seconds": 2.0}
    log.cached(("easy", "linf", 0.2, "fgsm"), compute(2))
    with log.path.open("a") as f:  # the kill cut the third line short
        f.write(json.dumps({"cell": "x", "value": {"v": 3}})[:12])
    again = CellLog.open(tmp_path, "attack", {"model": "m", "seed": 0}, commit=CLEAN)
    assert again.path == log.path
    assert again.cached(("easy", "linf", 0.1, "fgsm"), compute(9)) == {"v": 1, "seconds": 2.0}
    assert again.cached(("easy", "linf", 0.3, "fgsm"), compute(3)) == {"v": 3, "seconds": 2.0}
    assert calls == [1, 2, 3]  # only the cell never finished ran again
    assert (again.reused, again.reused_seconds) == (1, 2.0)
    again.close()
    assert not log.path.exists()


def test_another_key_or_commit_is_another_log():
    base = CellLog.open("out", "attack", {"model": "m", "seed": 0}, commit=CLEAN).path
    assert CellLog.open("out", "attack", {"model": "m", "seed": 1}, commit=CLEAN).path != base
    assert CellLog.open("out", "attack", {"model": "m", "seed": 0}, commit="f" * 40).path != base


def test_a_dirty_tree_never_logs(tmp_path):
    for commit in (CLEAN + "-dirty", "unknown"):
        log = CellLog.open(tmp_path, "attack", {"model": "m"}, commit=commit)
        assert log.path is None
        assert log.cached(("c",), lambda: {"v": 1}) == {"v": 1}
    assert not (tmp_path / DIR).exists()
