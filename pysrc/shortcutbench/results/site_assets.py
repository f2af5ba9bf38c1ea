"""The site's only style sheet and script, inlined into every page (nothing is fetched).

Sorting: click a column header (again to reverse); a URL hash ``#sort=<table id>:<column>:<asc|desc>``
sorts on load. A cell sorts by its leading number (thousands separators dropped) when it has one;
cells without a number ("–", "no verdict") go last in either direction.
"""

JS = r"""
function cellKey(td){var t=td.textContent.trim().replace(/^(\d{1,3})(,\d{3})+/,function(s){return s.replace(/,/g,"");});
  var m=t.match(/^[-+−]?\d+(\.\d+)?(e[-+]?\d+)?/i);return m?parseFloat(m[0].replace("−","-")):t;}
function sortTable(table,col,dir){
  var body=table.tBodies[0];var rows=Array.prototype.slice.call(body.rows);
  rows.sort(function(a,b){var x=cellKey(a.cells[col]),y=cellKey(b.cells[col]);
    var nx=typeof x==="number",ny=typeof y==="number";
    if(nx!==ny)return nx?-1:1;
    var c=nx?x-y:(x<y?-1:(x>y?1:0));return dir==="desc"?-c:c;});
  rows.forEach(function(r){body.appendChild(r);});
  table.setAttribute("data-sorted",col+":"+dir);
  Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th,i){
    th.setAttribute("aria-sort",i===col?(dir==="asc"?"ascending":"descending"):"none");});
}
document.addEventListener("DOMContentLoaded",function(){
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"),function(table){
    Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th,i){
      th.addEventListener("click",function(){
        sortTable(table,i,table.getAttribute("data-sorted")===i+":asc"?"desc":"asc");});});});
  var m=location.hash.match(/^#sort=([\w.-]+):(\d+):(asc|desc)$/);
  if(m){var t=document.getElementById(m[1]);if(t)sortTable(t,parseInt(m[2],10),m[3]);}
});
"""

# Secondary columns (class "sec") show only when the table's "all columns" box is ticked; the
# table then scrolls sideways inside its box instead of widening the page.
CSS = """body{font:13px/1.4 system-ui,sans-serif;margin:1.2em 1.5em;color:#222;max-width:1200px}
h1{font-size:1.5em;margin:.3em 0 .6em}h2{font-size:1.2em;margin:1.6em 0 .4em}
nav{font-size:12px;border-bottom:1px solid #ddd;padding-bottom:.4em}nav a{margin-right:.9em}
table{border-collapse:separate;border-spacing:0;margin:.4em 0 1em}
th,td{border-bottom:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
thead th{position:sticky;top:0;z-index:1;background:#eef1f4;cursor:pointer;border-bottom:2px solid #bbb;
  vertical-align:bottom}
th[aria-sort=ascending]::after{content:" ▲"}th[aria-sort=descending]::after{content:" ▼"}
.num,.numw{text-align:right;font-variant-numeric:tabular-nums}td.num{white-space:nowrap}
tbody tr:hover td{background:#f7f9fb}
.tw .sec{display:none}.tw:has(input.allcols:checked) .sec{display:table-cell}
.tw:has(input.allcols:checked) table{display:block;overflow-x:auto;max-width:100%}
label.cols{font-size:12px;color:#555;cursor:pointer}
details{margin:.6em 0}summary{cursor:pointer;color:#345;font-weight:600}
.notes p{color:#444;font-size:12px;max-width:75em}
figure{margin:.6em 0}img{max-width:100%;height:auto;display:block}figcaption{font-size:11px;color:#666}
.figs{display:flex;flex-wrap:wrap;gap:.8em}.figs figure{max-width:580px}
dl.card{display:grid;grid-template-columns:14em 1fr;gap:2px 1em}dl.card dt{color:#555}dl.card dd{margin:0}
code{font-size:12px;overflow-wrap:anywhere}"""
