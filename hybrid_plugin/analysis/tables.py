"""One evaluation as Markdown (``results.md``): the summary, the per-pair mAP matrix, the multilingual pool by
query language; and the small Markdown table writer the leaderboard shares.

Example::

    results = load_results("runs/hybrid/results.json")
    write_markdown_table(results, "runs/hybrid/results.md")
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from hybrid_plugin.analysis.paper import SAMPLING_NAMES
from hybrid_plugin.evaluation.results import MEASURES, SETTINGS, EvaluationResults
from hybrid_plugin.files import atomic_write

__all__ = ["format_value", "markdown_table", "pair_matrix", "pooled_columns", "write_markdown_table"]

_MEASURE_HEADERS = ("mAP", "R@1", "R@10", "nDCG@10", "AP@1000")  # MEASURES as column headings


def format_value(value: float | None, digits: int = 4) -> str:
    """``value`` with ``digits`` decimals; ``"–"`` for a missing value."""
    return "–" if value is None else f"{value:.{digits}f}"


def _md_cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]], align: Sequence[str] | None = None) -> str:
    """A Markdown table; ``align`` is ``"l"`` or ``"r"`` per column (default: first left, the rest right)."""
    align = align or ["l"] + ["r"] * (len(header) - 1)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(_md_cell(h) for h in header) + " |", "|" + "|".join(rule) + "|"]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def pair_matrix(results: EvaluationResults) -> tuple[list[str], list[list[float | None]]]:
    """The languages in order and the mAP matrix: ``matrix[i][j]`` = queries in language i, pool in language j
    (None where the pair was not evaluated)."""
    langs = results.languages
    index = {lang: i for i, lang in enumerate(langs)}
    matrix: list[list[float | None]] = [[None] * len(langs) for _ in langs]
    for cell in results.pairs.values():
        matrix[index[cell.query_language]][index[cell.pool_language]] = cell.value("map")
    return langs, matrix


def pooled_columns(matrix: list[list[float | None]]) -> list[int]:
    """The columns of a :func:`pair_matrix` with at least one value: a query-only language (no pool, as AfriQA's
    question languages) has none and is left out of the tables and the heatmap's columns."""
    return [j for j in range(len(matrix)) if any(row[j] is not None for row in matrix)]


def _training_lines(results: EvaluationResults) -> list[str]:
    training = results.training
    if not training:
        return []
    sampling = training.get("sampling")
    if not isinstance(sampling, str):  # a study's record of which model it is (lowres: train_set, config, seed)
        if training.get("train_set") is None:
            return ["The untuned base model.", ""]
        return [f"Model {training.get('config')} trained on {training['train_set']} (seed {training.get('seed')}).",
                ""]
    name = SAMPLING_NAMES.get(sampling, sampling)
    details = ", ".join(f"{k} {training[k]}" for k in ("alpha", "seed", "train_dataset") if k in training)
    return [f"Trained with {name} batches ({details}).", ""]


def _summary_lines(results: EvaluationResults) -> list[str]:
    rows = [[setting, *(format_value(results.measure(setting, m)) for m in MEASURES)] for setting in SETTINGS]
    return ["## Summary", "", "Full-ranking mAP (the paper's figure); R@k, nDCG@10 and AP@1000 from the TREC runs "
            "(depth 1000); macro means over settings.", "",
            markdown_table(["setting", *_MEASURE_HEADERS], rows), "",
            "Language bias (multi, mean rank distance between a query's relevant candidates; lower is better): "
            f"**{format_value(results.bias, 1)}**", ""]


def _pair_lines(results: EvaluationResults) -> list[str]:
    langs, matrix = pair_matrix(results)
    columns = pooled_columns(matrix)
    rows = []
    for i, lang in enumerate(langs):
        cross = [v for j, v in enumerate(matrix[i]) if j != i and v is not None]
        cells = [f"**{format_value(matrix[i][j])}**" if i == j and matrix[i][j] is not None
                 else format_value(matrix[i][j]) for j in columns]
        rows.append([lang, *cells, format_value(statistics.fmean(cross) if cross else None)])
    query_only = [lang for j, lang in enumerate(langs) if j not in columns]
    note = f" Query-only languages (no pool): {', '.join(query_only)}." if query_only else ""
    return ["## mAP by language pair", "", "Rows: query language; columns: pool language; the diagonal is "
            f"monolingual. Last column: mean over the row's cross-lingual pools.{note}", "",
            markdown_table(["query \\ pool", *(langs[j] for j in columns), "cross mean"], rows), ""]


def _multi_lines(results: EvaluationResults) -> list[str]:
    langs = results.languages
    by_language = results.multi
    order = [lang for lang in langs if lang in by_language] + [lang for lang in by_language if lang not in langs]
    rows = [[lang, *(format_value(by_language[lang].value(m)) for m in MEASURES),
             format_value(by_language[lang].bias, 1)] for lang in order]
    return ["## Multilingual pool by query language", "", "Every query against one pool of all languages.", "",
            markdown_table(["query", *_MEASURE_HEADERS, "bias"], rows), ""]


def write_markdown_table(results: EvaluationResults, path: str | Path) -> Path:
    """Write one evaluation as Markdown: summary, per-pair mAP matrix, and the multilingual pool by language.

    Args:
        results (EvaluationResults): the evaluation (see :func:`~hybrid_plugin.evaluation.results.load_results`).
        path (str | Path): the ``.md`` file to write (atomically: a temporary file renamed over it).

    Returns:
        The path written.
    """
    path = Path(path)
    lines = [f"# {results.title}", "", *_training_lines(results), *_summary_lines(results), *_pair_lines(results),
             *_multi_lines(results)]
    with atomic_write(path) as handle:
        handle.write("\n".join(lines))
    return path
