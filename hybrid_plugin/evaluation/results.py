"""The typed results record of one evaluation: what ``hybrid-plugin evaluate`` writes as ``results.json``.

One vocabulary for the whole plugin lives here: the three settings (:data:`SETTINGS`), the measures
(:data:`MEASURES`), the name of the results file. Every other module builds, reads and writes results through
:class:`EvaluationResults`; nothing else reads ``results.json`` as a raw dictionary.

The JSON form is the ``results.json`` layout of earlier versions plus ``"schema_version"``, so files written
before the field existed (schema 1) load unchanged. A file of a newer schema is refused with a message that says
to upgrade the plugin.

Example::

    >>> cell = Cell("en", "en", {"map": 0.5}, queries=2)
    >>> record = EvaluationResults.from_cells(
    ...     model=ModelInfo("m"), dataset=DatasetInfo("toy", ("en", "de")),
    ...     pairs=[cell, Cell("en", "de", {"map": 0.25}, 2), Cell("de", "en", {"map": 0.75}, 2),
    ...            Cell("de", "de", {"map": 1.0}, 2)],
    ...     multi=[Cell("en", MULTI, {"map": 0.5}, 2, bias=3.0), Cell("de", MULTI, {"map": 0.5}, 2, bias=1.0)])
    >>> record.map
    {'mono': 0.75, 'cross': 0.5, 'multi': 0.5}
    >>> EvaluationResults.from_json(record.to_json()).bias
    2.0
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hybrid_plugin.errors import DataError
from hybrid_plugin.evaluation.cells import (
    MEASURES,
    MULTI,
    RESULTS_FILE,
    SETTINGS,
    TREC_MEASURES,
    Cell,
    DatasetInfo,
    Measure,
    ModelInfo,
    Setting,
    is_finite_number,
    mean_of_present,
    split_pair,
)
from hybrid_plugin.files import atomic_write

__all__ = [
    "MEASURES",
    "MULTI",
    "RESULTS_FILE",
    "SCHEMA_VERSION",
    "SETTINGS",
    "TREC_MEASURES",
    "Cell",
    "DatasetInfo",
    "EvaluationResults",
    "Measure",
    "ModelInfo",
    "Setting",
    "load_results",
    "split_pair",
]

SCHEMA_VERSION = 2
"""Version of the JSON form. 1: files without the field (same layout); 2: ``schema_version`` added."""

# --------------------------------------------------------------------------------------------------- record


@dataclass
class EvaluationResults:
    """Everything one evaluation measured, with its provenance.

    Build it with :meth:`from_cells` (the macro means are computed there), read it with :meth:`load` /
    :meth:`from_json`, write it with :meth:`save` / :meth:`to_json`.

    Attributes:
        model, dataset: what was evaluated.
        pairs: ``pairs["en-de"]`` = the :class:`Cell` of English queries against the German pool.
        multi: ``multi["en"]`` = the :class:`Cell` of English queries against the multilingual pool.
        summary: ``summary[setting][measure]`` = the macro mean over the setting's cells.
        bias: mean language bias over the multilingual cells (None without a multilingual pool).
        per_query: full-ranking AP per query: ``per_query["en-de"]["qid"]``, ``per_query["multi:en"]["qid"]``.
        settings: the evaluation's options (depth, batch size, similarity, run tag, which runs were written).
        files, versions, timings, created, encoding: provenance.
        training: how the model was trained (set by the study), or None.
    """

    model: ModelInfo
    dataset: DatasetInfo
    pairs: dict[str, Cell]
    multi: dict[str, Cell]
    summary: dict[str, dict[str, float | None]]
    bias: float | None
    per_query: dict[str, dict[str, float]] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    created: str = ""
    encoding: dict[str, Any] | None = None
    training: dict[str, Any] | None = None
    schema_version: int = SCHEMA_VERSION

    # ------------------------------------------------------------------------------------------ building

    @classmethod
    def from_cells(cls, *, model: ModelInfo, dataset: DatasetInfo, pairs: Iterable[Cell], multi: Iterable[Cell],
                   **provenance: Any) -> EvaluationResults:
        """Build the record from its cells; ``provenance`` are the remaining fields (``per_query``, ...)."""
        pairs = {c.key: c for c in pairs}
        multi = {c.key: c for c in multi}
        groups: dict[str, list[Cell]] = {s: [] for s in SETTINGS}
        for cell in (*pairs.values(), *multi.values()):
            groups[cell.setting].append(cell)
        summary = {s: {m: mean_of_present(c.values.get(m) for c in groups[s]) for m in MEASURES} for s in SETTINGS}
        bias = mean_of_present(c.bias for c in multi.values())
        return cls(model=model, dataset=dataset, pairs=pairs, multi=multi, summary=summary, bias=bias,
                   **provenance)

    def with_training(self, training: Mapping[str, Any]) -> EvaluationResults:
        """A copy that records how the model was trained."""
        return replace(self, training=dict(training))

    # ------------------------------------------------------------------------------------------ reading

    @property
    def languages(self) -> list[str]:
        """The dataset's languages in order (else in order of first appearance in the pairs)."""
        if self.dataset.languages:
            return list(self.dataset.languages)
        seen: list[str] = []
        for cell in self.pairs.values():
            for lang in (cell.query_language, cell.pool_language):
                if lang not in seen:
                    seen.append(lang)
        return seen

    @property
    def map(self) -> dict[str, float | None]:
        """Full-ranking mAP per setting: ``{"mono": …, "cross": …, "multi": …}``."""
        return {s: self.summary[s]["map"] for s in SETTINGS}

    def measure(self, setting: str, measure: str) -> float | None:
        """The macro mean of ``measure`` in ``setting``; ``"bias"`` is the language bias (multi only)."""
        if measure == "bias":
            return self.bias if setting == "multi" else None
        return self.summary.get(setting, {}).get(measure)

    def pair(self, query_language: str, pool_language: str) -> Cell | None:
        """The cell of one pair (``pool_language="multi"`` for the multilingual pool), or None."""
        if pool_language == MULTI:
            return self.multi.get(query_language)
        return self.pairs.get(f"{query_language}-{pool_language}")

    @property
    def title(self) -> str:
        return f"{self.model.name} on {self.dataset.title}"

    # ------------------------------------------------------------------------------------------ JSON

    def to_dict(self) -> dict[str, Any]:
        """The JSON object (key order as in ``results.json``)."""
        data: dict[str, Any] = {
            "schema_version": self.schema_version,
            "model": self.model.to_dict(),
            "dataset": self.dataset.to_dict(),
            "map": self.map,
            "bias": self.bias,
            "measures": {s: dict(v) for s, v in self.summary.items()},
            "pairs": {k: _cell_dict(c) for k, c in self.pairs.items()},
            "multi_by_language": {k: _cell_dict(c) for k, c in self.multi.items()},
            "settings": dict(self.settings),
            "files": dict(self.files),
            "versions": dict(self.versions),
            "timings": dict(self.timings),
            "created": self.created,
        }
        if self.encoding is not None:
            data["encoding"] = dict(self.encoding)
        if self.training is not None:
            data["training"] = dict(self.training)
        if self.per_query:
            data["per_query"] = self.per_query
        return data

    def to_json(self) -> str:
        """JSON text: indented, except the per-query APs (one compact line per setting, so diffs stay small)."""
        data = self.to_dict()
        per_query = data.pop("per_query", None)
        text = json.dumps(_finite(data), indent=1, ensure_ascii=False)
        if not per_query:
            return text + "\n"
        lines = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v, separators=(',', ':'), ensure_ascii=False)}"
                            for k, v in per_query.items())
        return text[:-2] + ',\n "per_query": {\n' + lines + "\n }\n}\n"

    @classmethod
    def from_json(cls, text: str, path: str | Path | None = None) -> EvaluationResults:
        """Parse and check a results file's text; :class:`DataError` names ``path`` and the field at fault."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"not a valid JSON file ({exc})", path) from None
        return _Reader(path).record(data)

    @classmethod
    def load(cls, path: str | Path) -> EvaluationResults:
        """Read ``results.json`` (or the folder that holds it)."""
        path = Path(path)
        if path.is_dir():
            path = path / RESULTS_FILE
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise DataError("results file not found", path) from None
        except UnicodeDecodeError as exc:
            raise DataError(f"not a UTF-8 text file ({exc.reason} at byte {exc.start})", path) from None
        except OSError as exc:
            raise DataError(f"cannot read the results file ({exc.strerror})", path) from None
        return cls.from_json(text, path)

    def save(self, folder: str | Path) -> Path:
        """Write ``folder/results.json`` atomically; return its path."""
        path = Path(folder) / RESULTS_FILE
        with atomic_write(path) as handle:
            handle.write(self.to_json())
        return path


def load_results(path: str | Path) -> EvaluationResults:
    """Read and check a ``results.json`` (or the folder that holds it): :meth:`EvaluationResults.load`."""
    return EvaluationResults.load(path)


# --------------------------------------------------------------------------------------------------- JSON parts


def _cell_dict(cell: Cell) -> dict[str, Any]:
    data: dict[str, Any] = {"map": cell.values.get("map")}
    if cell.bias is not None:
        data["bias"] = cell.bias
    data.update({m: v for m, v in cell.values.items() if m != "map"})
    data["queries"] = cell.queries
    return data


def _finite(value: Any) -> Any:
    """NaN and infinities become null (JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


_JSON_KINDS = {dict: "object", list: "array", str: "string", int: "integer", float: "number", bool: "boolean"}


def _kind_name(kind: type | tuple[type, ...]) -> str:
    """``dict`` -> ``"an object"`` (JSON's names, with their article)."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = [_JSON_KINDS.get(k, k.__name__) for k in kinds]
    return ("an " if names[0][0] in "aeiou" else "a ") + " or ".join(names)


class _Reader:
    """Checks a parsed results object field by field; every error names the file and the field."""

    def __init__(self, path: str | Path | None) -> None:
        self.path = path

    def fail(self, message: str) -> DataError:
        return DataError(message, self.path)

    def field(self, mapping: Any, key: str, where: str, kind: type | tuple[type, ...] | None = None,
              optional: bool = False) -> Any:
        if not isinstance(mapping, dict):
            raise self.fail(f"field '{where.rstrip('.') or 'results'}' must be an object")
        if key not in mapping:
            if optional:
                return None
            raise self.fail(f"missing required field '{where}{key}'")
        value = mapping[key]
        if value is None and optional:
            return None
        if kind is float:
            if not is_finite_number(value):
                raise self.fail(f"field '{where}{key}' must be a finite number but got {value!r}")
            return float(value)
        if kind is not None and (not isinstance(value, kind) or (kind is int and isinstance(value, bool))):
            raise self.fail(f"field '{where}{key}' must be {_kind_name(kind)} but got "
                            f"{_JSON_KINDS.get(type(value), type(value).__name__)}")
        return value

    def table(self, mapping: Any, key: str, where: str, value_kind: type | tuple[type, ...]) -> dict[str, Any]:
        """An optional object whose values all have ``value_kind`` (``{}`` when absent)."""
        table = self.field(mapping, key, where, dict, optional=True) or {}
        for name, value in table.items():
            self.field(table, name, f"{where}{key}.", value_kind)
        return table

    def number(self, mapping: Mapping[str, Any], key: str, where: str) -> float | None:
        value = mapping.get(key)
        if value is None:
            return None
        if not is_finite_number(value):
            raise self.fail(f"field '{where}{key}' must be a finite number or null but got {value!r}")
        return float(value)

    def cell(self, entry: Any, query: str, pool: str, where: str) -> Cell:
        self.field(entry, "map", where, float)
        values = {m: self.number(entry, m, where) for m in MEASURES if m in entry}
        queries = self.field(entry, "queries", where, int, optional=True) or 0
        return Cell(query, pool, values, int(queries), self.number(entry, "bias", where))

    def model(self, data: dict[str, Any]) -> ModelInfo:
        model = self.field(data, "model", "", dict)
        self.field(model, "name", "model.", str)
        self.field(model, "path", "model.", str, optional=True)
        self.table(model, "prompts", "model.", str)
        return ModelInfo.from_dict(model)

    def dataset(self, data: dict[str, Any]) -> DatasetInfo:
        dataset = self.field(data, "dataset", "", dict)
        self.field(dataset, "name", "dataset.", str)
        languages = self.field(dataset, "languages", "dataset.", list, optional=True) or []
        if not all(isinstance(lang, str) for lang in languages):
            raise self.fail("field 'dataset.languages' must be an array of strings")
        limit = self.field(dataset, "limit", "dataset.", int, optional=True)
        if limit is not None and limit < 0:
            raise self.fail(f"field 'dataset.limit' must be a positive integer or null but got {limit}")
        self.table(dataset, "sources", "dataset.", str)
        for name in ("questions", "candidates"):
            self.table(dataset, name, "dataset.", int)
        try:
            return DatasetInfo.from_dict(dataset)
        except ValueError as exc:  # dataset.split
            raise self.fail(f"field 'dataset.split': {exc}") from None

    def summary(self, data: dict[str, Any]) -> dict[str, dict[str, float | None]]:
        maps = self.field(data, "map", "", dict)
        measures = self.field(data, "measures", "", dict, optional=True) or {}
        summary = {}
        for setting in SETTINGS:
            row = self.field(measures, setting, "measures.", dict, optional=True) or {}
            summary[setting] = {m: self.number(row, m, f"measures.{setting}.") for m in MEASURES}
            summary[setting]["map"] = self.field(maps, setting, "map.", float)
        return summary

    def cells(self, data: dict[str, Any], languages: Sequence[str]) -> tuple[dict[str, Cell], dict[str, Cell]]:
        pairs_data = self.field(data, "pairs", "", dict)
        if not pairs_data:
            raise self.fail("field 'pairs' is empty")
        try:
            pairs = {k: self.cell(v, *split_pair(k, languages), f"pairs.{k}.") for k, v in pairs_data.items()}
        except DataError as exc:
            raise self.fail(exc.message) from None
        multi = {k: self.cell(v, k, MULTI, f"multi_by_language.{k}.")
                 for k, v in self.field(data, "multi_by_language", "", dict).items()}
        return pairs, multi

    def record(self, data: Any) -> EvaluationResults:
        if not isinstance(data, dict):
            raise self.fail(f"expected a JSON object but got {_JSON_KINDS.get(type(data), type(data).__name__)}")
        version = data.get("schema_version", 1)
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise self.fail(f"field 'schema_version' must be a positive integer but got {version!r}")
        if version > SCHEMA_VERSION:
            raise self.fail(f"written with results schema {version}, but this hybrid-plugin reads schema "
                            f"{SCHEMA_VERSION} and older: upgrade hybrid-plugin (pip install -U hybrid-plugin)")
        model, dataset = self.model(data), self.dataset(data)
        pairs, multi = self.cells(data, dataset.languages)
        optional = {name: self.field(data, name, "", dict, optional=True)
                    for name in ("per_query", "settings", "files", "versions", "timings", "encoding", "training")}
        return EvaluationResults(
            model=model, dataset=dataset, pairs=pairs, multi=multi, summary=self.summary(data),
            bias=self.field(data, "bias", "", float, optional=True), per_query=optional["per_query"] or {},
            settings=optional["settings"] or {}, files=optional["files"] or {}, versions=optional["versions"] or {},
            timings=optional["timings"] or {}, created=str(data.get("created") or ""), encoding=optional["encoding"],
            training=optional["training"], schema_version=SCHEMA_VERSION)
