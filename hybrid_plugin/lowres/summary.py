"""The low-resource study's summary: every cell read back, averaged over seeds, broken down by resource group,
hybrid tested against each baseline, per-language values and plots, published numbers beside ours.

* :func:`summarise` -- the cells of a study folder -> :class:`~hybrid_plugin.lowres.record.LowresSummary`;
* :func:`summary_markdown` -- its ``summary.md``; :func:`write_summary` -- ``summary.json``, ``summary.md`` and
  ``languages-<set>.png``.

The measures: AfriQA and NTREX-128 full-ranking mAP of the cross-lingual cells (AfriQA: a question in X against
the pool of its pivot language's gold passages) and of the multilingual pool, with the language bias; Tatoeba
accuracy (precision@1, both directions) and mAP. A cell counts in the group of its less-resourced language
(:func:`~hybrid_plugin.analysis.resource_groups.cell_group`); every row, the base's too, takes the trained group
from the study's training collection, so the groups are the same languages in every row. Tests: paired
randomisation over per-query AP (Tatoeba: reciprocal rank of each sentence, both directions), each hybrid model
against each other model of the same training set (and the base), with and without debiasing.

Example::

    summary = summarise(settings, models, missing)
    print(summary_markdown(summary))
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hybrid_plugin.analysis.language_plots import plot_language_results
from hybrid_plugin.analysis.resource_groups import GROUPS, results_by_group
from hybrid_plugin.analysis.significance import compare_results, paired_randomization_test
from hybrid_plugin.analysis.tables import markdown_table
from hybrid_plugin.data.languages import resource_levels
from hybrid_plugin.evaluation.bitext import BitextResults
from hybrid_plugin.evaluation.results import EvaluationResults
from hybrid_plugin.files import atomic_write
from hybrid_plugin.lowres.bitext_cells import read_per_query
from hybrid_plugin.lowres.published import NOT_LISTED, published_rows
from hybrid_plugin.lowres.record import GroupRow, LanguageRow, LowresSummary, TestRow
from hybrid_plugin.evaluation.pairs import PairChoice
from hybrid_plugin.lowres.settings import (
    FULL_PAIRS,
    LOWRES_SETS,
    QUICK_PAIRS,
    LowresSettings,
    StudyModel,
    cell_dir,
    is_done,
)

__all__ = ["HEADLINE", "headline_table", "summarise", "summary_markdown", "write_summary"]

_MEASURES = {"afriqa": ("cross", "multi", "mono"), "ntrex-128": ("cross", "multi"), "tatoeba": ("accuracy", "map")}
"""The measures of each set's rows (evaluate sets: settings' full-ranking mAP -- AfriQA's mono is the pivot
translation of each question against the same pool, the reference; Tatoeba: BitextResults means)."""
HEADLINE = (("afriqa", "cross mAP"), ("ntrex-128", "cross mAP"), ("ntrex-128", "multi mAP"), ("tatoeba", "accuracy"))
"""The headline table's columns: (set, measure) -- the zero-shot cross-lingual and multilingual measures."""


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.fmean(present) if present else None


class _Cells:
    """The finished cells of a study folder, by (set, train set, system), one record per seed."""

    def __init__(self, settings: LowresSettings, models: list[StudyModel]) -> None:
        self.records: dict[tuple[str, str, str], list[tuple[Any, Path]]] = {}
        self.training: dict[str, tuple[str, ...]] = {}
        variants = (None, settings.debias_method) if settings.debias else (None,)
        for set_name in settings.sets:
            for model in models:
                self.training.setdefault(model.trained_on, model.training_languages)
                for debias in variants:
                    folder = cell_dir(settings.out, set_name, model, debias)
                    if not is_done(folder, set_name):
                        continue
                    record = BitextResults.load(folder) if set_name == "tatoeba" else EvaluationResults.load(folder)
                    system = model.config + (f"+{debias}" if debias else "")
                    self.records.setdefault((set_name, model.trained_on, system), []).append((record, folder))

    def trained_languages(self, train_set: str) -> tuple[str, ...]:
        return self.training.get(train_set) or next(iter(self.training.values()), ())


def _group_rows(cells: _Cells) -> list[GroupRow]:
    rows = []
    for (set_name, train_set, system), found in cells.records.items():
        records = [r for r, _ in found]
        training = cells.trained_languages(train_set)
        for measure in _MEASURES[set_name]:
            if set_name == "tatoeba":
                per_seed = [{g: r.mean(measure, g) for g in GROUPS} for r in records]
                overall = _mean([r.mean(measure) for r in records])
            else:
                per_seed = [results_by_group(r, training).means[measure] for r in records]
                overall = _mean([r.measure(measure, "map") for r in records])
            values = {g: _mean([s[g] for s in per_seed]) for g in GROUPS}
            rows.append(GroupRow(set_name, train_set, system, measure if set_name == "tatoeba" else f"{measure} mAP",
                                 len(records), {g: v for g, v in values.items() if v is not None}, overall))
    return rows


def _language_values(record: Any, set_name: str) -> dict[str, float]:
    """Per language: Tatoeba accuracy; else the mean cross mAP of its queries, or, for a language whose queries
    are in no cross cell (AfriQA's pivots), its mono mAP (the reference)."""
    if set_name == "tatoeba":
        return {lang: v.accuracy for lang, v in record.languages.items()}
    values = {}
    for lang in record.languages:
        mine = [c.value("map") for c in record.pairs.values() if c.query_language == lang != c.pool_language] or \
            [c.value("map") for c in record.pairs.values() if c.query_language == lang == c.pool_language]
        if mine:
            values[lang] = float(np.mean(mine))
    return values


def _language_rows(cells: _Cells) -> list[LanguageRow]:
    rows = []
    for (set_name, train_set, system), found in cells.records.items():
        per_seed = [_language_values(r, set_name) for r, _ in found]
        languages = list(dict.fromkeys(lang for s in per_seed for lang in s))
        levels = resource_levels(languages, cells.trained_languages(train_set))
        measure = {"tatoeba": "accuracy", "afriqa": "cross mAP (pivots: mono)"}.get(set_name, "cross mAP")
        for lang in languages:
            value = _mean([s.get(lang) for s in per_seed])
            if value is not None:
                rows.append(LanguageRow(set_name, train_set, system, lang, levels[lang].group, measure, value))
    return rows


def _tatoeba_per_query(found: list[tuple[Any, Path]]) -> dict[str, float]:
    tables = [read_per_query(folder) for _, folder in found]
    keys = set(tables[0]).intersection(*tables[1:])
    return {k: float(np.mean([t[k] for t in tables])) for k in keys}


def _tests(cells: _Cells, trials: int) -> list[TestRow]:
    rows = []
    for (set_name, train_set, system), found in cells.records.items():
        config, _, debias = system.partition("+")
        if not config.startswith("hybrid"):
            continue
        suffix = f"+{debias}" if debias else ""
        baselines = [(t, s) for (n, t, s) in cells.records if n == set_name and s.endswith(suffix)
                     and (suffix or "+" not in s) and not s.startswith("hybrid") and t in (train_set, "base")]
        for other_train, baseline in baselines:
            other = cells.records[(set_name, other_train, baseline)]
            if set_name == "tatoeba":
                tested = {"bitext": paired_randomization_test(_tatoeba_per_query(found), _tatoeba_per_query(other),
                                                              trials=trials)}
            else:
                mine, theirs = [r for r, _ in found], [r for r, _ in other]
                tested = {s: compare_results(mine, theirs, s, trials=trials)  # type: ignore[arg-type]
                          for s in ("cross", "multi")}
            rows.extend(TestRow(set_name, train_set, setting, system, baseline, t.mean_diff, t.p_value, t.n)
                        for setting, t in tested.items())
    return rows


def command_line(settings: LowresSettings) -> str:
    """The ``hybrid-plugin lowres`` command that regenerates (or resumes) the study."""
    parts = ["hybrid-plugin lowres", f"--study {settings.study}", f"--out {settings.out}"]
    parts += ["--quick"] if settings.quick else []
    parts += [] if settings.sets == LOWRES_SETS else [f"--sets {','.join(settings.sets)}"]
    parts += [] if settings.data_root is None else [f"--data-root {settings.data_root}"]
    default_pairs = QUICK_PAIRS if settings.quick else FULL_PAIRS
    spec = settings.pair_choice.spec
    parts += [] if spec == PairChoice.parse(default_pairs).spec else [f"--pairs {spec}"]
    parts += [] if settings.debias else ["--no-debias"]
    parts += [] if settings.limit is None else [f"--limit {settings.limit}"]
    parts += [] if settings.seeds is None else [f"--seeds {settings.seeds}"]
    parts += [] if settings.trained_on is None else [f"--trained-on {','.join(settings.trained_on)}"]
    return " ".join(parts)


def summarise(settings: LowresSettings, models: list[StudyModel], missing: list[str]) -> LowresSummary:
    """Read every finished cell of ``settings.out`` and build the summary (cells not run yet are left out).

    Args:
        settings (LowresSettings): the study.
        models (list of StudyModel): the models evaluated (:func:`~hybrid_plugin.lowres.settings.study_models`).
        missing (list of str): the study's models not trained yet (recorded).

    Returns:
        LowresSummary: the record (not written; :func:`write_summary` writes it).
    """
    cells = _Cells(settings, models)
    rows = _group_rows(cells)
    chosen = {} if settings.trained_on is None else {"trained_on": list(settings.trained_on)}
    meta = {**settings.plan(), **chosen, "command": command_line(settings),
            "models": [{"config": m.config, "seed": m.seed, "path": m.path, "train_set": m.train_set}
                       for m in models]}
    tatoeba = next((found[0][0] for (n, _, s), found in cells.records.items() if n == "tatoeba" and s == "base"),
                   None)
    published = published_rows(rows, quick=settings.quick, whole=settings.slice("tatoeba").items is None,
                                languages=None if tatoeba is None else len(tatoeba.languages))
    return LowresSummary(meta, rows, _tests(cells, settings.trials), _language_rows(cells), published, list(missing))


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def headline_table(summary: LowresSummary) -> str:
    """One row per model (trained-on collection and system, as the study ran them), one column per
    :data:`HEADLINE` measure: the value over all languages, and in brackets over the unseen ones (neither in the
    fine-tuning collection nor in XLM-R's pre-training), in %; "–" where the study has no such cell."""
    cells = {(r.train_set, r.system, r.set_name, r.measure): r for r in summary.rows}
    models = list(dict.fromkeys((r.train_set, r.system) for r in summary.rows))
    table = []
    for train, system in models:
        label = system if train == "base" else f"{system} ({train})"
        values = []
        for set_name, measure in HEADLINE:
            row = cells.get((train, system, set_name, measure))
            values.append("–" if row is None else f"{_fmt(row.overall)} ({_fmt(row.values.get('unseen'))})")
        table.append([label, *values])
    return markdown_table(["model", *(f"{s} {m}" for s, m in HEADLINE)], table)


def _scope(plan: dict) -> str:
    """What part of each set the cells evaluated: the quick slices, the first ``--limit`` items, or all of it."""
    if plan.get("quick"):
        return "--quick slices"
    return "full sets" if plan.get("limit") is None else f"the first {plan['limit']} items of each language (--limit)"


def summary_markdown(summary: LowresSummary) -> str:
    """``summary.md``: per set, a table of systems by resource group (%), the tests, the published numbers."""
    plan = summary.settings
    debias = f"{plan.get('debias_method')} (fitted on ntrex-128 for AfriQA and Tatoeba, on tatoeba for NTREX-128)" \
        if plan.get("debias") else "off"
    lines = ["# Low-resource study: AfriQA, NTREX-128, Tatoeba", "",
             f"Models of `{plan.get('study')}` evaluated zero-shot; "
             f"{_scope(plan)}; NTREX-128 pairs `{plan.get('pairs')}`; "
             f"language-bias removal {debias}"
             + (f"; trained models of the first {plan['seeds']} seed(s) of the study only (--seeds)"
                if plan.get("seeds") else "")
             + (f"; the base and the models trained on {', '.join(plan['trained_on'])} only (--trained-on)"
                if plan.get("trained_on") else "") + ".",
             "Each number is the mean over the seeds in the `seeds` column (one seed: that run's value, no spread).",
             "Numbers in %; groups: trained (in the fine-tuning collection), pretrained (XLM-R's pre-training only), "
             "unseen (neither), unlisted (unknown to the language table).", "",
             f"Regenerate (or resume): `{plan.get('command')}`", "",
             "## Headline (all languages; in brackets the unseen ones)", "", headline_table(summary), ""]
    plots = _plots(summary)
    for set_name in dict.fromkeys(r.set_name for r in summary.rows):
        lines += [f"## {set_name}", ""]
        rows = [r for r in summary.rows if r.set_name == set_name]
        table = [[r.system, r.train_set, r.measure, str(r.seeds), *(_fmt(r.values.get(g)) for g in GROUPS),
                  _fmt(r.overall)] for r in rows]
        lines += [markdown_table(["system", "trained on", "measure", "seeds", *GROUPS, "all"], table), "",
                  *(f"![per-language results, {train}]({name})" for train, name in plots.get(set_name, [])), ""]
        tests = [t for t in summary.tests if t.set_name == set_name]
        if tests:
            lines += ["Paired randomisation tests (hybrid − baseline, per-query AP; Tatoeba: reciprocal rank):", "",
                      markdown_table(["system", "trained on", "baseline", "setting", "Δ (points)", "p", "queries"],
                                     [[t.system, t.train_set, t.baseline, t.setting, f"{100 * t.mean_diff:+.2f}",
                                       f"{t.p_value:.3g}", str(t.n)] for t in tests]), ""]
    lines += ["## Published numbers", ""]
    if summary.published:
        lines += [markdown_table(["set", "model", "measure", "scope", "published", "ours", "source / note"],
                                 [[p.set_name, p.model, p.measure, p.scope, _fmt(p.published), _fmt(p.ours),
                                   f"{p.source}{'; ' + p.note if p.note else ''}"] for p in summary.published]), ""]
    else:
        lines += ["None recorded.", ""]
    lines += ["Not listed: " + "; ".join(NOT_LISTED) + ".", ""]
    if summary.missing:
        lines += [f"Not trained yet (rerun to add): {', '.join(summary.missing)}", ""]
    return "\n".join(lines)


def _plots(summary: LowresSummary) -> dict[str, list[tuple[str, str]]]:
    """Per set, its per-language plots: (training collection, file name), one per training collection of the plain
    (not debiased) rows -- ``languages-<set>.png`` for the first, ``languages-<set>-<train>.png`` for the others."""
    plots: dict[str, list[tuple[str, str]]] = {}
    for set_name in dict.fromkeys(r.set_name for r in summary.languages):
        plain = [r.train_set for r in summary.languages if r.set_name == set_name and "+" not in r.system]
        trained = list(dict.fromkeys(t for t in plain if t != "base")) or list(dict.fromkeys(plain))
        plots[set_name] = [(train, f"languages-{set_name}" + (f"-{train}" if number else "") + ".png")
                           for number, train in enumerate(trained)]
    return plots


def write_summary(summary: LowresSummary, out: Path) -> None:
    """``out/summary.json``, ``summary.md`` and the per-language plots (:func:`_plots`: per set and training
    collection, its plain systems and the base; the hybrid as bars coloured by resource group, the others as
    markers; each language in its group for that training collection)."""
    summary.save(out)
    with atomic_write(out / "summary.md") as handle:
        handle.write(summary_markdown(summary))
    for set_name, plots in _plots(summary).items():
        for train, name in plots:
            rows = [r for r in summary.languages if r.set_name == set_name and "+" not in r.system
                    and r.train_set in (train, "base")]
            systems: dict[str, dict[str, float]] = {}
            groups: dict[str, str] = {}
            for r in sorted(rows, key=lambda r: r.train_set == train):  # the collection's own groups last: they win
                systems.setdefault(r.system, {})[r.language] = r.value
                groups[r.language] = r.group
            lead = next((s for s in systems if s.startswith("hybrid")), next(iter(systems)))
            trained = "" if train == "base" else f", models trained on {train}"
            plot_language_results(systems, groups, out / name, lead=lead, ylabel=rows[0].measure,
                                  title=f"{set_name}: per language ({rows[0].measure}{trained})")
