"""The low-resource study's summary record: typed rows and its one JSON form (``summary.json``).

* :class:`GroupRow` -- one system's measure on one set, per resource group and overall (seed means);
* :class:`TestRow` -- a paired randomisation test of a hybrid model against a baseline;
* :class:`LanguageRow` -- one system's value for one language (what the per-language plots draw);
* :class:`PublishedRow` -- a published number next to ours where the protocol matches;
* :class:`LowresSummary` -- all of them, with the settings; :meth:`LowresSummary.to_json` /
  :meth:`LowresSummary.from_json` (a :class:`~hybrid_plugin.errors.DataError` naming the field that is wrong).

Example::

    >>> row = GroupRow("tatoeba", "mlqa-r", "xx", "accuracy", 1, {"trained": 0.9, "unseen": 0.2}, 0.55)
    >>> summary = LowresSummary({"quick": True}, [row], [], [], [], [])
    >>> LowresSummary.from_json(summary.to_json()).rows[0].values["unseen"]
    0.2
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from hybrid_plugin.data.collection import read_record_text
from hybrid_plugin.errors import DataError
from hybrid_plugin.files import atomic_write

__all__ = ["SUMMARY_FILE", "SUMMARY_SCHEMA", "GroupRow", "LanguageRow", "LowresSummary", "PublishedRow", "TestRow"]

SUMMARY_FILE = "summary.json"
SUMMARY_SCHEMA = 1


@dataclass(frozen=True)
class GroupRow:
    """``system`` (``xx``, ``hybrid-a0.5+lsar``) trained on ``train_set`` (``base``: untuned): ``measure`` on
    ``set_name`` per resource group (None: no language of the group) and over all cells, averaged over ``seeds``."""

    set_name: str
    train_set: str
    system: str
    measure: str
    seeds: int
    values: dict[str, float | None]
    overall: float | None


@dataclass(frozen=True)
class TestRow:
    """``system`` minus ``baseline`` on ``set_name`` / ``setting`` (``cross``, ``multi``, ``bitext``): the mean
    per-query difference, the two-sided p-value of the paired randomisation test, the queries paired."""

    __test__ = False  # not a pytest test class

    set_name: str
    train_set: str
    setting: str
    system: str
    baseline: str
    mean_diff: float
    p_value: float
    n: int


@dataclass(frozen=True)
class LanguageRow:
    """One system's ``value`` (``measure``) for one ``language`` of ``set_name``, with its resource ``group``."""

    set_name: str
    train_set: str
    system: str
    language: str
    group: str
    measure: str
    value: float


@dataclass(frozen=True)
class PublishedRow:
    """A published number: ``model`` on ``set_name`` (``measure`` over ``scope``), from ``source``; ``ours`` is
    the study's number under the same protocol, or None with ``note`` saying why it is not comparable."""

    set_name: str
    model: str
    measure: str
    scope: str
    published: float
    source: str
    ours: float | None
    note: str


_ROWS: dict[str, type] = {"rows": GroupRow, "tests": TestRow, "languages": LanguageRow, "published": PublishedRow}


def _row(kind: type, data: Any, where: str, path: str | Path | None) -> Any:
    if not isinstance(data, dict):
        raise DataError(f"{where} must be an object", path)
    names = [f.name for f in fields(kind)]
    missing = [n for n in names if n not in data]
    if missing:
        raise DataError(f"field '{where}.{missing[0]}' is missing", path)
    for f in fields(kind):
        value = data[f.name]
        expected = str(f.type)
        ok = (value is None and "None" in expected) or \
            (isinstance(value, dict) and expected.startswith("dict")) or \
            (isinstance(value, str) and expected == "str") or \
            (isinstance(value, int) and not isinstance(value, bool) and expected.startswith(("int", "float"))) or \
            (isinstance(value, float) and expected.startswith("float"))
        if not ok:
            raise DataError(f"field '{where}.{f.name}' must be {expected} but got {value!r}", path)
    return kind(**{n: data[n] for n in names})


@dataclass(frozen=True)
class LowresSummary:
    """The study's summary: its settings and model list, and the rows of :mod:`hybrid_plugin.lowres.record`.

    Attributes:
        settings: the study's plan (``lowres.json``) and the models evaluated.
        rows, tests, languages, published: the typed rows.
        missing: model folders of the ``reproduce`` study that were not trained yet.
    """

    settings: dict[str, Any]
    rows: list[GroupRow]
    tests: list[TestRow]
    languages: list[LanguageRow]
    published: list[PublishedRow]
    missing: list[str]
    schema_version: int = SUMMARY_SCHEMA

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": self.schema_version, "kind": "lowres-summary", "settings": self.settings,
                **{key: [asdict(r) for r in getattr(self, key)] for key in _ROWS}, "missing": list(self.missing)}

    def to_json(self) -> str:
        """The one JSON form (``summary.json``)."""
        return json.dumps(self.to_dict(), indent=1, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str, path: str | Path | None = None) -> LowresSummary:
        """Read :meth:`to_json`'s form; :class:`DataError` naming the field that is wrong."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"not JSON ({exc.msg}, line {exc.lineno})", path) from None
        if not isinstance(data, dict) or data.get("kind") != "lowres-summary":
            raise DataError('not a low-resource summary (expected "kind": "lowres-summary")', path)
        if data.get("schema_version") != SUMMARY_SCHEMA:
            raise DataError(f"schema_version {data.get('schema_version')!r} is not {SUMMARY_SCHEMA}", path)
        if not isinstance(data.get("settings"), dict):
            raise DataError("field 'settings' must be an object", path)
        parts: dict[str, list[Any]] = {}
        for key, kind in _ROWS.items():
            rows = data.get(key)
            if not isinstance(rows, list):
                raise DataError(f"field '{key}' must be an array", path)
            parts[key] = [_row(kind, r, f"{key}[{i}]", path) for i, r in enumerate(rows)]
        missing = data.get("missing")
        if not isinstance(missing, list) or not all(isinstance(m, str) for m in missing):
            raise DataError("field 'missing' must be an array of strings", path)
        return cls(data["settings"], parts["rows"], parts["tests"], parts["languages"], parts["published"], missing)

    def save(self, folder: str | Path) -> Path:
        """Write ``folder/summary.json`` atomically."""
        path = Path(folder) / SUMMARY_FILE
        with atomic_write(path) as handle:
            handle.write(self.to_json())
        return path

    @classmethod
    def load(cls, path: str | Path) -> LowresSummary:
        """Read a ``summary.json`` (or the folder holding one)."""
        text, path = read_record_text(path, SUMMARY_FILE)
        return cls.from_json(text, path)
