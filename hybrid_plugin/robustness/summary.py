"""The robustness study's summary: the drop from the clean queries per model, setting, perturbation (kind and
level, or attack budget) and query language, and paired randomisation tests of hybrid against each baseline on
the per-query drop -- :class:`RobustnessSummary`, its one JSON form (``summary.json``) and its Markdown.

Every number comes from per-query APs: for a cell, the drop of a setting group (mono, cross, multi) is the mean
over its (setting, query) pairs of ``clean AP - perturbed AP`` over the queries perturbed (all of them for a
perturbation kind, which makes it the macro mAP drop on XQuAD-R; the attacked items for the attack). Seeds: the
mean of the seeds' numbers, their standard deviation beside the perturbed mAP; a test pairs each query's drop
averaged over the seeds (:func:`~hybrid_plugin.analysis.significance.compare_drops`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from hybrid_plugin.analysis.significance import compare_drops, group_per_query, per_query_drop
from hybrid_plugin.errors import DataError
from hybrid_plugin.evaluation.cells import MULTI, SETTINGS, split_pair
from hybrid_plugin.evaluation.results import EvaluationResults
from hybrid_plugin.robustness.settings import Cell

__all__ = ["CLEAN", "BASELINES", "DropRow", "DropTest", "RobustnessSummary", "severity_file", "summarise_robustness",
           "summary_markdown"]

CLEAN = "clean"
BASELINES = ("base", "xx", "xy")
"""The configurations hybrid is tested against."""
SeedCells = Sequence[Mapping[str, EvaluationResults]]
"""One model's evaluations, per seed: ``{"clean": ..., "typos:0.1": ..., "attack:1": ...}``."""


@dataclass(frozen=True)
class DropRow:
    """One model (mean over ``seeds``) under one perturbation: mAP clean and perturbed per setting group, the
    drop, the perturbed mAP's standard deviation over seeds (None for one seed), the drop per query language, and
    for the attack its success rate, mean rank drop and model queries."""

    eval_set: str
    config: str
    cell: str
    kind: str
    level: float
    seeds: int
    clean: dict[str, float]
    perturbed: dict[str, float]
    perturbed_std: dict[str, float | None]
    drop: dict[str, float]
    per_language: dict[str, dict[str, float]]
    attack: dict[str, Any] | None = None


@dataclass(frozen=True)
class DropTest:
    """Hybrid against a baseline on one cell and setting group: ``mean_diff`` = mean of hybrid's per-query drop
    minus the baseline's (negative: hybrid loses less), the two-sided p-value, the queries paired."""

    eval_set: str
    cell: str
    hybrid: str
    baseline: str
    setting: str
    mean_diff: float
    p_value: float
    n: int


@dataclass(frozen=True)
class RobustnessSummary:
    """The whole study: its plan, a row per (evaluation set, model, cell), the tests, and the compute time of its
    cells in seconds (perturbing, attacking, encoding, scoring; model loading excluded)."""

    plan: dict[str, Any]
    rows: tuple[DropRow, ...]
    tests: tuple[DropTest, ...]
    seconds: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``summary.json``)."""
        return {"plan": dict(self.plan), "rows": [asdict(r) for r in self.rows],
                "tests": [asdict(t) for t in self.tests], "seconds": self.seconds}

    @classmethod
    def from_dict(cls, data: Any) -> RobustnessSummary:
        """Read :meth:`to_dict` back.

        Raises:
            DataError: not the JSON form of a summary.
        """
        try:
            return cls(dict(data["plan"]), tuple(DropRow(**r) for r in data["rows"]),
                       tuple(DropTest(**t) for t in data["tests"]), data.get("seconds"))
        except (KeyError, TypeError) as exc:
            raise DataError(f"not a robustness summary: {exc}") from None

    def to_markdown(self) -> str:
        """``summary.md``: per evaluation set the drops, the attack, the drop per language and the tests."""
        return summary_markdown(self)


def _query_language(setting: str, languages: Sequence[str]) -> str:
    return setting.split(":", 1)[1] if setting.startswith(f"{MULTI}:") else split_pair(setting, languages)[0]


def _perturbed_qids(perturbed: EvaluationResults) -> list[str] | None:
    """The items a cell perturbed (the attacked ones; None: every item)."""
    return perturbed.settings.get("perturbation", {}).get("qids")


def _seed_numbers(clean: EvaluationResults, perturbed: EvaluationResults) -> dict[str, Any]:
    """One seed's clean and perturbed means and drops per group, and the drop per query language and group."""
    qids = _perturbed_qids(perturbed)
    out: dict[str, Any] = {"clean": {}, "perturbed": {}, "drop": {}, "per_language": {}}
    for group in SETTINGS:
        drops = per_query_drop(clean, perturbed, group, qids=qids)
        before = group_per_query(clean, group)
        out["clean"][group] = float(np.mean([before[k] for k in drops]))
        out["drop"][group] = float(np.mean(list(drops.values())))
        out["perturbed"][group] = out["clean"][group] - out["drop"][group]
        by_language: dict[str, list[float]] = {}
        for (setting, _), value in drops.items():
            by_language.setdefault(_query_language(setting, clean.languages), []).append(value)
        for lang, values in by_language.items():
            out["per_language"].setdefault(lang, {})[group] = float(np.mean(values))
    return out


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(values))


def _std(values: Sequence[float]) -> float | None:
    return float(np.std(values, ddof=1)) if len(values) > 1 else None


def _attack_record(runs: Sequence[EvaluationResults]) -> dict[str, Any] | None:
    records = [r.settings.get("perturbation", {}).get("attack") for r in runs]
    if not all(records):
        return None
    rates = [r["success_rate"] for r in records if r["success_rate"] is not None]
    return {"success_rate": _mean(rates) if rates else None,
            "mean_rank_drop": _mean([r["mean_rank_drop"] or 0.0 for r in records]),
            "queries": sum(r["queries"] for r in records), "model_queries": sum(r["model_queries"] for r in records),
            "model_queries_bound": sum(r["model_queries_bound"] for r in records)}


def _row(eval_set: str, config: str, cell: Cell, seeds: SeedCells) -> DropRow:
    numbers = [_seed_numbers(s[CLEAN], s[cell.label]) for s in seeds]
    languages = list(dict.fromkeys(lang for n in numbers for lang in n["per_language"]))
    return DropRow(
        eval_set=eval_set, config=config, cell=cell.label, kind=cell.kind, level=cell.level, seeds=len(seeds),
        clean={g: _mean([n["clean"][g] for n in numbers]) for g in SETTINGS},
        perturbed={g: _mean([n["perturbed"][g] for n in numbers]) for g in SETTINGS},
        perturbed_std={g: _std([n["perturbed"][g] for n in numbers]) for g in SETTINGS},
        drop={g: _mean([n["drop"][g] for n in numbers]) for g in SETTINGS},
        per_language={lang: {g: _mean([n["per_language"][lang][g] for n in numbers
                                       if g in n["per_language"].get(lang, {})])
                             for g in SETTINGS if any(g in n["per_language"].get(lang, {}) for n in numbers)}
                      for lang in languages},
        attack=_attack_record([s[cell.label] for s in seeds]) if cell.is_attack else None)


def summarise_robustness(plan: Mapping[str, Any], evaluations: Mapping[tuple[str, str], SeedCells],
                         cells: Sequence[Cell], *, trials: int = 10000, seed: int = 0,
                         seconds: float | None = None) -> RobustnessSummary:
    """Rows for every (evaluation set, model, cell) and the tests of every hybrid model against each baseline.

    Args:
        plan: the robustness settings' plan (recorded).
        evaluations: ``(eval_set, config) -> per seed {"clean": results, cell label: results}``.
        cells: the cells to summarise (their labels are the keys above).
        trials, seed: of the randomisation tests.
        seconds: the compute time of the cells, recorded.

    Returns:
        RobustnessSummary.

    Raises:
        DataError: a model without one of the cells or without per-query APs.

    Example::

        summary = summarise_robustness(settings.plan(), {("xquad-r", "xx"): [{"clean": c, "typos:0.1": t}]},
                                       [Cell("typos", 0.1)])
        summary.rows[0].drop["cross"]
    """
    for (eval_set, config), seeds in evaluations.items():
        for cell in cells:
            if not seeds or any(cell.label not in s or CLEAN not in s for s in seeds):
                raise DataError(f"{eval_set}/{config}: no results of {cell.label} (or of the clean queries)")
    rows = [_row(e, c, cell, seeds) for (e, c), seeds in evaluations.items() for cell in cells]
    tests = []
    for (eval_set, hybrid), seeds in evaluations.items():
        if not hybrid.startswith("hybrid"):
            continue
        for baseline in BASELINES:
            other = evaluations.get((eval_set, baseline))
            if other is None:
                continue
            for cell in cells:
                a = [(s[CLEAN], s[cell.label]) for s in seeds]
                b = [(s[CLEAN], s[cell.label]) for s in other]
                qids = _perturbed_qids(seeds[0][cell.label])
                for group in SETTINGS:
                    result = compare_drops(a, b, group, qids=qids, trials=trials, seed=seed)
                    tests.append(DropTest(eval_set, cell.label, hybrid, baseline, group, result.mean_diff,
                                          result.p_value, result.n))
    return RobustnessSummary(dict(plan), tuple(rows), tuple(tests), seconds)


# ------------------------------------------------------------------------------------------------ Markdown


def _f(value: float | None, digits: int = 4, sign: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


def _drop_table(rows: Sequence[DropRow]) -> list[str]:
    lines = ["| perturbation | model | n | " + " | ".join(f"{g} mAP (clean → perturbed)" for g in SETTINGS)
             + " | " + " | ".join(f"{g} drop" for g in SETTINGS) + " |",
             "|---|---|---|" + "---|" * (2 * len(SETTINGS))]
    for r in rows:
        maps = [f"{_f(r.clean[g])} → {_f(r.perturbed[g])}"
                + (f" ± {_f(r.perturbed_std[g])}" if r.perturbed_std.get(g) is not None else "") for g in SETTINGS]
        lines.append(f"| {r.cell} | {r.config} | {r.seeds} | " + " | ".join(maps) + " | "
                     + " | ".join(_f(r.drop[g], sign=True) for g in SETTINGS) + " |")
    return lines


def _attack_table(rows: Sequence[DropRow]) -> list[str]:
    lines = ["| budget | model | queries | success rate | mean rank drop | model queries (bound) |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        a = r.attack or {}
        lines.append(f"| {r.level:g} | {r.config} | {a.get('queries', '–')} | {_f(a.get('success_rate'), 3)} | "
                     f"{_f(a.get('mean_rank_drop'), 2)} | {a.get('model_queries', '–')} "
                     f"({a.get('model_queries_bound', '–')}) |")
    return lines


def _language_table(rows: Sequence[DropRow], group: str) -> list[str]:
    languages = list(dict.fromkeys(lang for r in rows for lang in r.per_language))
    lines = ["| perturbation | model | " + " | ".join(languages) + " |", "|---|---|" + "---|" * len(languages)]
    for r in rows:
        lines.append(f"| {r.cell} | {r.config} | "
                     + " | ".join(_f(r.per_language.get(lang, {}).get(group), 3, sign=True) for lang in languages)
                     + " |")
    return lines


def _test_table(tests: Sequence[DropTest]) -> list[str]:
    lines = ["| perturbation | comparison | " + " | ".join(f"{g} Δdrop (p)" for g in SETTINGS) + " |",
             "|---|---|" + "---|" * len(SETTINGS)]
    keys = list(dict.fromkeys((t.cell, t.hybrid, t.baseline) for t in tests))
    for cell, hybrid, baseline in keys:
        found = {t.setting: t for t in tests if (t.cell, t.hybrid, t.baseline) == (cell, hybrid, baseline)}
        lines.append(f"| {cell} | {hybrid} vs {baseline} | " + " | ".join(
            f"{_f(found[g].mean_diff, sign=True)} ({found[g].p_value:.3g})" if g in found else "–" for g in SETTINGS)
            + " |")
    return lines


def severity_file(eval_set: str, setting: str) -> str:
    """The name of the severity plot of one evaluation set and setting (beside ``summary.md``)."""
    return f"severity-{eval_set}-{setting}.png"


def summary_markdown(summary: RobustnessSummary) -> str:
    """The Markdown of :class:`RobustnessSummary` (see :meth:`RobustnessSummary.to_markdown`)."""
    plan = summary.plan
    out = [f"# Robustness to perturbed and adversarial queries: {plan.get('study', '')}", "",
           f"Kinds {', '.join(plan.get('kinds', []))} at levels "
           + "; ".join(f"{k} {', '.join(f'{v:g}' for v in levels)}" for k, levels in plan.get("levels", {}).items())
           + f"; attack budgets {', '.join(map(str, plan.get('budgets', [])))} ({plan.get('unit')} edits, "
           f"{plan.get('candidates')} variants per step, on "
           + (f"the first {plan['attack_items']} items" if plan.get("attack_items") else "every item")
           + f"); evaluation on {'the first ' + str(plan['items']) + ' items' if plan.get('items') else 'every item'}"
           + f"; seed {plan.get('seed')}" + (" (the quick variant)" if plan.get("quick") else "")
           + (f"; trained models of the first {plan['seeds']} seed(s) of the study only (--seeds)"
              if plan.get("seeds") else "")
           + (f"; the directions trained on {', '.join(plan['trained_on'])} only (--trained-on)"
              if plan.get("trained_on") else "") + ".", "",
           "n = seeds averaged (± their standard deviation when n > 1; none for one seed). "
           "Drop = clean mAP − perturbed mAP over the perturbed queries (positive: the perturbation hurts). "
           "Δdrop = hybrid's per-query drop − the baseline's (negative: hybrid is sturdier); p: paired "
           f"randomisation test ({plan.get('trials', 10000):,} sign flips, two-sided) on the same queries.", ""]
    for eval_set in dict.fromkeys(r.eval_set for r in summary.rows):
        rows = [r for r in summary.rows if r.eval_set == eval_set]
        attack = [r for r in rows if r.kind == "attack"]
        out += [f"## {eval_set}", "", "### mAP and its drop", "", *_drop_table(rows), "",
                " ".join(f"![mAP against severity, {g}]({severity_file(eval_set, g)})" for g in SETTINGS), ""]
        if attack:
            out += ["### The attack", "", *_attack_table(attack), ""]
        out += ["### Drop per query language (mono)", "", *_language_table(rows, "mono"), ""]
        tests = [t for t in summary.tests if t.eval_set == eval_set]
        if tests:
            out += ["### Hybrid against each baseline: paired tests on the per-query drop", "", *_test_table(tests),
                    ""]
    if summary.seconds is not None:
        out += [f"Compute time of the cells: {summary.seconds / 60:.1f} min (perturbing, attacking, encoding and "
                "scoring; model loading excluded; each cell timed by the run that made it).", ""]
    return "\n".join(out)
