"""The diagnostics track's choice of zoo models: every shortcut method, seeds per the named setting."""
import pytest

from shortcutbench.errors import UsageError
from shortcutbench.tracks import RunContext, shortcut
from shortcutbench.tracks.diagnostics import PROTOCOLS, run_protocol, run_specs


def _ids(ctx):
    return [(s.model_id, s.seed) for s in run_specs(ctx, run_protocol(ctx), shortcut.PROTOCOLS[ctx.profile])]


def test_full_covers_every_shortcut_method_with_erm_at_every_seed():
    ctx = RunContext(profile="full")
    ids = _ids(ctx)
    sc = shortcut.PROTOCOLS["full"]
    k = PROTOCOLS["full"].mitigation_seeds
    assert {m for m, _ in ids} == {f"lazy_cnn.{m}" for m in sc.methods}  # joined on the shortcut track's ids
    assert sorted(s for m, s in ids if m == "lazy_cnn.erm") == list(range(sc.seeds))
    for m in sc.methods:
        if m != "erm":
            assert sorted(s for mm, s in ids if mm == f"lazy_cnn.{m}") == list(range(k))
    assert len(ids) == len(set(ids)) == sc.seeds + (len(sc.methods) - 1) * k
    # seed-major: every method's seed 0 comes before any seed 1
    assert max(i for i, (_, s) in enumerate(ids) if s == 0) < min(i for i, (_, s) in enumerate(ids) if s == 1)


def test_specs_are_the_shortcut_tracks_zoo_entries():
    ctx = RunContext(profile="quick", options={"methods": "erm,cf_invar"})
    specs = run_specs(ctx, run_protocol(ctx), shortcut.PROTOCOLS["quick"])
    assert specs == [shortcut.zoo_spec(shortcut.PROTOCOLS["quick"], m, 0) for m in ("erm", "cf_invar")]


def test_mitigation_seeds_override_is_recorded_in_the_protocol():
    ctx = RunContext(profile="full", seeds=3, options={"methods": "erm,jtt", "mitigation_seeds": "2"})
    assert run_protocol(ctx).mitigation_seeds == 2
    assert _ids(ctx) == [("lazy_cnn.erm", 0), ("lazy_cnn.jtt", 0), ("lazy_cnn.erm", 1), ("lazy_cnn.jtt", 1),
                         ("lazy_cnn.erm", 2)]


@pytest.mark.parametrize("bad", ["0", "-1", "two"])
def test_bad_mitigation_seeds_is_a_usage_error(bad):
    with pytest.raises(UsageError, match="mitigation_seeds"):
        run_protocol(RunContext(profile="full", options={"mitigation_seeds": bad}))
