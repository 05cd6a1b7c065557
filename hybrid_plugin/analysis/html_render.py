"""The leaderboard page's HTML, written with the standard library (:func:`html.escape` on every text and
attribute): semantic tables (``<caption>``, ``<th scope>``, buttons in the column headers), each row's details
(command, results files, 2CR conditions, heatmap and its numbers as a table), the figures, the inline style and
script of :mod:`hybrid_plugin.analysis.html_assets`.

What does not live here: what the page holds (:mod:`hybrid_plugin.analysis.html_page`).

Example::

    html = render_page(leaderboard_page(["runs/hybrid"], out="board.html"))
"""

from __future__ import annotations

import base64
from html import escape
from typing import TYPE_CHECKING

from hybrid_plugin.analysis.html_assets import SORT_SCRIPT, STYLE
from hybrid_plugin.analysis.paper import PAPER, SAMPLING_NAMES

if TYPE_CHECKING:  # the page module imports this one to render itself
    from hybrid_plugin.analysis.html_page import LeaderboardPage, PageRow, PageTable
    from hybrid_plugin.analysis.leaderboard import Column
    from hybrid_plugin.analysis.page_figures import Figure

__all__ = ["render_page"]

PAPER_URL = "https://arxiv.org/abs/2408.10536"
_SYMBOLS = {"OK": "✓", "OKish": "≈", "FAIL": "✗", None: "○"}


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _header_label(column: Column) -> str:
    if column.measure == "bias":
        return 'bias <span aria-hidden="true">↓</span><span class="visually-hidden"> (lower is better)</span>'
    return _e(column.header)


def _th(label_html: str, label: str, numeric: bool, extra_class: str = "") -> str:
    classes = " ".join(c for c in ("num" if numeric else "", extra_class) if c)
    kind = (f' class="{classes}"' if classes else "") + (' data-type="number"' if numeric else ' data-type="text"')
    return (f'<th scope="col"{kind} data-label="{_e(label)}"><button type="button">{label_html}'
            '<span class="arrow" aria-hidden="true"></span></button></th>')


def _identity_headers(page: LeaderboardPage) -> list[str]:
    cells = [_th("model", "model", False), _th("sampling", "sampling", False), _th("α", "alpha", True)]
    if page.show_train:
        cells.append(_th("trained on", "trained on", False))
    if page.varying:
        cells.append(_th("settings", "settings", False))
    return cells + [_th("seeds", "seeds", False), _th("n", "n", True)]


def _missing() -> str:
    return '<span aria-hidden="true">–</span><span class="visually-hidden">none</span>'


def _text_cell(text: str, sort: str | None = None) -> str:
    attribute = "" if sort is None else f' data-sort="{_e(sort)}"'
    return f"<td{attribute}>{_e(text) if text else _missing()}</td>"


def _value_cell(row: PageRow, column: Column, best: bool) -> str:
    value = row.row.values.get(column.key)
    if value is None:
        return f'<td class="num" data-sort="">{_missing()}</td>'
    mean, std = value
    digits = 1 if column.measure == "bias" else 3 if row.row.source == "paper" else 4
    shown = f"{mean:.{digits}f}" + ("" if std is None else f' <span class="std">± {std:.{digits}f}</span>')
    attributes = f' data-sort="{mean!r}" data-value="{mean!r}"' + ("" if std is None else f' data-std="{std!r}"')
    if not best:
        return f'<td class="num"{attributes}>{shown}</td>'
    return (f'<td class="num best"{attributes}><span class="mark" aria-hidden="true">★</span>{shown}'
            '<span class="visually-hidden"> (best)</span></td>')


def _status_cell(row: PageRow) -> str:
    if not row.conditions:
        return f'<td data-sort="">{_missing()}</td>'
    worst = row.status.split(" ")[0]
    symbol = _SYMBOLS.get(worst if worst in _SYMBOLS else None, "○")
    return (f'<td class="status" data-sort="{_e(row.status)}"><span aria-hidden="true">{symbol}</span> '
            f"{_e(row.status)}</td>")


def _reproduce_cell(row: PageRow) -> str:
    if row.row.source == "paper":
        return (f'<td class="cmd nowrap"><span class="visually-hidden">published figure, </span>'
                f'<a href="{PAPER_URL}">{_e(PAPER)}</a></td>')
    return (f'<td class="cmd" data-sort="{_e(row.command)}"><details><summary>command</summary>'
            f'<code>{_e(row.command)}</code></details><a href="#{_e(row.anchor)}">details'
            '<span class="visually-hidden"> of this row</span></a></td>')


def _row_html(page: LeaderboardPage, table: PageTable, index: int, show_status: bool) -> str:
    page_row = table.rows[index]
    row = page_row.row
    paper = row.source == "paper"
    model = _e(row.model) + (' <span class="tag">paper</span>' if paper else "")
    cells = [f'<th scope="row" data-sort="{_e(row.model)}">{model}</th>',
             _text_cell(SAMPLING_NAMES.get(row.sampling, row.sampling)),
             (f'<td class="num" data-sort="">{_missing()}</td>' if row.alpha is None else
              f'<td class="num" data-sort="{row.alpha!r}">{row.alpha:g}</td>')]
    if page.show_train:
        cells.append(_text_cell(row.train_dataset or ""))
    if page.varying:
        extra = dict(row.extra)
        cells.append(_text_cell(", ".join(f"{k}={extra[k]}" for k in page.varying if k in extra)))
    cells.append(_text_cell(",".join(str(s) for s in row.seeds)))
    cells.append(f'<td class="num" data-sort="">{_missing()}</td>' if paper else
                 f'<td class="num" data-sort="{row.n}">{row.n}</td>')
    cells += [_value_cell(page_row, c, index in table.best.get(c.key, ())) for c in page.columns]
    if show_status:
        cells.append(_status_cell(page_row))
    cells.append(_reproduce_cell(page_row))
    return f'<tr class="{row.source}">' + "".join(cells) + "</tr>"


def _caption(table: PageTable) -> str:
    ours = sum(r.row.source == "ours" for r in table.rows)
    paper = len(table.rows) - ours
    parts = [f"{ours} row{'s' if ours != 1 else ''} of this project"]
    if paper:
        parts.append(f"{paper} published row{'s' if paper != 1 else ''} of the paper for reference (labelled paper)")
    return f'<caption id="c-{_e(table.anchor)}"><strong>{_e(table.group)}</strong>: {", ".join(parts)}.</caption>'


def _table_html(page: LeaderboardPage, table: PageTable, show_status: bool) -> str:
    headers = _identity_headers(page) + [_th(_header_label(c), c.header, True) for c in page.columns]
    if show_status:
        headers.append(_th("2CR status", "2CR status", False))
    headers.append(_th("reproduce", "command", False, "cmd"))  # printed below the table, with each row's details
    rows = "\n".join(_row_html(page, table, i, show_status) for i in range(len(table.rows)))
    return ('<p class="note">Mean ± sample standard deviation over seeds; ★ marks the best value of this '
            "project's rows in each column. Select a column header to sort by it, again to reverse.</p>\n"
            f'<div class="table-wrap" role="region" aria-labelledby="c-{_e(table.anchor)}" tabindex="0">\n'
            f'<table class="board" id="{_e(table.anchor)}" data-name="{_e(table.group)}">\n{_caption(table)}\n'
            f"<thead><tr>{''.join(headers)}</tr></thead>\n<tbody>\n{rows}\n</tbody>\n</table>\n</div>")


# --------------------------------------------------------------------------------------------------- details


def _figure_html(figure: Figure, note: str = "") -> str:
    data = base64.b64encode(figure.png).decode("ascii")
    link = "" if figure.source is None else f' (<a href="{_e(figure.source)}">PNG file</a>)'
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{_e(figure.alt)}">'
            f"<figcaption>{_e(figure.caption)}{_e(note)}{link}</figcaption></figure>")


def _pairs_html(row: PageRow) -> str:
    if row.pairs is None:
        return ""
    langs, matrix = row.pairs
    head = "".join(f'<th scope="col" class="num">{_e(lang)}</th>' for lang in langs)
    body = "".join(f'<tr><th scope="row">{_e(lang)}</th>' + "".join(
        f'<td class="num">{_missing() if v is None else f"{v:.4f}"}</td>' for v in values) + "</tr>"
        for lang, values in zip(langs, matrix))
    note = f", {row.seed_note}" if row.seed_note else ""
    return (f'<details><summary>mAP per pair as a table{_e(note)}</summary><table class="pairs">'
            f"<caption>mAP per pair: query language (rows) × pool language (columns){_e(note)}</caption>"
            f'<thead><tr><td></td>{head}</tr></thead><tbody>{body}</tbody></table></details>')


def _conditions_html(row: PageRow) -> str:
    if not row.conditions:
        return ""
    items = []
    for cond in row.conditions:
        status = cond.status or "not checked"
        expected = ", ".join(f"{m} {v:.4f}" for m, v in cond.expected.items())
        got = "" if not cond.got else "; measured " + ", ".join(f"{m} {v:.4f}" for m, v in cond.got.items())
        items.append(f'<li><strong>{_e(cond.name)}</strong>: <span class="status"><span aria-hidden="true">'
                     f"{_SYMBOLS.get(cond.status, '○')}</span> {_e(status)}</span>; expected {_e(expected)}"
                     f"{_e(got)}<details><summary>stock Pyserini / ir_measures commands</summary><pre><code>"
                     f"{_e(chr(10).join(cond.commands))}</code></pre></details></li>")
    return (f'<p>2CR record <a href="{_e(row.record)}">{_e(row.record)}</a> (status of the last '
            "<code>hybrid-plugin reproduce --check … --outcomes …</code>; OK within 1e-4, OKish within 5e-4):</p>"
            f"<ul>{''.join(items)}</ul>")


def _detail_html(row: PageRow, group: str) -> str:
    r = row.row
    alpha = "" if r.alpha is None else f", α {r.alpha:g}"
    title = f"{r.model}, {SAMPLING_NAMES.get(r.sampling, r.sampling)}{alpha} on {group}"
    if r.train_dataset:
        title += f" (trained on {r.train_dataset})"
    sources = ", ".join(f'<a href="{_e(s)}">{_e(s)}</a>' for s in row.sources)
    figures = "".join(_figure_html(f, f" ({row.seed_note})" if row.seed_note else "") for f in row.figures)
    return (f'<article class="row-detail" id="{_e(row.anchor)}" aria-labelledby="{_e(row.anchor)}-h">'
            f'<h4 id="{_e(row.anchor)}-h">{_e(title)}</h4><p>Command that reproduces it:</p>'
            f"<pre><code>{_e(row.command)}</code></pre><p>Results files: {sources}</p>"
            f"{_conditions_html(row)}{figures}{_pairs_html(row)}</article>")


def _section_html(page: LeaderboardPage, table: PageTable, show_status: bool) -> str:
    details = "\n".join(_detail_html(r, table.group) for r in table.rows if r.row.source == "ours")
    return (f'<section aria-labelledby="h-{_e(table.anchor)}">\n<h2 id="h-{_e(table.anchor)}">{_e(table.group)}'
            f"</h2>\n{_table_html(page, table, show_status)}\n"
            + (f"<h3>Rows of {_e(table.group)} in detail</h3>\n{details}\n" if details else "") + "</section>")


_LEAD = ("One table per evaluation set. Rows are models and training settings; results that differ only in their "
         "seed are one row: mean ± sample standard deviation, n results. Columns are macro means over the settings "
         "— <i>mono</i> (query and pool in one language), <i>cross</i> (query in one language, pool in another), "
         "<i>multi</i> (one pool of every language) — of full-ranking mAP, R@1, R@10 and nDCG@10 (R@k not for "
         "multi, where a query has one relevant candidate per language), and the language bias (mean rank distance "
         "between a query's relevant candidates in the multilingual pool; lower is better). ★ and bold mark the "
         "best value of this project's rows in each column. Rows labelled <i>paper</i> (in italics) are the "
         f'published figures of <a href="{PAPER_URL}">{PAPER}</a> (Table 1 mAP, Table 2 bias; XLM-R and LaBSE '
         "bases at the paper's scale), for reference only: this code did not produce them. Select a column header "
         "(click, or Enter / Space) to sort by it. Each row's command reproduces it; the study and evaluation "
         "commands download the public collections (add <code>--data-root DIR</code> or <code>--data DIR</code> "
         "for a local copy).")


def render_page(page: LeaderboardPage) -> str:
    """The page as one HTML document: no external resource, style and script inline, images as data URIs.

    Example::

        render_page(leaderboard_page(["runs/hybrid"], out="board.html")).startswith("<!DOCTYPE html>")  # True
    """
    show_status = any(r.conditions for t in page.tables for r in t.rows)
    nav = "".join(f'<li><a href="#h-{_e(t.anchor)}">{_e(t.group)}</a></li>' for t in page.tables)
    nav += '<li><a href="#figures">figures</a></li>' if page.figures else ""
    sections = "\n".join(_section_html(page, t, show_status) for t in page.tables)
    figures = ('<section id="figures" aria-labelledby="h-figures"><h2 id="h-figures">Figures</h2>'
               + "".join(_figure_html(f) for f in page.figures) + "</section>") if page.figures else ""
    sources = sum(len(r.sources) for t in page.tables for r in t.rows)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="hybrid-plugin">
<title>{_e(page.title)}</title>
<style>{STYLE}</style>
</head>
<body>
<header>
<h1>{_e(page.title)}</h1>
<p class="lead">{_LEAD}</p>
<nav aria-label="Evaluation sets"><ul>{nav}</ul></nav>
</header>
<main>
{sections}
{figures}
</main>
<footer><p class="note">Every number on this page was read from the {sources} results file(s) named with its row
(written by <code>hybrid-plugin evaluate</code> or <code>reproduce</code>), none typed in; the paper's rows come from
the plugin's copy of its Tables 1–2. Written by <code>hybrid-plugin report --html</code> or
<code>reproduce --html</code>.</p></footer>
<p id="sort-status" class="visually-hidden" aria-live="polite"></p>
<script>{SORT_SCRIPT}</script>
</body>
</html>
"""
