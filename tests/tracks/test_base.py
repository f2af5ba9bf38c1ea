from shortcutbench.tracks import RunContext


def test_for_track_scopes_prefixed_options():
    ctx = RunContext(options={"n": "1", "attack.n": "2", "attack.models": "erm", "invariance.models": "erm",
                              "lazy_cnn.x": "3"})
    assert ctx.for_track("attack").options == {"n": "2", "models": "erm", "lazy_cnn.x": "3"}
    assert ctx.for_track("invariance").options == {"n": "1", "models": "erm", "lazy_cnn.x": "3"}
    assert ctx.for_track("shortcut").options == {"n": "1", "lazy_cnn.x": "3"}
    assert ctx.for_track("attack").for_track("attack") == ctx.for_track("attack")  # idempotent
