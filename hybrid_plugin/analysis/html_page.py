"""The leaderboard as one self-contained static HTML page (``hybrid-plugin report … --html FILE``,
``hybrid-plugin reproduce --html``): the page model, built from the same rows as the Markdown leaderboard, and
writing it.

The page has one table per evaluation set (rows: models × training settings, seeds as mean ± std, the paper's
reference rows marked; columns: mono / cross / multi mAP, R@1, R@10, nDCG@10 and the language bias, sortable),
the best value of each column marked with a symbol and words, for each row the command that reproduces it and,
for a study with a 2CR record, each condition's OK / OKish / FAIL status, and the figures (per-pair heatmaps,
the α sweep and any other PNG a study or an evaluation wrote; :mod:`hybrid_plugin.analysis.page_figures`)
embedded as ``data:`` URIs. Every number comes
from the results records (:func:`~hybrid_plugin.analysis.leaderboard.leaderboard`); the HTML is written by
:mod:`hybrid_plugin.analysis.html_render`, with the inline style and script of
:mod:`hybrid_plugin.analysis.html_assets`: no server, no network, no template engine.

Example::

    page = leaderboard_page(["runs/xx/results.json", "runs/hybrid/results.json"], out="board.html")
    page.write("board.html")
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from hybrid_plugin.analysis.html_render import render_page
from hybrid_plugin.analysis.leaderboard import (
    Column,
    Leaderboard,
    LeaderboardRow,
    configuration,
    debias_of,
    leaderboard,
)
from hybrid_plugin.analysis.page_figures import Figure, row_figures, study_figures
from hybrid_plugin.analysis.reproduction import (
    RecordedCondition,
    Study,
    check_conditions,
    evaluate_command,
    find_study,
    read_study,
    study_command,
)
from hybrid_plugin.analysis.tables import pair_matrix
from hybrid_plugin.errors import DataError
from hybrid_plugin.evaluation.results import RESULTS_FILE, EvaluationResults, load_results
from hybrid_plugin.files import atomic_write
from hybrid_plugin.study.settings import config_name

__all__ = ["PAGE_COLUMNS", "Figure", "LeaderboardPage", "PageRow", "PageTable", "leaderboard_page",
           "write_leaderboard_page"]

PAGE_COLUMNS: tuple[Column, ...] = (
    Column("mono", "map"), Column("cross", "map"), Column("multi", "map"),
    Column("mono", "R@1"), Column("cross", "R@1"), Column("mono", "R@10"), Column("cross", "R@10"),
    Column("mono", "nDCG@10"), Column("cross", "nDCG@10"), Column("multi", "nDCG@10"),
    Column("multi", "bias"),
)
"""The page's columns: mAP, R@1, R@10 and nDCG@10 per setting and the language bias. R@k is left out for multi,
where a query has one relevant candidate per language (R@1 cannot exceed 1/#languages)."""


@dataclass(frozen=True)
class PageRow:
    """One row of a table: the leaderboard row and what the page adds to it.

    Attributes:
        row (LeaderboardRow): the numbers (means and sample stds over seeds) and the configuration.
        anchor (str): the ``id`` of the row's details on the page.
        sources (tuple[str, ...]): the results files the row aggregates, relative to the page (none for the paper).
        command (str | None): the command that reproduces the row (None for the paper's rows).
        conditions (tuple[RecordedCondition, ...]): the 2CR record's conditions of the row's model, if any.
        figures (tuple[Figure, ...]): the per-pair heatmap and the other figures beside its first results file.
        pairs (tuple | None): ``(languages, matrix)`` of per-pair mAP of its first results file, for a table
            beside the heatmap.
        seed_note (str): which seed the heatmap and the per-pair table show.
        record (str | None): the study's ``record.yaml`` the conditions come from, relative to the page.
    """

    row: LeaderboardRow
    anchor: str
    sources: tuple[str, ...] = ()
    command: str | None = None
    conditions: tuple[RecordedCondition, ...] = ()
    figures: tuple[Figure, ...] = ()
    pairs: tuple[list[str], list[list[float | None]]] | None = None
    seed_note: str = ""
    record: str | None = None

    @property
    def status(self) -> str:
        """The 2CR status in words: ``OK (3 of 3 conditions)``, ``not checked (3 conditions)``, ``–`` (no record)."""
        if not self.conditions:
            return "–"
        checked = [c.status for c in self.conditions if c.status is not None]
        total = len(self.conditions)
        noun = "condition" if total == 1 else "conditions"
        if not checked:
            return f"not checked ({total} {noun})"
        worst = "FAIL" if "FAIL" in checked else "OKish" if "OKish" in checked else "OK"
        return f"{worst} ({len(checked)} of {total} {noun})"


@dataclass(frozen=True)
class PageTable:
    """One evaluation set's table: its rows and the rows holding each column's best value (of this project's
    rows: the paper's are for reference)."""

    group: str
    anchor: str
    rows: tuple[PageRow, ...]
    best: dict[str, frozenset[int]]


@dataclass(frozen=True)
class LeaderboardPage:
    """The whole page; :meth:`to_html` renders it, :meth:`write` writes it atomically.

    Build it with :func:`leaderboard_page`.
    """

    title: str
    tables: tuple[PageTable, ...]
    figures: tuple[Figure, ...]
    columns: tuple[Column, ...]
    show_train: bool
    varying: tuple[str, ...]
    results: tuple[EvaluationResults, ...]

    def to_html(self) -> str:
        """The page as one HTML document (style and script inline)."""
        return render_page(self)

    def write(self, path: str | Path) -> Path:
        """Write the page to ``path`` atomically (the old page stays until the new one is complete)."""
        text = self.to_html()
        with atomic_write(path) as handle:
            handle.write(text)
        return Path(path)


# --------------------------------------------------------------------------------------------------------------
# building

_Loaded = tuple[Path, EvaluationResults]


def _load(paths: Iterable[str | Path]) -> list[_Loaded]:
    loaded = []
    for given in paths:
        path = Path(given)
        path = path / RESULTS_FILE if path.is_dir() else path
        loaded.append((path, load_results(path)))
    return loaded


def _check_consistent(loaded: Sequence[_Loaded]) -> None:
    """Refuse results that cannot stand together: one evaluation set with different data, or the same
    configuration and seed twice (it would count twice in the mean ± std)."""
    data_of: dict[str, tuple[Path, tuple]] = {}
    seen: dict[tuple, Path] = {}
    for path, results in loaded:
        dataset = results.dataset
        identity = (dataset.checksum, tuple(dataset.languages))
        first, known = data_of.setdefault(dataset.title, (path, identity))
        if known != identity:
            raise DataError(f"evaluation set {dataset.title!r} differs from that of {first} (its checksum or "
                            "languages): results of different data cannot share a table", path)
        key = (configuration(results), (results.training or {}).get("seed"))
        if key in seen:
            raise DataError(f"the same configuration and seed as {seen[key]}: give each result once", path)
        seen[key] = path


def _row_key(row: LeaderboardRow) -> tuple:
    return row.dataset, row.limit, row.model, row.sampling, row.alpha, row.train_dataset, row.extra


def _results_key(results: EvaluationResults) -> tuple:
    config = configuration(results)
    return (config.dataset, config.limit, config.model, config.sampling, config.alpha,
            (results.training or {}).get("train_dataset"), tuple(kv for kv in config.extra if kv[0] != "train_dataset"))


def _seed(results: EvaluationResults) -> int:
    seed = (results.training or {}).get("seed")
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else 0


class _Builder:
    """Builds the page's rows: members, commands, record conditions and figures of each leaderboard row."""

    def __init__(self, loaded: Sequence[_Loaded], out: Path) -> None:
        self.out = out
        self.members: dict[tuple, list[_Loaded]] = {}
        for path, results in loaded:
            self.members.setdefault(_results_key(results), []).append((path, results))
        self.studies: dict[Path, Study] = {}
        self.study_of: dict[Path, Study] = {}
        for path, _ in loaded:
            folder = find_study(path)
            if folder is not None:
                if folder not in self.studies:
                    self.studies[folder] = read_study(folder)
                self.study_of[path] = self.studies[folder]

    def _command(self, path: Path, results: EvaluationResults, seeds: Sequence[int]) -> str:
        study = self.study_of.get(path)
        if study is None:
            return evaluate_command(results)
        return study_command(study.settings, seeds=max(seeds) + 1 if seeds else None)

    def _conditions(self, row: LeaderboardRow, members: Sequence[_Loaded]) -> list[RecordedCondition]:
        found: list[RecordedCondition] = []
        for path, results in members:
            study = self.study_of.get(path)
            # a study's record (2CR) holds its plain models' cells only: a debiased twin ("+lsar") has none
            if study is not None and debias_of(results) is None:
                conditions = study.conditions(row.dataset, config_name(row.alpha), _seed(results))
                check_conditions(conditions, results, study.record_path)
                found += conditions
        return found

    def row(self, row: LeaderboardRow, anchor: str) -> PageRow:
        if row.source == "paper":
            return PageRow(row, anchor)
        members = sorted(self.members[_row_key(row)], key=lambda m: _seed(m[1]))
        seeds = [s for s in row.seeds if isinstance(s, int) and not isinstance(s, bool)]
        commands = dict.fromkeys(self._command(path, results, seeds) for path, results in members)
        first_path, first = members[0]
        note = f"seed {_seed(first)} of {len(members)} seeds" if len(members) > 1 else ""
        conditions = tuple(self._conditions(row, members))
        study = next((self.study_of[p] for p, _ in members if p in self.study_of), None)
        record = os.path.relpath(study.record_path, self.out.parent) if study and conditions else None
        return PageRow(row, anchor, tuple(os.path.relpath(p, self.out.parent) for p, _ in members),
                       "\n".join(commands), conditions, row_figures(first_path.parent, first, self.out),
                       pair_matrix(first), note, record)

    def figures(self, rows: Sequence[PageRow]) -> list[Figure]:
        figures = []
        for study in self.studies.values():
            inside = [r.row for r in rows if any(self.study_of.get(p) is study for p, _ in
                                                 self.members.get(_row_key(r.row), []))]
            results = [r for members in self.members.values() for p, r in members if self.study_of.get(p) is study]
            figures += study_figures(study, inside, results, self.out)
        return figures


def _best(rows: Sequence[LeaderboardRow], columns: Sequence[Column]) -> dict[str, frozenset[int]]:
    """Per column, the rows of this project holding the best value as shown (highest; lowest for the bias)."""
    best = {}
    for column in columns:
        digits = 1 if column.measure == "bias" else 4
        shown = [(i, round(r.values[column.key][0], digits)) for i, r in enumerate(rows)
                 if r.source == "ours" and r.values.get(column.key) is not None]
        if len(shown) > 1:
            top = (min if column.measure == "bias" else max)(v for _, v in shown)
            best[column.key] = frozenset(i for i, v in shown if v == top)
    return best


def _anchor(text: str, taken: set[str]) -> str:
    base = "t-" + (re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "table")
    anchor, n = base, 1
    while anchor in taken:
        n += 1
        anchor = f"{base}-{n}"
    taken.add(anchor)
    return anchor


def _identity_columns(board: Leaderboard) -> tuple[bool, tuple[str, ...]]:
    """Whether any row names a training set, and the training settings that differ between rows (as in the
    Markdown leaderboard)."""
    ours = [row for row in board.rows if row.source == "ours"]
    keys = {k for row in ours for k, _ in row.extra}
    varying = sorted(k for k in keys if len({dict(row.extra)[k] for row in ours if k in dict(row.extra)}) > 1)
    return any(row.train_dataset for row in ours), tuple(varying)


def leaderboard_page(paths: Sequence[str | Path], *, out: str | Path, include_paper: bool = True,
                     title: str = "hybrid-plugin leaderboard") -> LeaderboardPage:
    """Read results files and build the leaderboard page (nothing is written).

    Args:
        paths (Sequence[str | Path]): ``results.json`` files, or folders holding one.
        out (str | Path): where the page will be written (links to the results files are relative to it).
        include_paper (bool, default True): add the paper's reference rows (see
            :func:`~hybrid_plugin.analysis.leaderboard.leaderboard`).
        title (str): the page's title.

    Returns:
        A :class:`LeaderboardPage`; ``.write(out)`` writes it.

    Raises:
        DataError: a malformed results file, plan, record, check outcome or figure; results of one evaluation set
            with different data; the same configuration and seed twice; a record whose scores are not those of
            the results beside it (each message names the file).

    Example::

        page = leaderboard_page(["runs/xx", "runs/hybrid"], out="board.html")
        [len(t.rows) for t in page.tables]
    """
    out = Path(out)
    loaded = _load(paths)
    _check_consistent(loaded)
    board = leaderboard([r for _, r in loaded], include_paper=include_paper, columns=PAGE_COLUMNS)
    builder = _Builder(loaded, out)
    tables, taken, number = [], set(), 0
    for group, rows in board.groups().items():
        page_rows = []
        for row in rows:
            number += 1
            page_rows.append(builder.row(row, f"row-{number}"))
        tables.append(PageTable(group, _anchor(group, taken), tuple(page_rows), _best(rows, PAGE_COLUMNS)))
    show_train, varying = _identity_columns(board)
    figures = builder.figures([r for t in tables for r in t.rows])
    return LeaderboardPage(title, tuple(tables), tuple(figures), PAGE_COLUMNS, show_train, varying,
                           tuple(r for _, r in loaded))


def write_leaderboard_page(paths: Sequence[str | Path], out: str | Path, *, include_paper: bool = True,
                           title: str = "hybrid-plugin leaderboard") -> Path:
    """Build the page (:func:`leaderboard_page`) and write it to ``out`` atomically; nothing is written when a
    file is malformed or mismatched.

    Args:
        paths (Sequence[str | Path]): ``results.json`` files, or folders holding one.
        out (str | Path): the page's file.
        include_paper (bool, default True): add the paper's reference rows.
        title (str): the page's title.

    Returns:
        The path written.

    Raises:
        DataError: as :func:`leaderboard_page`.

    Example::

        write_leaderboard_page(["runs/xx", "runs/hybrid"], "board.html")
    """
    return leaderboard_page(paths, out=out, include_paper=include_paper, title=title).write(out)
