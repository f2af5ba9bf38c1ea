import pytest

from shortcutbench.cli import main
from shortcutbench.ssl.catalogue import catalogue, ship
from shortcutbench.ssl.data import SSL_DATA
from shortcutbench.tracks import RunContext
from shortcutbench.tracks.ssl import SslTrack


def test_ssl_list_and_dry_run(capsys):
    assert main(["ssl", "list", "--profile", "quick", "--set", "datasets=toy"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 6 and lines[0].startswith("resnet_small.supervised.toy") and "seeds shipped 0/1" in lines[0]
    assert main(["ssl", "train", "--profile", "full", "--set", "datasets=toy", "--dry-run", "--shard", "0/4"]) == 0
    jobs = capsys.readouterr().out.strip().splitlines()
    assert len(jobs) == 6 * 3 // 4 + 1 and jobs[0] == "resnet_small.supervised.toy seed 0"


def test_ssl_train_skips_encoders_already_shipped(capsys, tmp_path, monkeypatch):
    """`ssl train` trains what is not shipped yet: a shipped encoder with the same config and data is
    skipped (and still counts in the shard cut, so shards stay the same as encoders land)."""
    monkeypatch.setattr("shortcutbench.zoo.shipped.WEIGHTS_DIR", tmp_path)
    protocol = SslTrack().protocol_for(RunContext(profile="quick", options={"datasets": "toy"}))
    first = catalogue(protocol)[0]
    ship(first, SSL_DATA.get("toy")(), 0)
    argv = ["ssl", "train", "--profile", "quick", "--set", "datasets=toy", "--dry-run"]
    assert main(argv) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == f"{first.name} seed 0: shipped, skipped" and len(lines) == 6
    assert lines[1] == f"{catalogue(protocol)[1].name} seed 0"
    assert main(argv + ["--shard", "1/2"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[0] == lines[1]


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
