from shortcutbench.tracks import RunContext


def test_for_track_scopes_prefixed_options():
    ctx = RunContext(options={"n_per_split": "1", "attack.n_per_split": "2", "attack.models": "erm",
                              "invariance.models": "erm", "models": "x", "lazy_cnn.x": "3"})
    assert ctx.for_track("attack").options == {"n_per_split": "2", "models": "erm"}
    assert ctx.for_track("invariance").options == {"models": "erm"}
    # a plain key goes to the tracks that declare it; one no track declares (lazy_cnn.x) to none
    assert ctx.for_track("shortcut").options == {"models": "x"}
    assert ctx.for_track("attack").for_track("attack") == ctx.for_track("attack")  # idempotent
