"""Running the study: train, export and evaluate every condition, resumably, then write the summary, the
leaderboard, the α sweep and the 2CR record.

Every finished step is kept on disk and skipped when the study is run again, so an interrupted run continues
where it stopped, and a rerun with more ``seeds`` or more ``alphas`` extends a finished study (seed by seed)
instead of starting again. Besides the folders of :mod:`hybrid_plugin.study.settings`, the study writes::

    OUT/summary.md, summary.json                    the side-by-side table, unseen languages, significance
    OUT/leaderboard.md, leaderboard.csv             every result next to the paper's rows
    OUT/leaderboard.html                            the same as a page to browse (when asked: ``html=True``)
    OUT/alpha-sweep.png                             mono / cross / multi against α (with more than two α)
    OUT/record.yaml                                 the stock Pyserini commands and their expected scores

What does not live here: the settings (:mod:`~hybrid_plugin.study.settings`), the summary's content
(:mod:`~hybrid_plugin.study.summary`), the record (:mod:`~hybrid_plugin.study.record`).
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hybrid_plugin.analysis.html_page import write_leaderboard_page
from hybrid_plugin.analysis.leaderboard import leaderboard
from hybrid_plugin.analysis.plots import plot_alpha_sweep
from hybrid_plugin.data.collection import ParallelQA
from hybrid_plugin.data.loading import load_parallel_qa
from hybrid_plugin.errors import DataError, UsageError
from hybrid_plugin.evaluation.pipeline import evaluate, write_results
from hybrid_plugin.evaluation.results import MULTI, RESULTS_FILE, EvaluationResults
from hybrid_plugin.files import atomic_write, check_output, claim_output, is_owned
from hybrid_plugin.models.loading import DEFAULT_MODEL_NAME, resolve_model
from hybrid_plugin.pyserini.export import export_model
from hybrid_plugin.study.debiasing import condition_debias
from hybrid_plugin.study.record import RECORD_PAIRS, write_record
from hybrid_plugin.study.selection import study_seeds, study_trained_on
from hybrid_plugin.study.settings import Condition, ReproduceSettings, conditions
from hybrid_plugin.study.summary import StudyResults, summarise, summary_markdown
from hybrid_plugin.training.settings import TrainingSettings
from hybrid_plugin.training.trainer import train

__all__ = ["PUBLISHED", "run_reproduction", "train_models"]

logger = logging.getLogger(__name__)

PLAN_FILE = "plan.json"
PUBLISHED = (PLAN_FILE, "summary.json", "summary.md", "leaderboard.md", "leaderboard.csv", "leaderboard.html",
             "alpha-sweep.png",
             "record.yaml", "eval/*/*/results.json", "eval/*/*/results.md", "eval/*/*/pairs.png",
             "eval/*/*/*/results.json", "eval/*/*/*/results.md", "eval/*/*/*/pairs.png",
             "models/*/*/*/training.json", "debias/*/*/debias.json")
"""The small outputs copied to ``--publish`` (no models, indexes or runs)."""
KEPT_RUNS = (*RECORD_PAIRS, f"en-{MULTI}")
"""Run files kept per evaluation, of those ``evaluate`` writes by default (mono settings and multilingual pools):
the record's mono setting and English against the multilingual pool. The record's cross-language cells are
checked by re-running their stock commands (``check_record``); their numbers are in ``results.json``."""

# ------------------------------------------------------------------------------------------- the plan

_EXTENSIBLE = {"seeds", "alphas", "debias"}


def _extends(old: dict[str, Any], plan: dict[str, Any]) -> bool:
    """Whether ``plan`` is ``old`` with more seeds, more α and / or debiased twins added (every finished
    condition stays valid)."""
    diff = {k for k in set(old) | set(plan) if old.get(k) != plan.get(k)}
    if not diff or not diff <= _EXTENSIBLE or old.get("debias") not in (None, plan.get("debias")):
        return False
    try:
        return int(plan["seeds"]) >= int(old["seeds"]) and set(map(float, old["alphas"])) <= set(plan["alphas"])
    except (KeyError, TypeError, ValueError):
        return False


def _check_study_folder(out: Path) -> None:
    """Refuse an ``--out`` the study may not write into (before anything is touched).

    A folder with the plugin's marker is continued; so is one written before the marker existed, which holds the
    ``plan.json`` of a study (:func:`_check_plan` then checks that plan against the settings).
    """
    if out.is_dir() and not is_owned(out) and (out / PLAN_FILE).is_file():
        logger.info("%s: a study written by an earlier hybrid-plugin (no output marker); continuing it", out)
        return
    check_output(out, overwrite=False, resumable=True)


def _check_plan(settings: ReproduceSettings) -> None:
    """Compare the settings with the study already in ``out`` (if any), then claim the folder and record them."""
    path = settings.out / PLAN_FILE
    plan = settings.plan()
    if path.exists():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise DataError("malformed JSON (not written by hybrid-plugin reproduce?)", path) from None
        if not isinstance(old, dict):
            raise DataError(f"expected a JSON object of settings but got {type(old).__name__}", path)
        if old == plan:
            logger.info("resuming the study in %s", settings.out)
            return
        if not _extends(old, plan):
            diff = sorted(k for k in set(old) | set(plan) if old.get(k) != plan.get(k))
            raise UsageError(f"{settings.out} holds a study with other settings ({', '.join(diff)}); resume it with "
                             "the same options (or more --seeds / --alphas) or choose another --out")
        logger.info("extending the study in %s to %d seed(s) and alphas %s%s", settings.out, plan["seeds"],
                    ",".join(f"{a:g}" for a in plan["alphas"]), " with debiased twins" if settings.debias else "")
    claim_output(settings.out, "reproduce")
    with atomic_write(path) as handle:
        json.dump(plan, handle, indent=1)


# ------------------------------------------------------------------------------------------- the steps


class _Collections:
    """The study's collections, each loaded (and limited) once, when first needed."""

    def __init__(self, settings: ReproduceSettings) -> None:
        self.settings = settings
        self.loaded: dict[tuple[str, int | None], ParallelQA] = {}

    def load_all(self, todo: list[Condition]) -> None:
        """Load every collection the conditions need (a bad ``--data-root`` fails before the folder is claimed)."""
        for cond in todo:
            self.get(cond.eval_set, self.settings.eval_limit)
            if cond.train_set is not None:
                self.get(cond.train_set, self.settings.train_limit)
        if self.settings.debias is not None:  # the fit collection, with the evaluated languages
            for name in self.settings.eval_sets:
                languages = self.get(name, self.settings.eval_limit).languages
                load_parallel_qa(self.settings.debias, data=self.settings.data(self.settings.debias),
                                 languages=list(languages))

    def get(self, name: str, limit: int | None) -> ParallelQA:
        if (name, limit) not in self.loaded:
            self.loaded[(name, limit)] = load_parallel_qa(name, data=self.settings.data(name)).limit(limit)
        return self.loaded[(name, limit)]


def _train(settings: ReproduceSettings, cond: Condition, collections: _Collections) -> Path:
    out = cond.model_dir(settings.out)
    if (out / "training.json").is_file():
        logger.info("trained already: %s", out)
        return out
    resume = (out / "checkpoints").is_dir() and any((out / "checkpoints").iterdir())
    train(TrainingSettings(
        train=str(cond.train_set), out=out, data=settings.data(str(cond.train_set)), model=settings.model,
        sampling=cond.sampling, alpha=cond.alpha if cond.sampling == "hybrid" else None,
        max_steps=settings.max_steps, epochs=settings.epochs, batch_size=settings.batch_size, lr=settings.lr,
        max_seq_length=settings.max_seq_length, seed=cond.seed, freeze_embeddings=settings.freeze_embeddings,
        limit=settings.train_limit, resume=resume, scale=settings.scale, hard_negatives=settings.hard_negatives,
        loss=settings.loss, mini_batch_size=settings.mini_batch_size,
        overwrite=out.exists() and not resume,  # a run that died before its first checkpoint starts again
        save_steps=max(10, (settings.max_steps or 1000) // 4),
    ), qa=collections.get(str(cond.train_set), settings.train_limit))
    # a finished model needs no checkpoints (optimizer states are several times the model's size)
    shutil.rmtree(out / "checkpoints", ignore_errors=True)
    return out


def _export(settings: ReproduceSettings, cond: Condition, model: str) -> None:
    if not settings.export:
        return
    out = cond.encoder_dir(settings.out)
    if not (out / "pyserini.json").is_file():
        export_model(model, out, overwrite=out.exists())


def _prune_runs(runs: Path) -> None:
    """Keep the run files of the record's settings and of English against the multilingual pool; drop the rest.

    A full XQuAD-R evaluation writes 1.4 GB of depth-1000 runs by default (22 files); a study has eight of them.
    Every number is in results.json already, and ``hybrid-plugin evaluate --runs all`` writes every run for any
    model.
    """
    if not runs.is_dir():
        return
    keep = {f"{key}.txt" for key in KEPT_RUNS}
    for path in runs.glob("*.txt"):
        if path.name not in keep:
            path.unlink()


def _evaluate(settings: ReproduceSettings, cond: Condition, model: str, collections: _Collections,
              training: dict[str, Any]) -> EvaluationResults:
    """Evaluate one condition with its training recorded (the default runs: mono settings and multilingual
    pools), and keep only the runs of :data:`KEPT_RUNS`. A debiased twin is evaluated with its model's transform
    (fitted first, :func:`~hybrid_plugin.study.debiasing.condition_debias`). ``evaluate`` swaps its folder in
    complete, so a condition whose ``results.json`` exists is done and read back."""
    out = cond.eval_dir(settings.out)
    if (out / RESULTS_FILE).is_file():
        results = EvaluationResults.load(out)
        if results.training is None:  # an earlier version recorded the training after the evaluation
            results = results.with_training(training)
            write_results(results, out)
    else:
        qa = collections.get(cond.eval_set, settings.eval_limit)
        debias = None if cond.debias is None else condition_debias(settings, cond, model, qa.languages)
        name = "base" if cond.train_set is None else \
            f"{cond.model_config} (trained on {cond.train_set}, seed {cond.seed})"
        if debias is not None:
            name += f" + {cond.debias} ({settings.debias})"
        results = evaluate(qa, model, out=out, model_name=name, limit=settings.eval_limit, overwrite=True,
                           training=training, backend=settings.backend, precision=settings.precision, debias=debias)
    _prune_runs(out / "runs")
    return results


def _training_info(settings: ReproduceSettings, cond: Condition, base_name: str) -> dict[str, Any]:
    info: dict[str, Any] = {"base_model": base_name, "sampling": cond.sampling, "alpha": cond.alpha}
    if cond.train_set is not None:
        info.update(seed=cond.seed, train_dataset=cond.train_set, max_steps=settings.max_steps,
                    batch_size=settings.batch_size, learning_rate=settings.lr, train_limit=settings.train_limit,
                    scale=settings.scale, hard_negatives=settings.hard_negatives, loss=settings.loss)
        report = cond.model_dir(settings.out) / "training.json"
        if report.is_file():
            try:
                detail = json.loads(report.read_text(encoding="utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                raise DataError("malformed JSON (not written by hybrid-plugin train?)", report) from None
            sampling = detail.get("sampling") if isinstance(detail, dict) else None
            info["realised"] = sampling.get("realised") if isinstance(sampling, dict) else None
    return info


# ------------------------------------------------------------------------------------------- outputs


def _publish(settings: ReproduceSettings, *, finished: bool = False) -> None:
    """Copy the study's small outputs to ``settings.publish`` (see :class:`ReproduceSettings`): each condition's
    results as they come, the plan only with the summary it belongs to (an extended study's published folder
    keeps the old plan beside the old summary until the new summary exists)."""
    if settings.publish is None:
        return
    for pattern in PUBLISHED if finished else [p for p in PUBLISHED if p != PLAN_FILE]:
        for path in settings.out.glob(pattern):
            dest = settings.publish / path.relative_to(settings.out)
            if dest.exists() and dest.stat().st_mtime >= path.stat().st_mtime:
                continue
            with path.open("rb") as source, atomic_write(dest, "wb") as target:
                shutil.copyfileobj(source, target)


def _write_reports(settings: ReproduceSettings, all_results: StudyResults, summary: dict[str, Any],
                   html: bool = False) -> None:
    out = settings.out
    flat = [r for runs in all_results.values() for r in runs]
    with atomic_write(out / "summary.json") as handle:
        json.dump(summary, handle, indent=1)
    with atomic_write(out / "summary.md") as handle:
        handle.write(summary_markdown(summary))
    board = leaderboard(flat)
    with atomic_write(out / "leaderboard.md") as handle:
        handle.write(board.to_markdown())
    with atomic_write(out / "leaderboard.csv") as handle:
        handle.write(board.to_csv())
    if len(settings.alphas) > 2:
        plot_alpha_sweep(flat, out / "alpha-sweep.png")
    if settings.export:
        write_record(settings, all_results, out / "record.yaml")
    if html:  # after the record, whose conditions it shows
        write_leaderboard_page([c.eval_dir(out) / RESULTS_FILE for c in conditions(settings)],
                               out / "leaderboard.html", title="hybrid-plugin study: X-X vs X-Y vs hybrid")


def _twins(settings: ReproduceSettings, cond: Condition) -> list[Condition]:
    """The condition, then its debiased twin when the study has one."""
    return [cond] if settings.debias is None else [cond, cond.debiased(settings.debias_method)]


def _label(number: int, total: int, cond: Condition) -> str:
    trained = f" trained on {cond.train_set} (seed {cond.seed})" if cond.train_set else ""
    return f"[{number}/{total}] {cond.config}{trained} → {cond.eval_set}"


def _estimate(started: float, worked: int, left: int) -> str:
    """``"12.3 min so far, about 20 min left"`` from the conditions run in this call (done ones do not count)."""
    spent = time.time() - started
    text = f"{spent / 60:.1f} min so far"
    if worked and left:
        text += f", about {spent / worked * left / 60:.0f} min left"
    return text


def run_reproduction(settings: ReproduceSettings, *, progress: Callable[[str], None] | None = None,
                     html: bool = False) -> dict[str, Any]:
    """Run (or continue) the study; return the summary also written to ``OUT/summary.json`` (and, with
    ``html``, the leaderboard page ``OUT/leaderboard.html``).

    Raises:
        UsageError: ``settings.out`` is not the plugin's folder, or holds a study with other settings.
        DataError: a file of the study (plan, training report, results) is malformed.

    Example::

        from hybrid_plugin.study import ReproduceSettings, run_reproduction

        summary = run_reproduction(ReproduceSettings(out="study", preset="quick", data_root="../shared/data"))
        summary["tables"]["xquad-r"]["hybrid-a0.5"]["map"]["multi"]
    """
    say = progress or (lambda message: logger.info("%s", message))
    started = time.time()
    _check_study_folder(settings.out)
    base_name = settings.model or DEFAULT_MODEL_NAME
    base_path = resolve_model(settings.model)
    todo = conditions(settings)
    collections = _Collections(settings)
    collections.load_all(todo)
    _check_plan(settings)
    all_results: dict[tuple[str, str], list[EvaluationResults]] = {}
    todo = [twin for cond in todo for twin in _twins(settings, cond)]
    left = sum(not (c.eval_dir(settings.out) / RESULTS_FILE).is_file() for c in todo)
    worked = 0
    for number, cond in enumerate(todo, start=1):
        label = _label(number, len(todo), cond)
        done = (cond.eval_dir(settings.out) / RESULTS_FILE).is_file()
        doing = "debiasing and evaluating" if cond.debias else "training, exporting and evaluating"
        say(f"{label}: {'done already' if done else doing}")
        model = base_path if cond.train_set is None else str(_train(settings, cond, collections))
        if cond.debias is None:
            _export(settings, cond, model)
        results = _evaluate(settings, cond, model, collections, _training_info(settings, cond, base_name))
        all_results.setdefault((cond.eval_set, cond.config), []).append(results)
        maps = results.map
        bias = "–" if results.bias is None else f"{results.bias:.1f}"
        worked, left = worked + (not done), left - (not done)
        say(f"{label}: mAP mono {maps['mono']:.4f} cross {maps['cross']:.4f} multi {maps['multi']:.4f}, bias {bias} "
            f"({_estimate(started, worked, left)})")
        _publish(settings)
    summary = summarise(settings, all_results,
                        lambda name: collections.get(name, settings.train_limit).languages)
    summary["seconds"] = round(time.time() - started, 1)
    _write_reports(settings, all_results, summary, html)
    _publish(settings, finished=True)
    return summary


def train_models(settings: ReproduceSettings, *, seeds: int | None = None,
                 trained_on: Sequence[str] | str | None = None,
                 progress: Callable[[str], None] | None = None) -> list[Path]:
    """Train the study's models without evaluating them (``hybrid-plugin reproduce --train-only``): those of seeds
    0..``seeds``-1 (every seed of the plan when None) of the directions trained on ``trained_on`` (every direction
    when None); return their folders. The folder is claimed and its plan checked as :func:`run_reproduction` does,
    models trained already are kept, and a later :func:`run_reproduction` with the same settings evaluates them --
    or ``robustness`` / ``lowres`` read them.

    Raises:
        UsageError: ``settings.out`` holds a study with other settings or is not the plugin's folder; ``seeds``
            above the plan's; a ``trained_on`` collection the plan does not train on.

    Example::

        from hybrid_plugin.study import ReproduceSettings, train_models

        settings = ReproduceSettings(out="study", preset="full", seeds=3, data_root="../shared/data")
        train_models(settings, seeds=1, trained_on="xquad-r")  # [.../models/xquad-r/xx/seed0, ...]
    """
    say = progress or (lambda message: logger.info("%s", message))
    seeds = study_seeds(seeds, settings.seeds, settings.out)
    names = study_trained_on(trained_on, settings.directions, settings.out)
    todo = [c for c in conditions(settings) if c.train_set is not None and (names is None or c.train_set in names)
            and (seeds is None or c.seed < seeds)]
    todo = list({c.model_dir(settings.out): c for c in todo}.values())  # a model trained once for its direction
    started = time.time()
    _check_study_folder(settings.out)
    collections = _Collections(settings)
    collections.load_all(todo)
    _check_plan(settings)
    left = sum(not (c.model_dir(settings.out) / "training.json").is_file() for c in todo)
    worked, trained = 0, []
    for number, cond in enumerate(todo, start=1):
        label = f"[{number}/{len(todo)}] {cond.train_set} {cond.model_config} seed {cond.seed}"
        done = (cond.model_dir(settings.out) / "training.json").is_file()
        say(f"{label}: {'trained already' if done else 'training'}")
        trained.append(_train(settings, cond, collections))
        worked, left = worked + (not done), left - (not done)
        if not done:
            say(f"{label}: trained ({_estimate(started, worked, left)})")
    return trained
