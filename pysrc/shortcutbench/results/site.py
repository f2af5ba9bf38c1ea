"""Static leaderboard site (``shortcutbench leaderboard --html`` → ``DIR/site/``): the overall
table, one page per track (one title, the table, its key figure, then notes and further figures
folded away) and a card per model. Tables fit 1280 px: columns that would widen the page past it
are secondary, shown by the table's "all columns" box; headers stick and sort (inline script from
site_assets, nothing fetched). Every path is relative, so the folder opens from disk or any server.
"""
from __future__ import annotations

import html
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Set

from ..utils.atomic import atomic_write_text
from .cards import PROVENANCE_COLUMNS, WEIGHTS_COLUMNS, model_card, shipped_names, weights_candidates
from .record import Record
from .site_assets import CSS, JS
from .tables import Table

SITE_DIR = "site"
MODELS_DIR = "models"
FIT_PX = 1150  # what the visible columns may take: 1280 px less the page margins and a scrollbar
CHAR_PX = 7.0  # a 13 px system-ui character, generously
CELL_PAD_PX = 14
WRAP_CHARS = 22  # a text cell wraps at spaces: it needs its longest word, and prefers about this much
_NUMBER = re.compile(r"^[-+−]?[\d,]*\d(\.\d+)?(e[-+]?\d+)?(\s|%|$|/|\))", re.I)
_PLACEHOLDER = {"", "-", "–", "n/a"}


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)


def _inline(text: str) -> str:
    """The notes' Markdown subset: **bold** and `code`."""
    out = html.escape(text)
    out = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", out)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", out)


class ModelLinks:
    """Model cells → card pages. Tables name a model by its id or a short form (the shortcut
    track drops the ``lazy_cnn.`` architecture prefix); a short form links when it names one id."""

    def __init__(self, model_ids: Sequence[str]):
        self.ids = sorted(set(model_ids))
        self._by_slug = {slug(m): m for m in self.ids}

    def resolve(self, cell: str) -> Optional[str]:
        s = slug(cell.strip())
        if s in self._by_slug:
            return self._by_slug[s]
        hits = [m for m in self.ids if slug(m).endswith("." + s)]
        return hits[0] if len(hits) == 1 else None

    def href(self, cell: str, prefix: str) -> Optional[str]:
        model = self.resolve(cell)
        return f"{prefix}{MODELS_DIR}/{slug(model)}.html" if model else None


# Columns whose cells, joined by "/", name a row's model (the causal track's models are
# "<task>/<encoder>"); the link goes on the last of them.
MODEL_KEYS = (("model",), ("task", "encoder"), ("scenes", "encoder"))


def model_key(columns: Sequence[str]) -> List[int]:
    for names in MODEL_KEYS:
        if all(n in columns for n in names):
            return [list(columns).index(n) for n in names]
    return []


def row_model(row: Sequence[str], key: Sequence[int]) -> str:
    return "/".join(row[i] for i in key)


# ------------------------------------------------------------------ tables
@dataclass
class ColumnPlan:
    numeric: Set[int]
    nowrap: Set[int]
    secondary: Set[int]


def _is_number(cell: str) -> bool:
    return bool(_NUMBER.match(cell.strip()))


def _width_px(header: str, cells: Sequence[str], nowrap: bool) -> float:
    words = [len(w) for w in header.split()] or [0]
    need = max(words)
    for c in cells:
        if nowrap:
            need = max(need, len(c))
        else:
            need = max(need, max((len(w) for w in c.split()), default=0), min(len(c), WRAP_CHARS))
    return need * CHAR_PX + CELL_PAD_PX


def plan_columns(columns: Sequence[str], rows: Sequence[Sequence[str]], budget_px: float = FIT_PX) -> ColumnPlan:
    """Right-align numeric columns; keep columns in order while their estimated width fits the
    budget (the first column and "model" always), the rest are secondary."""
    numeric, nowrap, secondary = set(), set(), set()
    used = 0.0
    for i, name in enumerate(columns):
        cells = [r[i] for r in rows if i < len(r)]
        filled = [c for c in cells if (c.split() or [""])[0] not in _PLACEHOLDER]  # "–", "– (partial 0/1)"
        if filled and sum(map(_is_number, filled)) >= 0.6 * len(filled):
            numeric.add(i)
            if max(map(len, filled)) <= WRAP_CHARS + 2:
                nowrap.add(i)
        width = _width_px(name, cells, i in nowrap)
        if i == 0 or name == "model" or used + width <= budget_px:
            used += width
        else:
            secondary.add(i)
    return ColumnPlan(numeric, nowrap, secondary)


def _cell_class(i: int, plan: ColumnPlan) -> str:
    cls = (["num"] if i in plan.nowrap else ["numw"] if i in plan.numeric else []) + (["sec"] if i in plan.secondary else [])
    return f' class="{" ".join(cls)}"' if cls else ""


def table_html(table_id: str, columns: Sequence[str], rows: Sequence[Sequence[str]], links: Optional[ModelLinks],
               prefix: str = "") -> str:
    """A sortable table; ``links`` turns its "model" column into links to the cards."""
    plan = plan_columns(columns, rows)
    key = model_key(columns)
    head = "".join(f"<th{_cell_class(i, plan)}>{html.escape(c)}</th>" for i, c in enumerate(columns))
    body = []
    for r in rows:
        cells = []
        for i, c in enumerate(r):
            text = html.escape(c)
            href = links.href(row_model(r, key), prefix) if (links and key and i == key[-1]) else None
            if href:
                text = f'<a href="{html.escape(href)}">{text}</a>'
            cells.append(f"<td{_cell_class(i, plan)}>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    toggle = (f'<label class="cols"><input type="checkbox" class="allcols"> all columns '
              f'(+{len(plan.secondary)} more)</label>' if plan.secondary else "")
    return (f'<div class="tw">{toggle}<table class="sortable" id="{html.escape(table_id)}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>\n")


def _figure(path: str, prefix: str) -> str:
    return (f'<figure><img src="{html.escape(prefix + path)}" alt="{html.escape(Path(path).stem)}">'
            f"<figcaption>{html.escape(Path(path).stem)}</figcaption></figure>")


def _folded(summary: str, inner: str) -> str:
    return f"<details><summary>{html.escape(summary)}</summary>{inner}</details>\n" if inner else ""


def _notes(t: Table) -> str:
    return _folded("Notes: protocol and definitions", '<div class="notes">' +
                   "".join(f"<p>{_inline(n)}</p>" for n in t.notes) + "</div>" if t.notes else "")


def _figures(figures: Sequence[str], prefix: str, summary: str) -> str:
    return _folded(summary, '<div class="figs">' + "".join(_figure(f, prefix) for f in figures) + "</div>"
                   if figures else "")


def _table_section(t: Table, links: ModelLinks, headed: bool) -> str:
    """The table, its key figure (``figures[0]``), then notes and the other figures folded."""
    out = f"<h2>{html.escape(t.title)}</h2>\n" if headed else ""
    out += table_html(f"t-{slug(t.name)}", t.columns, t.rows, links)
    if t.figures:
        out += _figure(t.figures[0], "") + "\n"
    out += _notes(t) + _figures(t.figures[1:], "", f"More figures ({len(t.figures) - 1})")
    return out


# ------------------------------------------------------------------ pages
def _page(title: str, body: str, tracks: Sequence[str], depth: int = 0) -> str:
    up = "../" * depth
    nav = "".join([f'<a href="{up}index.html">overall</a>'] +
                  [f'<a href="{up}track-{slug(n)}.html">{html.escape(n)}</a>' for n in tracks])
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
            f'content="width=device-width"><link rel="icon" href="data:,"><title>{html.escape(title)}</title>'
            f"<style>{CSS}</style><script>{JS}</script></head>\n<body><nav>{nav}</nav><h1>{html.escape(title)}</h1>\n"
            f"{body}\n</body></html>\n")


def _model_figures(model_id: str, tables: Sequence[Table]) -> List[str]:
    stems = {model_id, slug(model_id), model_id.replace("/", "_")}
    return [f for t in tables for f in t.figures if any(Path(f).name.startswith(s + "_") for s in stems)]


def _card_body(model_id: str, records: Sequence[Record], overall: Table, per_track: Dict[str, List[Table]],
               links: ModelLinks, shown: Set[tuple]) -> str:
    card = model_card(model_id, [r for r in records if r.model_id == model_id or slug(r.model_id) == slug(model_id)],
                      current=lambda r: (r.track, r.protocol) in shown)
    body = '<dl class="card">' + "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in card.facts)
    body += "</dl>\n"
    mine = [r for r in overall.rows if links.resolve(r[overall.columns.index("model")]) == model_id]
    if mine:
        body += "<h2>Overall</h2>" + table_html("t-card-overall", ["column", "value"],
                                                [[c, v] for c, v in zip(overall.columns, mine[0])], None, "../")
    for name, tables in per_track.items():
        for t in tables:
            key = model_key(t.columns)
            rows = [r for r in t.rows if key and links.resolve(row_model(r, key)) == model_id]
            figs = _model_figures(model_id, [t])
            if rows or figs:
                body += f"<h2>{html.escape(t.title)}</h2>\n"
                if rows:
                    body += table_html(f"t-{slug(t.name)}", t.columns, rows, links, "../")
                body += "".join(_figure(f, "../") for f in figs) + _notes(t)
    if card.weights:
        body += "<h2>Shipped weights</h2>" + table_html("t-weights", WEIGHTS_COLUMNS, card.weights, None)
    if card.provenance:
        body += "<h2>Where the numbers come from</h2>" + table_html("t-provenance", PROVENANCE_COLUMNS,
                                                                     card.provenance, None)
    else:
        body += "<p>No result records for this model yet.</p>"
    return body


def _unscored_zoo(model_ids: Sequence[str], records: Sequence[Record]) -> List[str]:
    """Shipped zoo models no record names (under any of the folder names its weights may have):
    they get a card too."""
    covered = {name for m in model_ids for name in weights_candidates(m, [r for r in records if r.model_id == m])}
    return [n for n in shipped_names() if n not in covered]


def _current_protocols(records: Sequence[Record]) -> Set[tuple]:
    """(track, protocol) pairs the tables show: a track's current presets (older ones are superseded)."""
    from ..tracks import TRACKS

    pairs = {(r.track, r.protocol) for r in records}
    return {(t, p) for t, p in pairs if t in TRACKS and TRACKS.get(t)().is_current(next(
        r for r in records if (r.track, r.protocol) == (t, p)))}


def track_tables(out_dir: Path, records: Sequence[Record],
                 only: Optional[Iterable[str]] = None) -> Dict[str, List[Table]]:
    """Each track's tables (every track with records, or those in ``only``), rendered from the
    records; figures are (re)written under out_dir. Rendering is the slow part of a board
    (bootstraps, figures), so callers render once and hand the tables on (files, site)."""
    from ..tracks import TRACKS

    keep = None if only is None else set(only)
    by_track: Dict[str, List[Record]] = {}
    for r in records:
        if r.track in TRACKS and (keep is None or r.track in keep):
            by_track.setdefault(r.track, []).append(r)
    return {name: TRACKS.get(name)().render(recs, out_dir) for name, recs in sorted(by_track.items())}


def build_site(out_dir: Path, records: Sequence[Record], overall: Table, per_track: Dict[str, List[Table]]) -> Path:
    """``out_dir/site/`` from rendered tables (their figures already under ``out_dir``)."""
    site = Path(out_dir) / SITE_DIR
    if site.exists():
        shutil.rmtree(site)  # the site is a pure function of the records: rebuild it whole
    for fig in {f for tables in per_track.values() for t in tables for f in t.figures}:
        (site / fig).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(out_dir) / fig, site / fig)
    tracks = list(per_track)
    overall_ids = [r[overall.columns.index("model")] for r in overall.rows]
    links = ModelLinks(overall_ids + _unscored_zoo(overall_ids, records))
    track_list = "".join(f'<li><a href="track-{slug(n)}.html">{html.escape(t[0].title if t else n)}</a></li>'
                         for n, t in per_track.items())
    atomic_write_text(site / "index.html", _page(overall.title, table_html("t-overall", overall.columns, overall.rows,
                                                                           links) +
                                                 _notes(overall) + f"<h2>Tracks</h2><ul>{track_list}</ul>", tracks))
    for name, tables in per_track.items():
        body = "".join(_table_section(t, links, headed=i > 0) for i, t in enumerate(tables))
        atomic_write_text(site / f"track-{slug(name)}.html", _page(tables[0].title if tables else name, body, tracks))
    shown = _current_protocols(records)
    for model_id in links.ids:
        atomic_write_text(site / MODELS_DIR / f"{slug(model_id)}.html",
                          _page(model_id, _card_body(model_id, records, overall, per_track, links, shown), tracks,
                                depth=1))
    return site / "index.html"
