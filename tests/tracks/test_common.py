from shortcutbench.results.record import make_record
from shortcutbench.tracks.common import missing_board_note
from shortcutbench.zoo import catalogue


def _records(models, profile="full"):
    return [make_record("sparse", m, 0, profile, f"sparse.{profile}.v3", {}, {}, "fp", 1.0) for m in models]


def test_a_partly_filled_full_board_names_what_it_lacks():
    board = catalogue.board_models()
    have = board[:2]
    (note,) = missing_board_note("sparse", _records(have))
    missing = [m for m in board if m not in have]
    assert f"({len(missing)} of {len(board)})" in note
    assert note.split(": ", 1)[1].split(". ")[0].split(", ") == missing  # in board order, nothing else
    assert "shortcutbench run sparse --profile full --set models=NAME" in note


def test_no_note_when_complete_quick_or_against_an_explicit_board():
    assert missing_board_note("sparse", _records(catalogue.board_models())) == []
    assert missing_board_note("sparse", _records(["lazy_cnn.erm"], profile="quick")) == []
    assert missing_board_note("attack", _records(["lazy_cnn.erm"]), board=["lazy_cnn.erm"]) == []
    (note,) = missing_board_note("attack", _records(["lazy_cnn.erm"]), board=["lazy_cnn.erm", "lazy_cnn.jtt"])
    assert "(1 of 2): lazy_cnn.jtt." in note
