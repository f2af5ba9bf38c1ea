import pytest

from shortcutbench.errors import UsageError
from shortcutbench.tracks import RunContext


def test_for_track_scopes_prefixed_options():
    ctx = RunContext(options={"n_per_split": "1", "attack.n_per_split": "2", "attack.models": "erm",
                              "invariance.models": "erm", "models": "x", "lazy_cnn.x": "3"})
    assert ctx.for_track("attack").options == {"n_per_split": "2", "models": "erm"}
    assert ctx.for_track("invariance").options == {"models": "erm"}
    # a plain key goes to the tracks that declare it; one no track declares (lazy_cnn.x) to none
    assert ctx.for_track("shortcut").options == {"models": "x"}
    assert ctx.for_track("attack").for_track("attack") == ctx.for_track("attack")  # idempotent


def test_seed_list_starts_at_seed_from_and_refuses_an_empty_range():
    assert RunContext().seed_list(3) == [0, 1, 2]
    assert RunContext(seed_from=1).seed_list(3) == [1, 2]
    assert RunContext(seeds=2, seed_from=1).seed_list(3) == [1]
    with pytest.raises(UsageError, match="--seed-from 3 leaves no seed: this run's seeds are 0..2"):
        RunContext(seed_from=3).seed_list(3)
