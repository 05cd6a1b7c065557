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

**Embedding cache** (``cache=True``, the default; ``hybrid-plugin beir --no-cache`` turns it off): a model given
by name or folder encodes through the plugin's on-disk cache
(:func:`~hybrid_plugin.evaluation.encoding.encode_through_cache`), keyed as every other path keys it -- the model's
identity with its prompts (:func:`~hybrid_plugin.evaluation.embedding_cache.model_identity`), the data
(:func:`beir_cache_checksum`), and per row a digest of exactly what the model reads (a document's
``encoder_input``, title included; a query's prompt and text), so a changed title or text is encoded again and
nothing else is. A second evaluation of the same model on the same collection (the ``+lsar`` cells of the domain
study) encodes nothing and gives the same vectors, hence the same values; a first one makes the very
``model.encode`` calls it made without the cache. A loaded ``SentenceTransformer`` is not cached (no identity).

What does not live here: reading BEIR folders (:mod:`hybrid_plugin.data.beir`), the parallel collections' mono /
cross / multi evaluation (:mod:`hybrid_plugin.evaluation.pipeline`), which keeps its own measures unchanged.

Example::

    from hybrid_plugin.data.beir import read_beir_folder
    from hybrid_plugin.evaluation.beir_eval import evaluate_beir

    results = evaluate_beir(read_beir_folder("beir/xquad-r"), None, device="cpu")
    results.cell("all").values["nDCG@10"], results.cell("de").bias
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

import ir_measures
import numpy as np
from ir_measures import AP, RR, R, nDCG

from hybrid_plugin.data.beir import BeirCollection
from hybrid_plugin.debias.embeddings import read_debias
from hybrid_plugin.debias.transform import LanguageDebias
from hybrid_plugin.errors import UsageError
from hybrid_plugin.evaluation.beir_debias import BeirDebias, apply_to_beir, corpus_checksum, prepare_beir_debias
from hybrid_plugin.evaluation.embedding_cache import EmbeddingCache, ModelIdentity, model_identity
from hybrid_plugin.evaluation.encoding import EncodingStats, encode_through_cache
from hybrid_plugin.models import load_model, model_prompts
from hybrid_plugin.models.loading import resolve_model

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["ALL", "BEIR_MEASURES", "BeirCell", "BeirResults", "beir_cache_checksum", "beir_markdown", "beir_run",
           "evaluate_beir", "score_beir_run"]

logger = logging.getLogger(__name__)

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


def beir_cache_checksum(beir: BeirCollection) -> str:
    """The embedding cache's dataset key of a BEIR collection: a SHA-256 over ``beir`` and the checksums of the
    files its documents and queries were read from (``beir.sources`` without the qrels, which no embedding depends
    on: the splits of a folder share it; a collection written from a parallel one carries that one's files, so
    both sides of its split share it too); for a collection built without sources, over its documents (id,
    language, title, text) and queries (id, language, text).

    The key only groups cache entries: rows are addressed by the digest of the text the model reads, so a
    document whose title or text changed is encoded again under the same key. It is BEIR's own (the ``beir``
    tag) because BEIR's evaluation always L2-normalises, which the parallel path does only for models that need
    it: their rows never mix.

    Example::

        beir_cache_checksum(read_beir("beir/xq")) == beir_cache_checksum(read_beir("beir/xq", split="dev"))  # True
    """
    digest = hashlib.sha256(b"beir\n")
    sources = {k: v for k, v in beir.sources.items() if "qrels" not in PurePosixPath(k).parts}
    for name in sorted(sources):
        digest.update(f"{name}\t{sources[name]}\n".encode())
    if not sources:
        digest.update(f"corpus\t{corpus_checksum(beir)}\n".encode())
        for query in beir.queries.values():
            digest.update(f"{query.qid}\0{query.language}\0{query.text}\n".encode())
    return digest.hexdigest()


def _load(model: SentenceTransformer | str | None, device: str | None, identify: bool
          ) -> tuple[SentenceTransformer, str, str | None, ModelIdentity | None]:
    """The model, its name, and (a folder or hub id) its path and, when ``identify``, its cache identity."""
    if model is not None and not isinstance(model, (str, os.PathLike)):
        return model, type(model).__name__, None, None
    name = "default" if model is None else os.fspath(model)
    path = resolve_model(None if model is None else os.fspath(model))
    loaded = load_model(path, device)
    identity = model_identity(path, name=name, prompts=model_prompts(loaded)) if identify else None
    return loaded, name, path, identity


def _encode(st: SentenceTransformer, beir: BeirCollection, batch_size: int, cache: EmbeddingCache | None
            ) -> tuple[np.ndarray, np.ndarray]:
    """The query and document embeddings (unit length), rows in ``beir.queries`` / ``beir.corpus`` order, through
    ``cache``: the texts carry their prompts (a document's prefix sits after its title), so they are given with
    the empty prompt and digested whole."""
    prompts = model_prompts(st)
    stats = EncodingStats(cache_folder=None if cache is None else str(cache.folder))
    texts = {"passage": [d.encoder_input(prompts["passage"]) for d in beir.corpus.values()],
             "query": [prompts["query"] + q.text for q in beir.queries.values()]}
    documents, queries = (encode_through_cache(st, texts[role], role, "", cache=cache, stats=stats,
                                               batch_size=batch_size, show_progress=False, normalize=True,
                                               dataset=beir.name) for role in ("passage", "query"))
    logger.info("embeddings of %s: %d texts, %d encoded, %d from the cache", beir.name, stats.distinct,
                stats.encoded, stats.cached)
    return queries, documents


def evaluate_beir(beir: BeirCollection, model: SentenceTransformer | str | None = None, *, depth: int = 1000,
                  batch_size: int = 32, device: str | None = None,
                  debias: LanguageDebias | str | os.PathLike[str] | None = None,
                  allow_same_data: bool = False, cache: bool = True) -> BeirResults:
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
        cache: read and add embeddings in the plugin's embedding cache (a model given by name or folder; the
            model's own embeddings, before any transform). Defaults to True.

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
    st, name, path, identity = _load(model, device, cache or transform is not None)
    digest = None if identity is None else identity.digest
    checked: BeirDebias | None = prepare_beir_debias(transform, beir, model=st, model_path=path, model_digest=digest,
                                                     prompts=model_prompts(st), allow_same_data=allow_same_data)
    store = EmbeddingCache.for_model(identity, beir_cache_checksum(beir)) if cache and identity is not None else None
    docids = list(beir.corpus)
    qids = list(beir.queries)
    queries, documents = _encode(st, beir, batch_size, store)
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
