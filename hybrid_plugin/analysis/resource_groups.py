"""Results by resource group: trained (in the fine-tuning collection), pretrained (XLM-R's pre-training only),
unseen (neither), unlisted (a code the language table does not know).

* :func:`results_by_group` -- each setting of an :class:`~hybrid_plugin.evaluation.results.EvaluationResults`
  averaged per group (:class:`GroupTable`), and :func:`group_markdown` its Markdown block. A cell belongs to the
  group of its *less-resourced* language (unseen < unlisted < pretrained < trained): ``yo -> en`` is an unseen
  pair when Yorùbá is unseen, whatever English is; a multilingual cell to its query language's group.
* :func:`bitext_markdown` -- the Tatoeba table (:class:`~hybrid_plugin.evaluation.bitext.BitextResults`): one
  row per language, grouped, with each group's mean.

What does *not* live here: the groups themselves (:func:`hybrid_plugin.data.resource_levels`), the per-evaluation
``results.md`` (:mod:`hybrid_plugin.analysis.tables`).

Example::

    >>> from hybrid_plugin.evaluation.results import Cell, DatasetInfo, EvaluationResults, ModelInfo
    >>> record = EvaluationResults.from_cells(model=ModelInfo("m"), dataset=DatasetInfo("toy", ("en", "yo")),
    ...     pairs=[Cell("en", "en", {"map": 0.8}, 2), Cell("yo", "en", {"map": 0.2}, 2)], multi=[])
    >>> table = results_by_group(record, training=["en"])
    >>> table.means["cross"]["unseen"], table.means["mono"]["trained"]
    (0.2, 0.8)
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from hybrid_plugin.analysis.tables import format_value, markdown_table
from hybrid_plugin.data.collection import ParallelQA
from hybrid_plugin.data.languages import ResourceLevel, resource_levels
from hybrid_plugin.errors import UsageError
from hybrid_plugin.evaluation.bitext import BitextResults
from hybrid_plugin.evaluation.cells import MEASURES, MULTI, SETTINGS, Cell
from hybrid_plugin.evaluation.results import EvaluationResults

__all__ = ["GROUPS", "GroupTable", "bitext_markdown", "cell_group", "group_markdown", "results_by_group"]

GROUPS: tuple[str, ...] = ("trained", "pretrained", "unseen", "unlisted")
"""The groups, in the order the tables show them."""
_WEAKEST = ("unseen", "unlisted", "pretrained", "trained")  # a pair takes the first of its two groups here


def cell_group(cell: Cell, levels: Mapping[str, ResourceLevel]) -> str:
    """The group of one cell: its less-resourced language's (a multilingual cell: its query language's)."""
    groups = [levels[cell.query_language].group]
    if cell.pool_language != MULTI:
        groups.append(levels[cell.pool_language].group)
    return min(groups, key=_WEAKEST.index)


@dataclass(frozen=True)
class GroupTable:
    """Each setting's mean per group. ``means[setting][group]`` (None: no cell), ``counts[setting][group]`` the
    cells averaged, ``languages[group]`` the languages in it, ``measure`` the measure averaged."""

    measure: str
    means: dict[str, dict[str, float | None]]
    counts: dict[str, dict[str, int]]
    languages: dict[str, tuple[str, ...]]


def results_by_group(results: EvaluationResults, training: ParallelQA | Iterable[str],
                     measure: str = "map") -> GroupTable:
    """Average each setting (mono, cross, multi) of ``results`` per resource group.

    Args:
        results (EvaluationResults): one evaluation.
        training (ParallelQA | iterable of str): the training collection, or its languages.
        measure (str, default "map"): one of :data:`~hybrid_plugin.evaluation.cells.MEASURES`.

    Returns:
        GroupTable: the means, the number of cells behind each, the languages of each group.

    Raises:
        UsageError: an unknown measure.
    """
    if measure not in MEASURES:
        raise UsageError(f"measure must be one of {', '.join(MEASURES)} but got {measure!r}")
    cells = [*results.pairs.values(), *results.multi.values()]
    langs = list(dict.fromkeys([*results.languages, *(c.query_language for c in cells),
                                *(c.pool_language for c in cells if c.pool_language != MULTI)]))
    levels = resource_levels(langs, training)
    values: dict[str, dict[str, list[float]]] = {s: {g: [] for g in GROUPS} for s in SETTINGS}
    for cell in cells:
        value = cell.value(measure)
        if value is not None:
            values[cell.setting][cell_group(cell, levels)].append(value)
    means = {s: {g: statistics.fmean(v) if v else None for g, v in by.items()} for s, by in values.items()}
    counts = {s: {g: len(v) for g, v in by.items()} for s, by in values.items()}
    members = {g: tuple(lang for lang in langs if levels[lang].group == g) for g in GROUPS}
    return GroupTable(measure, means, counts, members)


def group_markdown(table: GroupTable) -> str:
    """A Markdown block: one row per group that has languages, the setting means (cells averaged in brackets)."""
    rows = []
    for group in GROUPS:
        if not table.languages[group]:
            continue
        cells = [f"{format_value(table.means[s][group])} ({table.counts[s][group]})" if table.counts[s][group]
                 else "–" for s in SETTINGS]
        rows.append([group, ", ".join(table.languages[group]), *cells])
    return "\n".join([f"### {table.measure} by resource group", "",
                      "A cell counts in the group of its less-resourced language (unseen < unlisted < pretrained < "
                      "trained); a multilingual cell in its query language's. In brackets: cells averaged.", "",
                      markdown_table(["group", "languages", *SETTINGS], rows), ""])


def bitext_markdown(results: BitextResults) -> str:
    """The Tatoeba table: languages grouped by resource group (each group sorted by accuracy, best first), each
    group followed by its mean, then the mean over all languages. Accuracy and mAP in %."""
    headers = ["language", "group", "pairs", "xx→en acc.", "en→xx acc.", "acc.", "error rate", "mAP"]
    rows = []

    def percent(value: float | None) -> str:
        return "–" if value is None else f"{100 * value:.1f}"

    for group in GROUPS:
        members = sorted((v for v in results.languages.values() if v.group == group), key=lambda v: -v.accuracy)
        for v in members:
            rows.append([v.language, group, str(v.pairs), percent(v.accuracy_to_en), percent(v.accuracy_from_en),
                         percent(v.accuracy), percent(v.error_rate), percent(v.map)])
        if members:
            rows.append([f"**mean {group}** ({len(members)})", group, "",
                         *(f"**{percent(results.mean(a, group))}**" for a in
                           ("accuracy_to_en", "accuracy_from_en", "accuracy", "error_rate", "map"))])
    rows.append([f"**mean** ({len(results.languages)})", "", "",
                 *(f"**{percent(results.mean(a))}**" for a in
                   ("accuracy_to_en", "accuracy_from_en", "accuracy", "error_rate", "map"))])
    training = ", ".join(results.training_languages) or "none"
    return "\n".join([f"# Tatoeba: {results.model.name}", "",
                      "Nearest neighbour by cosine over each language's pairs (a tie at the top is an error); "
                      f"accuracy = precision@1, error rate = 1 − mean accuracy (LASER), mAP. Training languages: "
                      f"{training}.", "", markdown_table(headers, rows), ""])
