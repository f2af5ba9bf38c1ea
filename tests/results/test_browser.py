"""The headless Chromium driver: loads a local page, runs script in it, takes a screenshot."""
import struct

import pytest

from shortcutbench.errors import UsageError
from shortcutbench.results.browser import Chromium, find_chromium, screenshot_page

pytestmark = pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine (apt-get install chromium)")


def _png_size(path):
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_open_evaluate_and_screenshot(tmp_path):
    page = tmp_path / "p.html"
    page.write_text('<!DOCTYPE html><html><body style="margin:0"><div id="w" style="width:3000px">x</div>'
                    "<script>document.title = 'ran ' + (1 + 2)</script></body></html>")
    with Chromium(width=800, height=600) as browser:
        browser.open(page.as_uri())
        assert browser.evaluate("document.title") == "ran 3"
        assert browser.evaluate("[innerWidth, document.documentElement.scrollWidth]") == [800, 3000]
        assert _png_size(browser.screenshot(tmp_path / "shot.png")) == (800, 600)
        with pytest.raises(RuntimeError, match="script failed"):
            browser.evaluate("undefinedName.x")


def test_screenshot_of_a_missing_page_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="no page"):
        screenshot_page(tmp_path / "nope.html", tmp_path / "x.png")
