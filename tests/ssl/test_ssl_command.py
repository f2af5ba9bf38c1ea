import pytest

from shortcutbench.cli import main


def test_ssl_list_and_dry_run(capsys):
    assert main(["ssl", "list", "--profile", "quick", "--set", "datasets=toy"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 6 and lines[0].startswith("resnet_small.supervised.toy") and "seeds shipped 0/1" in lines[0]
    assert main(["ssl", "train", "--profile", "full", "--set", "datasets=toy", "--dry-run", "--shard", "0/4"]) == 0
    jobs = capsys.readouterr().out.strip().splitlines()
    assert len(jobs) == 6 * 3 // 4 + 1 and jobs[0] == "resnet_small.supervised.toy seed 0"


@pytest.mark.parametrize("argv, fragment", [
    (["ssl", "train", "--shard", "3/2"], "need 0 <= i < n"),
    (["ssl", "list", "--set", "methods=mocov3"], "unknown ssl method"),
    (["ssl", "train", "--threads", "0", "--set", "datasets=toy"], "--threads"),
])
def test_ssl_bad_input_exits_2(capsys, argv, fragment):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0]


def test_ssl_help(capsys):
    with pytest.raises(SystemExit) as e:
        main(["ssl", "train", "--help"])
    assert e.value.code == 0 and "--shard" in capsys.readouterr().out
