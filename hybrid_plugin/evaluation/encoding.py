"""Encoding a parallel QA collection: every distinct text once, with the embedding cache when one is given.

* :func:`encode_parallel_qa` encodes each distinct question text once (a text shared by several languages or
  questions is encoded once) and each distinct candidate text once, and returns them per language
  (:class:`EncodedQA`, with what it cost in :class:`EncodingStats`).
* :func:`encode_through_cache` encodes one role's texts through the embedding cache (what is there is read,
  the rest encoded and added): the one cached encoder, used by :func:`encode_parallel_qa` and by BEIR's
  evaluation (:func:`~hybrid_plugin.evaluation.beir_eval.evaluate_beir`).
* :func:`encode_texts` is ``model.encode`` with a prompt, as float32, L2-normalised when the model scores by
  cosine but does not normalise itself (:func:`should_normalize`).

What does *not* live here: the cache and the model identity that keys it
(:mod:`hybrid_plugin.evaluation.embedding_cache`), the Faiss files written from the embeddings
(:mod:`hybrid_plugin.pyserini.faiss_files`), loading a model (:mod:`hybrid_plugin.models`).

Example::

    from hybrid_plugin.data import load_parallel_qa
    from hybrid_plugin.evaluation.embedding_cache import EmbeddingCache, model_identity
    from hybrid_plugin.evaluation.encoding import encode_parallel_qa
    from hybrid_plugin.models import load_model, model_prompts, resolve_model

    qa = load_parallel_qa("xquad-r", data="../shared/data/xquad-r").limit(20)
    path = resolve_model(None)
    model = load_model(path)
    identity = model_identity(path, prompts=model_prompts(model))
    encoded = encode_parallel_qa(model, qa, prompts=model_prompts(model),
                                 cache=EmbeddingCache.for_model(identity, qa.checksum))
    encoded.queries["de"].shape, encoded.stats.encoded   # ((20, 384), 20 * 11 + pool sizes)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from hybrid_plugin.data import ParallelQA
from hybrid_plugin.errors import DataError, UsageError
from hybrid_plugin.evaluation.embedding_cache import EmbeddingCache, Role, text_digests

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["EncodedQA", "EncodingStats", "encode_parallel_qa", "encode_texts", "encode_through_cache",
           "should_normalize"]

logger = logging.getLogger(__name__)



@dataclass
class EncodingStats:
    """How much encoding a run did.

    Attributes:
        distinct: distinct (role, text) pairs the collection needs.
        encoded: texts sent through the model (each distinct text at most once: ``encoded <= distinct``).
        cached: distinct texts read from the cache instead (``encoded + cached == distinct``).
        seconds: wall time spent in ``model.encode``.
        cpu_seconds: CPU time of the process (all threads) spent in ``model.encode``.
        cache_folder: where the cache entries are (None: not cached).
    """

    distinct: int = 0
    encoded: int = 0
    cached: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    cache_folder: str | None = None

    @property
    def ratio(self) -> float:
        """Texts encoded / distinct texts not taken from the cache (1.0: every text encoded exactly once)."""
        todo = self.distinct - self.cached
        return self.encoded / todo if todo else 1.0

    def as_dict(self) -> dict[str, Any]:
        return {"distinct_texts": self.distinct, "texts_encoded": self.encoded, "from_cache": self.cached,
                "encoded_per_distinct": self.ratio, "seconds": round(self.seconds, 3),
                "cpu_seconds": round(self.cpu_seconds, 3),
                "cache": self.cache_folder}


@dataclass
class EncodedQA:
    """Embeddings of a :class:`ParallelQA`, per language, in the collection's order.

    Attributes:
        queries: ``queries[lang]`` has one row per ``qa.questions[lang]`` entry (dict order).
        passages: ``passages[lang]`` has one row per ``qa.candidates[lang]`` entry.
        stats: what the encoding cost.
    """

    queries: dict[str, np.ndarray]
    passages: dict[str, np.ndarray]
    stats: EncodingStats = field(default_factory=EncodingStats)

    @property
    def dim(self) -> int:
        return next(iter(self.passages.values())).shape[1]


def _has_normalize(model: SentenceTransformer) -> bool:
    from sentence_transformers.sentence_transformer.modules import Normalize  # heavy: imports torch

    try:
        return any(isinstance(module, Normalize) for module in model)
    except TypeError:
        return False


def should_normalize(model: SentenceTransformer) -> bool:
    """True when the model scores by cosine but does not normalise its output itself (then we L2-normalise, so
    that the inner product of a Faiss ``IndexFlatIP`` is the cosine, as ``pyserini --l2-norm`` does)."""
    similarity = getattr(model, "similarity_fn_name", None) or "cosine"
    return str(similarity) == "cosine" and not _has_normalize(model)


def encode_texts(model: SentenceTransformer, texts: Sequence[str], *, prompt: str, batch_size: int = 32,
                 show_progress: bool = True, normalize: bool | None = None, desc: str | None = None) -> np.ndarray:
    """``model.encode`` with a prompt, as float32 (L2-normalised when :func:`should_normalize`)."""
    if not texts:
        return np.empty((0, model.get_sentence_embedding_dimension() or 0), dtype=np.float32)
    if normalize is None:
        normalize = should_normalize(model)
    if desc:
        logger.info("encoding %d %s", len(texts), desc)
    vectors = model.encode(list(texts), prompt=prompt or None, batch_size=batch_size, show_progress_bar=show_progress,
                           convert_to_numpy=True, normalize_embeddings=normalize)
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or len(vectors) != len(texts):
        raise DataError(f"the model returned embeddings of shape {vectors.shape} for {len(texts)} texts")
    return vectors


def _distinct(texts_by_lang: Mapping[str, Sequence[str]]) -> tuple[list[str], dict[str, np.ndarray]]:
    """Distinct texts in first-seen order, and per language the row of each text in that list."""
    position: dict[str, int] = {}
    rows: dict[str, np.ndarray] = {}
    for lang, texts in texts_by_lang.items():
        idx = np.empty(len(texts), dtype=np.int64)
        for i, text in enumerate(texts):
            idx[i] = position.setdefault(text, len(position))
        rows[lang] = idx
    return list(position), rows


def encode_through_cache(model: SentenceTransformer, distinct: Sequence[str], role: Role, prompt: str, *,
                         cache: EmbeddingCache | None, stats: EncodingStats, batch_size: int = 32,
                         show_progress: bool = True, normalize: bool, dataset: str) -> np.ndarray:
    """Vectors of ``distinct`` texts of one role, in order: read from ``cache`` where there, else encoded with
    ``prompt`` (:func:`encode_texts`, in one call, in the given order) and added to it.

    Rows are addressed by :func:`~hybrid_plugin.evaluation.embedding_cache.text_digests` of (role, prompt, text),
    so the digest covers exactly what the model reads. ``stats`` gains the texts given (``distinct``), encoded
    and read from the cache. Texts may repeat (each is then encoded as often as given, so that a cold run makes
    the very call ``model.encode`` would make); the collection encoders pass distinct texts.

    Args:
        model: the encoder. distinct: the texts. role: ``"query"`` or ``"passage"``. prompt: the prefix the model
            is given (``""``: none, the texts carry it).
        cache: the cache of this model on this data (None: encode everything, store nothing).
        stats: the counters to add to. batch_size: ``model.encode`` batch size. show_progress: tqdm bars.
        normalize: L2-normalise the fresh vectors (cached ones are read as stored). dataset: recorded with a new
            cache entry.

    Returns:
        np.ndarray: float32, one row per text.

    Raises:
        DataError: cached embeddings whose dimension is not the model's.

    Example::

        stats = EncodingStats()
        vectors = encode_through_cache(model, ["Wer?"], "query", "query: ", cache=None, stats=stats,
                                       normalize=True, dataset="demo")
        vectors.shape, stats.encoded          # ((1, 384), 1)
    """
    digests = text_digests(distinct, role, prompt)
    stats.distinct += len(distinct)
    found = np.zeros(len(distinct), dtype=bool)
    vectors: np.ndarray | None = None
    if cache is not None:
        found, cached = cache.lookup(digests)
        if cached is not None:
            vectors = np.empty((len(distinct), cached.shape[1]), dtype=np.float32)
            vectors[found] = cached
        stats.cached += int(found.sum())
    todo = np.flatnonzero(~found)
    if len(todo):
        start, cpu_start = time.perf_counter(), time.process_time()
        fresh = encode_texts(model, [distinct[i] for i in todo.tolist()], prompt=prompt, batch_size=batch_size,
                             show_progress=show_progress, normalize=normalize,
                             desc=f"{role} texts ({int(found.sum())} more from the cache)")
        stats.seconds += time.perf_counter() - start
        stats.cpu_seconds += time.process_time() - cpu_start
        stats.encoded += len(todo)
        if vectors is None:
            vectors = np.empty((len(distinct), fresh.shape[1]), dtype=np.float32)
        elif fresh.shape[1] != vectors.shape[1]:
            raise DataError(f"cached embeddings have {vectors.shape[1]} dimensions but the model gives "
                            f"{fresh.shape[1]}", cache.folder if cache else None)
        vectors[todo] = fresh
        if cache is not None:
            cache.store(digests[todo], fresh, {"role": role, "dataset": dataset})
    if vectors is None:  # no texts at all
        vectors = np.empty((0, model.get_sentence_embedding_dimension() or 0), dtype=np.float32)
    return vectors


def encode_parallel_qa(model: SentenceTransformer, qa: ParallelQA, *, prompts: Mapping[str, str],
                       batch_size: int = 32, cache: EmbeddingCache | None = None,
                       show_progress: bool = True) -> EncodedQA:
    """Encode every question and candidate of ``qa``, each distinct text exactly once.

    Questions are encoded with ``prompts["query"]`` and candidates with ``prompts["passage"]``; a text that
    occurs several times (in one language or several) is encoded once and its row shared. With a ``cache``,
    texts already there are read instead, and the newly encoded ones are added.

    Args:
        model (SentenceTransformer): the encoder.
        qa (ParallelQA): the collection.
        prompts (dict): ``{"query": ..., "passage": ...}`` prefixes.
        batch_size (int, default 32): ``model.encode`` batch size.
        cache (EmbeddingCache, optional): on-disk cache of this model on this data.
        show_progress (bool, default True): tqdm progress bars while encoding.

    Returns:
        EncodedQA: per-language query and passage matrices and the :class:`EncodingStats`.
    """
    if batch_size < 1:
        raise UsageError(f"batch_size must be a positive number but got {batch_size}")
    stats = EncodingStats(cache_folder=str(cache.folder) if cache is not None else None)
    normalize = should_normalize(model)
    by_role: dict[Role, dict[str, list[str]]] = {
        "passage": {lang: [c.text for c in qa.candidates[lang]] for lang in qa.languages},
        "query": {lang: list(qa.questions[lang].values()) for lang in qa.languages},
    }
    out: dict[Role, dict[str, np.ndarray]] = {}
    for role, texts_by_lang in by_role.items():
        distinct, rows = _distinct(texts_by_lang)
        vectors = encode_through_cache(model, distinct, role, prompts.get(role, ""), cache=cache, stats=stats,
                                   batch_size=batch_size, show_progress=show_progress, normalize=normalize,
                                   dataset=qa.name)
        out[role] = {lang: vectors[idx] for lang, idx in rows.items()}
    logger.info("embeddings: %d distinct texts, %d encoded, %d from the cache", stats.distinct, stats.encoded,
                stats.cached)
    return EncodedQA(queries=out["query"], passages=out["passage"], stats=stats)
