"""The study's summary: mean ± std over seeds per configuration, the seen / unseen-language split, and paired
randomisation tests of every hybrid against the baselines (``OUT/summary.json``), and its Markdown form
(``OUT/summary.md``).

What does not live here: running the study (:mod:`hybrid_plugin.study.runner`), the leaderboard and plots
(:mod:`hybrid_plugin.analysis`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from hybrid_plugin.analysis.significance import compare_results
from hybrid_plugin.evaluation.results import MULTI, SETTINGS, EvaluationResults
from hybrid_plugin.study.settings import DEBIAS_SEPARATOR, ReproduceSettings

__all__ = ["CONFIG_LABELS", "StudyResults", "language_splits", "summarise", "summary_markdown"]

StudyResults = Mapping[tuple[str, str], Sequence[EvaluationResults]]
"""(evaluation set, config) -> the results of each seed, in seed order."""

SUMMARY_MEASURES = ("R@1", "R@10", "nDCG@10", "AP@1000")
BASELINES = ("xx", "xy", "base")
CONFIG_LABELS = {"base": "untuned base", "xx": "X-X (α = 1)", "xy": "X-Y (α = 0)"}


def language_splits(results: EvaluationResults, seen: Iterable[str]) -> dict[str, dict[str, float | None]]:
    """Mono / cross / multi mAP over settings whose languages were all seen in training, and over the others.

    A cross pair counts as unseen when either of its languages was absent from training; a multi setting when its
    query language was.
    """
    seen = set(seen)
    out: dict[str, dict[str, list[float]]] = {split: {s: [] for s in SETTINGS} for split in ("seen", "unseen")}
    languages = results.languages
    for x in languages:
        for y in languages:
            pair = results.pair(x, y)
            if pair is None:
                continue
            split = "seen" if x in seen and y in seen else "unseen"
            out[split][pair.setting].append(pair.value("map"))
        multi = results.pair(x, MULTI)
        if multi is not None:
            out["seen" if x in seen else "unseen"]["multi"].append(multi.value("map"))
    return {split: {k: (float(np.mean(v)) if v else None) for k, v in groups.items()} for split, groups in out.items()}


def _mean_std(values: Sequence[float]) -> dict[str, float | None]:
    arr = np.asarray(values, dtype=float)
    return {"mean": float(arr.mean()), "std": float(arr.std(ddof=1)) if len(arr) > 1 else None, "n": len(arr)}


def _table_row(runs: Sequence[EvaluationResults], seen: set[str]) -> dict[str, Any]:
    """One configuration's row: mAP and the other measures per setting, bias, and the seen / unseen split."""
    row: dict[str, Any] = {"n": len(runs), "map": {}, "measures": {}, "bias": _mean_std([r.bias for r in runs])}
    for setting in SETTINGS:
        row["map"][setting] = _mean_std([r.map[setting] for r in runs])
        for measure in SUMMARY_MEASURES:
            values = [r.measure(setting, measure) for r in runs]
            if all(v is not None for v in values):
                row["measures"].setdefault(setting, {})[measure] = _mean_std(values)
    splits = [language_splits(r, seen) for r in runs]
    row["unseen_languages"] = sorted(set(runs[0].languages) - seen)
    row["splits"] = {split: {s: (_mean_std([x[split][s] for x in splits]) if splits[0][split][s] is not None
                                 else None) for s in SETTINGS} for split in ("seen", "unseen")}
    return row


def _split_config(config: str) -> tuple[str, str]:
    """``"hybrid-a0.5+lsar"`` -> ``("hybrid-a0.5", "+lsar")``; ``"xx"`` -> ``("xx", "")``."""
    model, sep, method = config.partition(DEBIAS_SEPARATOR)
    return model, sep + method


def _comparisons(configs: Iterable[str]) -> list[tuple[str, str]]:
    """(a, b) pairs to test: every hybrid against each baseline with the same debiasing, and every debiased
    configuration against the same model without it."""
    configs = list(configs)
    pairs = []
    for config in configs:
        model, suffix = _split_config(config)
        if model.startswith("hybrid"):
            pairs += [(config, baseline + suffix) for baseline in BASELINES if baseline + suffix in configs]
    for config in configs:
        model, suffix = _split_config(config)
        if suffix and model in configs:
            pairs.append((config, model))
    return pairs


def _significance(all_results: StudyResults, eval_sets: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Paired randomisation tests over per-query AP (:func:`_comparisons`)."""
    significance: dict[str, dict[str, Any]] = {}
    for eval_set in eval_sets:
        configs = [c for e, c in all_results if e == eval_set]
        for first, second in _comparisons(configs):
            a, b = all_results[(eval_set, first)], all_results[(eval_set, second)]
            if not all(r.per_query for r in [*a, *b]):
                continue
            for group in SETTINGS:
                test = compare_results(list(a), list(b), group)
                significance.setdefault(eval_set, {}).setdefault(f"{first} vs {second}", {})[group] = {
                    "mean_diff": test.mean_diff, "p_value": test.p_value, "n": test.n}
    return significance


def summarise(settings: ReproduceSettings, all_results: StudyResults,
              languages_of: Callable[[str], Iterable[str]]) -> dict[str, Any]:
    """The study's summary (``OUT/summary.json``).

    Args:
        settings: the study.
        all_results: (evaluation set, config) -> results per seed.
        languages_of: the languages a training collection holds (as limited by ``--train-limit``).
    """
    tables: dict[str, dict[str, Any]] = {}
    for (eval_set, config), runs in all_results.items():
        train_sets = [t for t, e in settings.directions if e == eval_set]
        seen = set(languages_of(train_sets[0])) if train_sets else set()
        tables.setdefault(eval_set, {})[config] = _table_row(runs, seen)
    return {"plan": settings.plan(), "tables": tables, "significance": _significance(all_results, tables),
            "note": settings.scale_note()}


# --------------------------------------------------------------------------------------------------- Markdown


def _fmt(stat: Mapping[str, Any] | None, digits: int = 4) -> str:
    if stat is None:
        return "–"
    if stat["std"] is None:
        return f"{stat['mean']:.{digits}f}"
    return f"{stat['mean']:.{digits}f} ± {stat['std']:.{digits}f}"


def _label(config: str) -> str:
    model, suffix = _split_config(config)
    label = CONFIG_LABELS.get(model) or f"hybrid (α = {model.removeprefix('hybrid-a')})"
    return label + (f" + {suffix[1:].upper()}" if suffix else "")


def _order(configs: Iterable[str]) -> list[str]:
    """Plain rows first (base, X-X, X-Y, hybrids), then the debiased rows in the same order."""
    rank = {"base": 0, "xx": 1, "xy": 2}

    def key(config: str) -> tuple[str, int, str]:
        model, suffix = _split_config(config)
        return suffix, rank.get(model, 3), model

    return sorted(configs, key=key)


def _main_table(table: Mapping[str, Any]) -> list[str]:
    lines = ["| model | n | mAP mono | mAP cross | mAP multi | R@1 mono | R@10 cross | bias ↓ |",
             "|---|---|---|---|---|---|---|---|"]
    for config in _order(table):
        row = table[config]
        lines.append(f"| {_label(config)} | {row['n']} | {_fmt(row['map']['mono'])} | {_fmt(row['map']['cross'])} "
                     f"| {_fmt(row['map']['multi'])} | {_fmt(row['measures'].get('mono', {}).get('R@1'))} | "
                     f"{_fmt(row['measures'].get('cross', {}).get('R@10'))} | {_fmt(row['bias'], 1)} |")
    return lines


def _split_table(table: Mapping[str, Any], unseen: Sequence[str]) -> list[str]:
    lines = ["", f"Languages absent from training ({', '.join(unseen)}) and the others, mAP:", "",
             "| model | mono seen | mono unseen | cross seen | cross unseen | multi seen | multi unseen |",
             "|---|---|---|---|---|---|---|"]
    for config in _order(table):
        sp = table[config]["splits"]
        lines.append(f"| {_label(config)} | " + " | ".join(
            _fmt(sp[split][s]) for s in SETTINGS for split in ("seen", "unseen")) + " |")
    return lines


def _tests_table(tests: Mapping[str, Any]) -> list[str]:
    lines = ["", "Paired randomisation test over per-query AP (10,000 sign flips, two-sided):", "",
             "| comparison | mono Δ (p) | cross Δ (p) | multi Δ (p) |", "|---|---|---|---|"]
    for name, groups in tests.items():
        lines.append(f"| {name} | " + " | ".join(
            f"{groups[g]['mean_diff']:+.4f} ({groups[g]['p_value']:.3g})" for g in SETTINGS) + " |")
    return lines


def summary_markdown(summary: Mapping[str, Any]) -> str:
    """The study's tables as Markdown (also ``OUT/summary.md``)."""
    lines = ["# Reproduction: X-X vs X-Y vs hybrid batches (zero-shot)", "", f"Settings: {summary['note']}.", ""]
    for eval_set, table in summary["tables"].items():
        trained_on = [t for t, e in summary["plan"]["directions"] if e == eval_set]
        lines += [f"## {eval_set}" + (f" (models trained on {', '.join(trained_on)})" if trained_on else ""), ""]
        lines += _main_table(table)
        unseen = next(iter(table.values()))["unseen_languages"]
        if unseen:
            lines += _split_table(table, unseen)
        tests = summary["significance"].get(eval_set)
        if tests:
            lines += _tests_table(tests)
        lines.append("")
    return "\n".join(lines)
