"""One Tatoeba cell of the low-resource study: Tatoeba's protocol (:mod:`hybrid_plugin.evaluation.bitext`) for one
model, optionally with a language-bias removal applied to the embeddings, keeping each query's rank for the paired
tests.

The embeddings come through the plugin's embedding cache (keyed by model and data), so the debiased twin of a
model re-uses its plain embeddings and only applies the transform. A query's score is the reciprocal rank of its
translation (its AP with one relevant sentence), keyed ``<language>:<direction>:<qid>`` (direction ``to_en`` or
``from_en``).

Example::

    results, per_query = bitext_cell(tatoeba, "models/xx", name="xx", training=["en", "de"])
    results.languages["sw"].accuracy, per_query["sw:to_en:1"]   # 0.6..., 1.0
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from hybrid_plugin.data.collection import ParallelQA
from hybrid_plugin.data.languages import resource_levels
from hybrid_plugin.data.tatoeba import TatoebaSet
from hybrid_plugin.debias.embeddings import apply_to_encoded
from hybrid_plugin.debias.transform import LanguageDebias
from hybrid_plugin.errors import DataError, UsageError
from hybrid_plugin.evaluation.bitext import BitextLanguage, BitextResults, bitext_ranks
from hybrid_plugin.evaluation.cells import ModelInfo
from hybrid_plugin.evaluation.embedding_cache import EmbeddingCache, model_identity
from hybrid_plugin.evaluation.encoding import EncodedQA, encode_parallel_qa
from hybrid_plugin.files import atomic_write
from hybrid_plugin.models import load_model, model_prompts
from hybrid_plugin.provenance import package_versions

__all__ = ["PER_QUERY_FILE", "bitext_cell", "read_per_query", "write_per_query"]

PER_QUERY_FILE = "per_query.json"
_PIVOT = "en"


def _ranks(qa: ParallelQA, encoded: EncodedQA, x: str, y: str) -> np.ndarray:
    index = {c.docid: i for i, c in enumerate(qa.candidates[y])}
    gold = np.array([index[qa.relevant[y][qid]] for qid in qa.questions[x]], dtype=np.int64)
    return bitext_ranks(encoded.queries[x], encoded.passages[y], gold)


def bitext_cell(tatoeba: TatoebaSet, model: str, *, name: str, training: Iterable[str] = (),
                debias: LanguageDebias | None = None, batch_size: int = 32,
                cache: bool = True) -> tuple[BitextResults, dict[str, float]]:
    """Tatoeba's accuracy and mAP per language (as :func:`~hybrid_plugin.evaluation.bitext.evaluate_bitext`), with
    ``debias`` applied to both sides' embeddings when given, and each query's reciprocal rank.

    Args:
        tatoeba (TatoebaSet): the bitexts.
        model (str): a model folder or hub id.
        name (str): the name recorded (``xx``, ``xx+lsar``).
        training (iterable of str): the languages of the resource group ``trained``.
        debias (LanguageDebias, optional): a transform fitted on this model, on other text.
        batch_size (int, default 32), cache (bool, default True): encoding options.

    Returns:
        (BitextResults, dict): the record and ``{"<lang>:<to_en|from_en>:<qid>": 1 / rank}``.

    Raises:
        UsageError: an unknown model, a transform fitted on another model.
    """
    loaded = load_model(model)
    prompts = model_prompts(loaded)
    identity = model_identity(model, name=name.split("+")[0], prompts=prompts) if cache else None
    if debias is not None and identity is not None and debias.model.digest not in (None, identity.digest):
        raise UsageError(f"the transform was fitted on {debias.model.name}, not on {model}; fit one for this model")
    training = tuple(training)
    levels = resource_levels(tatoeba.languages, training)
    scores: dict[str, BitextLanguage] = {}
    per_query: dict[str, float] = {}
    for lang in tatoeba.languages:
        qa = tatoeba.pair(lang)
        store = EmbeddingCache.for_model(identity, qa.checksum) if identity is not None else None
        encoded = encode_parallel_qa(loaded, qa, prompts=prompts, batch_size=batch_size, cache=store,
                                     show_progress=False)
        if debias is not None:
            encoded = apply_to_encoded(debias, encoded)
        to_en, from_en = _ranks(qa, encoded, lang, _PIVOT), _ranks(qa, encoded, _PIVOT, lang)
        scores[lang] = BitextLanguage(lang, len(qa.questions[lang]), levels[lang].group,
                                      float(np.mean(to_en == 1)), float(np.mean(from_en == 1)),
                                      float(np.mean(1.0 / to_en)), float(np.mean(1.0 / from_en)))
        for direction, ranks in (("to_en", to_en), ("from_en", from_en)):
            per_query.update({f"{lang}:{direction}:{qid}": 1.0 / int(r) for qid, r in zip(qa.questions[lang], ranks)})
    record = BitextResults(ModelInfo(name, model, dict(prompts)), training, scores, dict(tatoeba.sources),
                           package_versions(("hybrid-plugin", "sentence-transformers", "torch", "numpy")),
                           datetime.now(timezone.utc).isoformat(timespec="seconds"))
    return record, per_query


def write_per_query(folder: Path, per_query: dict[str, float]) -> Path:
    """``folder/per_query.json``: each query's reciprocal rank (rounded to six decimals), written atomically."""
    path = folder / PER_QUERY_FILE
    with atomic_write(path) as handle:
        json.dump({k: round(v, 6) for k, v in per_query.items()}, handle, separators=(",", ":"))
    return path


def read_per_query(folder: Path) -> dict[str, float]:
    """Read :func:`write_per_query`'s file; :class:`DataError` naming it when it is missing or malformed."""
    path = folder / PER_QUERY_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"cannot read per-query ranks ({exc})", path) from None
    if not isinstance(data, dict) or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                             for v in data.values()):
        raise DataError("expected an object of query -> reciprocal rank", path)
    return {str(k): float(v) for k, v in data.items()}
