"""The browser check has teeth: a built site passes it, and a page that overflows 1280 px, a
missing image, a dead or off-site link and a table whose header click does not sort all fail it."""
import pytest

from shortcutbench.results import plots
from shortcutbench.results.browser import find_chromium
from shortcutbench.results.record import make_record
from shortcutbench.results.site import build_site
from shortcutbench.results.site_check import _QuietServer, check_site, sort_key
from shortcutbench.results.tables import Table

needs_chromium = pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine")


def test_sort_key_orders_numbers_by_value_then_text():
    cells = ["–", "12.5 ± 0.3", "2 [1, 3]", "1,200 / 5", "-3.5 [-6, -1]", "abc"]
    assert sorted(cells, key=sort_key) == ["-3.5 [-6, -1]", "2 [1, 3]", "12.5 ± 0.3", "1,200 / 5", "abc", "–"]


def test_the_server_keeps_quiet_when_the_browser_hangs_up(capsys):
    """A download Chromium abandons (broken pipe, reset) prints nothing; any other server error still does."""
    server = _QuietServer(("127.0.0.1", 0), None)
    try:
        for error in (BrokenPipeError(32, "Broken pipe"), ConnectionResetError(104, "reset"), ValueError("boom")):
            try:
                raise error
            except Exception:
                server.handle_error(None, ("127.0.0.1", 0))
    finally:
        server.server_close()
    err = capsys.readouterr().err
    assert "boom" in err and "Broken pipe" not in err and "reset" not in err


@needs_chromium
def test_a_built_site_fits_sorts_and_resolves(tmp_path):
    plots.bars(["a", "b"], [1.0, 2.0], tmp_path / "figures" / "t" / "key.png", "key", "y")
    models = [f"lazy_cnn.model_{i}" for i in range(6)]
    overall = Table("overall", "Overall", ["rank", "model", "score", "protocols"],
                    [[str(i + 1), m, f"{50 + 7 * (i % 3)}.0", "t.full.v1 (1 seed)"] for i, m in enumerate(models)])
    wide = Table("t", "Track T", ["model"] + [f"a long metric column name {i}" for i in range(30)],
                 [[m] + [f"{(7 * i + j) % 11}.5 ± 0.{j % 10}" for j in range(30)] for i, m in enumerate(models)],
                 ["a note"], ["figures/t/key.png"])
    records = [make_record("t", m, 0, "full", "t.full.v1", {}, {}, "fp", 1.0) for m in models]
    site = build_site(tmp_path, records, overall, {"t": [wide]}).parent
    reports = check_site(site)
    assert [p for r in reports for p in r.problems] == []
    assert len(reports) == 2 + len(list((site / "models").glob("*.html")))
    assert sum(r.sorted_tables for r in reports) >= 2 and sum(r.n_images for r in reports) >= 1


BAD = {
    "wide.html": '<div style="width:1600px">too wide</div>',
    "image.html": '<img src="figures/missing.png">',
    "links.html": '<a href="nowhere.html">dead</a> <a href="https://example.org/">off-site</a> <a href="wide.html#x">ok</a>',
    # sortable, but no script: clicking the header changes nothing
    "nosort.html": '<table class="sortable" id="t"><thead><tr><th>v</th></tr></thead>'
                   "<tbody><tr><td>3</td></tr><tr><td>1</td></tr><tr><td>2</td></tr></tbody></table>",
}


@needs_chromium
def test_each_fault_is_caught(tmp_path):
    for name, body in BAD.items():
        (tmp_path / name).write_text(f"<!DOCTYPE html><html><body>{body}</body></html>")
    reports = {r.page: r for r in check_site(tmp_path, sorted(BAD))}
    assert reports["wide.html"].overflow_px > 300
    assert [s.rsplit("/", 1)[1] for s in reports["image.html"].broken_images] == ["missing.png"]
    assert sorted(s.rsplit("/", 1)[1] for s in reports["links.html"].broken_links) == ["", "nowhere.html"]
    assert reports["nosort.html"].unsorted == ["t:v"]
    assert all(len(r.problems) >= 1 for r in reports.values())
