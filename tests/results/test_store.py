import json
import math

from shortcutbench.results import Store
from shortcutbench.results.record import Record


def _rec(seed=0, value=0.5, created=1.0, track="t", model="m"):
    return Record(track, model, seed, "quick", "p.v1", {"acc": value, "nan": math.nan}, {"k": 1}, "fp",
                  {"git_commit": "x"}, 1.0, created)


def test_put_query_replace(tmp_path):
    store = Store.in_dir(tmp_path)
    store.put([_rec(0), _rec(1)])
    assert [r.seed for r in store.query("t")] == [0, 1]
    store.put([_rec(0, value=0.7, created=2.0)])  # same id → replaced, not duplicated
    recs = store.query("t")
    assert len(recs) == 2 and recs[0].metrics["acc"] == 0.7
    assert recs[0].metrics["nan"] is None  # NaN stored as null, the JSON is valid
    assert store.query("other") == []


def test_export_and_import_roundtrip(tmp_path):
    store = Store.in_dir(tmp_path)
    store.put([_rec(0), _rec(1), _rec(0, track="u")])
    lines = (tmp_path / "records" / "t.jsonl").read_text().splitlines()
    assert len(lines) == 2 and all(json.loads(ln)["track"] == "t" for ln in lines)
    (tmp_path / "records.sqlite").unlink()
    fresh = Store.in_dir(tmp_path)  # a fresh clone: only the committed JSONL exists
    assert [(r.track, r.seed) for r in fresh.query()] == [("t", 0), ("t", 1), ("u", 0)]


def test_import_prefers_newer_records(tmp_path):
    store = Store.in_dir(tmp_path)
    store.put([_rec(0, value=0.1, created=1.0)])
    newer = _rec(0, value=0.9, created=5.0)
    (tmp_path / "records" / "t.jsonl").write_text(newer.to_json() + "\n")
    assert Store.in_dir(tmp_path).query("t")[0].metrics["acc"] == 0.9


def test_no_temporary_files_left(tmp_path):
    Store.in_dir(tmp_path).put([_rec(0)])
    assert not [p for p in (tmp_path / "records").iterdir() if p.name.startswith(".")]
