"""The static site's structure: tables that fit (secondary columns), model links that resolve to
cards, one title per track page with the key figure before the folded notes."""
import json
import re

import pytest

from shortcutbench.results import plots
from shortcutbench.results.record import make_record
from shortcutbench.results.site import ModelLinks, build_site, plan_columns, slug
from shortcutbench.results.tables import Table
from shortcutbench.zoo.shipped import WEIGHTS_DIR

MODELS = ["lazy_cnn.erm", "lazy_cnn.erm.e8", "lazy_cnn.cf_invar", "lt/ext-corners"]


def test_narrow_table_keeps_every_column_and_right_aligns_numbers():
    plan = plan_columns(["model", "hard %", "verdict"], [["erm", "6.1 [5.0, 7.8]", "control"],
                                                         ["cf_invar", "98.1 [97.8, 98.5]", "beats its control"]])
    assert plan.secondary == set() and plan.numeric == {1} and plan.nowrap == {1}


def test_placeholders_do_not_make_a_numeric_column_textual():
    rows = [["a", "98.1"], ["b", "– (partial 0/1)"], ["c", "–"], ["d", "1,234"]]
    assert plan_columns(["model", "score"], rows).numeric == {1}


def test_wide_table_moves_later_columns_to_secondary_but_keeps_model():
    cols = ["rank", "model"] + [f"metric number {i}" for i in range(30)]
    rows = [["1", "lazy_cnn.erm.sweep_lr0.001_m0.5"] + ["12.3 ± 0.4"] * 30]
    plan = plan_columns(cols, rows, budget_px=600)
    assert 0 not in plan.secondary and 1 not in plan.secondary
    assert plan.secondary and max(plan.secondary) == len(cols) - 1  # the tail goes first
    assert set(range(len(cols))) - plan.secondary == set(range(len(cols) - len(plan.secondary)))


@pytest.mark.parametrize("cell,model", [("lazy_cnn.erm", "lazy_cnn.erm"), ("erm", "lazy_cnn.erm"),
                                        ("erm.e8", "lazy_cnn.erm.e8"), ("cf_invar", "lazy_cnn.cf_invar"),
                                        ("lt/ext-corners", "lt/ext-corners"), ("lt_ext-corners", "lt/ext-corners"),
                                        ("e8", "lazy_cnn.erm.e8"), ("nobody", None)])
def test_model_cells_resolve_to_one_card_or_none(cell, model):
    assert ModelLinks(MODELS).resolve(cell) == model


def test_a_short_name_shared_by_two_models_links_nowhere():
    assert ModelLinks(["a.x", "b.x"]).resolve("x") is None


def _records():
    out = []
    for m in MODELS:
        out.append(make_record("shortcut", m, 0, "full", "shortcut.full.v4", {"hard_acc": 0.5}, {}, "fp0", 1.0))
    return out


@pytest.fixture
def site(tmp_path):
    for name in ("key", "other"):
        plots.bars(["a", "b"], [1.0, 2.0], tmp_path / "figures" / "t" / f"{name}.png", name, "y")
    plots.bars(["a"], [1.0], tmp_path / "figures" / "t" / "lazy_cnn.erm_detail.png", "mine", "y")
    overall = Table("overall", "Overall board", ["rank", "model", "score"],
                    [[str(i + 1), m, f"{90 - i:.1f}"] for i, m in enumerate(MODELS)], ["overall **note**"])
    main = Table("t", "Track T: the long title", ["model", "hard %"] + [f"secondary metric {i}" for i in range(40)],
                 [["erm", "6.1 [5.0, 7.8]"] + ["1.0"] * 40, ["cf_invar", "98.1 [97.8, 98.5]"] + ["2.0"] * 40],
                 ["first note with `code`", "second note"],
                 ["figures/t/key.png", "figures/t/other.png", "figures/t/lazy_cnn.erm_detail.png"])
    extra = Table("t_extra", "Track T: a second table", ["model", "x"], [["erm.e8", "3"]], ["extra note"])
    index = build_site(tmp_path, _records(), overall, {"t": [main, extra]})
    return index.parent


def test_track_page_has_one_title_then_table_key_figure_and_folded_notes(site):
    page = (site / "track-t.html").read_text()
    assert page.count("Track T: the long title") == 2  # <title> and the one <h1>
    assert len(re.findall(r"<h1>", page)) == 1 and "<h2>Track T: a second table</h2>" in page
    table, key, notes = (page.index('id="t-t"'), page.index('src="figures/t/key.png"'),
                         page.index("first note with <code>code</code>"))
    assert table < key < notes
    assert re.search(r"<details><summary>Notes[^<]*</summary>.*first note", page, re.S)
    assert re.search(r"<details><summary>More figures \(2\)</summary>.*other\.png", page, re.S)
    assert 'class="allcols"' in page and 'class="num sec"' in page  # the 40 columns cannot all fit


def test_every_model_link_has_a_card(site):
    pages = [site / "index.html", site / "track-t.html"] + sorted((site / "models").iterdir())
    hrefs = 0
    for page in pages:
        for href in re.findall(r'href="([^"#]+\.html)"', page.read_text()):
            assert (page.parent / href).resolve().is_file(), (page.name, href)
            hrefs += 1
    assert hrefs > 30
    track = (site / "track-t.html").read_text()
    assert '<a href="models/lazy_cnn.erm.html">erm</a>' in track
    assert '<a href="models/lazy_cnn.erm.e8.html">erm.e8</a>' in track


def test_card_shows_its_rows_figures_and_provenance(site):
    card = (site / "models" / f"{slug('lazy_cnn.erm')}.html").read_text()
    assert "6.1 [5.0, 7.8]" in card and "98.1 [97.8, 98.5]" not in card
    assert 'src="../figures/t/lazy_cnn.erm_detail.png"' in card
    assert "shortcut.full.v4" in card and "fp0" in card
    assert "Shipped weights" in card  # lazy_cnn.erm ships with the package


def test_rebuilding_replaces_the_site_whole(site, tmp_path):
    stray = site / "models" / "gone.html"
    stray.write_text("old")
    overall = Table("overall", "Overall board", ["rank", "model"], [["1", "lazy_cnn.erm"]])
    build_site(tmp_path, _records()[:1], overall, {})
    assert not stray.exists() and (site / "models" / "lazy_cnn.erm.html").is_file()


def test_each_shipped_model_gets_one_card_scored_or_not(tmp_path):
    rec = make_record("causal", "distance/linf_cnn", 0, "full", "causal.full.v1", {}, {}, "fp", 1.0)
    overall = Table("overall", "Overall board", ["rank", "model"], [["1", "distance/linf_cnn"]])
    site = build_site(tmp_path, [rec], overall, {}).parent
    cards = {p.stem for p in (site / "models").glob("*.html")}
    assert "distance_linf_cnn" in cards and "causal.distance.linf_cnn" not in cards  # its weights' folder name
    assert "lazy_cnn.erm" in cards  # shipped, no record here: still a card
    card = (site / "models" / "distance_linf_cnn.html").read_text()
    shipped = json.loads((WEIGHTS_DIR / "causal.distance.linf_cnn" / "seed0.json").read_text())
    assert f"({shipped['params']:,} parameters)" in card and shipped["sha256"] in card


def test_causal_rows_link_through_task_and_encoder(tmp_path):
    overall = Table("overall", "Overall board", ["rank", "model"], [["1", "distance/linf_cnn"]])
    causal = Table("causal", "Causal", ["task", "encoder", "r2"], [["distance", "linf_cnn", "0.9"],
                                                                   ["theta", "linf_cnn", "0.8"]])
    site = build_site(tmp_path, [], overall, {"causal": [causal]}).parent
    page = (site / "track-causal.html").read_text()
    assert '<a href="models/distance_linf_cnn.html">linf_cnn</a>' in page and page.count('<a href="models/') == 1
    card = (site / "models" / "distance_linf_cnn.html").read_text()
    assert "0.9" in card and "0.8" not in card
