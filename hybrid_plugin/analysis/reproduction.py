"""How a result is reproduced: the command that wrote it, and, for a result of a study with a 2CR record, the
record's conditions with their OK / OKish / FAIL status (what the leaderboard page shows for each row).

A results file belongs to a study when it lies where ``hybrid-plugin reproduce`` writes results
(``OUT/eval/<set>/base/results.json`` or ``OUT/eval/<set>/<config>/seed<k>/results.json``) and ``OUT/plan.json``
exists: its command is then the study's (``hybrid-plugin reproduce …``, rebuilt from the plan), else the
``hybrid-plugin evaluate`` command its own record implies. A study's ``record.yaml`` is read (and checked) with
:func:`~hybrid_plugin.study.record.read_record`, its check outcomes (``record-check.json`` beside it) with
:func:`~hybrid_plugin.study.check_outcomes.read_outcomes`.

What does not live here: the page (:mod:`hybrid_plugin.analysis.html_page`), running or checking a study
(:mod:`hybrid_plugin.study`).

Example::

    >>> study_command(ReproduceSettings(out="s", preset="full", seeds=3))
    'hybrid-plugin reproduce --preset full --seeds 3'
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from hybrid_plugin.errors import DataError, UsageError
from hybrid_plugin.evaluation.results import EvaluationResults
from hybrid_plugin.models.backends import DEFAULT_EVAL_BACKEND, DEFAULT_EVAL_PRECISION
from hybrid_plugin.models.default_model import DEFAULT_MODEL_NAME
from hybrid_plugin.study.check_outcomes import OUTCOMES_FILE, read_outcomes
from hybrid_plugin.study.record import CheckOutcome, Record, read_record
from hybrid_plugin.study.settings import PRESETS, RECIPE_DEFAULTS, ReproduceSettings

__all__ = ["RecordedCondition", "Study", "check_conditions", "evaluate_command", "find_study", "read_study",
           "study_command"]

PLAN_FILE = "plan.json"
RECORD_FILE = "record.yaml"
_SEED_FOLDER = re.compile(r"seed\d+")
_DEFAULT_ALPHAS = (1.0, 0.0, 0.5)
# settings of a plan that `hybrid-plugin reproduce` has a flag for (the others come from the preset)
_FLAGS = {"max_steps": "--max-steps", "batch_size": "--batch-size", "eval_limit": "--eval-limit",
          "train_limit": "--train-limit", "scale": "--scale", "loss": "--loss", "mini_batch_size": "--mini-batch-size"}
_SHOWN = {"preset", "model", "alphas", "seeds", "backend", "precision"}  # written before the loop


@dataclass(frozen=True)
class RecordedCondition:
    """One condition of a study's 2CR record (a model × dataset × setting) and, if it was checked, its status.

    Attributes:
        name (str): the condition's name in the record (``xquad-r.hybrid-a0.5-seed0.en-de``).
        setting (str): the query-pool pair (``en-de``).
        commands (tuple[str, ...]): the stock ``pyserini.encode`` / ``pyserini.search.faiss`` / ``ir_measures``
            commands (``{encoder}`` stands for the exported encoder).
        expected (dict[str, float]): the scores the record says the commands give.
        status (str | None): ``OK`` / ``OKish`` / ``FAIL`` from the last check, None when never checked.
        got (dict[str, float]): the scores that check measured.
    """

    name: str
    setting: str
    commands: tuple[str, ...]
    expected: dict[str, float]
    status: str | None = None
    got: dict[str, float] | None = None


@dataclass(frozen=True)
class Study:
    """A study folder as the page needs it: its settings, its record (if any) and the record's check outcomes."""

    folder: Path
    settings: ReproduceSettings
    record: Record | None
    outcomes: Mapping[str, CheckOutcome]

    @property
    def record_path(self) -> Path:
        return self.folder / RECORD_FILE

    def conditions(self, dataset: str, config: str, seed: int) -> list[RecordedCondition]:
        """The record's conditions of one model (``config``, ``seed``) on ``dataset``, with their statuses."""
        if self.record is None:
            return []
        prefix = f"{dataset}.{config}-seed{seed}."
        found = []
        for cond in self.record.conditions:
            if cond.name.startswith(prefix):
                outcome = self.outcomes.get(cond.name)
                found.append(RecordedCondition(cond.name, cond.name[len(prefix):], cond.commands, dict(cond.scores),
                                               None if outcome is None else outcome.status,
                                               None if outcome is None else dict(outcome.got)))
        return found


def find_study(results_path: str | Path) -> Path | None:
    """The study folder a results file lies in (``OUT`` of ``OUT/eval/<set>/…/results.json`` with an
    ``OUT/plan.json``), or None.

    Args:
        results_path (str | Path): a ``results.json`` or the folder holding it.

    Returns:
        The study folder, or None when the file is not where a study writes its results.

    Example::

        find_study("benchmarks/reproduce/full/eval/xquad-r/xx/seed0/results.json")   # Path('benchmarks/reproduce/full')
    """
    folder = Path(results_path)
    folder = folder if folder.is_dir() else folder.parent
    if folder.name == "base":
        root = folder.parents[2] if len(folder.parents) > 2 and folder.parents[1].name == "eval" else None
    elif _SEED_FOLDER.fullmatch(folder.name):
        root = folder.parents[3] if len(folder.parents) > 3 and folder.parents[2].name == "eval" else None
    else:
        root = None
    return root if root is not None and (root / PLAN_FILE).is_file() else None


def _read_plan(folder: Path) -> ReproduceSettings:
    path = folder / PLAN_FILE
    try:
        plan = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DataError(f"cannot read the study's plan ({exc.strerror})", path) from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise DataError("malformed JSON (not written by hybrid-plugin reproduce?)", path) from None
    known = {f.name for f in fields(ReproduceSettings)} - {"out", "publish", "data_root", "export", "_filled"}
    if not isinstance(plan, dict) or "preset" not in plan:
        raise DataError('expected a JSON object of study settings with a "preset"', path)
    unknown = sorted(set(plan) - known)
    if unknown:
        raise DataError(f"unknown study setting(s) {', '.join(map(repr, unknown))}", path)
    try:
        return ReproduceSettings.from_plan(plan, folder)
    except UsageError as exc:
        raise DataError(f"not a valid study plan ({exc.message})", path) from None


def read_study(folder: str | Path) -> Study:
    """Read a study folder's plan, its ``record.yaml`` (if any) and the record's check outcomes (if any).

    Args:
        folder (str | Path): the study folder (``hybrid-plugin reproduce --out``, or its ``--publish`` copy).

    Returns:
        A :class:`Study`; ``.conditions(dataset, config, seed)`` gives a model's record conditions and statuses.

    Example::

        read_study("benchmarks/reproduce/full").conditions("xquad-r", "xx", 0)[0].setting   # 'en-en'

    Raises:
        DataError: the plan, the record or the outcomes are malformed, or the outcomes are of another version of
            the record (each message names the file).
    """
    folder = Path(folder)
    settings = _read_plan(folder)
    record_path = folder / RECORD_FILE
    record = read_record(record_path) if record_path.is_file() else None
    outcomes_path = folder / OUTCOMES_FILE
    outcomes = read_outcomes(outcomes_path, record=record_path) if record and outcomes_path.is_file() else {}
    if record is not None:
        names = {c.name for c in record.conditions}
        strays = sorted(set(outcomes) - names)
        if strays:
            raise DataError(f"outcome of a condition the record does not list: {strays[0]}", outcomes_path)
    return Study(folder, settings, record, outcomes)


def study_command(settings: ReproduceSettings, *, seeds: int | None = None) -> str:
    """The ``hybrid-plugin reproduce`` command of a study (its options that differ from the preset's).

    Args:
        settings (ReproduceSettings): the study's settings (as read from its ``plan.json``).
        seeds (int, optional): seeds to ask for instead of the plan's (a study extended seed by seed publishes
            its plan only when finished).

    Returns:
        The command line; settings with no flag (set through the library) follow as ``# also: key=value``.

    Example::

        study_command(ReproduceSettings(out="s", alphas=(1, 0.5)), seeds=2)
        # 'hybrid-plugin reproduce --quick --alphas 1,0.5 --seeds 2'
    """
    plan = settings.plan()
    default = {"epochs": 1.0, **RECIPE_DEFAULTS, **PRESETS[settings.preset]}
    args = ["hybrid-plugin", "reproduce", *(["--quick"] if settings.preset == "quick" else
                                            ["--preset", settings.preset])]
    if settings.model is not None:
        args += ["--model", settings.model]
    if tuple(settings.alphas) != _DEFAULT_ALPHAS:
        args += ["--alphas", ",".join(f"{a:g}" for a in settings.alphas)]
    seeds = max(settings.seeds, seeds or 0)
    if seeds != 1:
        args += ["--seeds", str(seeds)]
    others = []
    recipe = {key: getattr(settings, key) for key in RECIPE_DEFAULTS}  # a plan leaves out the old recipe's values
    for key, value in {**recipe, **plan}.items():
        if key in _SHOWN or _normal(value) == _normal(default.get(key)):
            continue
        if key == "hard_negatives":
            args.append("--hard-negatives" if value else "--no-hard-negatives")
        elif key == "debias":
            args += ["--debias-fit-on", value["fit_on"]]
            args += ["--debias-method", value["method"]] if value["method"] != "lsar" else []
            args += ["--debias-per-language", str(value["per_language"])] if value["per_language"] != 200 else []
        elif key in _FLAGS:
            args += [_FLAGS[key], f"{value:g}" if isinstance(value, float) else str(value)]
        else:
            others.append(f"{key}={value!r}")
    if (settings.backend, settings.precision) != (DEFAULT_EVAL_BACKEND, DEFAULT_EVAL_PRECISION):
        args += ["--backend", settings.backend, "--precision", settings.precision]
    return shlex.join(args) + (f"  # also: {', '.join(others)}" if others else "")


def _normal(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_normal(v) for v in value)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def evaluate_command(results: EvaluationResults) -> str:
    """The ``hybrid-plugin evaluate`` command that writes ``results`` again (dataset, limit, split, model or
    ``--bm25``, and the options that differ from the defaults).

    Example::

        evaluate_command(load_results("benchmarks/results/bm25/xquad-r"))
        # 'hybrid-plugin evaluate --dataset xquad-r --bm25'
    """
    dataset, settings = results.dataset, results.settings
    args = ["hybrid-plugin", "evaluate", "--dataset", dataset.name]
    if dataset.split is not None:
        args += ["--dev-fraction", f"{dataset.split.fraction:g}", "--dev-seed", str(dataset.split.seed)]
    if dataset.limit:
        args += ["--limit", str(dataset.limit)]
    if str(settings.get("similarity", "")).startswith("BM25"):
        args.append("--bm25")
    elif results.model.name != DEFAULT_MODEL_NAME:
        args += ["--model", results.model.path or results.model.name]
    if settings.get("batch_size", 32) != 32 and "--bm25" not in args:
        args += ["--batch-size", str(settings["batch_size"])]
    if settings.get("depth", 1000) != 1000:
        args += ["--depth", str(settings["depth"])]
    backend = settings.get("backend", DEFAULT_EVAL_BACKEND), settings.get("precision", DEFAULT_EVAL_PRECISION)
    if backend != (DEFAULT_EVAL_BACKEND, DEFAULT_EVAL_PRECISION):
        args += ["--backend", str(backend[0]), "--precision", str(backend[1])]
    return shlex.join(args)


def check_conditions(conditions: Sequence[RecordedCondition], results: EvaluationResults, record: Path) -> None:
    """Refuse a record whose scores are not those of the results it stands beside.

    Args:
        conditions (Sequence[RecordedCondition]): one model's conditions (:meth:`Study.conditions`).
        results (EvaluationResults): that model's results (the seed the record lists).
        record (Path): the record's path (for the message).

    Example::

        study = read_study("benchmarks/reproduce/full")
        check_conditions(study.conditions("xquad-r", "xx", 0),
                         load_results("benchmarks/reproduce/full/eval/xquad-r/xx/seed0"), study.record_path)

    Raises:
        DataError: a condition's score differs from the results' value (rounded as the record rounds it).
    """
    for cond in conditions:
        cell = results.pairs.get(cond.setting)
        if cell is None:
            raise DataError(f"condition {cond.name}: the results have no pair {cond.setting}", record)
        for measure, score in cond.expected.items():
            value = cell.value(measure)
            if value is None or abs(round(value, 4) - score) > 5e-5:
                raise DataError(f"condition {cond.name}: {measure} is {score} in the record but "
                                f"{value} in the results: they are of different runs", record)
