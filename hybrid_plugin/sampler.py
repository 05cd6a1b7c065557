"""Hybrid batches for sentence-transformers: monolingual (X-X) and cross-lingual (X-Y) batches mixed by α.

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
``dataset.with_format(columns=[text columns])`` (:func:`hide_metadata_columns`; ``build_training_dataset`` in
:mod:`hybrid_plugin.training` does it): ``dataset[i]`` -- what the DataLoader and the collator see -- holds only the
texts, while the sampler reads the metadata once, at construction, as numpy arrays. The sampler refuses a dataset
whose rows would show a metadata column.

**Planning an epoch** is vectorised numpy over integer arrays (memory linear in the rows, no Python object per
pair): the kinds of the epoch's steps are drawn by quota (``round(α·steps)`` X-X steps, languages / pairs by their
weights), each kind's rows are dealt from reshuffled passes over that kind's pool, and batches that would repeat an
item or a positive passage (or put a positive among the hard negatives) are repaired by swapping rows with other
slots of the same kind (or, where swaps cannot help, redrawing a row). See :class:`HybridBatchSampler` for the
guarantees.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np
import torch
from sentence_transformers.base.sampler import DefaultBatchSampler

from hybrid_plugin.errors import DataError, UsageError

if TYPE_CHECKING:
    from datasets import Dataset

__all__ = [
    "HybridBatchSampler",
    "HybridBatchSamplerFactory",
    "PairMetadata",
    "KindPools",
    "EpochPlan",
    "plan_epoch",
    "kind_weights",
    "hide_metadata_columns",
    "find_hybrid_sampler",
    "ITEM_COLUMN",
    "QUERY_LANGUAGE_COLUMN",
    "PASSAGE_LANGUAGE_COLUMN",
    "TEXT_ID_COLUMNS",
    "METADATA_COLUMNS",
]

logger = logging.getLogger(__name__)

ITEM_COLUMN = "hybrid_item"
QUERY_LANGUAGE_COLUMN = "hybrid_query_language"
PASSAGE_LANGUAGE_COLUMN = "hybrid_passage_language"
TEXT_ID_COLUMNS = ("hybrid_positive_text", "hybrid_negative_text")
METADATA_COLUMNS = (ITEM_COLUMN, QUERY_LANGUAGE_COLUMN, PASSAGE_LANGUAGE_COLUMN, *TEXT_ID_COLUMNS)

LanguageWeights = Literal["uniform", "size"]
XYMode = Literal["pair_per_batch", "pair_per_example"]
Mixing = Literal["batch", "example"]

MAX_REPAIR_ROUNDS = 500
"""Rounds of conflict repair before planning gives up (a data set that cannot be batched without repeats)."""

_SWAP_ROUNDS = 40  # repair rounds that only swap (keeping every row's number of uses) ...
_STALL_ROUNDS = 10  # ... unless this many pass without progress; then swaps alternate with redraws
_CHUNK_SLOTS = 1 << 20  # slots checked at once when scanning a whole epoch for conflicts (bounds temporary memory)


# ---------------------------------------------------------------------------------------------------- metadata


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
                             "hybrid_plugin.sampler.hide_metadata_columns(dataset) (build_training_dataset does)")
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
    import pyarrow as pa

    if column.null_count:
        raise DataError(f"metadata column {name} has {column.null_count} missing values")
    if not pa.types.is_integer(column.type):
        raise DataError(f"metadata column {name} must hold integers, got {column.type}")
    return column.to_numpy().astype(np.int64, copy=False)


def _encode(column: Any, name: str) -> tuple[np.ndarray, list[str] | None]:
    """Integers pass through; strings become dense codes (returned with their values)."""
    import pyarrow as pa

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
    import pyarrow as pa
    from datasets import ClassLabel

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
    import pyarrow as pa

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


# ---------------------------------------------------------------------------------------------------- pools


@dataclass(frozen=True, eq=False)
class KindPools:
    """The rows of each kind (query language, passage language), and how many distinct items / texts each has.

    Args:
        order (np.ndarray): row indices sorted by kind (stable).
        starts (np.ndarray): ``(K + 1,)`` offsets into ``order``: kind ``k`` is ``order[starts[k]:starts[k+1]]``.
        counts (np.ndarray): ``(K,)`` rows per kind.
        distinct_items (np.ndarray): ``(K,)`` distinct items per kind.
        distinct_texts (np.ndarray): ``(K,)`` distinct positive passage texts per kind.
    """

    order: np.ndarray
    starts: np.ndarray
    counts: np.ndarray
    distinct_items: np.ndarray
    distinct_texts: np.ndarray

    @classmethod
    def build(cls, meta: PairMetadata) -> KindPools:
        kind = meta.kind_of_row()
        num_kinds = meta.num_kinds
        counts = np.bincount(kind, minlength=num_kinds)
        order = np.argsort(kind, kind="stable").astype(_index_dtype(meta.num_rows), copy=False)
        starts = np.zeros(num_kinds + 1, dtype=np.int64)
        np.cumsum(counts, out=starts[1:])
        distinct_items = _distinct_per_kind(kind, meta.item, num_kinds)
        if meta.texts.shape[1]:
            distinct_texts = _distinct_per_kind(kind, meta.texts[:, 0], num_kinds)
        else:
            distinct_texts = counts.copy()
        return cls(order, starts, counts, distinct_items, distinct_texts)

    def pool(self, kind: int) -> np.ndarray:
        return self.order[self.starts[kind]:self.starts[kind + 1]]


def _distinct_per_kind(kind: np.ndarray, values: np.ndarray, num_kinds: int) -> np.ndarray:
    """Distinct non-negative ``values`` per kind (``-1`` means none): a bincount when the key space is small,
    else one sort."""
    if kind.size == 0:
        return np.zeros(num_kinds, dtype=np.int64)
    span = int(values.max()) + 2
    keys = kind.astype(np.int64) * span + (values.astype(np.int64) + 1)
    if num_kinds * span <= 4 * kind.size + (1 << 20):
        present = np.bincount(keys, minlength=num_kinds * span).reshape(num_kinds, span) > 0
        present[:, 0] = False  # "no text" (-1)
        return present.sum(axis=1)
    keys.sort()
    first = np.ones(keys.size, dtype=bool)
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    keys = keys[first & (keys % span != 0)]
    return np.bincount(keys // span, minlength=num_kinds)


def _index_dtype(n: int) -> type:
    return np.int32 if n < np.iinfo(np.int32).max else np.int64


def kind_weights(
    meta: PairMetadata,
    pools: KindPools,
    *,
    global_batch: int,
    language_weights: LanguageWeights = "uniform",
    xy_mode: XYMode = "pair_per_batch",
    mixing: Mixing = "batch",
) -> tuple[np.ndarray, np.ndarray]:
    """Draw weights of the X-X kinds and of the X-Y kinds (each sums to 1, or is all zero if none is usable).

    A kind that fills whole batches on its own (X-X under ``mixing="batch"``; X-Y under ``"pair_per_batch"``)
    is usable when its pool holds at least ``global_batch`` distinct items and distinct positive passages;
    otherwise every non-empty kind is usable. ``"uniform"`` weighs usable kinds equally, ``"size"`` by their
    number of rows.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``(K,)`` weights of X-X kinds and ``(K,)`` weights of X-Y kinds.
    """
    is_xx = meta.is_xx()
    fills_batch = np.full(meta.num_kinds, mixing == "batch")
    if xy_mode == "pair_per_example":
        fills_batch &= is_xx
    big_enough = (pools.distinct_items >= global_batch) & (pools.distinct_texts >= global_batch)
    usable = (pools.counts > 0) & (~fills_batch | big_enough)
    base = pools.counts.astype(np.float64) if language_weights == "size" else np.ones(meta.num_kinds)
    weights = []
    for part in (is_xx, ~is_xx):
        w = np.where(usable & part, base, 0.0)
        total = w.sum()
        weights.append(w / total if total > 0 else w)
    return weights[0], weights[1]


# ---------------------------------------------------------------------------------------------------- planning


@dataclass(frozen=True, eq=False)
class EpochPlan:
    """An epoch's batches: ``rows[s]`` is the global batch of step ``s`` (``num_replicas * batch_size`` rows).

    Args:
        rows (np.ndarray): ``(S, G)`` dataset row of each slot.
        kinds (np.ndarray): ``(S, G)`` kind (``q * L + p``) of each slot.
        batch_size (int): rows per batch (per process).
        repair_rounds (int): conflict-repair rounds that planning needed.
        redrawn (int): slots whose row was redrawn from its pool because swapping could not make their batch free
            of repeats (pools where one passage answers more questions than a pass has batches).
    """

    rows: np.ndarray
    kinds: np.ndarray
    batch_size: int
    repair_rounds: int = 0
    redrawn: int = 0

    @property
    def num_steps(self) -> int:
        return int(self.rows.shape[0])

    def batches(self) -> np.ndarray:
        """``(S * num_replicas, batch_size)``: the batches in the order the DataLoader gets them (step by step;
        within a step, rank 0's batch first)."""
        return self.rows.reshape(-1, self.batch_size)

    def kind_counts(self, num_steps: int | None = None, start: int = 0, num_kinds: int | None = None) -> np.ndarray:
        """Rows per kind over steps ``[start, start + num_steps)`` (default: all)."""
        stop = self.num_steps if num_steps is None else min(self.num_steps, start + num_steps)
        flat = self.kinds[start:stop].ravel()
        return np.bincount(flat, minlength=num_kinds or 0)


def _round_random(x: float, rng: np.random.Generator) -> int:
    """``floor(x)`` or ``ceil(x)``, with expectation exactly ``x``."""
    low = math.floor(x)
    return low + int(rng.random() < x - low)


def _apportion(n: int, weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Split ``n`` into integer counts with expectation ``n * weights`` and each within 1 of it.

    The remainder goes to indices picked by systematic sampling on the fractional parts, which gives each index
    exactly its fractional part as probability.
    """
    expected = n * weights
    counts = np.floor(expected).astype(np.int64)
    fractions = expected - counts
    remainder = n - int(counts.sum())
    if remainder > 0:
        edges = np.cumsum(fractions)
        edges *= remainder / edges[-1]  # guard the rounding of the sum
        points = rng.random() + np.arange(remainder)
        picked = np.searchsorted(edges, points, side="right")
        np.add.at(counts, np.minimum(picked, len(counts) - 1), 1)
    return counts


def _quota_draw(n: int, weights: np.ndarray, rng: np.random.Generator, dtype: type) -> np.ndarray:
    """``n`` kinds in random order, each kind ``k`` about ``n * weights[k]`` times."""
    ids = np.flatnonzero(weights > 0)
    if n == 0:
        return np.empty(0, dtype=dtype)
    counts = _apportion(n, weights[ids] / weights[ids].sum(), rng)
    out = np.repeat(ids.astype(dtype), counts)
    rng.shuffle(out)
    return out


def _draw_slot_kinds(
    num_steps: int,
    global_batch: int,
    alpha: float,
    w_xx: np.ndarray,
    w_xy: np.ndarray,
    xy_mode: XYMode,
    mixing: Mixing,
    rng: np.random.Generator,
) -> np.ndarray:
    dtype = np.int16 if len(w_xx) < np.iinfo(np.int16).max else np.int32
    if mixing == "batch":
        n_xx = _round_random(alpha * num_steps, rng)
        step_xx = np.zeros(num_steps, dtype=bool)
        step_xx[:n_xx] = True
        rng.shuffle(step_xx)
        step_kind = np.zeros(num_steps, dtype=dtype)
        step_kind[step_xx] = _quota_draw(n_xx, w_xx, rng, dtype)
        if xy_mode == "pair_per_batch":
            step_kind[~step_xx] = _quota_draw(num_steps - n_xx, w_xy, rng, dtype)
        kinds = np.repeat(step_kind, global_batch)
        if xy_mode == "pair_per_example":
            xy_slots = ~np.repeat(step_xx, global_batch)
            kinds[xy_slots] = _quota_draw(int(xy_slots.sum()), w_xy, rng, dtype)
        return kinds
    num_slots = num_steps * global_batch
    n_xx = _round_random(alpha * num_slots, rng)
    slot_xx = np.zeros(num_slots, dtype=bool)
    slot_xx[:n_xx] = True
    rng.shuffle(slot_xx)
    kinds = np.zeros(num_slots, dtype=dtype)
    kinds[slot_xx] = _quota_draw(n_xx, w_xx, rng, dtype)
    kinds[~slot_xx] = _quota_draw(num_slots - n_xx, w_xy, rng, dtype)
    return kinds


def _deal_rows(
    kinds: np.ndarray,
    pools: KindPools,
    meta: PairMetadata,
    global_batch: int,
    homogeneous: np.ndarray,
    rng: np.random.Generator,
    row_dtype: type,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Give every slot a row of its kind: each kind's slots (in step order) take reshuffled passes over its pool.

    For a *homogeneous* kind (one that fills whole global batches) a batch that straddles two passes would meet the
    same item twice; the next pass is therefore reordered so that its first rows avoid the items and texts of the
    previous pass's tail. Returns the slots' rows and the *reserve*: the unused rest of each kind's last pass
    (rows and kinds), which repair may swap in.
    """
    num_kinds = len(pools.counts)
    need = np.bincount(kinds, minlength=num_kinds)
    slot_order = np.argsort(kinds, kind="stable")
    slot_starts = np.zeros(num_kinds + 1, dtype=np.int64)
    np.cumsum(need, out=slot_starts[1:])
    rows = np.empty(kinds.shape[0], dtype=row_dtype)
    reserve_rows, reserve_kinds = [], []
    for k in np.flatnonzero(need):
        pool = pools.pool(int(k))
        size, wanted = pool.shape[0], int(need[k])
        passes = [pool[rng.permutation(size)]]
        dealt = size
        while dealt < wanted:
            order = pool[rng.permutation(size)]
            straddle = dealt % global_batch
            if homogeneous[k] and straddle:
                order = _avoid_tail(order, passes[-1][size - straddle:], global_batch - straddle, meta)
            passes.append(order)
            dealt += size
        stream = np.concatenate(passes) if len(passes) > 1 else passes[0]
        rows[slot_order[slot_starts[k]:slot_starts[k + 1]]] = stream[:wanted]
        rest = stream[wanted:]
        reserve_rows.append(rest)
        reserve_kinds.append(np.full(rest.shape[0], k, dtype=kinds.dtype))
    if reserve_rows:
        return rows, np.concatenate(reserve_rows).astype(row_dtype), np.concatenate(reserve_kinds)
    return rows, np.empty(0, dtype=row_dtype), np.empty(0, dtype=kinds.dtype)


def _avoid_tail(order: np.ndarray, tail: np.ndarray, head: int, meta: PairMetadata) -> np.ndarray:
    """Reorder a pass so that its first ``head`` rows share no item or text with ``tail`` (where possible)."""
    bad = np.isin(meta.item[order], meta.item[tail])
    if meta.texts.shape[1]:
        tail_texts = meta.texts[tail].ravel()
        bad |= np.isin(meta.texts[order], tail_texts[tail_texts >= 0]).any(axis=1)
    good, rest = order[~bad], order[bad]
    return np.concatenate([good[:head], rest, good[head:]])


def _later_duplicates(values: np.ndarray, ignore: int | None = None) -> np.ndarray:
    """``(m, n)`` bool: ``values[i, j]`` repeats a value that occurs earlier in row ``i`` (``ignore`` never does)."""
    order = np.argsort(values, axis=1, kind="stable")
    ordered = np.take_along_axis(values, order, axis=1)
    dup = np.zeros(ordered.shape, dtype=bool)
    np.equal(ordered[:, 1:], ordered[:, :-1], out=dup[:, 1:])
    if ignore is not None:
        dup &= ordered != ignore
    out = np.empty_like(dup)
    np.put_along_axis(out, order, dup, axis=1)
    return out


def conflict_mask(rows: np.ndarray, meta: PairMetadata) -> np.ndarray:
    """``(m, G)`` bool: the slots that make their global batch (a row of ``rows``) break the in-batch rule.

    The rule (no false in-batch negatives): no item twice, no positive passage twice, no hard negative equal to a
    positive of the batch. Of two slots repeating an item or a positive the later one is flagged; a slot whose
    hard negative is another slot's positive is flagged. (Two equal hard negatives are allowed: a hard negative
    is a negative for every query of the batch anyway.)
    """
    mask = _later_duplicates(meta.item[rows])
    if meta.texts.shape[1]:
        positives = meta.texts[rows, 0]  # (m, G)
        mask |= _later_duplicates(positives, ignore=-1)
        if meta.texts.shape[1] > 1:
            steps = np.arange(rows.shape[0])
            held = _StepIndex(steps, positives, None, int(meta.texts.max()) + 2)
            negatives = meta.texts[rows, 1:]  # (m, G, T-1)
            hit = held.holds(np.repeat(steps, rows.shape[1]), negatives.reshape(-1, negatives.shape[2]))
            mask |= hit.reshape(rows.shape)
    return mask


def _conflicting_slots(
    rows: np.ndarray, steps: np.ndarray | None, meta: PairMetadata, rng: np.random.Generator | None = None
) -> np.ndarray:
    """Flat slot indices in conflict, over the given steps of ``rows`` ``(S, G)`` (None: all, in chunks).

    Of two slots that repeat each other, the later one is flagged; with ``rng``, "later" is in a random order of
    the batch's slots, so that repair tries moving either of them."""
    global_batch = rows.shape[1]
    if rng is not None and steps is not None:
        order = rng.permutation(global_batch)
        si, sj = np.nonzero(conflict_mask(rows[steps][:, order], meta))
        return steps[si].astype(np.int64) * global_batch + order[sj]
    if steps is None:
        chunk = max(1, _CHUNK_SLOTS // max(global_batch, 1))
        found = []
        for start in range(0, rows.shape[0], chunk):
            si, sj = np.nonzero(conflict_mask(rows[start:start + chunk], meta))
            found.append((si + start).astype(np.int64) * global_batch + sj)
        return np.concatenate(found) if found else np.empty(0, dtype=np.int64)
    si, sj = np.nonzero(conflict_mask(rows[steps], meta))
    return steps[si].astype(np.int64) * global_batch + sj


class _StepIndex:
    """Which values (items, texts) the given steps hold, for vectorised membership queries ``(step, value)``.

    ``values[grid[steps]]`` are the held values (``values=None``: ``grid`` already holds the values of ``steps``).
    """

    def __init__(self, steps: np.ndarray, grid: np.ndarray, values: np.ndarray | None, span: int) -> None:
        self.span = span
        held = grid if values is None else values[grid[steps]]  # (m, G) or (m, G, T)
        keys = (steps.astype(np.int64).reshape((-1,) + (1,) * (held.ndim - 1)) * span + held + 1)
        self.keys = np.sort(keys[held >= 0])

    def holds(self, steps: np.ndarray, values: np.ndarray) -> np.ndarray:
        """``(n,)`` bool: step ``steps[i]`` holds any of ``values[i]`` (a vector or ``(n, T)``; -1 never counts)."""
        if values.ndim == 1:
            values = values[:, None]
        if self.keys.size == 0:
            return np.zeros(values.shape[0], dtype=bool)
        queries = steps.astype(np.int64)[:, None] * self.span + values + 1
        at = np.minimum(np.searchsorted(self.keys, queries), self.keys.size - 1)
        return ((self.keys[at] == queries) & (values >= 0)).any(axis=1)


def _repeats_arrivals(
    my_step: np.ndarray,
    their_step: np.ndarray,
    in_batch: np.ndarray,
    incoming: np.ndarray,
    outgoing: np.ndarray,
    meta: PairMetadata,
    item_span: int,
    text_span: int,
) -> np.ndarray:
    """``(n,)`` bool: proposal ``i`` brings an item or text into a batch that another proposal also brings."""
    n = my_step.size
    owner = (np.arange(n), np.flatnonzero(in_batch))
    arrival_steps = (my_step.astype(np.int64), their_step[in_batch].astype(np.int64))
    arrival_rows = (incoming, outgoing[in_batch])
    keys, owners = [], []
    for steps, rows, who in zip(arrival_steps, arrival_rows, owner):
        keys.append((steps * item_span + meta.item[rows]) * 2)  # items: even keys
        owners.append(who)
        for j in range(meta.texts.shape[1]):
            texts = meta.texts[rows, j]
            has = texts >= 0
            keys.append((steps[has] * text_span + texts[has]) * 2 + 1)  # texts: odd keys
            owners.append(who[has])
    all_keys, all_owners = np.concatenate(keys), np.concatenate(owners)
    order = np.lexsort((all_owners, all_keys))
    sorted_keys, sorted_owners = all_keys[order], all_owners[order]
    repeat = np.zeros(sorted_keys.size, dtype=bool)
    np.equal(sorted_keys[1:], sorted_keys[:-1], out=repeat[1:])
    repeat[1:] &= sorted_owners[1:] != sorted_owners[:-1]
    bad = np.zeros(n, dtype=bool)
    bad[sorted_owners[repeat]] = True
    return bad


def _swap_safe(
    my_step: np.ndarray,
    their_step: np.ndarray,
    incoming: np.ndarray,
    outgoing: np.ndarray | None,
    grid: np.ndarray,
    meta: PairMetadata,
    spans: tuple[int, int],
) -> np.ndarray:
    """``(n,)`` bool: moving row ``incoming[i]`` into batch ``my_step[i]`` (and, for a swap, ``outgoing[i]`` into
    batch ``their_step[i]`` when that is a batch) repeats no item or text there, nor one that another accepted
    move brings there."""
    num_steps = grid.shape[0]
    in_batch = their_step < num_steps if outgoing is not None else np.zeros(my_step.size, dtype=bool)
    steps = np.unique(np.concatenate([my_step, their_step[in_batch]]))
    items = _StepIndex(steps, grid, meta.item, spans[0])
    bad = items.holds(my_step, meta.item[incoming])
    if outgoing is not None:
        bad[in_batch] |= items.holds(their_step[in_batch], meta.item[outgoing[in_batch]])
    if meta.texts.shape[1]:
        # an arriving positive must be new to the batch's positives and negatives, an arriving negative new to
        # its positives
        positives = _StepIndex(steps, grid, meta.texts[:, 0], spans[1])
        everything = _StepIndex(steps, grid, meta.texts, spans[1])
        moves = [(my_step, incoming, np.ones(my_step.size, dtype=bool))]
        if outgoing is not None:
            moves.append((their_step, outgoing, in_batch))
        for step, rows, where in moves:
            step, rows = step[where], rows[where]
            hit = everything.holds(step, meta.texts[rows, 0])
            if meta.texts.shape[1] > 1:
                hit |= positives.holds(step, meta.texts[rows, 1:])
            bad[where] |= hit
    out = outgoing if outgoing is not None else incoming  # (no batch receives it: in_batch is all False)
    bad |= _repeats_arrivals(my_step, their_step, in_batch, incoming, out, meta, *spans)
    return ~bad


def _repair(
    rows: np.ndarray,
    kinds: np.ndarray,
    reserve_rows: np.ndarray,
    reserve_kinds: np.ndarray,
    global_batch: int,
    homogeneous: np.ndarray,
    pools: KindPools,
    meta: PairMetadata,
    rng: np.random.Generator,
    max_rounds: int,
) -> tuple[int, int]:
    """Make every global batch follow the in-batch rule (see :func:`conflict_mask`); ``rows`` and ``kinds`` (flat)
    change in place.

    Phase 1 (up to 40 rounds) swaps rows between slots that may trade places: slots of the same kind for a
    homogeneous kind (so a batch keeps its kind) plus that kind's *reserve* (rows of its last pass that the epoch
    does not use), any two mixed slots otherwise (so the epoch keeps its counts per kind). Each round proposes one
    random partner per conflicting slot and accepts the swaps that bring no conflict into either batch, so
    conflicts only decrease and the uses of a kind's rows stay within one of each other. Phase 2, for what swapping
    cannot solve (one passage answering more questions than a pass has batches), alternates swaps with redrawing a
    conflicting slot's row (or, half the time, another slot's of its batch) from its kind's pool; in the second
    half of the rounds a mixed slot may redraw a row of any kind that the epoch's mixed slots use.
    Returns (rounds, redrawn slots).
    """
    num_steps = rows.shape[0] // global_batch
    num_slots = rows.shape[0]
    conflicts = _conflicting_slots(rows.reshape(num_steps, global_batch), None, meta)
    if conflicts.size == 0:
        return 0, 0
    all_rows = np.concatenate([rows, reserve_rows])
    all_kinds = np.concatenate([kinds, reserve_kinds]).astype(np.int64)
    # trading classes: a homogeneous kind trades with its own kind (and its reserve), mixed slots with each other
    # (not with the reserve, which would change the epoch's count of a kind)
    classes = np.where(homogeneous[all_kinds], all_kinds, meta.num_kinds)
    classes[num_slots:][~homogeneous[all_kinds[num_slots:]]] = meta.num_kinds + 1
    slot_order = np.argsort(classes, kind="stable")
    counts = np.bincount(classes, minlength=meta.num_kinds + 2)
    starts = np.zeros(counts.size + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    spans = (int(meta.item.max()) + 2, int(meta.texts.max(initial=-1)) + 2)
    in_reserve = np.bincount(reserve_rows, minlength=meta.num_rows).astype(np.int8)  # copies of a row there (0/1)
    mixed_rows: np.ndarray | None = None
    rounds = stalled = redrawn = 0
    best = conflicts.size
    while conflicts.size:
        if rounds == max_rounds:
            names = sorted({meta.kind_name(k) for k in all_kinds[conflicts[:50]]})
            raise DataError(
                f"cannot form batches of {global_batch} pairs without repeating an item or a passage text: "
                f"{conflicts.size} conflicts left after {rounds} repair rounds (kinds {', '.join(names)}); "
                "use a smaller batch size or more items"
                + (" (or no hard negatives)" if meta.texts.shape[1] > 1 else ""))
        rounds += 1
        grid = all_rows[:num_slots].reshape(num_steps, global_batch)
        my_step = conflicts // global_batch
        touched = [my_step]
        swapping = (rounds <= _SWAP_ROUNDS and stalled < _STALL_ROUNDS) or rounds % 2 == 0
        if swapping:  # phase 1, and every other round of phase 2: swaps
            c = classes[conflicts]
            partners = slot_order[starts[c] + (rng.random(conflicts.size) * counts[c]).astype(np.int64)]
            partners = partners.astype(np.int64)
            their_step = partners // global_batch
            ok = (my_step != their_step) & ~np.isin(partners, conflicts)
            ok[np.setdiff1d(np.arange(partners.size), np.unique(partners, return_index=True)[1])] = False
            # a row may go to the reserve only if no copy of it is there (so uses stay within one of each other)
            to_reserve = ok & (partners >= num_slots)
            outgoing = all_rows[conflicts]
            ok[to_reserve] &= in_reserve[outgoing[to_reserve]] == 0
            to_reserve &= ok
            first = np.unique(outgoing[to_reserve], return_index=True)[1]
            ok[np.flatnonzero(to_reserve)[np.setdiff1d(np.arange(to_reserve.sum()), first)]] = False
            mine, theirs = conflicts[ok], partners[ok]
            if mine.size:
                safe = _swap_safe(my_step[ok], their_step[ok], all_rows[theirs], all_rows[mine], grid, meta, spans)
                mine, theirs = mine[safe], theirs[safe]
                reserve = theirs >= num_slots
                in_reserve[all_rows[mine[reserve]]] += 1
                in_reserve[all_rows[theirs[reserve]]] -= 1
                all_rows[mine], all_rows[theirs] = all_rows[theirs], all_rows[mine]
                all_kinds[mine], all_kinds[theirs] = all_kinds[theirs], all_kinds[mine]
                touched.append(theirs[theirs < num_slots] // global_batch)
        else:  # phase 2, every other round: redraw from the kind's pool
            # the flagged slot, or (half the time) another slot of its batch: the flagged one may have no
            # replacement that suits the others while one of them has
            kick = rng.random(conflicts.size) < 0.5
            conflicts = conflicts.copy()
            conflicts[kick] = my_step[kick] * global_batch + rng.integers(0, global_batch, int(kick.sum()))
            conflicts, first = np.unique(conflicts, return_index=True)
            my_step = my_step[first]
            k = all_kinds[conflicts]
            picks = pools.starts[k] + (rng.random(conflicts.size) * pools.counts[k]).astype(np.int64)
            candidates = pools.order[picks].astype(np.int64)
            late = rounds > max_rounds // 2
            mixed = classes[conflicts] == meta.num_kinds
            if late and mixed.any():
                # last resort for a mixed slot: a row of any kind that the epoch's mixed slots use
                if mixed_rows is None:
                    used = np.unique(all_kinds[:num_slots][classes[:num_slots] == meta.num_kinds])
                    mixed_rows = np.concatenate([pools.pool(int(u)) for u in used]).astype(np.int64)
                candidates[mixed] = mixed_rows[(rng.random(int(mixed.sum())) * mixed_rows.size).astype(np.int64)]
            safe = _swap_safe(my_step, np.full(conflicts.size, num_steps), candidates, None, grid, meta, spans)
            all_rows[conflicts[safe]] = candidates[safe]
            if late and mixed.any():
                changed = conflicts[safe & mixed]
                all_kinds[changed] = meta.kind_of_row_at(all_rows[changed])
            redrawn += int(safe.sum())
        grid = all_rows[:num_slots].reshape(num_steps, global_batch)
        conflicts = _conflicting_slots(grid, np.unique(np.concatenate(touched)), meta, rng)
        stalled = 0 if conflicts.size < best else stalled + 1
        best = min(best, conflicts.size)
    rows[:] = all_rows[:num_slots]
    kinds[:] = all_kinds[:num_slots]
    return rounds, redrawn


def plan_epoch(
    meta: PairMetadata,
    pools: KindPools,
    *,
    batch_size: int,
    num_steps: int,
    alpha: float,
    weights: tuple[np.ndarray, np.ndarray],
    num_replicas: int = 1,
    xy_mode: XYMode = "pair_per_batch",
    mixing: Mixing = "batch",
    seed: int = 0,
    max_rounds: int = MAX_REPAIR_ROUNDS,
) -> EpochPlan:
    """Plan one epoch: ``num_steps`` global batches of ``num_replicas * batch_size`` rows.

    A pure function of its arguments (the random generator is ``numpy.random.default_rng(seed)``). See
    :class:`HybridBatchSampler` for what the plan guarantees.
    """
    rng = np.random.default_rng(seed)
    global_batch = batch_size * num_replicas
    w_xx, w_xy = weights
    kinds = _draw_slot_kinds(num_steps, global_batch, alpha, w_xx, w_xy, xy_mode, mixing, rng)
    homogeneous = meta.is_xx() if mixing == "batch" else np.zeros(meta.num_kinds, dtype=bool)
    if mixing == "batch" and xy_mode == "pair_per_batch":
        homogeneous[:] = True
    rows, reserve_rows, reserve_kinds = _deal_rows(kinds, pools, meta, global_batch, homogeneous, rng,
                                                   _index_dtype(meta.num_rows))
    rounds, redrawn = _repair(rows, kinds, reserve_rows, reserve_kinds, global_batch, homogeneous, pools, meta, rng,
                              max_rounds)
    return EpochPlan(rows.reshape(num_steps, global_batch), kinds.reshape(num_steps, global_batch), batch_size,
                     rounds, redrawn)


# ---------------------------------------------------------------------------------------------------- sampler


def _world_size() -> int:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_world_size()
    return int(os.environ.get("WORLD_SIZE", "1"))


def _check_options(
    alpha: float,
    language_weights: str,
    xy_mode: str,
    mixing: str,
    steps_per_epoch: int | None,
    num_replicas: int | None,
) -> None:
    _check_alpha(alpha)
    for name, value, allowed in (("language_weights", language_weights, LanguageWeights),
                                 ("xy_mode", xy_mode, XYMode), ("mixing", mixing, Mixing)):
        if value not in get_args(allowed):
            raise UsageError(f"{name} must be one of {list(get_args(allowed))}, got {value!r}")
    for name, value in (("steps_per_epoch", steps_per_epoch), ("num_replicas", num_replicas)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise UsageError(f"{name} must be a positive integer or None, got {value!r}")


def _check_alpha(alpha: float) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 <= float(alpha) <= 1.0:
        raise UsageError(f"alpha must be a number in [0, 1] (1 = X-X batches only, 0 = X-Y only), got {alpha!r}")
    return float(alpha)


class HybridBatchSampler(DefaultBatchSampler):
    """Hybrid batches (arXiv 2408.10536): X-X batches with probability α, X-Y batches otherwise.

    Every batch of ``mixing="batch"`` is one of two kinds. **X-X**: one language X (drawn by ``language_weights``)
    for every question and passage. **X-Y**: every question and passage in different languages; one pair (X, Y)
    for the whole batch (``xy_mode="pair_per_batch"``) or a pair drawn per example (``"pair_per_example"``).
    ``mixing="example"`` (a variant the paper did not try) makes every example X-X with probability α, else X-Y,
    each with its own language (pair). α = 1 gives the X-X baseline, α = 0 the X-Y baseline.

    Guarantees, for every epoch:

    * exactly ``len(self)`` full batches of ``batch_size`` rows (``drop_last`` has no effect: pools are cycled);
    * ``round(α · steps)`` X-X steps (randomised rounding; ``mixing="example"``: of slots), languages and pairs
      drawn by quota from their weights (``"uniform"``, or ``"size"``: by number of rows), in random order;
    * within a kind, every row is used once before any is reused (reshuffled passes over the kind's rows);
    * no false in-batch negatives: no batch holds an item (parallel question) twice or a positive passage text
      twice, and no hard negative equals a positive of its batch (two pairs may share a hard negative);
    * the same ``seed`` and epoch give the same batches (the plan uses ``numpy.random.default_rng(seed +
      epoch)``; the ``generator`` argument is not used), so resuming with the trainer's ``skip_first_batches``
      continues the same sequence;
    * with ``num_replicas`` processes (default: the ``torch.distributed`` world size), batches come in groups of
      ``num_replicas`` that form one global batch: the same kind (and X-X language / X-Y pair) on every rank at
      each step, no item or passage on two ranks in the same step, and the same number of batches on every rank
      (accelerate gives rank ``r`` batches ``r, r + n, r + 2n, ...``).

    A language (pair) whose rows cannot fill a global batch on their own (fewer distinct items than ``batch_size *
    num_replicas``, or fewer distinct passages than the batch shows) is left out of the draw, with a warning;
    ``self.weights`` shows the result. When one passage answers more questions than a pass over its pool has
    batches, a few slots get a row redrawn from the pool instead (``EpochPlan.redrawn`` counts them).
    An epoch has ``steps_per_epoch`` steps (default: rows // (batch_size · num_replicas)), whatever α is, so the
    length stays the same when :meth:`set_alpha` (or :class:`~hybrid_plugin.callback.HybridTrainingCallback`)
    changes α; the change applies from the next iteration (epoch). Given to the trainer, the sampler also batches
    an ``eval_dataset``, which then needs the metadata columns too (``build_training_dataset`` makes both).

    Args:
        dataset (datasets.Dataset | PairMetadata): rows with hidden metadata columns (see
            :mod:`hybrid_plugin.sampler`), or bare :class:`PairMetadata` (planning without texts: tests, benchmarks).
        batch_size (int): rows per batch, per process.
        drop_last (bool): accepted for sentence-transformers; every batch is full anyway.
        valid_label_columns (list[str], optional): unused.
        generator (torch.Generator, optional): unused; randomness comes from ``seed`` and the epoch.
        seed (int): base seed. Defaults to 0 (the trainer passes ``args.seed``).
        alpha (float): share of X-X batches, in [0, 1]. Defaults to 0.5.
        language_weights (str): ``"uniform"`` or ``"size"``. Defaults to ``"uniform"``.
        xy_mode (str): ``"pair_per_batch"`` or ``"pair_per_example"``. Defaults to ``"pair_per_batch"``.
        mixing (str): ``"batch"`` or ``"example"``. Defaults to ``"batch"``.
        steps_per_epoch (int, optional): steps (global batches) per epoch. Defaults to None (rows // global batch).
        num_replicas (int, optional): processes sharing the stream. Defaults to None (the world size).

    Example::

        from datasets import Dataset
        from sentence_transformers import SentenceTransformerTrainingArguments
        from hybrid_plugin import HybridBatchSampler
        from hybrid_plugin.sampler import hide_metadata_columns

        rows = Dataset.from_dict({
            "anchor": ["Who wrote Faust?", "Wer schrieb Faust?"], "positive": ["Goethe wrote it.", "Goethe."],
            "hybrid_item": [0, 0], "hybrid_query_language": ["en", "de"], "hybrid_passage_language": ["en", "de"],
        })
        sampler = HybridBatchSampler(hide_metadata_columns(rows), batch_size=1, drop_last=False, alpha=1.0)
        list(sampler)   # [[0], [1]] or [[1], [0]]: two X-X batches
        args = SentenceTransformerTrainingArguments("out", batch_sampler=HybridBatchSampler.configure(alpha=0.5))
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int,
        drop_last: bool = False,
        valid_label_columns: list[str] | None = None,
        generator: torch.Generator | None = None,
        seed: int = 0,
        *,
        alpha: float = 0.5,
        language_weights: LanguageWeights = "uniform",
        xy_mode: XYMode = "pair_per_batch",
        mixing: Mixing = "batch",
        steps_per_epoch: int | None = None,
        num_replicas: int | None = None,
    ) -> None:
        _check_options(alpha, language_weights, xy_mode, mixing, steps_per_epoch, num_replicas)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise UsageError(f"batch_size must be a positive integer, got {batch_size!r}")
        super().__init__(dataset, batch_size=batch_size, drop_last=drop_last,
                         valid_label_columns=valid_label_columns, generator=generator, seed=seed)
        self.dataset = dataset
        self.language_weights = language_weights
        self.xy_mode = xy_mode
        self.mixing = mixing
        self.num_replicas = num_replicas or _world_size()
        self.metadata = dataset if isinstance(dataset, PairMetadata) else PairMetadata.from_dataset(dataset)
        self._setup(steps_per_epoch)
        self.set_alpha(alpha)

    def _setup(self, steps_per_epoch: int | None) -> None:
        meta = self.metadata
        self.global_batch_size = self.batch_size * self.num_replicas
        if meta.num_rows < self.global_batch_size:
            raise UsageError(f"the training set has {meta.num_rows} rows, fewer than one global batch of "
                             f"{self.global_batch_size} (batch_size {self.batch_size} x {self.num_replicas} "
                             "processes)")
        self.pools = KindPools.build(meta)
        self.weights = kind_weights(meta, self.pools, global_batch=self.global_batch_size,
                                    language_weights=self.language_weights, xy_mode=self.xy_mode,
                                    mixing=self.mixing)
        left_out = [meta.kind_name(k) for k in np.flatnonzero(self.pools.counts > 0)
                    if self.weights[0][k] == 0 and self.weights[1][k] == 0]
        if left_out:
            logger.warning("%d language (pair) pools have fewer than %d distinct items or passages and are left out "
                           "of the draw: %s", len(left_out), self.global_batch_size, ", ".join(left_out[:20])
                           + (" ..." if len(left_out) > 20 else ""))
        self._check_mixed_draws()
        self.num_steps = steps_per_epoch or meta.num_rows // self.global_batch_size
        self._plan: tuple[tuple[int, float], EpochPlan] | None = None
        self.plan_seconds = 0.0  # time spent planning epochs (the sampler's whole cost during training)

    def _check_mixed_draws(self) -> None:
        """Slots drawn kind by kind (X-Y with ``pair_per_example``, everything with ``mixing="example"``) need
        enough distinct items among their kinds to fill a global batch."""
        meta, (w_xx, w_xy) = self.metadata, self.weights
        groups = []
        if self.mixing == "example":
            groups.append(("the language (pairs)", (w_xx > 0) | (w_xy > 0)))
        elif self.xy_mode == "pair_per_example":
            groups.append(("the X-Y pairs", w_xy > 0))
        for what, kinds in groups:
            rows = kinds[meta.kind_of_row()]
            items = int(np.count_nonzero(np.bincount(meta.item[rows]))) if rows.any() else 0
            if 0 < items < self.global_batch_size:
                raise UsageError(f"{what} of the training set have {items} distinct items, fewer than one global "
                                 f"batch of {self.global_batch_size}: a batch cannot avoid repeating an item; use a "
                                 "smaller batch size or more items")

    # -- configuration ------------------------------------------------------------------------------------
    @classmethod
    def configure(cls, **options: Any) -> HybridBatchSamplerFactory:
        """A picklable factory for ``SentenceTransformerTrainingArguments(batch_sampler=...)``.

        Args:
            **options: keyword arguments of :class:`HybridBatchSampler` after ``seed`` (``alpha``,
                ``language_weights``, ``xy_mode``, ``mixing``, ``steps_per_epoch``, ``num_replicas``), and
                optionally ``seed`` to override the trainer's.

        Example::

            args = SentenceTransformerTrainingArguments(
                "out", per_device_train_batch_size=32,
                batch_sampler=HybridBatchSampler.configure(alpha=0.5, language_weights="size"))
        """
        return HybridBatchSamplerFactory(cls, options)

    def set_alpha(self, alpha: float) -> None:
        """Change α; the next iteration (epoch) plans with it."""
        alpha = _check_alpha(alpha)
        w_xx, w_xy = self.weights
        if alpha > 0 and not w_xx.any():
            raise UsageError(f"alpha={alpha} asks for X-X batches, but no language has {self.global_batch_size} "
                             "distinct items and passages to fill one")
        if alpha < 1 and not w_xy.any():
            raise UsageError(f"alpha={alpha} asks for X-Y batches, but no language pair has "
                             f"{self.global_batch_size} distinct items and passages to fill one")
        self.alpha = alpha

    # -- the epoch ------------------------------------------------------------------------------------------
    def plan(self, epoch: int | None = None) -> EpochPlan:
        """The plan of ``epoch`` (default: the current one) with the current α; cached for the latest key."""
        epoch = self.epoch if epoch is None else epoch
        key = (epoch, self.alpha)
        if self._plan is not None and self._plan[0] == key:
            return self._plan[1]
        started = time.perf_counter()
        plan = plan_epoch(self.metadata, self.pools, batch_size=self.batch_size, num_steps=self.num_steps,
                          alpha=self.alpha, weights=self.weights, num_replicas=self.num_replicas,
                          xy_mode=self.xy_mode, mixing=self.mixing, seed=self.seed + epoch)
        self.plan_seconds += time.perf_counter() - started
        self._plan = (key, plan)
        return plan

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self.plan().batches():
            yield batch.tolist()

    def __len__(self) -> int:
        return self.num_steps * self.num_replicas

    def kind_names(self) -> list[str]:
        """Names of the kinds, indexed like :meth:`EpochPlan.kind_counts`."""
        return [self.metadata.kind_name(k) for k in range(self.metadata.num_kinds)]

    def describe(self) -> dict[str, Any]:
        """The sampler's settings and draw weights (JSON-ready)."""
        names = self.kind_names()
        w_xx, w_xy = self.weights
        return {
            "alpha": self.alpha,
            "language_weights": self.language_weights,
            "xy_mode": self.xy_mode,
            "mixing": self.mixing,
            "batch_size": self.batch_size,
            "num_replicas": self.num_replicas,
            "steps_per_epoch": self.num_steps,
            "seed": self.seed,
            "rows": self.metadata.num_rows,
            "languages": list(self.metadata.languages),
            "xx_weights": {names[k]: round(float(w_xx[k]), 6) for k in np.flatnonzero(w_xx)},
            "xy_weights": {names[k]: round(float(w_xy[k]), 6) for k in np.flatnonzero(w_xy)},
        }


@dataclass(frozen=True)
class HybridBatchSamplerFactory:
    """What :meth:`HybridBatchSampler.configure` returns: called by the trainer with ``(dataset, batch_size=,
    drop_last=, valid_label_columns=, generator=, seed=)``, it builds the sampler with the stored options."""

    sampler_class: type[HybridBatchSampler]
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        allowed = {"alpha", "language_weights", "xy_mode", "mixing", "steps_per_epoch", "num_replicas", "seed"}
        unknown = sorted(set(self.options) - allowed)
        if unknown:
            raise UsageError(f"unknown HybridBatchSampler option(s) {unknown}; allowed: {sorted(allowed)}")
        checked = {k: self.options[k] for k in ("alpha", "language_weights", "xy_mode", "mixing",
                                                 "steps_per_epoch", "num_replicas") if k in self.options}
        defaults = {"alpha": 0.5, "language_weights": "uniform", "xy_mode": "pair_per_batch", "mixing": "batch",
                    "steps_per_epoch": None, "num_replicas": None}
        _check_options(**{**defaults, **checked})

    def __call__(
        self,
        dataset: Dataset,
        batch_size: int,
        drop_last: bool = False,
        valid_label_columns: list[str] | None = None,
        generator: torch.Generator | None = None,
        seed: int = 0,
    ) -> HybridBatchSampler:
        options = dict(self.options)
        seed = options.pop("seed", seed)
        return self.sampler_class(dataset, batch_size, drop_last, valid_label_columns, generator, seed, **options)


def find_hybrid_sampler(obj: Any, depth: int = 6) -> HybridBatchSampler | None:
    """The :class:`HybridBatchSampler` inside a (prepared, sharded, skipping) DataLoader, or None."""
    seen: set[int] = set()
    stack = [(obj, 0)]
    while stack:
        current, level = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, HybridBatchSampler):
            return current
        if level >= depth:
            continue
        for attr in ("batch_sampler", "sampler", "base_dataloader", "_loader", "dataloader"):
            child = getattr(current, attr, None)
            if child is not None and not isinstance(child, (int, float, str)):
                stack.append((child, level + 1))
    return None
