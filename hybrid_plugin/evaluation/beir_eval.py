"""BEIR's evaluation of a BEIR collection with graded qrels: nDCG@10 (BEIR's headline), R@100, MRR@10 (``RR@10``)
and AP@1000, from ``ir_measures``, and the language bias of the multilingual pool.

Every query searches the whole corpus (for a multilingual BEIR folder, the pool of all languages), exact inner
product over the model's normalised embeddings (a Faiss flat index, as ``pyserini.search.faiss`` searches the
index ``pyserini.encode --to-faiss`` writes), ``depth`` hits. Documents are encoded as Pyserini encodes a BEIR
corpus with ``--fields title text`` (``"<title> <passage prefix><text>"``,
:meth:`~hybrid_plugin.data.beir.BeirDocument.encoder_input`), queries as ``query prefix + text``. nDCG is
trec_eval's (the grade is the gain, as BEIR computes it through pytrec_eval). The cells are the query languages
and ``all`` (every query); queries judged with no relevant document (grade 0 only) count 0 on every measure,
as in trec_eval.

**Language bias** (multilingual folders): for a query with relevant documents in two or more languages, the
largest minus the smallest rank (1-based, in the full ranking) of its relevant documents -- 0 when a model ranks
a query's answers in every language together, large when it ranks its own language's answer first and the others
far behind. A cell's ``bias`` is the mean over such queries (None when there is none).

**Language-bias removal** (``debias=``, ``hybrid-plugin beir --debias DIR``): a transform fitted for the model
(:mod:`hybrid_plugin.debias`) is applied to the query and document embeddings before the search and the bias (per
role; per language for ``center`` / ``lir``, from the records' ``language``), and recorded in
:attr:`BeirResults.debias`. A transform fitted on another model or on the evaluated collection itself is refused;
one fitted on the collection's corpus alone (the target-domain adaptation,
:func:`~hybrid_plugin.evaluation.beir_debias.beir_fit_texts`) is recorded as ``fitted_on_target_corpus``.

What does not live here: reading BEIR folders (:mod:`hybrid_plugin.data.beir`), the parallel collections' mono /
cross / multi evaluation (:mod:`hybrid_plugin.evaluation.pipeline`), which keeps its own measures unchanged.

Example::

    from hybrid_plugin.data.beir import read_beir_folder
    from hybrid_plugin.evaluation.beir_eval import evaluate_beir

    results = evaluate_beir(read_beir_folder("beir/xquad-r"), None, device="cpu")
    results.cell("all").values["nDCG@10"], results.cell("de").bias
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
import os
from typing import TYPE_CHECKING, Any

import ir_measures
import numpy as np
from ir_measures import AP, RR, R, nDCG

from hybrid_plugin.data.beir import BeirCollection
from hybrid_plugin.debias.embeddings import read_debias
from hybrid_plugin.debias.transform import LanguageDebias
from hybrid_plugin.errors import UsageError
from hybrid_plugin.evaluation.beir_debias import BeirDebias, apply_to_beir, prepare_beir_debias
from hybrid_plugin.evaluation.embedding_cache import model_identity
from hybrid_plugin.models import load_model, model_prompts
from hybrid_plugin.models.loading import resolve_model

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["ALL", "BEIR_MEASURES", "BeirCell", "BeirResults", "beir_markdown", "beir_run", "evaluate_beir",
           "score_beir_run"]

BEIR_MEASURES: tuple[str, ...] = ("nDCG@10", "R@100", "RR@10", "AP@1000")
"""What a BEIR evaluation reports (ir_measures names; ``RR@10`` is MRR@10)."""
_MEASURES = (nDCG @ 10, R @ 100, RR @ 10, AP @ 1000)
ALL = "all"
"""The cell of every query."""

Run = dict[str, dict[str, float]]


@dataclass(frozen=True)
class BeirCell:
    """The mean of each measure over the queries of one language (or :data:`ALL`), and their language bias."""

    query_language: str
    values: Mapping[str, float]
    queries: int
    bias: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"query_language": self.query_language, "values": dict(self.values), "queries": self.queries,
                "bias": self.bias}


@dataclass
class BeirResults:
    """A BEIR evaluation: the collection, split and model, a cell per query language and ``all``, the values
    of every query (``per_query[qid][measure]``), and the language-bias removal applied (``debias``: method,
    rank, digest, ``fitted_on``, ``fitted_on_evaluated_data``, ``fitted_on_target_corpus``; None without one)."""

    dataset: str
    split: str
    model: str
    cells: dict[str, BeirCell]
    per_query: dict[str, dict[str, float]] = field(default_factory=dict)
    debias: dict[str, Any] | None = None

    def cell(self, query_language: str) -> BeirCell:
        """The cell of a query language or :data:`ALL`."""
        return self.cells[query_language]

    def to_dict(self) -> dict[str, Any]:
        """The one JSON form."""
        return {"dataset": self.dataset, "split": self.split, "model": self.model, "measures": list(BEIR_MEASURES),
                "debias": self.debias, "cells": {k: c.to_dict() for k, c in self.cells.items()},
                "per_query": self.per_query}


def beir_run(qids: Sequence[str], queries: np.ndarray, docids: Sequence[str], documents: np.ndarray,
             depth: int = 1000) -> Run:
    """The top ``depth`` documents of each query by inner product (a Faiss flat index), ``{qid: {docid: score}}``.

    Example::

        beir_run(["q"], np.eye(2, dtype="float32")[:1], ["a", "b"], np.eye(2, dtype="float32"))
        # {'q': {'a': 1.0, 'b': 0.0}}
    """
    import faiss

    index = faiss.IndexFlatIP(documents.shape[1])
    index.add(np.ascontiguousarray(documents, dtype=np.float32))
    scores, rows = index.search(np.ascontiguousarray(queries, dtype=np.float32), min(depth, len(docids)))
    return {qid: {docids[j]: float(s) for j, s in zip(rows[i], scores[i]) if j >= 0} for i, qid in enumerate(qids)}


def score_beir_run(qrels: Mapping[str, Mapping[str, int]], run: Mapping[str, Mapping[str, float]]
                   ) -> dict[str, dict[str, float]]:
    """Per-query :data:`BEIR_MEASURES` of ``run`` against graded ``qrels`` (the queries of ``qrels`` only; a query
    the run misses scores 0)."""
    judged = [ir_measures.Qrel(q, d, int(g)) for q, docs in qrels.items() for d, g in docs.items()]
    values: dict[str, dict[str, float]] = {q: dict.fromkeys(BEIR_MEASURES, 0.0) for q in qrels}
    for metric in ir_measures.iter_calc(list(_MEASURES), judged, {q: dict(run.get(q, {})) for q in qrels}):
        if metric.query_id in values:
            values[metric.query_id][str(metric.measure)] = float(metric.value)
    return values


def _bias(beir: BeirCollection, qids: Sequence[str], scores: np.ndarray, doc_index: Mapping[str, int],
          doc_languages: np.ndarray) -> dict[str, float]:
    """Rank spread of the relevant documents of each query relevant in two or more languages."""
    out = {}
    for i, qid in enumerate(qids):
        relevant = [doc_index[d] for d in beir.relevant(qid)]
        if len(set(doc_languages[relevant].tolist())) < 2:
            continue
        ranks = [1 + int(np.count_nonzero(scores[i] > scores[i, j])) for j in relevant]
        out[qid] = float(max(ranks) - min(ranks))
    return out


def _cells(beir: BeirCollection, per_query: Mapping[str, Mapping[str, float]], bias: Mapping[str, float]
           ) -> dict[str, BeirCell]:
    groups: dict[str, list[str]] = {}
    for qid, query in beir.queries.items():
        groups.setdefault(query.language, []).append(qid)
    groups[ALL] = list(beir.queries)
    cells = {}
    for lang, qids in groups.items():
        means = {m: float(np.mean([per_query[q][m] for q in qids])) for m in BEIR_MEASURES}
        spread = [bias[q] for q in qids if q in bias]
        cells[lang] = BeirCell(lang, means, len(qids), float(np.mean(spread)) if spread else None)
    return cells


def _load(model: SentenceTransformer | str | None, device: str | None, debias: LanguageDebias | None
          ) -> tuple[SentenceTransformer, str, str | None, str | None]:
    """The model, its name, and (a folder or cached hub id, with a transform to check) its path and digest."""
    if model is not None and not isinstance(model, (str, os.PathLike)):
        return model, type(model).__name__, None, None
    name = "default" if model is None else os.fspath(model)
    path = resolve_model(None if model is None else os.fspath(model))
    loaded = load_model(path, device)
    digest = None
    if debias is not None:
        digest = model_identity(path, name=name, prompts=model_prompts(loaded)).digest
    return loaded, name, path, digest


def _encode(st: SentenceTransformer, beir: BeirCollection, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """The query and document embeddings (unit length), rows in ``beir.queries`` / ``beir.corpus`` order."""
    prompts = model_prompts(st)
    documents = st.encode([d.encoder_input(prompts["passage"]) for d in beir.corpus.values()], batch_size=batch_size,
                          normalize_embeddings=True, convert_to_numpy=True)
    queries = st.encode([prompts["query"] + q.text for q in beir.queries.values()], batch_size=batch_size,
                        normalize_embeddings=True, convert_to_numpy=True)
    return queries, documents


def evaluate_beir(beir: BeirCollection, model: SentenceTransformer | str | None = None, *, depth: int = 1000,
                  batch_size: int = 32, device: str | None = None,
                  debias: LanguageDebias | str | os.PathLike[str] | None = None,
                  allow_same_data: bool = False) -> BeirResults:
    """Evaluate ``model`` on ``beir`` (the protocol is in the module docstring).

    Args:
        beir: the collection (:func:`~hybrid_plugin.data.beir.read_beir_folder`).
        model: a loaded ``SentenceTransformer``, or a name / folder for :func:`~hybrid_plugin.models.load_model`
            (None: the default model).
        depth: hits per query. Defaults to 1000.
        batch_size: texts per encoding batch. Defaults to 32.
        device: where to encode (None: sentence-transformers chooses).
        debias: a language-bias removal fitted for this model (or the folder ``hybrid-plugin debias`` wrote),
            applied to the query and document embeddings before scoring; None (default): none.
        allow_same_data: accept a transform fitted on the evaluated collection itself (an oracle, recorded as
            ``fitted_on_evaluated_data``). Defaults to False.

    Returns:
        BeirResults: a cell per query language and ``all``; per-query values; the transform's record.

    Raises:
        UsageError: ``depth`` or ``batch_size`` below 1; a transform fitted on another model (digest, dimension,
            prompts), missing a language it needs, or fitted on the evaluated collection (checked before anything
            is encoded).
        DataError: a ``debias`` folder whose files are missing or malformed.

    Example::

        results = evaluate_beir(read_beir_folder("beir/scifact"), "outputs/hybrid/model", debias="debias-lsar")
        results.cell("all").values["nDCG@10"], results.debias["digest"]
    """
    if depth < 1 or batch_size < 1:
        raise UsageError(f"depth and batch_size must be at least 1, got {depth} and {batch_size}")
    transform = read_debias(debias)
    st, name, path, digest = _load(model, device, transform)
    checked: BeirDebias | None = prepare_beir_debias(transform, beir, model=st, model_path=path, model_digest=digest,
                                                     prompts=model_prompts(st), allow_same_data=allow_same_data)
    docids = list(beir.corpus)
    qids = list(beir.queries)
    queries, documents = _encode(st, beir, batch_size)
    if checked is not None:
        queries, documents = apply_to_beir(checked.transform, beir, queries, documents)
    run = beir_run(qids, queries, docids, documents, depth)
    per_query = score_beir_run({q: beir.qrels[q] for q in qids}, run)
    doc_languages = np.array([d.language for d in beir.corpus.values()])
    bias = {}
    if len(set(doc_languages.tolist())) > 1:
        bias = _bias(beir, qids, queries @ documents.T, {d: i for i, d in enumerate(docids)}, doc_languages)
    return BeirResults(beir.name, beir.split, name, _cells(beir, per_query, bias), per_query,
                       None if checked is None else checked.record())


def beir_markdown(results: BeirResults) -> str:
    """A Markdown table of a BEIR evaluation: a row per query language and ``all``.

    Example::

        print(beir_markdown(evaluate_beir(read_beir_folder("beir/xquad-r"))))
    """
    head = ["query language", "queries", *BEIR_MEASURES, "bias"]
    title = f"# {results.dataset} ({results.split}), {results.model}"
    if results.debias is not None:
        title += f" + {results.debias['method']} ({results.debias['fitted_on']['dataset']})"
    lines = [title, "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for lang, cell in results.cells.items():
        values = [f"{cell.values[m]:.4f}" for m in BEIR_MEASURES]
        bias = "" if cell.bias is None else f"{cell.bias:.1f}"
        lines.append(f"| {'**all**' if lang == ALL else lang} | {cell.queries} | {' | '.join(values)} | {bias} |")
    return "\n".join(lines) + "\n"
