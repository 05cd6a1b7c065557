"""The ir_measures side: R@1, R@10, nDCG@10 and AP@1000 of every setting, from ``ir_measures`` itself.

Run files are sorted in trec_eval's own order (:mod:`hybrid_plugin.evaluation.ranking`), so a run cut after its
last relevant document (and after rank 10) scores exactly like the full run on these measures. ``ir_measures``
is therefore given that prefix of each query's ranking (:func:`prefix_run`), whether or not the run is also
written to a file, through one evaluator per pool built once (:class:`TrecMeasures`). Reading a written file
back with the stock ``ir_measures.read_trec_run`` gives the same values
(:func:`hybrid_plugin.evaluation.pipeline.verify_run_files` checks it).

What does *not* live here: the ranking (:mod:`hybrid_plugin.evaluation.ranking`), the full-ranking mAP and bias
(also there), writing run files (:mod:`hybrid_plugin.pyserini.trec_runs`).

Example::

    from hybrid_plugin.evaluation.ranking import CollectionLayout

    trec = TrecMeasures(qa, CollectionLayout.of(qa))
    values = trec.score("de", {"q1": {"d-de-1": 0.9, "d-de-7": 0.4}})   # {"q1": {"R@1": 1.0, ...}}
    trec.means(values, ["q1"])                                          # {"R@1": 1.0, "R@10": 1.0, ...}
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

import ir_measures
import numpy as np
from ir_measures import AP, R, nDCG

from hybrid_plugin.data import ParallelQA
from hybrid_plugin.evaluation.ranking import SCORE_SCALE, CollectionLayout
from hybrid_plugin.evaluation.cells import MULTI, TREC_MEASURES

__all__ = ["DEPTH", "TrecMeasures", "prefix_lengths", "prefix_run"]

DEPTH = 1000
"""Run depth (hits per query), as trec_eval's default cut-off and Pyserini's ``--hits``."""

Run = dict[str, dict[str, float]]
"""A run as ir_measures takes it: ``{qid: {docid: score}}``."""


class TrecMeasures:
    """ir_measures evaluators of R@1, R@10, nDCG@10 and AP@1000, one per pool (each language, and multi).

    Args:
        qa (ParallelQA): the collection (its qrels: one relevant candidate per item and pool).
        layout (CollectionLayout): its layout.
    """

    def __init__(self, qa: ParallelQA, layout: CollectionLayout) -> None:
        self.measures = [R @ 1, R @ 10, nDCG @ 10, AP @ DEPTH]
        # keyed by identity: hashing a Measure formats its repr, which costs seconds over millions of values
        self.names = {id(m): str(m) for m in self.measures}
        if tuple(self.names.values()) != TREC_MEASURES:
            raise RuntimeError(f"ir_measures names {list(self.names.values())}, expected {list(TREC_MEASURES)}")
        self.evaluators: dict[str, Any] = {}
        qrels_all = []
        for y in layout.languages:
            if not qa.candidates[y]:  # query-only: no pool searched, no qrels
                continue
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

    @staticmethod
    def means(values: Mapping[str, Mapping[str, float]], qids: Sequence[str]) -> dict[str, float]:
        """Mean of each measure over ``qids`` (a query missing from the run scores 0, as in trec_eval)."""
        return {measure: float(np.mean([values.get(q, {}).get(measure, 0.0) for q in qids]))
                for measure in TREC_MEASURES}


def prefix_lengths(top_docs: np.ndarray, relevant_sets: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Per row, how many hits ir_measures needs to score R@1, R@10, nDCG@10 and AP@1000 exactly: up to the
    last relevant hit, and at least 10 (capped at the row's length)."""
    hit = np.zeros(top_docs.shape, dtype=bool)
    for j in range(relevant_sets.shape[1]):
        col = relevant_sets[:, j:j + 1]
        hit |= (top_docs == col) & (col >= 0)
    k = top_docs.shape[1]
    last = np.where(hit.any(axis=1), k - np.argmax(hit[:, ::-1], axis=1), 0)
    return np.minimum(np.maximum(last, 10), lengths)


def prefix_run(run: Run, qids: Sequence[str], docs: np.ndarray, scores: np.ndarray, relevant_sets: np.ndarray,
               lengths: np.ndarray, docids: np.ndarray) -> None:
    """Add to ``run`` the prefix of each row's ranking that ir_measures needs (same order as a run file, so the
    same scores).

    Args:
        run: the run to extend, ``{qid: {docid: score}}``.
        qids: one query id per row.
        docs: ``(n, k)`` global document indices, best first.
        scores: ``(n, k)`` quantised scores.
        relevant_sets: ``(n, r)`` global indices of each row's relevant documents (-1: none).
        lengths: hits of each row (the rest of the row was not retrieved).
        docids: the docid of each global index.
    """
    cut = prefix_lengths(docs, relevant_sets, lengths)
    for i, qid in enumerate(qids):
        c = int(cut[i])
        run[qid] = dict(zip(docids[docs[i, :c]].tolist(), (scores[i, :c] / SCORE_SCALE).tolist()))
