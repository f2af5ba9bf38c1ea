"""Static leaderboard site (``shortcutbench leaderboard --html`` → ``DIR/site/``): the overall
table, one page per track and one per model, sortable tables (a few lines of inline JS, no CDN),
figures copied in. Everything is relative, so the folder can be opened from disk or any server.

Sorting: click a column header; a URL hash ``#sort=<table id>:<column>:<asc|desc>`` sorts on load
(how the browser test drives it). Cells sort by their leading number when they have one.
"""
from __future__ import annotations

import html
import re
import shutil
from pathlib import Path
from typing import Dict, List, Sequence

from ..utils.atomic import atomic_write_text
from .record import Record
from .tables import Table

SITE_DIR = "site"

_JS = r"""
function cellKey(td){var t=td.textContent.trim();var m=t.match(/^[-+]?\d+(\.\d+)?/);return m?parseFloat(m[0]):t;}
function sortTable(table,col,dir){
  var body=table.tBodies[0];var rows=Array.prototype.slice.call(body.rows);
  rows.sort(function(a,b){var x=cellKey(a.cells[col]),y=cellKey(b.cells[col]);
    var nx=typeof x==="number",ny=typeof y==="number";
    var c=(nx&&ny)?x-y:(nx?-1:(ny?1:String(x).localeCompare(String(y))));
    if(nx!==ny)return c;return dir==="desc"?-c:c;});
  rows.forEach(function(r){body.appendChild(r);});
  table.setAttribute("data-sorted",col+":"+dir);
  Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th,i){
    th.setAttribute("aria-sort",i===col?(dir==="asc"?"ascending":"descending"):"none");});
}
document.addEventListener("DOMContentLoaded",function(){
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"),function(table){
    Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th,i){
      th.addEventListener("click",function(){
        var cur=table.getAttribute("data-sorted");
        sortTable(table,i,cur===i+":asc"?"desc":"asc");});});});
  var m=location.hash.match(/^#sort=([\w.-]+):(\d+):(asc|desc)$/);
  if(m){var t=document.getElementById(m[1]);if(t)sortTable(t,parseInt(m[2],10),m[3]);}
});
window.addEventListener("load",function(){
  var imgs=document.images,ok=0;
  for(var i=0;i<imgs.length;i++){if(imgs[i].complete&&imgs[i].naturalWidth>0)ok++;}
  document.body.setAttribute("data-images",ok+"/"+imgs.length);
});
"""

_CSS = """body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:110em;color:#222}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:3px 7px;text-align:left}
th{background:#f3f3f3;cursor:pointer;white-space:nowrap}th[aria-sort=ascending]::after{content:" ▲"}
th[aria-sort=descending]::after{content:" ▼"}.notes{color:#555;font-size:12px;max-width:80em}
img{max-width:46em;display:block;margin:.5em 0}nav a{margin-right:1em}"""


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)


def _page(title: str, body: str, depth: int = 0) -> str:
    up = "../" * depth
    nav = f'<nav><a href="{up}index.html">overall</a></nav>'
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>{html.escape(title)}</title>'
            f"<style>{_CSS}</style><script>{_JS}</script></head>\n<body>{nav}<h1>{html.escape(title)}</h1>\n"
            f"{body}\n</body></html>\n")


def _table_html(t: Table, rows: Sequence[Sequence[str]], link_models: str = "") -> str:
    """link_models: relative prefix of the model pages, to link the 'model' column ('' = no links)."""
    model_col = t.columns.index("model") if "model" in t.columns else -1
    head = "".join(f"<th>{html.escape(c)}</th>" for c in t.columns)
    body = []
    for r in rows:
        cells = []
        for i, c in enumerate(r):
            text = html.escape(c)
            if i == model_col and link_models:
                text = f'<a href="{link_models}{slug(c)}.html">{text}</a>'
            cells.append(f"<td>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    notes = "".join(f"<p>{html.escape(n)}</p>" for n in t.notes)
    return (f'<h2>{html.escape(t.title)}</h2>\n<table class="sortable" id="t-{slug(t.name)}"><thead><tr>{head}</tr>'
            f"</thead><tbody>{''.join(body)}</tbody></table>\n<div class=\"notes\">{notes}</div>\n")


def _figures_html(figures: Sequence[str], prefix: str) -> str:
    return "".join(f'<figure><img src="{prefix}{html.escape(f)}" alt="{html.escape(Path(f).stem)}">'
                   f"<figcaption>{html.escape(Path(f).stem)}</figcaption></figure>\n" for f in figures)


def track_tables(out_dir: Path, records: Sequence[Record]) -> Dict[str, List[Table]]:
    """Every track's tables, rendered from the records (figures are (re)written under out_dir)."""
    from ..tracks import TRACKS

    by_track: Dict[str, List[Record]] = {}
    for r in records:
        by_track.setdefault(r.track, []).append(r)
    return {name: TRACKS.get(name)().render(recs, out_dir) for name, recs in sorted(by_track.items()) if name in TRACKS}


def write_site(out_dir: str | Path, records: Sequence[Record], trust_code: bool = False) -> Path:
    from .overall import overall_table

    out_dir = Path(out_dir)
    site = out_dir / SITE_DIR
    overall = overall_table(records, trust_code)
    per_track = track_tables(out_dir, records)
    if site.exists():
        shutil.rmtree(site)  # the site is a pure function of the records: rebuild it whole
    for tables in per_track.values():
        for fig in (f for t in tables for f in t.figures):
            (site / fig).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(out_dir / fig, site / fig)
    links = "".join(f'<li><a href="track-{slug(n)}.html">{html.escape(n)}</a></li>' for n in per_track)
    atomic_write_text(site / "index.html", _page("shortcutbench leaderboard",
                                                 _table_html(overall, overall.rows, "models/") +
                                                 f"<h2>Tracks</h2><ul>{links}</ul>"))
    for name, tables in per_track.items():
        body = "".join(_table_html(t, t.rows, "models/") + _figures_html(t.figures, "") for t in tables)
        atomic_write_text(site / f"track-{slug(name)}.html", _page(tables[0].title if tables else name, body))
    for model_id in [r[overall.columns.index("model")] for r in overall.rows]:
        body = _table_html(overall, [r for r in overall.rows if r[1] == model_id])
        for name, tables in per_track.items():
            for t in tables:
                mine = [r for r in t.rows if "model" in t.columns and r[t.columns.index("model")] == model_id]
                figs = [f for f in t.figures if Path(f).name.startswith(model_id + "_")]
                if mine or figs:
                    body += _table_html(t, mine) + _figures_html(figs, "../")
        atomic_write_text(site / "models" / f"{slug(model_id)}.html", _page(model_id, body, depth=1))
    return site / "index.html"
