"""Several evaluations side by side: configurations, aggregation over seeds, and the leaderboard (Markdown, CSV)
with the paper's rows for reference.

Results that share a configuration (base model, sampling, α, training settings, evaluation dataset and limit)
but differ in seed become one row: mean ± sample standard deviation, and ``n``.

Example::

    board = leaderboard([load_results("runs/xx"), load_results("runs/hybrid")])
    print(board.to_markdown())
"""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from hybrid_plugin.analysis.paper import PAPER, PAPER_ROWS, SAMPLING_NAMES, PaperRow
from hybrid_plugin.analysis.tables import markdown_table
from hybrid_plugin.errors import DataError, UsageError
from hybrid_plugin.evaluation.cells import is_finite_number
from hybrid_plugin.evaluation.results import MEASURES, SETTINGS, EvaluationResults, Setting

__all__ = [
    "ALL_COLUMNS",
    "DEFAULT_COLUMNS",
    "Column",
    "Configuration",
    "Leaderboard",
    "LeaderboardRow",
    "aggregate",
    "configuration",
    "debias_of",
    "leaderboard",
]


class Column(NamedTuple):
    """A leaderboard column: a measure's macro mean in a setting (``measure="bias"`` only with ``"multi"``)."""

    setting: Setting
    measure: str

    @property
    def header(self) -> str:
        if self.measure == "bias":
            return "bias"
        name = "mAP" if self.measure == "map" else self.measure
        return f"{self.setting} {name}"

    @property
    def key(self) -> str:
        """The CSV column name: ``mono_map``, ``cross_R@1``, ``bias``."""
        return "bias" if self.measure == "bias" else f"{self.setting}_{self.measure}"


DEFAULT_COLUMNS: tuple[Column, ...] = (
    Column("mono", "map"), Column("cross", "map"), Column("multi", "map"),
    Column("mono", "R@1"), Column("cross", "R@1"), Column("cross", "R@10"),
    Column("multi", "bias"),
)
"""The leaderboard's Markdown columns: mAP in the three settings (the paper's Table 1), R@1 (mono, cross),
R@10 (cross) and the language bias (Table 2). R@k is left out for multi, where a query has one relevant
candidate per language and R@1 cannot exceed 1/#languages."""

ALL_COLUMNS: tuple[Column, ...] = (
    *(Column(s, m) for s in SETTINGS for m in MEASURES), Column("multi", "bias"),
)
"""Every measure in every setting (what :meth:`Leaderboard.to_csv` writes by default)."""

# training keys that, besides base model, sampling and alpha, define a configuration (seeds aside)
_CONFIG_KEYS = ("train_dataset", "train_languages", "steps", "max_steps", "epochs", "batch_size", "learning_rate",
                "train_limit", "hard_negatives", "scale", "loss")


# --------------------------------------------------------------------------------------------------------------
# Configurations and aggregation over seeds


class Configuration(NamedTuple):
    """What makes two results the same row apart from their seed."""

    dataset: str
    limit: int | None
    model: str
    sampling: str
    alpha: float | None
    extra: tuple[tuple[str, str], ...]


def _bad(results: EvaluationResults, field: str, expected: str, value: Any) -> DataError:
    return DataError(f"field {field!r} must be {expected} but got {value!r}", where=f"results of {results.title}")


def debias_of(results: EvaluationResults) -> dict | None:
    """The language-bias transform a result was evaluated with (``settings.debias``: ``evaluate --debias``, a
    study's ``+lsar`` twin), or None for a plain evaluation."""
    debias = (results.settings or {}).get("debias")
    return debias if isinstance(debias, dict) else None


def configuration(results: EvaluationResults) -> Configuration:
    """The configuration of one result; the base model is ``training.base_model`` (or ``training.base``) when
    the results carry it, else ``model.name``.

    Raises:
        DataError: a field that places the result (``training.sampling``, ``training.alpha``,
            ``training.train_dataset``, ``dataset.limit``) has a value of the wrong kind.
    """
    training = results.training or {}
    model = training.get("base_model") or training.get("base") or results.model.name
    sampling = training.get("sampling") or "base"
    if not isinstance(sampling, str):
        raise _bad(results, "training.sampling", "a string", sampling)
    alpha = training.get("alpha")
    if alpha is None and sampling in ("xx", "xy"):
        alpha = 1.0 if sampling == "xx" else 0.0
    if alpha is not None and not (is_finite_number(alpha) and 0 <= alpha <= 1):
        raise _bad(results, "training.alpha", "a number in [0, 1] or null", alpha)
    if training.get("train_dataset") is not None and not isinstance(training["train_dataset"], str):
        raise _bad(results, "training.train_dataset", "a string or null", training["train_dataset"])
    limit = results.dataset.limit
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise _bad(results, "dataset.limit", "a positive integer or null", limit)
    extra = tuple((k, json.dumps(training[k], sort_keys=True)) for k in _CONFIG_KEYS if k in training)
    debias = debias_of(results)
    if debias is not None:  # a debiased evaluation is its own row (evaluate --debias, the study's "+lsar")
        fitted = debias.get("fitted_on") if isinstance(debias.get("fitted_on"), dict) else {}
        extra += (("debias", f"{debias.get('method')} ({fitted.get('dataset')})"),)
    return Configuration(results.dataset.name, limit, str(model), sampling, None if alpha is None else float(alpha),
                         extra)


def _mean_std(values: Sequence[float]) -> tuple[float, float | None]:
    mean = statistics.fmean(values)
    return mean, (statistics.stdev(values) if len(values) > 1 else None)


@dataclass(frozen=True)
class LeaderboardRow:
    """One leaderboard row: a configuration's results, aggregated over seeds, or one of the paper's rows.

    ``values`` maps a column's key to ``(mean, sample std or None when n = 1)``, or to ``None`` when absent.
    """

    source: Literal["ours", "paper"]
    dataset: str
    limit: int | None
    model: str
    sampling: str
    alpha: float | None
    seeds: tuple[Any, ...]
    n: int
    values: dict[str, tuple[float, float | None] | None]
    train_dataset: str | None = None
    extra: tuple[tuple[str, str], ...] = ()

    @property
    def group(self) -> str:
        return self.dataset + (f" (first {self.limit} items)" if self.limit else "")


def aggregate(results_list: Iterable[EvaluationResults], columns: Sequence[Column]) -> list[LeaderboardRow]:
    """One row per configuration (in order of first appearance), ``columns`` averaged over its seeds."""
    groups: dict[Configuration, list[EvaluationResults]] = {}
    for results in results_list:
        groups.setdefault(configuration(results), []).append(results)
    rows = []
    for config, members in groups.items():
        values: dict[str, tuple[float, float | None] | None] = {}
        for column in columns:
            got = [r.measure(column.setting, column.measure) for r in members]
            values[column.key] = None if any(v is None for v in got) else _mean_std(got)
        seeds = tuple((r.training or {}).get("seed") for r in members)
        training = members[0].training or {}
        rows.append(LeaderboardRow("ours", config.dataset, config.limit, config.model, config.sampling, config.alpha,
                                   tuple(s for s in seeds if s is not None), len(members), values,
                                   training.get("train_dataset"),
                                   tuple(kv for kv in config.extra if kv[0] != "train_dataset")))
    return rows


def _paper_row(row: PaperRow, columns: Sequence[Column]) -> LeaderboardRow:
    figures = {"mono_map": row.mono, "cross_map": row.cross, "multi_map": row.multi, "bias": row.bias}
    values = {c.key: (figures[c.key], None) if c.key in figures else None for c in columns}
    return LeaderboardRow("paper", row.dataset, None, row.base, row.sampling, row.alpha, (), 1, values)


# --------------------------------------------------------------------------------------------------------------
# The leaderboard


def _value_cell(row: LeaderboardRow, column: Column) -> str:
    value = row.values.get(column.key)
    digits = 1 if column.measure == "bias" else 3 if row.source == "paper" else 4
    if value is None:
        return "–"
    if row.source == "paper":
        return f"*{value[0]:.{digits}f}*"
    mean, std = value
    return f"{mean:.{digits}f}" + ("" if std is None else f" ± {std:.{digits}f}")


_NOTE = ("Values: macro mean over settings; with n > 1 seeds, mean ± sample standard deviation. mAP over the full "
         "ranking; bias: mean rank distance between a query's relevant candidates in the multilingual pool (lower "
         "is better).")
_PAPER_NOTE = (f"*Italic rows are the paper's published figures* ({PAPER}, Table 1 mAP, Table 2 bias; XLM-R and "
               "LaBSE bases fine-tuned in the paper's setup), shown for reference only: they are not produced by "
               "this code; their models and training data differ from ours.")


@dataclass(frozen=True)
class Leaderboard:
    """Several results side by side, grouped by dataset, with the paper's rows for reference.

    Build it with :func:`leaderboard`.
    """

    rows: tuple[LeaderboardRow, ...]
    columns: tuple[Column, ...] = DEFAULT_COLUMNS
    csv_columns: tuple[Column, ...] = ALL_COLUMNS

    def groups(self) -> dict[str, list[LeaderboardRow]]:
        """Rows by table heading (dataset, and the item limit if any), in order."""
        out: dict[str, list[LeaderboardRow]] = {}
        for row in self.rows:
            out.setdefault(row.group, []).append(row)
        return out

    def _identity(self, row: LeaderboardRow, show_train: bool, varying: Sequence[str]) -> list[str]:
        alpha = "–" if row.alpha is None else f"{row.alpha:g}"
        extra = dict(row.extra)
        middle = ([row.train_dataset or "–"] if show_train else []) + (
            [", ".join(f"{k}={extra[k]}" for k in varying if k in extra) or "–"] if varying else [])
        if row.source == "paper":
            return [f"*{row.model} (paper)*", SAMPLING_NAMES[row.sampling], alpha, *middle, "–", "–"]
        return [row.model, SAMPLING_NAMES.get(row.sampling, row.sampling), alpha, *middle,
                ",".join(str(s) for s in row.seeds) or "–", str(row.n)]

    def to_markdown(self) -> str:
        """The leaderboard as Markdown: one table per dataset; values are mean ± sample std over seeds."""
        ours = [row for row in self.rows if row.source == "ours"]
        show_train = any(row.train_dataset for row in ours)
        # training settings that differ between rows (else two rows would look alike)
        keys = {k for row in ours for k, _ in row.extra}
        varying = sorted(k for k in keys if k == "debias"  # a debiased row beside the same model without it
                         or len({dict(row.extra)[k] for row in ours if k in dict(row.extra)}) > 1)
        header = ["model", "sampling", "α", *(["trained on"] if show_train else []),
                  *(["settings"] if varying else []), "seeds", "n", *(c.header for c in self.columns)]
        align = ["l", "l", "r", *(["l"] if show_train else []), *(["l"] if varying else []), "l", "r",
                 *["r"] * len(self.columns)]
        parts = []
        for group, rows in self.groups().items():
            body = [self._identity(row, show_train, varying) + [_value_cell(row, c) for c in self.columns]
                    for row in rows]
            parts += [f"## {group}", "", markdown_table(header, body, align), ""]
        notes = [_NOTE, *([_PAPER_NOTE] if any(row.source == "paper" for row in self.rows) else [])]
        return "\n".join(parts) + "\n" + "\n\n".join(notes) + "\n"

    def to_csv(self) -> str:
        """The leaderboard as CSV: one line per row, ``<column>`` (mean) and ``<column>_std`` per measure."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["source", "dataset", "limit", "model", "sampling", "alpha", "train_dataset", "settings",
                         "seeds", "n", *(name for c in self.csv_columns for name in (c.key, f"{c.key}_std"))])
        for row in self.rows:
            cells: list[Any] = [row.source, row.dataset, row.limit or "", row.model, row.sampling,
                                "" if row.alpha is None else f"{row.alpha:g}", row.train_dataset or "",
                                " ".join(f"{k}={v}" for k, v in row.extra), " ".join(str(s) for s in row.seeds),
                                row.n]
            for column in self.csv_columns:
                value = row.values.get(column.key)
                mean, std = value if value is not None else (None, None)
                cells += ["" if mean is None else repr(round(mean, 8)), "" if std is None else repr(round(std, 8))]
            writer.writerow(cells)
        return buffer.getvalue()


def _check_columns(columns: Sequence[Column]) -> None:
    for column in columns:
        if column.setting not in SETTINGS or column.measure not in (*MEASURES, "bias") or (
                column.measure == "bias" and column.setting != "multi"):
            raise UsageError(f"unknown leaderboard column {tuple(column)}: settings are {SETTINGS}, measures "
                             f"{(*MEASURES, 'bias')} (bias only with multi)")


_SAMPLING_ORDER = {"base": 0, "xx": 1, "xy": 2, "hybrid": 3}


def leaderboard(results_list: Iterable[EvaluationResults], *, include_paper: bool = True,
                columns: Sequence[Column] = DEFAULT_COLUMNS) -> Leaderboard:
    """Put several results side by side, grouped by dataset, with the paper's rows for reference.

    Results that share a configuration (base model, sampling, α, training settings, evaluation dataset and
    limit) but differ in seed become one row with mean ± sample standard deviation and ``n``. The base model is
    ``training.base_model`` (or ``training.base``) when the results carry it, else ``model.name``.

    Args:
        results_list (Iterable[EvaluationResults]): the evaluations (see
            :func:`~hybrid_plugin.evaluation.results.load_results`).
        include_paper (bool, default True): add the paper's rows (:data:`PAPER_ROWS`) to the table of each
            full (not ``--limit``-ed) dataset the paper reports; to every dataset when ``results_list`` is empty.
        columns (Sequence[Column], default DEFAULT_COLUMNS): the Markdown columns (the CSV has every measure).

    Returns:
        A :class:`Leaderboard`; ``.to_markdown()`` and ``.to_csv()`` render it.

    Raises:
        UsageError: an unknown column.
        DataError: a result whose training fields cannot place it (see :func:`configuration`).
    """
    columns = tuple(columns)
    _check_columns(columns)
    ours = aggregate(results_list, ALL_COLUMNS)
    ours.sort(key=lambda r: (r.limit is not None, r.limit or 0, r.model, _SAMPLING_ORDER.get(r.sampling, 4),
                             -2.0 if r.alpha is None else -r.alpha, r.train_dataset or "", r.extra))
    datasets = list(dict.fromkeys(r.dataset for r in ours)) or list(dict.fromkeys(r.dataset for r in PAPER_ROWS))
    rows: list[LeaderboardRow] = []
    for dataset in datasets:
        rows += [r for r in ours if r.dataset == dataset and r.limit is None]
        if include_paper:
            rows += [_paper_row(p, ALL_COLUMNS) for p in PAPER_ROWS if p.dataset == dataset]
        rows += [r for r in ours if r.dataset == dataset and r.limit is not None]
    return Leaderboard(tuple(rows), columns, ALL_COLUMNS)
