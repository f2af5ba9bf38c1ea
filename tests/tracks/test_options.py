"""The options contract (issue 19): every `--set` key is checked against the track's typed options
before anything runs; overrides derive the protocol name; `run all` spreads plain keys."""
import pytest

from shortcutbench.cli import main
from shortcutbench.errors import UsageError
from shortcutbench.results.record import make_record
from shortcutbench.tracks import TRACKS, RunContext
from shortcutbench.tracks.attack import AttackTrack
from shortcutbench.tracks.options import plan
from shortcutbench.tracks.shortcut import ShortcutTrack
from shortcutbench.tracks.shortcut_zoo import ZOO_PROTOCOLS
from shortcutbench.tracks.sparse import PROTOCOLS as SPARSE, SparseTrack


def _fails(capsys, tmp_path, *argv):
    """Exit code, the one stderr line, and whether the output directory was created."""
    out = tmp_path / "out"
    code = main([*argv, "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return code, err[0], out.exists()


def test_unknown_key_exits_2_naming_the_key_and_the_allowed_ones(capsys, tmp_path):
    code, err, created = _fails(capsys, tmp_path, "run", "shortcut", "--set", "rho=0.5", "--set", "typo_key=1")
    assert code == 2 and not created
    assert "'rho'" in err and "allowed: eval_digits_per_class, methods, models" in err


@pytest.mark.parametrize("track, setting, fragment", [
    ("sparse", "rho=0", "--set rho=0: must be in (0, 1]"),
    ("sparse", "rho=abc", "--set rho=abc: expected float"),
    ("shortcut", "rescore=maybe", "--set rescore=maybe: expected bool"),
    ("shortcut", "methods=erm,nosuch", "unknown method 'nosuch' (known: "),
    ("attack", "n_per_split=0", "--set n_per_split=0: must be > 0"),
    ("diagnostics", "mitigation_seeds=0", "--set mitigation_seeds=0: must be > 0"),
    ("invariance", "projection=nope", "unknown NSPGD projection 'nope'"),
    ("provable", "value_sets=nope", "unknown value set 'nope' (known: "),
])
def test_bad_value_exits_2_with_one_line(capsys, tmp_path, track, setting, fragment):
    code, err, created = _fails(capsys, tmp_path, "run", track, "--set", setting)
    assert code == 2 and fragment in err and not created


def test_run_all_checks_every_track_before_any_starts(capsys, tmp_path, monkeypatch):
    started = []
    for name in TRACKS.list():
        monkeypatch.setattr(TRACKS.get(name), "run", lambda self, ctx: started.append(self.name) or iter(()))
    code, err, created = _fails(capsys, tmp_path, "run", "all", "--set", "shortcut.methods=nosuch")
    assert code == 2 and "shortcut: --set methods=nosuch: unknown method" in err
    assert started == [] and not created  # the attack track (first by name) never started


def test_run_all_suggests_the_track_a_shared_key_suits(capsys, tmp_path):
    code, err, _ = _fails(capsys, tmp_path, "run", "all", "--set", "methods=erm")
    assert code == 2 and err.startswith("shortcutbench: error: ssl: --set methods=erm: unknown ssl method 'erm'")
    assert err.endswith("for one track only write shortcut.methods=erm")


def test_run_all_refuses_a_key_no_track_has(capsys, tmp_path):
    code, err, _ = _fails(capsys, tmp_path, "run", "all", "--set", "typo=1")
    assert code == 2 and "no track of this run has option 'typo'" in err and "shortcut: eval_digits_per_class" in err


def test_run_all_applies_a_key_only_to_the_tracks_that_have_it(capsys, tmp_path, monkeypatch):
    seen = {}
    for name in TRACKS.list():
        monkeypatch.setattr(TRACKS.get(name), "run", lambda self, ctx: seen.__setitem__(self.name, ctx.options) or iter(()))
    assert main(["run", "all", "--set", "models=lazy_cnn.erm", "--set", "attack.n_per_split=7",
                 "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    having = sorted(n for n in TRACKS.list() if "models" in TRACKS.get(n).options_type.keys())
    assert set(having) >= {"attack", "diagnostics", "invariance", "shortcut", "sparse"}
    assert f"--set models=lazy_cnn.erm applies to: {', '.join(having)}" in out
    for name, options in seen.items():
        expected = {"models": "lazy_cnn.erm"} if name in having else {}
        assert options == ({**expected, "n_per_split": "7"} if name == "attack" else expected)


def test_scoped_key_for_a_track_not_run_is_refused():
    with pytest.raises(UsageError, match="track attack is not run by this command"):
        plan([ShortcutTrack()], RunContext(options={"attack.n_per_split": "7"}))


def test_override_derives_the_protocol_name_and_presets_keep_theirs():
    track = SparseTrack()
    assert track.protocol(RunContext(profile="full")) is SPARSE["full"]
    p = track.protocol(RunContext(profile="full", options={"rho": "0.5", "topk": "7"}))
    assert p.name == "sparse.full.v3+rho=0.5+topk=7" and p.data.rho == 0.5 and p.topk == 7
    assert SPARSE["full"].data.rho == 0.95  # the preset is frozen data, untouched
    # run keys choose what runs; the protocol and its name stay
    assert track.protocol(RunContext(profile="full", options={"models": "lazy_cnn.erm"})) is SPARSE["full"]
    assert ShortcutTrack().protocol(RunContext(profile="full", options={"probe_digits": "100"})).name == \
        "shortcut.full.v4+probe_digits=100"
    attack = AttackTrack().protocol(RunContext(options={"linf_eps": "0.1, 0.2"}))
    assert attack.linf_eps == (0.1, 0.2) and attack.name == "attack.quick.v3+linf_eps=0.1,0.2"


def test_tables_show_overridden_records_apart_and_the_overall_table_leaves_them_out():
    track = ShortcutTrack()
    preset, derived = ZOO_PROTOCOLS["full"].name, ZOO_PROTOCOLS["full"].name + "+probe_digits=100"
    recs = [make_record("shortcut", "lazy_cnn.erm", 0, "full", p, {"hard_acc": 0.5}, {}, "fp", 0.0)
            for p in (preset, derived, "shortcut.full.v3")]
    shown = track.current(recs)
    assert [r.model_id for r in shown] == ["lazy_cnn.erm", "lazy_cnn.erm [+probe_digits=100]"]
    assert [track.in_overall(r) for r in recs] == [True, False, False]


def test_attack_headline_reads_the_records_protocol():
    track = AttackTrack()
    rows = [{"split": "easy", "norm": "linf", "eps": e, "attack": "standard", "acc": a} for e, a in ((0.1, 0.4), (0.2, 0.3))]
    rec = make_record("attack", "m", 0, "full", "attack.full.v3", {"robust": rows}, {"protocol": {"headline_eps": 0.2}},
                      "fp", 0.0)
    assert track.headline(rec) == 0.3
    rec.config = {"protocol": {}}  # a record from before the field: the protocol's default ε
    assert track.headline(rec) == 0.4
