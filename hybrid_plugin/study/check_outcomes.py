"""The outcomes of checking a 2CR record (``hybrid-plugin reproduce --check RECORD --outcomes FILE``), kept as
JSON so that the leaderboard page can show each condition's OK / OKish / FAIL status: :func:`write_outcomes`
(merged, by condition name, with the outcomes the file already holds) and :func:`read_outcomes`.

The file names the record it checked by its SHA-256; a page built against a changed record refuses the stale
outcomes instead of showing them. The leaderboard page reads ``record-check.json`` (:data:`OUTCOMES_FILE`)
beside a study's ``record.yaml``.

What does not live here: the record and the check itself (:mod:`hybrid_plugin.study.record`).

Example::

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "record.yaml").write_text("conditions: []\\n")
    >>> ok = CheckOutcome("xquad-r.base-seed0.en-en", "OK", {"R@1": 0.5}, {"R@1": 0.5})
    >>> path = write_outcomes([ok], folder / OUTCOMES_FILE, record=folder / "record.yaml")
    >>> read_outcomes(path, record=folder / "record.yaml")["xquad-r.base-seed0.en-en"].status
    'OK'
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from hybrid_plugin.errors import DataError
from hybrid_plugin.files import atomic_write, sha256_file
from hybrid_plugin.study.record import CheckOutcome

__all__ = ["OUTCOMES_FILE", "STATUSES", "read_outcomes", "write_outcomes"]

OUTCOMES_FILE = "record-check.json"
"""The name the leaderboard page looks for beside a study's ``record.yaml``."""
STATUSES = ("OK", "OKish", "FAIL")
"""The statuses of a checked condition, best first (as on Pyserini's 2CR pages)."""


def _outcome_dict(outcome: CheckOutcome) -> dict[str, Any]:
    return {"status": outcome.status, "expected": dict(outcome.expected),
            "got": {k: v for k, v in outcome.got.items() if math.isfinite(v)}, "message": outcome.message}


def write_outcomes(outcomes: Iterable[CheckOutcome], path: str | Path, *, record: str | Path) -> Path:
    """Write the outcomes of a check to ``path`` (JSON, atomically), merged with those it already holds.

    Args:
        outcomes (Iterable[CheckOutcome]): what :func:`~hybrid_plugin.study.record.check_record` returned.
        path (str | Path): the JSON file (``record-check.json`` beside the record, for the leaderboard page).
        record (str | Path): the ``record.yaml`` that was checked (its SHA-256 is kept with the outcomes).

    Returns:
        The path written.

    Raises:
        DataError: ``path`` exists and holds outcomes of another record, or is malformed.
    """
    path, record = Path(path), Path(record)
    merged: dict[str, dict[str, Any]] = {}
    if path.exists():
        merged = {name: _outcome_dict(o) for name, o in read_outcomes(path, record=record).items()}
    merged.update((o.name, _outcome_dict(o)) for o in outcomes)
    data = {"record": record.name, "record_sha256": sha256_file(record), "outcomes": dict(sorted(merged.items()))}
    with atomic_write(path) as handle:
        json.dump(data, handle, indent=1, ensure_ascii=False)
        handle.write("\n")
    return path


def _scores(value: Any, field: str, path: Path) -> dict[str, float]:
    if not isinstance(value, Mapping) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value.values()):
        raise DataError(f"field {field!r} must map measure names to finite numbers", path)
    return {str(k): float(v) for k, v in value.items()}


def _outcome(name: str, value: Any, path: Path) -> CheckOutcome:
    field = f"outcomes.{name}"
    if not isinstance(value, Mapping):
        raise DataError(f"field {field!r} must be an object", path)
    if value.get("status") not in STATUSES:
        raise DataError(f"field {field + '.status'!r} must be one of {', '.join(STATUSES)} but got "
                        f"{value.get('status')!r}", path)
    message = value.get("message", "")
    if not isinstance(message, str):
        raise DataError(f"field {field + '.message'!r} must be a string", path)
    return CheckOutcome(name, value["status"], _scores(value.get("expected"), f"{field}.expected", path),
                        _scores(value.get("got"), f"{field}.got", path), message)


def read_outcomes(path: str | Path, *, record: str | Path | None = None) -> dict[str, CheckOutcome]:
    """Read a check's outcomes, by condition name.

    Args:
        path (str | Path): the JSON file :func:`write_outcomes` wrote.
        record (str | Path, optional): the ``record.yaml`` the outcomes must belong to (its SHA-256 is compared).

    Raises:
        DataError: the file cannot be read, is not JSON, has a malformed field, or belongs to another record (the
            message names the file and the field).
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DataError(f"cannot read the check outcomes ({exc.strerror})", path) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"not a valid JSON file ({exc})", path) from None
    if not isinstance(data, dict) or not isinstance(data.get("outcomes"), dict):
        raise DataError('expected a JSON object with an "outcomes" object', path)
    digest = data.get("record_sha256")
    if not isinstance(digest, str):
        raise DataError("field 'record_sha256' must be a string", path)
    if record is not None and digest != sha256_file(record):
        raise DataError(f"these outcomes are of another version of {Path(record).name} (its SHA-256 differs): "
                        "check the record again", path)
    return {str(name): _outcome(str(name), value, path) for name, value in data["outcomes"].items()}
