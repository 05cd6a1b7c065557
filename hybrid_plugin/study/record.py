"""The study's Pyserini-2CR-style record (``OUT/record.yaml``): per condition (model × dataset × setting) the
stock ``pyserini.encode`` / ``pyserini.search.faiss`` / ``ir_measures`` commands and the scores they must give,
and :func:`check_record`, which re-runs them and marks each condition OK / OKish / FAIL.

The record lists its own conditions, so a record written with other :data:`RECORD_PAIRS` is checked as it is.

What does not live here: running the study (:mod:`hybrid_plugin.study.runner`), exporting encoders
(:mod:`hybrid_plugin.pyserini.export`).
"""

from __future__ import annotations

import logging
import math
import os
import shlex
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from hybrid_plugin.errors import DataError, UsageError
from hybrid_plugin.evaluation.results import EvaluationResults
from hybrid_plugin.files import atomic_write
from hybrid_plugin.pyserini.export import read_export
from hybrid_plugin.pyserini.java import pyserini_env
from hybrid_plugin.study.settings import DEBIAS_SEPARATOR, Condition, ReproduceSettings

if TYPE_CHECKING:  # the summary brings in the significance tests (scipy); the record needs only the alias
    from hybrid_plugin.study.summary import StudyResults

__all__ = ["CheckOutcome", "RECORD_MEASURES", "RECORD_PAIRS", "Record", "RecordCondition", "check_record", "read_record",
           "write_record"]

logger = logging.getLogger(__name__)

RECORD_MEASURES = ("AP@1000", "nDCG@10", "R@1")
RECORD_PAIRS = ("en-en", "en-de", "de-en")
"""The settings a new record lists per model; the study keeps their run files (see ``runner._prune_runs``)."""
ENCODER_PLACEHOLDER = "{encoder}"
DEFAULT_TOLERANCE = {"OK": 1e-4, "OKish": 5e-4}


def _condition_of(eval_set: str, config: str, results: EvaluationResults) -> Condition:
    training = results.training or {}
    train_set = None if config == "base" else training.get("train_dataset")
    return Condition(train_set, eval_set, training.get("alpha"), int(training.get("seed", 0)))


def _setup_commands(settings: ReproduceSettings) -> list[str]:
    setup = []
    for eval_set in settings.eval_sets:
        data = f" --data {settings.data_root / eval_set}" if settings.data_root else ""
        limit = f" --limit {settings.eval_limit}" if settings.eval_limit else ""
        setup.append(f"hybrid-plugin prepare {eval_set}{data}{limit} --out . --overwrite")
    return setup


def write_record(settings: ReproduceSettings, all_results: StudyResults, path: Path) -> dict[str, Any]:
    """A Pyserini-2CR-style record: per condition (model × dataset × setting) the stock commands and scores.

    Commands run from a folder where ``hybrid-plugin prepare`` wrote the topics, qrels and corpora (``setup``);
    each condition's encoder is named relative to the record's folder and stands as ``{encoder}`` in its
    commands. Only the first seed of each configuration is listed, and no debiased twin (its transform is applied
    to the embeddings, which ``evaluate --debias`` writes as a Faiss index and ``--encoded-queries``).
    """
    conditions = []
    for (eval_set, config), runs in sorted(all_results.items()):
        if DEBIAS_SEPARATOR in config:  # applied to the embeddings: no encoder reproduces it alone
            continue
        results = runs[0]
        cond = _condition_of(eval_set, config, results)
        encoder = cond.encoder_dir(settings.out)
        info = replace(read_export(encoder), path=ENCODER_PLACEHOLDER)
        for pair in RECORD_PAIRS:
            cell = results.pairs.get(pair)
            if cell is None:
                continue
            x, y = pair.split("-")
            tag = f"{eval_set}.{config}-seed{cond.seed}"
            index = f"indexes/{tag}.{y}"
            run = f"runs/{tag}.{pair}.txt"
            encode = info.encode_args(f"corpus/{eval_set}/{y}.jsonl", index)
            search = info.search_args(index, f"topics/{eval_set}.{x}.tsv", run)
            evaluate = ["ir_measures", f"qrels/{eval_set}.{y}.txt", run, *RECORD_MEASURES]
            scores = {m: round(cell.value(m), 4) for m in RECORD_MEASURES if cell.value(m) is not None}
            conditions.append({
                "name": f"{tag}.{pair}", "dataset": eval_set, "model": results.model.name, "setting": pair,
                "encoder": os.path.relpath(encoder, path.parent),
                "commands": [shlex.join(encode), shlex.join(search), shlex.join(evaluate)],
                "scores": scores,
            })
    record = {"title": "hybrid-plugin reproduction record (Pyserini 2CR style)", "study": settings.scale_note(),
              "setup": _setup_commands(settings), "tolerance": dict(DEFAULT_TOLERANCE), "conditions": conditions}
    with atomic_write(path) as handle:
        yaml.safe_dump(record, handle, sort_keys=False, allow_unicode=True, width=200)
    return record


# --------------------------------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class RecordCondition:
    """One condition of a record: its name, encoder (relative to the study folder), commands and scores."""

    name: str
    encoder: str
    commands: tuple[str, ...]
    scores: dict[str, float]


@dataclass(frozen=True)
class Record:
    """A record as read and checked: setup commands, tolerances and conditions."""

    setup: tuple[str, ...]
    tolerance: dict[str, float]
    conditions: tuple[RecordCondition, ...]


class _RecordReader:
    """Checks a parsed record field by field; every error names the file and the field."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, field: str, expected: str, value: Any) -> DataError:
        shown = repr(value)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        return DataError(f"field {field!r} must be {expected} but got {shown}", self.path)

    def commands(self, value: Any, field: str) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.fail(field, "a list of commands", value)
        for i, command in enumerate(value):
            try:
                ok = isinstance(command, str) and bool(shlex.split(command))
            except ValueError:
                ok = False
            if not ok:
                raise self.fail(f"{field}[{i}]", "a non-empty shell command", command)
        return tuple(value)

    def scores(self, value: Any, field: str) -> dict[str, float]:
        if not isinstance(value, dict) or not value:
            raise self.fail(field, "a mapping of measure names to scores", value)
        for measure, score in value.items():
            if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
                raise self.fail(f"{field}.{measure}", "a finite number", score)
        return {str(k): float(v) for k, v in value.items()}

    def condition(self, value: Any, field: str) -> RecordCondition:
        if not isinstance(value, dict):
            raise self.fail(field, "a mapping", value)
        for key in ("name", "encoder"):
            if not isinstance(value.get(key), str) or not value[key]:
                raise self.fail(f"{field}.{key}", "a non-empty string", value.get(key))
        commands = self.commands(value.get("commands"), f"{field}.commands")
        for i, command in enumerate(commands):
            if "pyserini.encode" in command and _embeddings_arg(command) is None:
                raise self.fail(f"{field}.commands[{i}]", "a pyserini.encode command with --embeddings DIR", command)
        return RecordCondition(value["name"], value["encoder"], commands,
                               self.scores(value.get("scores"), f"{field}.scores"))

    def record(self, data: Any) -> Record:
        if not isinstance(data, dict):
            raise DataError(f'expected a mapping with a "conditions" list but got {type(data).__name__}', self.path)
        if not isinstance(data.get("conditions"), list):
            raise self.fail("conditions", "a list", data.get("conditions"))
        tolerance = self.scores(data.get("tolerance", DEFAULT_TOLERANCE), "tolerance")
        for key in DEFAULT_TOLERANCE:
            if key not in tolerance:
                raise self.fail(f"tolerance.{key}", "a finite number", None)
        return Record(self.commands(data.get("setup", []), "setup"), tolerance,
                      tuple(self.condition(c, f"conditions[{i}]") for i, c in enumerate(data["conditions"])))


def read_record(path: str | Path) -> Record:
    """Read and check a ``record.yaml``.

    Raises:
        DataError: the file cannot be read, is not YAML, or a field is missing or malformed (the message names
            the file and the field).
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise DataError(f"not a UTF-8 text file ({exc.reason} at byte {exc.start})", path) from None
    except OSError as exc:
        raise DataError(f"cannot read the record ({exc.strerror})", path) from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f"line {where.line + 1}" if where is not None else None
        raise DataError(f"not a valid YAML file ({getattr(exc, 'problem', None) or exc})", path, line) from None
    return _RecordReader(path).record(data)


# --------------------------------------------------------------------------------------------------- checking


@dataclass
class CheckOutcome:
    """One condition of a record, re-run: its status (OK / OKish / FAIL) and the scores."""

    name: str
    status: str
    expected: dict[str, float]
    got: dict[str, float]
    message: str = ""


def check_record(record_path: str | Path, workdir: str | Path = ".", *, only: str | None = None,
                 study: str | Path | None = None,
                 progress: Callable[[str], None] | None = None) -> list[CheckOutcome]:
    """Re-run a record's stock commands and compare their scores (OK: within 1e-4, OKish: 5e-4, else FAIL).

    Args:
        record_path: the ``record.yaml`` written by a study.
        workdir: where to run (topics, qrels and corpora are prepared there first; indexes and runs go there).
        only: run only the conditions whose name contains this text.
        study: the study folder holding the exported encoders the record names (default: the record's own
            folder; give it for a published copy of a record, e.g. ``benchmarks/reproduce/full/record.yaml``
            checked against ``outputs/reproduce-full``).
        progress: called with a line per condition (default: logged).

    Raises:
        DataError: the record is malformed (the message names the file and the field), or a setup command failed.
        UsageError: ``study`` is not a folder, or no condition matches ``only``.
    """
    record_path = Path(record_path)
    record = read_record(record_path)
    conditions = [c for c in record.conditions if only is None or only in c.name]
    study = Path(study) if study is not None else record_path.parent
    if not study.is_dir():
        raise UsageError(f"--study {study} is not a folder (expected the study folder that holds encoders/)")
    if not conditions:
        raise UsageError(f"no condition of {record_path} matches {only!r}")
    say = progress or (lambda message: logger.info("%s", message))
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    env = pyserini_env()
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    for command in record.setup:
        _run_stock(command, workdir, env)
    outcomes = []
    for cond in conditions:
        say(f"checking {cond.name}")
        try:
            got = _run_condition(cond, study, workdir, env)
        except DataError as exc:
            outcomes.append(CheckOutcome(cond.name, "FAIL", cond.scores, {}, str(exc)))
            continue
        worst = max((abs(got.get(m, math.inf) - v) for m, v in cond.scores.items()), default=0.0)
        status = "OK" if worst <= record.tolerance["OK"] else "OKish" if worst <= record.tolerance["OKish"] else "FAIL"
        outcomes.append(CheckOutcome(cond.name, status, cond.scores, got))
    return outcomes


def _run_condition(cond: RecordCondition, study: Path, workdir: Path, env: Mapping[str, str]) -> dict[str, float]:
    """Run one condition's commands (skipping an index already encoded); the scores the last one printed."""
    encoder = str((study / cond.encoder).resolve())
    if not (Path(encoder) / "pyserini.json").is_file():
        raise DataError("no exported encoder there (give --study, the folder where the record's study ran)", encoder)
    stdout = ""
    for command in cond.commands:
        command = command.replace(shlex.quote(ENCODER_PLACEHOLDER), shlex.quote(encoder))
        if "pyserini.encode" in command and _index_exists(command, workdir):
            continue
        stdout = _run_stock(command, workdir, env)
    got = {}
    for line in stdout.strip().splitlines():
        parts = line.split("\t")
        if len(parts) == 2:
            try:
                got[parts[0]] = float(parts[1])
            except ValueError:
                continue
    return got


def _embeddings_arg(command: str) -> str | None:
    """The ``--embeddings`` folder of a ``pyserini.encode`` command (None: not given)."""
    args = shlex.split(command)
    position = args.index("--embeddings") + 1 if "--embeddings" in args else len(args)
    return args[position] if position < len(args) else None


def _index_exists(command: str, workdir: Path) -> bool:
    index = _embeddings_arg(command)
    return index is not None and (workdir / index / "index").is_file()


def _run_stock(command: str, workdir: Path, env: Mapping[str, str]) -> str:
    args = shlex.split(command)
    if args[0] == "python":
        args[0] = sys.executable
    try:
        done = subprocess.run(args, cwd=workdir, env=dict(env), capture_output=True, text=True)
    except OSError as exc:
        raise DataError(f"command cannot start ({exc.strerror})", None, command[:120]) from None
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise DataError(f"command failed (exit {done.returncode}): {tail[0]}", None, command[:120])
    return done.stdout
