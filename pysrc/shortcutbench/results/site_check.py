"""The site as a reader's browser sees it: every page served over HTTP on 127.0.0.1 and loaded in
headless Chromium at 1280 px; per page, the horizontal overflow, the images that did not decode,
the links that do not resolve, and whether clicking a table header sorts its rows (both ways)."""
from __future__ import annotations

import functools
import http.server
import re
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, List, Optional

from .browser import Chromium

WIDTH = 1280

# What the page reports: widths, images that failed, every link's resolved URL, sortable tables.
_PROBE = """(() => {
  const tables = [...document.querySelectorAll("table.sortable")].map(t => t.id);
  const right = Math.max(0, ...[...document.querySelectorAll("table")].filter(t => t.offsetParent)
                                  .map(t => t.getBoundingClientRect().right));
  return {scroll: document.documentElement.scrollWidth, inner: innerWidth, right: right,
          broken_images: [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src),
          n_images: document.images.length,
          links: [...document.links].map(a => a.href), tables: tables};
})()"""

# Click header ``col`` of table ``id`` and read that column back (visible text, top to bottom).
_CLICK = """((id, col) => {
  const t = document.getElementById(id);
  t.tHead.rows[0].cells[col].click();
  return [...t.tBodies[0].rows].map(r => r.cells[col].textContent.trim());
})(%r, %d)"""

_COLUMNS = """((id) => { const t = document.getElementById(id);
  return [[...t.tHead.rows[0].cells].map(c => c.textContent.trim()),
          [...t.tBodies[0].rows].map(r => [...r.cells].map(c => c.textContent.trim()))]; })(%r)"""


def sort_key(cell: str):
    """The order a reader expects: by leading number (thousands separators dropped), text after."""
    m = re.match(r"^[-+−]?\d+(\.\d+)?(e[-+]?\d+)?", cell.replace(",", ""), re.I)
    return (0, float(m.group(0).replace("−", "-")), "") if m else (1, 0.0, cell)


@dataclass
class PageReport:
    page: str
    overflow_px: int = 0
    n_images: int = 0
    broken_images: List[str] = field(default_factory=list)
    broken_links: List[str] = field(default_factory=list)
    unsorted: List[str] = field(default_factory=list)  # "table:column" whose click did not sort
    sorted_tables: int = 0

    @property
    def problems(self) -> List[str]:
        out = [f"{self.page}: {self.overflow_px} px wider than {WIDTH}"] if self.overflow_px > 0 else []
        out += [f"{self.page}: image {s} did not load" for s in self.broken_images]
        out += [f"{self.page}: link {s} does not resolve" for s in self.broken_links]
        out += [f"{self.page}: sorting {s} did not order the rows" for s in self.unsorted]
        return out


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        """Chromium hangs up on downloads it no longer needs (a page left while its images load): a
        broken pipe there says nothing about the site, so it is not printed; anything else is."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextmanager
def serve(directory: Path) -> Iterator[str]:
    httpd = _QuietServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(directory)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _resolves(url: str, base: str, cache: dict) -> bool:
    """A link resolves when it stays on the site and the server answers 200 (fragments dropped)."""
    target = urllib.parse.urldefrag(url)[0]
    if target.startswith("data:"):
        return True
    if not target.startswith(base + "/"):
        return False  # off-site: the site must work with no network
    if target not in cache:
        try:
            with urllib.request.urlopen(target, timeout=30) as res:
                cache[target] = res.status == 200
        except urllib.error.URLError:
            cache[target] = False
    return cache[target]


def _sort_column(headers: List[str], rows: List[List[str]]) -> Optional[int]:
    """A column whose rows are not in order yet (clicking it must change the order), or None."""
    for col in range(len(headers)):
        values = [r[col] for r in rows if col < len(r)]
        keys = [sort_key(v) for v in values]
        if len(set(keys)) > 1 and keys != sorted(keys):
            return col
    return None


def check_page(browser: Chromium, base: str, page: str, link_cache: dict) -> PageReport:
    browser.open(f"{base}/{page}")
    probe = browser.evaluate(_PROBE)
    rep = PageReport(page, overflow_px=int(max(probe["scroll"], probe["right"]) - probe["inner"]),
                     n_images=probe["n_images"], broken_images=probe["broken_images"])
    rep.broken_links = sorted({u for u in probe["links"] if not _resolves(u, base, link_cache)})
    for table in probe["tables"]:
        headers, rows = browser.evaluate(_COLUMNS % table)
        col = _sort_column(headers, rows)
        if col is None:
            continue
        up = browser.evaluate(_CLICK % (table, col))
        down = browser.evaluate(_CLICK % (table, col))
        ok_up = [sort_key(v) for v in up] == sorted(sort_key(v) for v in up)
        # descending: numbers high to low, text cells still last
        num_down = [sort_key(v) for v in down if sort_key(v)[0] == 0]
        ok_down = num_down == sorted(num_down, reverse=True) and sorted(up) == sorted(down)
        if not (ok_up and ok_down):
            rep.unsorted.append(f"{table}:{headers[col]}")
        rep.sorted_tables += 1
    return rep


def site_pages(site: Path) -> List[str]:
    return ["index.html"] + sorted(p.name for p in site.glob("track-*.html")) + \
        sorted(f"models/{p.name}" for p in (site / "models").glob("*.html"))


def check_site(site: str | Path, pages: Optional[List[str]] = None) -> List[PageReport]:
    site = Path(site)
    with serve(site) as base, Chromium(WIDTH) as browser:
        cache: dict = {}
        return [check_page(browser, base, p, cache) for p in (pages or site_pages(site))]
