"""The ranking engine: one ranking per (query, pool), in trec_eval's order, and the numbers read off it.

Documents are ordered by their score rounded to the six decimals a TREC run file holds, ties broken by docid in
descending order -- exactly the order in which ``trec_eval`` (and ``ir_measures``, through ``pytrec_eval``)
reads a run file. Each (query row, document) gets one integer sort key ``quantised score << bits | docrank``,
unique within a row, so that one integer sort ranks a row exactly.

* :class:`CollectionLayout`: the multilingual pool and the queries of a collection as index arrays.
* :func:`rank_rows`: the rank of every relevant candidate in its own pool and in the multilingual pool, and the
  top ``depth`` documents of every pool (:class:`RankedRows`).
* :func:`full_ranking_ap` and :func:`language_bias`: the paper's figures, from those ranks.

What does *not* live here: the ir_measures side (:mod:`hybrid_plugin.evaluation.measures`), running the ranking
over a collection (:mod:`hybrid_plugin.evaluation.scoring`), the run file format
(:mod:`hybrid_plugin.pyserini.trec_runs`).

Example::

    >>> import numpy as np
    >>> full_ranking_ap(np.array([[1, 3], [2, 0]])).tolist()
    [0.8333333333333333, 0.5]
    >>> language_bias(np.array([[1, 3], [2, 0]])).tolist()
    [2.0, 0.0]
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np

from hybrid_plugin.data import ParallelQA
from hybrid_plugin.errors import DataError
from hybrid_plugin.evaluation.cells import MULTI
from hybrid_plugin.pyserini.trec_runs import SCORE_DECIMALS, quantize_scores

__all__ = ["CollectionLayout", "RankedRows", "full_ranking_ap", "language_bias", "rank_rows"]

SCORE_SCALE = 10**SCORE_DECIMALS
"""A quantised score is the score times this, rounded (see :func:`quantize_scores`)."""
_MAX_KEY = 2**62


@dataclass(frozen=True)
class CollectionLayout:
    """The multilingual pool and the queries of a collection, as index arrays.

    The multi pool is the concatenation of the language pools in ``qa.languages`` order; ``docrank`` is each
    candidate's position among all docids sorted ascending (trec_eval breaks score ties by docid, descending).
    ``relevant[X]`` is an ``(n_X, L)`` array: the pool index of query ``i``'s relevant candidate in pool ``Y``
    (column ``Y``), or -1 when the item does not exist in ``Y``.
    """

    languages: tuple[str, ...]
    docids: np.ndarray  # (M,) object array of str, multi-pool order
    offsets: dict[str, tuple[int, int]]
    docrank: np.ndarray  # (M,) int64
    by_rank: np.ndarray  # (M,) int64: doc index of each docrank
    qids: dict[str, list[str]]
    relevant: dict[str, np.ndarray]

    @property
    def size(self) -> int:
        return len(self.docids)

    def searched(self, x: str, pool: str) -> np.ndarray:
        """Rows of query language ``x`` searched in ``pool`` (their item exists there; every row for multi)."""
        if pool == MULTI:
            return np.arange(len(self.qids[x]))
        return np.flatnonzero(self.relevant[x][:, self.languages.index(pool)] >= 0)

    @classmethod
    def of(cls, qa: ParallelQA) -> CollectionLayout:
        """Lay out ``qa``; :class:`DataError` for duplicate docids, no candidates at all, a question without its
        relevant candidate in its own language's pool. A language without candidates is query-only
        (:attr:`ParallelQA.query_only`): an empty slice of the multi pool, searched by no query.
        (``ParallelQA`` itself checks that every id can stand in a TREC file.)"""
        if not qa.languages:
            raise DataError(f"{qa.name} has no languages to evaluate")
        docids, offsets, index = _pools(qa)
        docid_arr = np.array(docids, dtype=object)
        by_rank = np.array(sorted(range(len(docids)), key=lambda i: docids[i].encode("utf-8")), dtype=np.int64)
        docrank = np.empty(len(docids), dtype=np.int64)
        docrank[by_rank] = np.arange(len(docids), dtype=np.int64)
        qids = {x: list(qa.questions[x]) for x in qa.languages}
        relevant = {x: _relevant(qa, x, qids[x], offsets, index) for x in qa.languages}
        return cls(tuple(qa.languages), docid_arr, offsets, docrank, by_rank, qids, relevant)


def _pools(qa: ParallelQA) -> tuple[list[str], dict[str, tuple[int, int]], dict[str, int]]:
    """The multi pool's docids, each language's slice of it, and the index of each docid."""
    docids: list[str] = []
    offsets: dict[str, tuple[int, int]] = {}
    index: dict[str, int] = {}
    for lang in qa.languages:
        start = len(docids)
        for cand in qa.candidates[lang]:
            if cand.docid in index:
                raise DataError(f"docid {cand.docid!r} occurs twice in the pools of {qa.name} (pool "
                                f"{lang}); the multilingual pool needs unique docids")
            index[cand.docid] = len(docids)
            docids.append(cand.docid)
        offsets[lang] = (start, len(docids))
    if not docids:
        raise DataError(f"no language of {qa.name} has candidates ({', '.join(qa.languages)} are all query-only)")
    return docids, offsets, index


def _relevant(qa: ParallelQA, x: str, qids: list[str], offsets: dict[str, tuple[int, int]],
              index: dict[str, int]) -> np.ndarray:
    """The ``(n_x, L)`` array of relevant pool indices of the questions of language ``x`` (-1: none)."""
    rel = np.full((len(qids), len(qa.languages)), -1, dtype=np.int64)
    for j, y in enumerate(qa.languages):
        judged = qa.relevant[y]
        start, end = offsets[y]
        for i, qid in enumerate(qids):
            docid = judged.get(qid)
            if docid is None:
                continue
            g = index.get(docid)
            if g is None or not start <= g < end:
                raise DataError(f"question {qid}: relevant docid {docid!r} is not in the {y} pool")
            rel[i, j] = g
    if offsets[x][0] == offsets[x][1]:  # a query-only language: no pool of its own, nothing to find there
        return rel
    missing = [qids[i] for i in np.flatnonzero(rel[:, qa.languages.index(x)] < 0)[:3]]
    if missing:
        raise DataError(f"{x} question {missing[0]} has no relevant candidate in the {x} pool")
    return rel


@dataclass
class RankedRows:
    """The ranking of some query rows of one language against every pool (and the multi pool).

    ``ranks[:, j]`` is the 1-based rank of the relevant candidate of pool ``j`` within pool ``j`` (0 when there
    is none); ``multi_ranks[:, j]`` its rank in the multi pool. ``top[y]`` / ``top_scores[y]`` are the first
    ``depth`` documents (global indices) and their quantised scores in pool ``y`` (``"multi"``: the multi pool).
    """

    rows: slice
    ranks: np.ndarray
    multi_ranks: np.ndarray
    top: dict[str, np.ndarray] = field(default_factory=dict)
    top_scores: dict[str, np.ndarray] = field(default_factory=dict)
    retrieved: np.ndarray | None = None  # (n, L): relevant candidate scores above the floor (BM25: matched)
    matched: np.ndarray | None = None  # (n,): candidates of the multi pool above the floor


def _key_bits(size: int) -> int:
    """Bits that hold a docrank in a sort key."""
    return max(1, (size - 1).bit_length())


def _keys(scores: np.ndarray, layout: CollectionLayout) -> np.ndarray:
    """Sort keys ``quantised score << bits | docrank``: unique per row, larger key = ranked higher (trec_eval's
    order: score descending, then docid descending)."""
    bits = _key_bits(layout.size)
    if scores.size:
        peak = float(np.max(np.abs(scores)))
        if not np.isfinite(peak):
            raise DataError("the model produced a non-finite score (NaN or infinity)")
        if (peak * SCORE_SCALE + 1) * 2.0**bits >= _MAX_KEY:
            raise DataError(f"scores up to {peak:g} are too large to rank exactly with {layout.size} candidates")
    keys = quantize_scores(scores)
    np.left_shift(keys, bits, out=keys)
    np.bitwise_or(keys, layout.docrank[None, :], out=keys)
    return keys


def _decode(keys_desc: np.ndarray, layout: CollectionLayout) -> tuple[np.ndarray, np.ndarray]:
    """Sorted keys -> (global doc index, quantised score)."""
    bits = _key_bits(layout.size)
    return layout.by_rank[keys_desc & ((1 << bits) - 1)], keys_desc >> bits


def rank_rows(scores: np.ndarray, rows: slice, x: str, layout: CollectionLayout, depth: int,
              floor: int | None = None, pools: Collection[str] | None = None) -> RankedRows:
    """Rank rows of query language ``x`` (``scores``: their scores against the multi pool).

    Args:
        scores: ``(n, M)`` scores of the rows against the multi pool (columns in pool order).
        rows: which rows of ``x`` these are.
        x: the query language.
        layout: the collection.
        depth: keep the top this many documents of every pool (0: none, ranks only).
        floor: a quantised score: candidates scoring at most this were not retrieved (BM25: no shared term);
            the result then records which relevant candidates were retrieved and how many candidates were.
        pools: rank within these language pools only (None: all); the others keep rank 0 and no top. The
            multilingual ranking (``multi_ranks``, the language bias) always covers every relevant candidate.
    """
    keys = _keys(scores, layout)
    del scores
    rel = layout.relevant[x][rows]
    n, langs = rel.shape
    present = rel >= 0
    rel_keys = np.take_along_axis(keys, np.where(present, rel, 0), axis=1)
    ranks = np.zeros((n, langs), dtype=np.int64)
    multi_ranks = np.zeros((n, langs), dtype=np.int64)
    ranked = RankedRows(rows, ranks, multi_ranks)
    if floor is not None:
        bits = _key_bits(layout.size)
        highest_unretrieved = (floor << bits) | ((1 << bits) - 1)
        ranked.retrieved = present & (rel_keys > highest_unretrieved)
        ranked.matched = np.count_nonzero(keys > highest_unretrieved, axis=1)

    for j, y in enumerate(layout.languages):
        if pools is not None and y not in pools:
            continue
        start, end = layout.offsets[y]
        segment = keys[:, start:end]
        ranks[:, j] = np.where(present[:, j], np.count_nonzero(segment > rel_keys[:, j:j + 1], axis=1) + 1, 0)
        if depth:
            k = min(depth, end - start)
            top_keys = np.sort(segment, axis=1)[:, ::-1][:, :k]  # descending
            ranked.top[y], ranked.top_scores[y] = _decode(top_keys, layout)
    full = np.sort(keys, axis=1)  # ascending; keys are unique within a row
    del keys
    size = layout.size
    for i in range(n):
        mask = present[i]
        multi_ranks[i, mask] = size - np.searchsorted(full[i], rel_keys[i, mask])
    if depth:
        k = min(depth, size)
        ranked.top[MULTI], ranked.top_scores[MULTI] = _decode(full[:, ::-1][:, :k], layout)
    return ranked


def full_ranking_ap(ranks: np.ndarray) -> np.ndarray:
    """Average precision of each row from the 1-based ranks of its relevant documents (0 = no such document,
    ``inf`` = a relevant document that was not retrieved: it counts, with precision 0).

    ``AP = (1/R) sum_i (i / r_(i))`` over the R relevant documents sorted by rank; a row without relevant
    documents gets NaN.
    """
    ranks = np.asarray(ranks, dtype=np.float64)
    if ranks.ndim == 1:
        ranks = ranks[:, None]
    count = np.sum(ranks > 0, axis=1)
    r = np.where(ranks > 0, ranks, np.inf)
    r.sort(axis=1)
    position = np.arange(1, r.shape[1] + 1, dtype=np.float64)[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(np.isfinite(r), position / r, 0.0)
        return np.where(count > 0, precision.sum(axis=1) / count, np.nan)


def language_bias(ranks: np.ndarray) -> np.ndarray:
    """Largest minus smallest rank of each row's relevant documents (0 = no document; NaN if a row has none)."""
    ranks = np.asarray(ranks, dtype=np.float64)
    valid = ranks > 0
    hi = np.where(valid, ranks, -np.inf).max(axis=1)
    lo = np.where(valid, ranks, np.inf).min(axis=1)
    return np.where(valid.any(axis=1), hi - lo, np.nan)
