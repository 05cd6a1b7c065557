"""The vocabulary of results and their small parts: settings, measures, and the cells, model and dataset records.

Every module that names a setting or a measure takes it from here (:data:`SETTINGS`, :data:`MEASURES`); the
whole record that holds these parts is :class:`hybrid_plugin.evaluation.results.EvaluationResults`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from hybrid_plugin.data.splits import SplitInfo
from hybrid_plugin.errors import DataError

__all__ = [
    "MEASURES",
    "MULTI",
    "RESULTS_FILE",
    "SETTINGS",
    "TREC_MEASURES",
    "Cell",
    "DatasetInfo",
    "Measure",
    "ModelInfo",
    "Setting",
    "is_finite_number",
    "is_positive_int",
    "mean_of_present",
    "split_pair",
]

Setting = Literal["mono", "cross", "multi"]
SETTINGS: tuple[Setting, ...] = ("mono", "cross", "multi")
"""mono: query and pool in one language; cross: query in X, pool in Y != X; multi: the pool of all languages."""

Measure = Literal["map", "R@1", "R@10", "nDCG@10", "AP@1000"]
MEASURES: tuple[Measure, ...] = ("map", "R@1", "R@10", "nDCG@10", "AP@1000")
"""``map`` is full-ranking mAP (the paper's figure, computed in process); the others come from ir_measures over
the depth-1000 runs (``AP@1000`` equals ``map`` up to the depth cut)."""
TREC_MEASURES: tuple[Measure, ...] = MEASURES[1:]

MULTI = "multi"
"""The pool language of the multilingual setting."""
RESULTS_FILE = "results.json"


# --------------------------------------------------------------------------------------------------- parts


@dataclass(frozen=True)
class Cell:
    """The scores of one query language against one pool (a language, or :data:`MULTI`).

    Args:
        query_language (str): language of the queries.
        pool_language (str): language of the pool, or ``"multi"``.
        values (dict): measure name (one of :data:`MEASURES`) -> macro mean over the queries (None: not computed
            or not finite).
        queries (int): queries evaluated.
        bias (float, optional): the mean language-bias rank distance (multilingual pool only).
    """

    query_language: str
    pool_language: str
    values: Mapping[str, float | None]
    queries: int = 0
    bias: float | None = None

    @property
    def key(self) -> str:
        """``"en-de"`` for a pair; the query language for a multilingual cell."""
        return self.query_language if self.pool_language == MULTI else f"{self.query_language}-{self.pool_language}"

    @property
    def setting(self) -> Setting:
        if self.pool_language == MULTI:
            return "multi"
        return "mono" if self.query_language == self.pool_language else "cross"

    def value(self, measure: str) -> float | None:
        """One measure (``"bias"`` included); None when it was not computed."""
        return self.bias if measure == "bias" else self.values.get(measure)


@dataclass(frozen=True)
class ModelInfo:
    """The model evaluated: display name, folder or hub id, prompts, and any other fields (e.g. BM25's k1, b)."""

    name: str
    path: str | None = None
    prompts: Mapping[str, str] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "path": self.path, "prompts": dict(self.prompts), **dict(self.extra)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelInfo:
        extra = {k: v for k, v in data.items() if k not in ("name", "path", "prompts")}
        return cls(data["name"], data.get("path"), dict(data.get("prompts") or {}), extra)


@dataclass(frozen=True)
class DatasetInfo:
    """The collection evaluated: name, languages (in order), checksum of its sources, the item limit, and the side
    of a development split it is (``split``, None for a whole collection)."""

    name: str
    languages: tuple[str, ...]
    checksum: str | None = None
    sources: Mapping[str, str] = field(default_factory=dict)
    limit: int | None = None
    items: int | None = None
    questions: Mapping[str, int] = field(default_factory=dict)
    candidates: Mapping[str, int] = field(default_factory=dict)
    split: SplitInfo | None = None

    @property
    def title(self) -> str:
        parts = [self.split.title] if self.split is not None else []
        parts += [f"first {self.limit} items"] if self.limit else []
        return self.name + (f" ({', '.join(parts)})" if parts else "")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "languages": list(self.languages), "checksum": self.checksum,
                "sources": dict(self.sources), "limit": self.limit, "items": self.items,
                "questions": dict(self.questions), "candidates": dict(self.candidates),
                "split": None if self.split is None else self.split.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DatasetInfo:
        split = data.get("split")
        return cls(data["name"], tuple(data.get("languages") or ()), data.get("checksum"),
                   dict(data.get("sources") or {}), data.get("limit") or None, data.get("items"),
                   dict(data.get("questions") or {}), dict(data.get("candidates") or {}),
                   None if split is None else SplitInfo.from_dict(split))


def is_finite_number(value: Any) -> bool:
    """A JSON number that is finite (``True`` / ``False`` are not numbers here)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def is_positive_int(value: Any) -> bool:
    """An integer >= 1 (``True`` is not one here)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def mean_of_present(values: Iterable[float | None]) -> float | None:
    """Mean of the finite values (None when there is none)."""
    present = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(present)) if present else None


def split_pair(key: str, languages: Iterable[str]) -> tuple[str, str]:
    """Split a pair key ``"<query>-<pool>"`` (``"en-de"``; ``"zh-cn-en"`` when ``languages`` has ``zh-cn``).

    Raises:
        DataError: the key is not two known languages joined by ``-``.
    """
    known = set(languages)
    candidates = [(key[:i], key[i + 1:]) for i, char in enumerate(key) if char == "-"]
    if known:
        matches = [c for c in candidates if c[0] in known and c[1] in known]
        if len(matches) == 1:
            return matches[0]
    elif len(candidates) == 1 and all(candidates[0]):
        return candidates[0]
    raise DataError(f"cannot read setting {key!r} as <query language>-<pool language>"
                    + (f" (languages: {sorted(known)})" if known else ""))
