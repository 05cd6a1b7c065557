"""The metadata of a hybrid training set: which item and languages each row has, and which passage texts it shows.

A training set for the hybrid sampler has one row per (item, query language, passage language) that exists, with
the text columns the loss sees (``anchor``, ``positive``, optionally ``negative``) and integer metadata columns
that it must never see:

* ``hybrid_item`` -- the parallel item (question id) the row belongs to;
* ``hybrid_query_language`` / ``hybrid_passage_language`` -- language codes (``ClassLabel`` columns, plain
  integers or strings);
* optional ``hybrid_positive_text`` / ``hybrid_negative_text`` -- integer ids of the passage texts (equal texts,
  equal ids; ``-1`` for none). Without them the sampler dictionary-encodes the visible passage columns itself.

**Keeping the metadata out of the loss.** sentence-transformers' data collator tokenises every column that a row
shows. The metadata columns therefore stay in the dataset's Arrow table but are hidden from its rows with
``dataset.with_format(columns=[text columns])`` (:func:`hide_metadata_columns`;
:func:`hybrid_plugin.training.build_training_dataset` does it): ``dataset[i]`` -- what the DataLoader and the
collator see -- holds only the texts, while the sampler reads the metadata once, at construction, as numpy arrays
(:meth:`PairMetadata.from_dataset`), and refuses a dataset whose rows would show a metadata column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from hybrid_plugin.errors import DataError, UsageError

if TYPE_CHECKING:
    from datasets import Dataset

__all__ = [
    "ITEM_COLUMN",
    "METADATA_COLUMNS",
    "PASSAGE_LANGUAGE_COLUMN",
    "QUERY_LANGUAGE_COLUMN",
    "TEXT_ID_COLUMNS",
    "PairMetadata",
    "hide_metadata_columns",
]

ITEM_COLUMN = "hybrid_item"
QUERY_LANGUAGE_COLUMN = "hybrid_query_language"
PASSAGE_LANGUAGE_COLUMN = "hybrid_passage_language"
TEXT_ID_COLUMNS = ("hybrid_positive_text", "hybrid_negative_text")
METADATA_COLUMNS = (ITEM_COLUMN, QUERY_LANGUAGE_COLUMN, PASSAGE_LANGUAGE_COLUMN, *TEXT_ID_COLUMNS)


@dataclass(frozen=True, eq=False)
class PairMetadata:
    """Integer-coded metadata of a training set's rows (one row = one question-passage pair).

    Args:
        item (np.ndarray): ``(N,)`` item (parallel question) index of each row, ``0 <= item``.
        query_language (np.ndarray): ``(N,)`` index into ``languages`` of each row's question.
        passage_language (np.ndarray): ``(N,)`` index into ``languages`` of each row's passage.
        texts (np.ndarray): ``(N, T)`` ids of the passage texts each row puts into a batch (positive, then hard
            negative); equal texts have equal ids; ``-1`` means none. ``T`` may be 0 (no text checks).
        languages (tuple[str, ...]): the language codes.

    Example::

        meta = PairMetadata.from_arrays(item=[0, 0, 1, 1], query_language=[0, 1, 0, 1],
                                        passage_language=[0, 0, 1, 1], languages=("en", "de"))
        meta.kind_of_row()   # array([0, 2, 1, 3]): en, de-en, en-de, de
    """

    item: np.ndarray
    query_language: np.ndarray
    passage_language: np.ndarray
    texts: np.ndarray
    languages: tuple[str, ...]

    def __post_init__(self) -> None:
        n = self.item.shape[0]
        for name in ("item", "query_language", "passage_language"):
            array = getattr(self, name)
            if array.ndim != 1 or array.shape[0] != n:
                raise DataError(f"metadata {name} must be a vector of {n} integers, got shape {array.shape}")
            if n and int(array.min()) < 0:
                raise DataError(f"metadata {name} holds a negative value {int(array.min())}")
        if self.texts.ndim != 2 or self.texts.shape[0] != n:
            raise DataError(f"metadata texts must have shape ({n}, T), got {self.texts.shape}")
        num_languages = len(self.languages)
        for name in ("query_language", "passage_language"):
            array = getattr(self, name)
            if n and int(array.max()) >= num_languages:
                raise DataError(f"metadata {name} holds language index {int(array.max())} but only "
                                f"{num_languages} languages are named: {list(self.languages)}")
        # sparse ids (hashes, database keys) become dense codes: planning indexes arrays by them
        object.__setattr__(self, "item", _dense_codes(self.item))
        object.__setattr__(self, "texts", _dense_codes(self.texts))

    @property
    def num_rows(self) -> int:
        return int(self.item.shape[0])

    @property
    def num_languages(self) -> int:
        return len(self.languages)

    @property
    def num_kinds(self) -> int:
        """Kinds are (query language, passage language) pairs: ``kind = q * L + p``; X-X kinds have ``q == p``."""
        return self.num_languages**2

    def kind_of_row(self) -> np.ndarray:
        return self.query_language.astype(np.int32) * self.num_languages + self.passage_language.astype(np.int32)

    def kind_of_row_at(self, rows: np.ndarray) -> np.ndarray:
        """Kinds of the given rows."""
        return self.query_language[rows].astype(np.int32) * self.num_languages + self.passage_language[rows]

    def kind_name(self, kind: int) -> str:
        """``"en"`` for an X-X kind, ``"en-de"`` (query-passage) for an X-Y kind."""
        q, p = divmod(int(kind), self.num_languages)
        return self.languages[q] if q == p else f"{self.languages[q]}-{self.languages[p]}"

    def is_xx(self) -> np.ndarray:
        """``(K,)`` bool: which kinds are X-X."""
        k = np.arange(self.num_kinds)
        return k // self.num_languages == k % self.num_languages

    @classmethod
    def from_arrays(
        cls,
        item: Sequence[int] | np.ndarray,
        query_language: Sequence[int] | np.ndarray,
        passage_language: Sequence[int] | np.ndarray,
        languages: Sequence[str],
        texts: Sequence[Sequence[int]] | np.ndarray | None = None,
    ) -> PairMetadata:
        """Build from plain sequences; ``texts`` ``(N, T)`` as in the class doc (None: no text checks)."""
        item_a = np.asarray(item, dtype=np.int64)
        n = item_a.shape[0]
        text_a = np.zeros((n, 0), dtype=np.int64) if texts is None else np.asarray(texts, dtype=np.int64)
        if text_a.ndim == 1:
            text_a = text_a[:, None]
        return cls(item_a, np.asarray(query_language, dtype=np.int16), np.asarray(passage_language, dtype=np.int16),
                   _drop_self_duplicates(text_a), tuple(languages))

    @classmethod
    def from_dataset(cls, dataset: Dataset) -> PairMetadata:
        """Read the metadata columns of a ``datasets.Dataset`` (see the module doc) as numpy arrays."""
        names = list(dataset.column_names)
        missing = [c for c in (ITEM_COLUMN, QUERY_LANGUAGE_COLUMN, PASSAGE_LANGUAGE_COLUMN) if c not in names]
        if missing:
            raise UsageError(f"HybridBatchSampler needs the metadata columns {missing} (hybrid_plugin.training."
                             f"build_training_dataset adds them); the dataset only has these columns: {names}")
        visible = _visible_columns(dataset)
        leaked = [c for c in METADATA_COLUMNS if c in visible]
        if leaked:
            raise UsageError(f"the metadata columns {leaked} would reach the loss as model inputs: hide them with "
                             "hybrid_plugin.sampling.hide_metadata_columns(dataset) (build_training_dataset does)")
        meta_columns = [c for c in METADATA_COLUMNS if c in names]
        table = dataset.with_format("arrow", columns=meta_columns)[:]  # applies any indices mapping (select/shuffle)
        item = _encode(table.column(ITEM_COLUMN), ITEM_COLUMN)[0]
        languages, qlang, plang = _encode_languages(dataset, table)
        text_columns = [c for c in TEXT_ID_COLUMNS if c in names]
        if text_columns:
            texts = np.stack([_int_column(table.column(c), c) for c in text_columns], axis=1)
        else:
            texts = _encode_passage_texts(dataset, visible)
        return cls(item, qlang, plang, _drop_self_duplicates(texts), languages)


def _dense_codes(ids: np.ndarray) -> np.ndarray:
    """``ids`` unchanged when they are small non-negative integers, else ranks (``-1`` stays ``-1``)."""
    ids = np.asarray(ids, dtype=np.int64)
    if ids.size == 0 or int(ids.max()) < 4 * ids.size + (1 << 20):
        return ids
    present = ids >= 0
    out = np.full(ids.shape, -1, dtype=np.int64)
    out[present] = np.unique(ids[present], return_inverse=True)[1]
    return out


def _visible_columns(dataset: Dataset) -> list[str]:
    """The columns a row shows (what the collator tokenises)."""
    if len(dataset) == 0:
        return list(dataset.format.get("columns") or dataset.column_names)
    return list(dataset[0].keys())


def _int_column(column: Any, name: str) -> np.ndarray:
    if column.null_count:
        raise DataError(f"metadata column {name} has {column.null_count} missing values")
    if not pa.types.is_integer(column.type):
        raise DataError(f"metadata column {name} must hold integers, got {column.type}")
    return column.to_numpy().astype(np.int64, copy=False)


def _encode(column: Any, name: str) -> tuple[np.ndarray, list[str] | None]:
    """Integers pass through; strings become dense codes (returned with their values)."""
    if pa.types.is_integer(column.type):
        return _int_column(column, name), None
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        if column.null_count:
            raise DataError(f"metadata column {name} has {column.null_count} missing values")
        encoded = column.combine_chunks().dictionary_encode() if isinstance(column, pa.ChunkedArray) \
            else column.dictionary_encode()
        return encoded.indices.to_numpy().astype(np.int64), encoded.dictionary.to_pylist()
    raise DataError(f"metadata column {name} must hold integers or strings, got {column.type}")


def _encode_languages(dataset: Dataset, table: Any) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    from datasets import ClassLabel  # heavy: needed only when a dataset is read

    q_col, p_col = table.column(QUERY_LANGUAGE_COLUMN), table.column(PASSAGE_LANGUAGE_COLUMN)
    if pa.types.is_string(q_col.type) or pa.types.is_large_string(q_col.type):
        both = pa.chunked_array(list(q_col.chunks) + list(p_col.chunks), type=q_col.type)
        codes, values = _encode(both, "language")
        n = len(q_col)
        return tuple(values or ()), codes[:n], codes[n:]
    qlang = _int_column(q_col, QUERY_LANGUAGE_COLUMN)
    plang = _int_column(p_col, PASSAGE_LANGUAGE_COLUMN)
    features = dataset.features
    names: list[str] | None = None
    for column in (QUERY_LANGUAGE_COLUMN, PASSAGE_LANGUAGE_COLUMN):
        feature = features.get(column)
        if isinstance(feature, ClassLabel):
            if names is not None and list(feature.names) != names:
                raise DataError(f"{QUERY_LANGUAGE_COLUMN} and {PASSAGE_LANGUAGE_COLUMN} must use the same language "
                                f"names, got {names} and {list(feature.names)}")
            names = list(feature.names)
    if names is None:
        top = int(max(qlang.max(initial=-1), plang.max(initial=-1)))
        names = [str(i) for i in range(top + 1)]
    return tuple(names), qlang, plang


def _encode_passage_texts(dataset: Dataset, visible: list[str]) -> np.ndarray:
    """Text ids of the visible passage columns (every visible column after the first, the anchor)."""
    passage_columns = visible[1:]
    if not passage_columns:
        return np.zeros((len(dataset), 0), dtype=np.int64)
    table = dataset.with_format("arrow", columns=passage_columns)[:]
    chunks = [chunk for c in passage_columns for chunk in table.column(c).cast(pa.large_string()).chunks]
    codes, _ = _encode(pa.chunked_array(chunks, type=pa.large_string()), "passage texts")
    return codes.reshape(len(passage_columns), len(dataset)).T.copy()


def _drop_self_duplicates(texts: np.ndarray) -> np.ndarray:
    """A row never conflicts with itself: repeated ids within one row count once."""
    texts = np.ascontiguousarray(texts, dtype=np.int64)
    if texts.shape[1] > 1:
        texts = texts.copy()
        for j in range(1, texts.shape[1]):
            same = (texts[:, [j]] == texts[:, :j]).any(axis=1)
            texts[same, j] = -1
    return texts


def hide_metadata_columns(dataset: Dataset) -> Dataset:
    """A view of ``dataset`` whose rows show only its non-metadata columns (the metadata stay readable).

    Args:
        dataset (datasets.Dataset): a dataset with text columns and the metadata columns of the module doc.

    Returns:
        datasets.Dataset: the same data, formatted so that ``dataset[i]`` (and the collator) sees only the texts.

    Example::

        from datasets import Dataset
        ds = Dataset.from_dict({"anchor": ["q1", "q2"], "positive": ["p1", "p2"], "hybrid_item": [0, 1],
                                "hybrid_query_language": ["en", "de"], "hybrid_passage_language": ["en", "de"]})
        hide_metadata_columns(ds)[0]   # {'anchor': 'q1', 'positive': 'p1'}
    """
    columns = [c for c in dataset.column_names if c not in METADATA_COLUMNS]
    return dataset.with_format(columns=columns)
