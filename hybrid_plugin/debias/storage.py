"""The files of a fitted transform: ``debias.json`` (what it is, what it was fitted on, its digest) and
``debias.npz`` (its arrays), and the checks that read them back.

``debias.npz`` is written first, then ``debias.json``, each atomically (:func:`hybrid_plugin.files.atomic_write`);
the JSON holds the SHA-256 of the ``.npz``, so a folder whose files do not belong together is refused. Every
problem is one :class:`~hybrid_plugin.errors.DataError` that names the file and the field.

What does *not* live here: the record itself (:class:`hybrid_plugin.debias.transform.LanguageDebias`, whose
``save`` / ``load`` call these functions).

Example::

    import numpy as np
    write_debias_files("out", {"method": "center", ...}, {"mean.query.en": np.zeros(4)}, digest="...")
    fields, arrays, path = read_debias_files("out")
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from hybrid_plugin.errors import DataError
from hybrid_plugin.files import atomic_write, sha256_file
from hybrid_plugin.provenance import package_versions

__all__ = ["ARRAYS_FILE", "DEBIAS_FILE", "FORMAT", "FORMAT_VERSION", "read_debias_files", "write_debias_files"]

DEBIAS_FILE = "debias.json"
ARRAYS_FILE = "debias.npz"
FORMAT = "hybrid-plugin-debias"
FORMAT_VERSION = 1

_KINDS = {dict: "an object", list: "an array", str: "a string", int: "an integer", bool: "true or false"}


def write_debias_files(folder: str | Path, description: Mapping[str, Any], arrays: Mapping[str, np.ndarray],
                       digest: str) -> Path:
    """Write ``folder/debias.npz`` then ``folder/debias.json`` (each atomically); return the JSON's path.

    Args:
        folder (str | Path): created if needed.
        description (dict): the transform's JSON fields (``LanguageDebias.description()``).
        arrays (dict): name -> array (``LanguageDebias.arrays()``).
        digest (str): the transform's digest, checked again when it is read.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_write(folder / ARRAYS_FILE, "wb") as handle:
        np.savez(handle, **{name: np.asarray(array, dtype="<f8") for name, array in arrays.items()})
    data = {"format": FORMAT, "format_version": FORMAT_VERSION, **description, "arrays": ARRAYS_FILE,
            "arrays_sha256": sha256_file(folder / ARRAYS_FILE), "digest": digest,
            "versions": package_versions(["numpy", "sentence-transformers", "torch"])}
    path = folder / DEBIAS_FILE
    with atomic_write(path) as handle:
        handle.write(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    return path


class _Fields:
    """Checks the parsed JSON field by field; an error names the file and the field."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def get(self, mapping: Any, key: str, where: str, kind: type | tuple[type, ...], *, optional: bool = False) -> Any:
        if key not in mapping:
            raise DataError(f"missing field '{where}{key}'", self.path)
        value = mapping[key]
        if value is None and optional:
            return None
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if not isinstance(value, kinds) or (bool not in kinds and isinstance(value, bool)):
            wanted = " or ".join(_KINDS[k] for k in kinds) + (" or null" if optional else "")
            raise DataError(f"field '{where}{key}' must be {wanted} but got {json.dumps(value)[:60]}", self.path)
        return value

    def strings(self, mapping: Any, key: str, where: str) -> list[str]:
        values = self.get(mapping, key, where, list)
        if not all(isinstance(v, str) for v in values):
            raise DataError(f"field '{where}{key}' must be an array of strings", self.path)
        return values

    def table(self, mapping: Any, key: str, where: str, kind: type) -> dict[str, Any]:
        table = self.get(mapping, key, where, dict)
        for name in table:
            self.get(table, name, f"{where}{key}.", kind)
        return table

    def check(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise DataError("expected a JSON object", self.path)
        if data.get("format") != FORMAT:
            raise DataError(f"field 'format' must be {FORMAT!r} (a file written by hybrid-plugin debias) but got "
                            f"{json.dumps(data.get('format'))}", self.path)
        version = self.get(data, "format_version", "", int)
        if not 1 <= version <= FORMAT_VERSION:
            raise DataError(f"field 'format_version' is {version}, but this hybrid-plugin reads 1 to "
                            f"{FORMAT_VERSION}: upgrade hybrid-plugin", self.path)
        for key, kind in (("method", str), ("normalize", bool), ("dim", int), ("arrays_sha256", str),
                          ("digest", str)):
            self.get(data, key, "", kind)
        self.get(data, "rank", "", int, optional=True)
        self.strings(data, "languages", "")
        self.strings(data, "roles", "")
        source = self.get(data, "fitted_on", "", dict)
        for key, kind in (("dataset", str), ("checksum", str), ("seed", int), ("description", str)):
            self.get(source, key, "fitted_on.", kind)
        self.get(source, "per_language", "fitted_on.", int, optional=True)
        if "part" in source:
            self.get(source, "part", "fitted_on.", str, optional=True)
        self.strings(source, "languages", "fitted_on.")
        for role in self.table(source, "texts", "fitted_on.", dict):
            self.table(source["texts"], role, "fitted_on.texts.", int)
        model = self.get(data, "model", "", dict)
        self.get(model, "name", "model.", str)
        for key in ("path", "digest"):
            self.get(model, key, "model.", str, optional=True)
        self.table(model, "prompts", "model.", str)
        return data


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"not found: a folder written by 'hybrid-plugin debias' holds {DEBIAS_FILE}", path) from None
    except UnicodeDecodeError as exc:
        raise DataError(f"not UTF-8 text (byte {exc.start})", path) from None
    except json.JSONDecodeError as exc:
        raise DataError(f"not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}", path) from None


def _read_arrays(path: Path, expected_sha256: str, json_path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise DataError(f"not found (named by {json_path.name})", path)
    if sha256_file(path) != expected_sha256:
        raise DataError(f"does not match {json_path.name} (field 'arrays_sha256'): the two files were not written "
                        "together", path)
    try:
        with np.load(io.BytesIO(path.read_bytes()), allow_pickle=False) as npz:
            return {name: npz[name] for name in npz.files}
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise DataError(f"not a readable .npz file ({exc})", path) from None


def read_debias_files(folder: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray], Path]:
    """Read and check ``debias.json`` and ``debias.npz`` of ``folder`` (or of the folder of a ``debias.json``).

    Returns:
        tuple: the checked JSON fields, the arrays by name, the JSON's path (for later errors).

    Raises:
        DataError: a missing or malformed file, a field of the wrong type, an ``.npz`` that does not belong to
            the JSON.
    """
    folder = Path(folder)
    path = folder if folder.name == DEBIAS_FILE and folder.is_file() else folder / DEBIAS_FILE
    if not path.parent.is_dir():
        raise DataError("no such folder (expected one written by 'hybrid-plugin debias --out')", path.parent)
    data = _Fields(path).check(_read_json(path))
    if data.get("arrays") != ARRAYS_FILE:
        raise DataError(f"field 'arrays' must be {ARRAYS_FILE!r} but got {json.dumps(data.get('arrays'))}", path)
    return data, _read_arrays(path.parent / ARRAYS_FILE, data["arrays_sha256"], path), path
