"""The leaderboard page's inline style sheet and sorting script (constants: the page loads nothing).

The script sorts a table when a column header's button is pressed (mouse, Enter or Space: the buttons are plain
``<button>`` elements), keeps the order of equal values, puts missing values last in either direction, sets
``aria-sort`` on the sorted header and says what it did in a polite live region. It opens every ``<details>``
before printing. Without it the page is the same, unsorted.

What does not live here: the page's HTML (:mod:`hybrid_plugin.analysis.html_render`).

Example::

    >>> "aria-sort" in SORT_SCRIPT and "@media print" in STYLE
    True
"""

from __future__ import annotations

__all__ = ["SORT_SCRIPT", "STYLE"]

STYLE = """
:root { color-scheme: light; --ink: #1b1b1b; --muted: #4d4d4d; --rule: #c8c8c8; --paper: #f1f1f1;
        --focus: #0b57d0; --code: #f5f5f5; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 96rem; padding: 1rem 1.5rem 3rem; color: var(--ink); background: #fff;
       font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
h1 { font-size: 1.6rem; margin: .5rem 0; }
h2 { font-size: 1.3rem; margin: 2rem 0 .5rem; border-bottom: 1px solid var(--rule); }
h3 { font-size: 1.1rem; margin: 1.4rem 0 .3rem; }
h4 { font-size: 1rem; margin: 1rem 0 .3rem; }
a { color: #0b4fb3; }
a:focus-visible, button:focus-visible, summary:focus-visible, .table-wrap:focus-visible {
  outline: 3px solid var(--focus); outline-offset: 2px; }
.lead, .note { max-width: 60rem; }
.note { color: var(--muted); font-size: .9em; }
nav ul { display: flex; flex-wrap: wrap; gap: .3rem 1.2rem; padding: 0; list-style: none; }
.table-wrap { overflow-x: auto; margin: .5rem 0 1rem; position: relative; }
table { border-collapse: collapse; }
table.board { width: 100%; font-size: .85rem; }
caption { caption-side: top; text-align: left; padding: .3rem 0 .5rem; color: var(--muted); }
caption strong { color: var(--ink); }
th, td { padding: .3rem .45rem; border-bottom: 1px solid var(--rule); vertical-align: top; text-align: left; }
thead th { border-bottom: 2px solid var(--ink); white-space: nowrap; vertical-align: bottom; }
th.num, td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody th { font-weight: 600; min-width: 9rem; }
.nowrap { white-space: nowrap; }
th button { font: inherit; font-weight: 700; color: inherit; background: none; border: 0; padding: .1rem 0;
            cursor: pointer; text-align: inherit; }
th button .arrow::after { content: "\\2195"; color: var(--muted); padding-left: .2em; }
th[aria-sort="ascending"] button .arrow::after { content: "\\25B2"; color: var(--ink); }
th[aria-sort="descending"] button .arrow::after { content: "\\25BC"; color: var(--ink); }
tr.paper { background: var(--paper); }
tr.paper th, tr.paper td { font-style: italic; }
.tag { display: inline-block; font-style: normal; font-weight: 600; font-size: .72rem; padding: 0 .35em;
       border: 1px solid currentColor; border-radius: .25rem; margin-left: .3em; }
td.best { font-weight: 700; }
.mark { padding-right: .15em; }
.std { color: var(--muted); font-weight: 400; }
code, pre { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .82rem; }
td code { white-space: pre-wrap; word-break: break-word; display: block; min-width: 16rem; max-width: 26rem; }
td details summary { cursor: pointer; }
pre { background: var(--code); padding: .5rem .7rem; white-space: pre-wrap; word-break: break-all; margin: .3rem 0; }
.status { white-space: nowrap; }
article.row-detail { border-top: 1px solid var(--rule); padding: .4rem 0 .8rem; }
figure { margin: .8rem 0; }
figure img { max-width: min(100%, 34rem); height: auto; border: 1px solid var(--rule); }
figcaption { color: var(--muted); font-size: .9rem; }
table.pairs { font-size: .78rem; margin: .4rem 0; }
.visually-hidden { position: absolute !important; width: 1px; height: 1px; margin: -1px; padding: 0;
                   overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
@page { size: A4 landscape; margin: 12mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 9.5pt; }
  nav, .skip, th button .arrow { display: none; }
  a { color: inherit; text-decoration: none; }
  .table-wrap { overflow: visible; }
  table.board { font-size: 7.5pt; }
  thead th, th.num, td.num { white-space: normal; }
  th, td { padding: .15rem .25rem; }
  td.num .std { display: block; }
  tbody th { min-width: 0; }
  .cmd { display: none; }
  tr, figure, article.row-detail { break-inside: avoid; }
  h2 { break-after: avoid; }
  tr.paper { background: none; }
  figure img { max-width: 60%; }
}
"""
"""The page's style: readable widths, right-aligned tabular numbers, the paper's rows shaded and in italics
(their label says so too), visible focus, a print layout."""

SORT_SCRIPT = """
(function () {
  "use strict";
  var live = document.getElementById("sort-status");
  function sortKey(cell, numeric) {
    var text = cell.getAttribute("data-sort");
    if (text === null) { text = cell.textContent.trim(); }
    if (!numeric) { return text === "" ? null : text.toLowerCase(); }
    var value = parseFloat(text);
    return isNaN(value) ? null : value;
  }
  function sortBy(table, header) {
    var index = header.cellIndex;
    var numeric = header.getAttribute("data-type") === "number";
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows).map(function (row, i) {
      return { row: row, i: i, key: sortKey(row.cells[index], numeric) };
    });
    rows.sort(function (a, b) {
      if (a.key === null || b.key === null) {
        return a.key === b.key ? a.i - b.i : (a.key === null ? 1 : -1);
      }
      var c = numeric ? a.key - b.key : a.key.localeCompare(b.key);
      if (c === 0) { return a.i - b.i; }
      return ascending ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r.row); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) { th.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    if (live) {
      live.textContent = table.getAttribute("data-name") + ": sorted by " + header.getAttribute("data-label") +
        (ascending ? ", ascending" : ", descending") + ".";
    }
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.board"), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (header) {
      var button = header.querySelector("button");
      if (button) { button.addEventListener("click", function () { sortBy(table, header); }); }
    });
  });
  window.addEventListener("beforeprint", function () {
    Array.prototype.forEach.call(document.querySelectorAll("details"), function (d) { d.open = true; });
  });
}());
"""
"""The page's script: sorting by any column (a stable sort; missing values last), ``aria-sort`` and a live
announcement, and every ``<details>`` opened for printing."""
