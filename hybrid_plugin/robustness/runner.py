"""Running the robustness study: every model of a zero-shot study on clean, perturbed and attacked queries,
resumably, then the summary, the tests and the severity plots.

Its folder (``settings.out``, default ``STUDY/robustness``)::

    OUT/robustness.json                                   the settings (a rerun must have the same)
    OUT/cells/<eval>/<config>/seed<k>/clean/results.json  each model on the clean questions (per-query APs)
    OUT/cells/<eval>/<config>/seed<k>/<kind>-<level>/     ... perturbed: results.json, results.md
    OUT/cells/<eval>/<config>/seed<k>/attack-<budget>/    ... attacked: results.json, results.md, attack.json
                                                          (every query's edits), attack-summary.json, topics/
                                                          (the attacked questions as Pyserini topic files)
    OUT/summary.json, summary.md                          RobustnessSummary: drops, attack, tests, the cells'
                                                          compute time (recorded by the run that made each)
    OUT/severity-<eval>-<setting>.png                     mAP against severity, one per setting

A cell whose ``results.json`` exists is done and read back, so an interrupted run continues where it stopped.
With ``publish``, the small outputs (settings, summary, plots, each cell's ``results.md`` and
``attack-summary.json``) are copied there as they are finished, like ``reproduce --publish``.

What does not live here: the settings (:mod:`~hybrid_plugin.robustness.settings`), one cell's evaluation
(:mod:`~hybrid_plugin.robustness.cells`), the summary (:mod:`~hybrid_plugin.robustness.summary`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hybrid_plugin.analysis.severity_plots import SeverityCurve, plot_severity
from hybrid_plugin.analysis.tables import write_markdown_table
from hybrid_plugin.data.collection import ParallelQA
from hybrid_plugin.data.loading import load_parallel_qa
from hybrid_plugin.errors import UsageError
from hybrid_plugin.evaluation.cells import SETTINGS
from hybrid_plugin.evaluation.results import RESULTS_FILE, EvaluationResults
from hybrid_plugin.files import atomic_write
from hybrid_plugin.models.loading import resolve_model
from hybrid_plugin.perturb.collection import apply_perturbation
from hybrid_plugin.perturb.topics import topics_text
from hybrid_plugin.pyserini.prepared import prepared_paths
from hybrid_plugin.robustness.cells import StudyModel, evaluate_cell
from hybrid_plugin.robustness.settings import Cell, RobustnessSettings
from hybrid_plugin.robustness.summary import CLEAN, RobustnessSummary, severity_file, summarise_robustness
from hybrid_plugin.study.folders import check_study_settings, claim_study_folder, publish_outputs
from hybrid_plugin.study.settings import Condition

__all__ = ["PUBLISHED", "SETTINGS_FILE", "run_robustness"]

logger = logging.getLogger(__name__)

SETTINGS_FILE = "robustness.json"
PUBLISHED = (SETTINGS_FILE, "summary.json", "summary.md", "severity-*.png", "cells/*/*/*/*/results.md",
             "cells/*/*/*/*/attack-summary.json")
"""The small outputs copied to ``publish`` (no per-query results, no topic files)."""


def _cell_dir(out: Path, cond: Condition, cell: Cell | None) -> Path:
    return out / "cells" / cond.eval_set / cond.config / f"seed{cond.seed}" / (CLEAN if cell is None else cell.folder)


def _model_of(settings: RobustnessSettings, cond: Condition) -> tuple[str, str]:
    """The folder and the recorded name of a condition's model."""
    if cond.train_set is None:
        return resolve_model(settings.reproduce.model), "base"
    return str(cond.model_dir(settings.study)), f"{cond.config} (trained on {cond.train_set}, seed {cond.seed})"


def _check(settings: RobustnessSettings, todo: list[Condition]) -> None:
    """Refuse a study whose models are missing, and an output folder holding other settings (nothing written)."""
    missing = [str(c.model_dir(settings.study)) for c in todo
               if c.train_set is not None and not (c.model_dir(settings.study) / "training.json").is_file()]
    if missing:
        raise UsageError(f"--study {settings.study}: {len(missing)} trained model(s) missing, e.g. {missing[0]} "
                         "(finish the study with hybrid-plugin reproduce first)")
    check_study_settings(settings.out, SETTINGS_FILE, settings.plan(), "robustness")


class _Collections:
    """The evaluation sets (limited), and each perturbed once for every model."""

    def __init__(self, settings: RobustnessSettings) -> None:
        self.settings = settings
        self.clean: dict[str, ParallelQA] = {}
        self.perturbed: dict[tuple[str, str], tuple[ParallelQA, dict[str, Any]]] = {}

    def get(self, name: str) -> ParallelQA:
        if name not in self.clean:
            qa = load_parallel_qa(name, data=self.settings.data(name))
            self.clean[name] = qa.limit(self.settings.items)
        return self.clean[name]

    def perturb(self, name: str, cell: Cell) -> tuple[ParallelQA, dict[str, Any]]:
        if (name, cell.label) not in self.perturbed:
            self.perturbed[(name, cell.label)] = apply_perturbation(self.get(name), cell.perturbation())
        return self.perturbed[(name, cell.label)]


def _write_cell(folder: Path, results: EvaluationResults, attack: Any) -> None:
    """The cell's files, ``results.json`` last (its presence marks the cell done)."""
    folder.mkdir(parents=True, exist_ok=True)
    if attack is not None:
        with atomic_write(folder / "attack.json") as handle:
            json.dump(attack.to_dict(), handle, indent=1, ensure_ascii=False)
        with atomic_write(folder / "attack-summary.json") as handle:
            json.dump(attack.record(), handle, indent=1, ensure_ascii=False)
        files = prepared_paths(folder, results.dataset.name)
        for report in attack.reports:
            questions = {o.qid: o.attacked for o in report.outcomes}
            with atomic_write(files.topics(report.query_language)) as handle:
                handle.write(topics_text(questions))
    write_markdown_table(results, folder / "results.md")
    results.save(folder)


def _publish(settings: RobustnessSettings) -> None:
    publish_outputs(settings.out, settings.publish, PUBLISHED)


def _run_model(settings: RobustnessSettings, cond: Condition, collections: _Collections,
               say: Callable[[str], None]) -> dict[str, EvaluationResults]:
    """Every cell of one model (loaded only when a cell is left to do); return its results by cell label."""
    cells: list[Cell | None] = [None, *settings.cells()]
    model: StudyModel | None = None
    found: dict[str, EvaluationResults] = {}
    for cell in cells:
        folder = _cell_dir(settings.out, cond, cell)
        label = CLEAN if cell is None else cell.label
        if (folder / RESULTS_FILE).is_file():
            found[label] = EvaluationResults.load(folder)
            continue
        if model is None:
            model = StudyModel.load(*_model_of(settings, cond))
        qa = collections.get(cond.eval_set)
        started = time.perf_counter()
        perturbed = None if cell is None or cell.is_attack else collections.perturb(cond.eval_set, cell)
        results, attack = evaluate_cell(model, qa, cell, settings, perturbed=perturbed)
        results.timings["cell"] = round(time.perf_counter() - started, 3)  # perturbing / attacking included
        _write_cell(folder, results, attack)
        found[label] = results
        say(f"{cond.config} seed {cond.seed} on {cond.eval_set}, {label}: mAP mono {results.map['mono']:.4f} "
            f"cross {results.map['cross']:.4f} multi {results.map['multi']:.4f} "
            f"({time.perf_counter() - started:.1f} s)")
        _publish(settings)
    return found


def _plots(settings: RobustnessSettings, summary: RobustnessSummary) -> None:
    for eval_set in dict.fromkeys(r.eval_set for r in summary.rows):
        rows = [r for r in summary.rows if r.eval_set == eval_set]
        for group in SETTINGS:
            curves = []
            for kind in dict.fromkeys(r.kind for r in rows):
                for config in dict.fromkeys(r.config for r in rows):
                    line = sorted((r for r in rows if r.kind == kind and r.config == config), key=lambda r: r.level)
                    if line:
                        curves.append(SeverityCurve(
                            kind, config, (0.0, *(r.level for r in line)),
                            (line[0].clean[group], *(r.perturbed[group] for r in line)),
                            (None, *(r.perturbed_std[group] for r in line))))
            plot_severity(curves, settings.out / severity_file(eval_set, group),
                          title=f"{settings.study.name}: {eval_set}, {group}, mAP against severity",
                          xlabels={"attack": "edits per query (budget)", "typos": "character error rate",
                                   "keyboard": "character error rate"})


def run_robustness(settings: RobustnessSettings, *,
                   progress: Callable[[str], None] | None = None) -> RobustnessSummary:
    """Run (or continue) the robustness study; return the summary also written to ``OUT/summary.json``.

    Args:
        settings: what to run (the study, kinds, levels, budgets, items; see :class:`RobustnessSettings`).
        progress: called with one line per finished cell (default: the logger).

    Returns:
        RobustnessSummary: the drops, the attack, the paired tests.

    Raises:
        UsageError: a study whose models are missing; ``settings.out`` not the plugin's folder or holding other
            settings.
        DataError: a malformed file of the study or of an earlier run.

    Example::

        from hybrid_plugin.robustness import RobustnessSettings, run_robustness

        summary = run_robustness(RobustnessSettings(study="outputs/reproduce-quick", quick=True))
        summary.to_markdown()
    """
    say = progress or (lambda message: logger.info("%s", message))
    todo = settings.conditions()  # the base, then the trained models of the seeds chosen
    _check(settings, todo)
    collections = _Collections(settings)
    for name in dict.fromkeys(c.eval_set for c in todo):
        collections.get(name)  # a missing data set fails before the folder is claimed
    claim_study_folder(settings.out, SETTINGS_FILE, settings.plan(), "robustness")
    evaluations: dict[tuple[str, str], list[dict[str, EvaluationResults]]] = {}
    for number, cond in enumerate(todo, start=1):
        say(f"[{number}/{len(todo)}] {cond.config} seed {cond.seed} on {cond.eval_set}")
        evaluations.setdefault((cond.eval_set, cond.config), []).append(
            _run_model(settings, cond, collections, say))
    seconds = sum(r.timings.get("cell", 0.0) for runs in evaluations.values() for run in runs for r in run.values())
    summary = summarise_robustness(settings.plan(), evaluations, settings.cells(), trials=settings.trials,
                                   seed=settings.seed, seconds=round(seconds, 1))
    with atomic_write(settings.out / "summary.json") as handle:
        json.dump(summary.to_dict(), handle, indent=1)
    with atomic_write(settings.out / "summary.md") as handle:
        handle.write(summary.to_markdown())
    _plots(settings, summary)
    _publish(settings)
    return summary
