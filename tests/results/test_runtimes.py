"""The run-time table: stored wall times per (track, protocol) of the most thorough profile."""
from shortcutbench.results.record import make_record
from shortcutbench.results.runtimes import runtime_table


def _rec(track, model, seed, profile, protocol, wall):
    return make_record(track, model, seed, profile, protocol, {}, {}, "fp", wall)


def test_full_records_summed_per_protocol_and_quick_ignored_where_full_exists():
    recs = [_rec("attack", "a", 0, "full", "attack.full.v5", 3000.0),  # the current presets (v5 / quick v3)
            _rec("attack", "b", 0, "full", "attack.full.v5", 5000.0),
            _rec("attack", "c", 0, "full", "attack.full.v5", 4000.0),
            _rec("attack", "a", 0, "quick", "attack.quick.v3", 60.0),
            _rec("sparse", "a", 0, "quick", "sparse.quick.v3", 90.0),
            _rec("not_a_track", "a", 0, "full", "x", 1.0)]
    t = runtime_table(recs)
    rows = {r[0]: r for r in t.rows}
    assert set(rows) == {"attack", "sparse"}  # unknown tracks are left out
    # attack: 3 full records (quick one ignored), 12,000 s = 200 min → "3.3 h"; median 4,000 s = 66.7 min
    assert rows["attack"][1:8] == ["`attack.full.v5`", "full", "3", "3", "3.3 h", "66.7 min", "83.3 min"]
    # sparse has only quick records: shown under quick, 90 s
    assert rows["sparse"][2:6] == ["quick", "1", "1", "90 s"]


def test_superseded_presets_are_left_out_and_derived_ones_are_their_own_row():
    recs = [_rec("invariance", "a", 0, "full", "invariance.full.v3", 100.0),  # superseded by v4
            _rec("invariance", "a", 0, "full", "invariance.full.v4", 200.0),
            _rec("invariance", "a", 0, "full", "invariance.full.v4+seeds=2", 50.0)]  # --set overrides
    assert [r[1] for r in runtime_table(recs).rows] == ["`invariance.full.v4`", "`invariance.full.v4+seeds=2`"]
