"""Tatoeba's protocol: xx -> eng and eng -> xx bitext retrieval, as LASER, LaBSE and multilingual-E5 report it.

For every language ``xx`` of a :class:`~hybrid_plugin.data.tatoeba.TatoebaSet`, each sentence of one side is a
query against all sentences of the other side (up to 1,000 pairs), by cosine similarity, exact nearest neighbour
(Artetxe & Schwenk 2019; LASER's ``source/lib/indexing.py`` searches a flat Faiss index for the top 1):

* **accuracy** = precision@1: the translation is the nearest neighbour; **error rate** = 1 - accuracy (LASER's
  figure). A tie at the top counts as an error: the rank of the translation is 1 + the number of *other*
  sentences scoring at least as high (a flat index may return either of two equal scores, so the reading that
  never credits a tie is the one every run agrees with); scores are cosines rounded to six decimals, as in the
  plugin's runs;
* **mAP**: with one relevant sentence per query, the mean of 1 / rank (same ranks).

The sides are encoded as :meth:`TatoebaSet.pair` lays them out (the ``xx`` and ``en`` questions with the query
prompt, the pools with the passage prompt), through :func:`~hybrid_plugin.evaluation.encoding.encode_parallel_qa`
and the embedding cache, so a language evaluated by ``hybrid-plugin evaluate tatoeba-xx`` and here is encoded
once. Equal sentences within a side are one candidate (the published files have none).

* :class:`BitextLanguage` -- one language's numbers; :class:`BitextResults` -- the record (one JSON form,
  ``bitext.json``); :func:`evaluate_bitext` -- the run; :func:`bitext_ranks` -- the ranking on embeddings.

What does *not* live here: reading Tatoeba (:mod:`hybrid_plugin.data.tatoeba`), the Markdown table by resource
group (:mod:`hybrid_plugin.analysis.resource_groups`), the command (:mod:`hybrid_plugin.cli.bitext`).

Example::

    from hybrid_plugin.data import load_tatoeba
    results = evaluate_bitext(load_tatoeba(data="../shared/data/tatoeba", languages=["de", "sw"]), None)
    results.languages["sw"].accuracy_to_en, results.languages["sw"].error_rate   # 0.6..., 0.3...
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hybrid_plugin.data.collection import ParallelQA, read_record_text
from hybrid_plugin.data.languages import resource_levels
from hybrid_plugin.data.tatoeba import TatoebaSet
from hybrid_plugin.errors import DataError, UsageError
from hybrid_plugin.evaluation.cells import ModelInfo
from hybrid_plugin.evaluation.embedding_cache import EmbeddingCache, model_identity
from hybrid_plugin.evaluation.encoding import EncodedQA, encode_parallel_qa
from hybrid_plugin.files import atomic_write
from hybrid_plugin.models import DEFAULT_MODEL_ALIASES, DEFAULT_MODEL_NAME, load_model, model_prompts, resolve_model
from hybrid_plugin.provenance import package_versions
from hybrid_plugin.pyserini.trec_runs import quantize_scores

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["BITEXT_FILE", "BITEXT_SCHEMA", "BitextLanguage", "BitextResults", "bitext_ranks", "evaluate_bitext",
           "score_bitext"]

BITEXT_FILE = "bitext.json"
BITEXT_SCHEMA = 1
_PIVOT = "en"


@dataclass(frozen=True)
class BitextLanguage:
    """One language's Tatoeba numbers (fractions in [0, 1]).

    Attributes:
        language: the plugin's code. pairs: sentence pairs (queries per direction). group: its resource group
            (``trained`` / ``pretrained`` / ``unseen`` / ``unlisted``, :func:`~hybrid_plugin.data.resource_levels`).
        accuracy_to_en, accuracy_from_en: precision@1 of xx -> eng and eng -> xx.
        map_to_en, map_from_en: mean average precision of the two directions.
    """

    language: str
    pairs: int
    group: str
    accuracy_to_en: float
    accuracy_from_en: float
    map_to_en: float
    map_from_en: float

    @property
    def accuracy(self) -> float:
        """Mean accuracy of the two directions (what LaBSE and multilingual-E5 tabulate)."""
        return (self.accuracy_to_en + self.accuracy_from_en) / 2

    @property
    def error_rate(self) -> float:
        """1 - :attr:`accuracy` (LASER's figure)."""
        return 1.0 - self.accuracy

    @property
    def map(self) -> float:
        return (self.map_to_en + self.map_from_en) / 2

    def to_dict(self) -> dict[str, Any]:
        return {"pairs": self.pairs, "group": self.group, "accuracy_to_en": self.accuracy_to_en,
                "accuracy_from_en": self.accuracy_from_en, "map_to_en": self.map_to_en,
                "map_from_en": self.map_from_en, "accuracy": self.accuracy, "error_rate": self.error_rate,
                "map": self.map}

    @classmethod
    def from_dict(cls, language: str, data: Any, path: str | Path | None = None) -> BitextLanguage:
        if not isinstance(data, dict):
            raise DataError(f"languages.{language} must be an object", path)
        values: dict[str, Any] = {}
        for key in ("accuracy_to_en", "accuracy_from_en", "map_to_en", "map_from_en"):
            value = data.get(key)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise DataError(f"field 'languages.{language}.{key}' must be a number in [0, 1] but got {value!r}",
                                path)
            values[key] = float(value)
        pairs, group = data.get("pairs"), data.get("group")
        if isinstance(pairs, bool) or not isinstance(pairs, int) or pairs < 1:
            raise DataError(f"field 'languages.{language}.pairs' must be a positive integer but got {pairs!r}", path)
        if not isinstance(group, str):
            raise DataError(f"field 'languages.{language}.group' must be a string but got {group!r}", path)
        return cls(language, pairs, group, **values)


@dataclass
class BitextResults:
    """The Tatoeba record: every language's :class:`BitextLanguage`, the model and the training languages the
    groups were computed against, with provenance. Its one JSON form is :meth:`to_json` (``bitext.json``)."""

    model: ModelInfo
    training_languages: tuple[str, ...]
    languages: dict[str, BitextLanguage]
    sources: dict[str, str] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    created: str = ""
    schema_version: int = BITEXT_SCHEMA

    def mean(self, attribute: str, group: str | None = None) -> float | None:
        """Mean of one :class:`BitextLanguage` attribute over all languages (or one group); None if none."""
        values = [getattr(v, attribute) for v in self.languages.values() if group is None or v.group == group]
        return float(np.mean(values)) if values else None

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": self.schema_version, "protocol": "tatoeba", "model": self.model.to_dict(),
                "training_languages": list(self.training_languages),
                "languages": {k: v.to_dict() for k, v in self.languages.items()},
                "mean": {"accuracy": self.mean("accuracy"), "error_rate": self.mean("error_rate"),
                         "map": self.mean("map")},
                "sources": dict(self.sources), "versions": dict(self.versions), "created": self.created}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"

    @classmethod
    def from_json(cls, text: str, path: str | Path | None = None) -> BitextResults:
        """Read :meth:`to_json`'s form; :class:`DataError` naming the field that is wrong."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"not JSON ({exc.msg}, line {exc.lineno})", path) from None
        if not isinstance(data, dict) or data.get("protocol") != "tatoeba":
            raise DataError("not a bitext record (expected an object with \"protocol\": \"tatoeba\")", path)
        if data.get("schema_version") != BITEXT_SCHEMA:
            raise DataError(f"schema_version {data.get('schema_version')!r} is not {BITEXT_SCHEMA}; upgrade the "
                            "plugin to read it", path)
        if not isinstance(data.get("model"), dict) or not isinstance(data["model"].get("name"), str):
            raise DataError("field 'model.name' must be a string", path)
        langs, training = data.get("languages"), data.get("training_languages")
        if not isinstance(langs, dict) or not langs:
            raise DataError("field 'languages' must be a non-empty object", path)
        if not isinstance(training, list) or not all(isinstance(t, str) for t in training):
            raise DataError("field 'training_languages' must be an array of strings", path)
        return cls(ModelInfo.from_dict(data["model"]), tuple(training),
                   {k: BitextLanguage.from_dict(k, v, path) for k, v in langs.items()},
                   dict(data.get("sources") or {}), dict(data.get("versions") or {}), str(data.get("created", "")))

    def save(self, folder: str | Path) -> Path:
        """Write ``folder/bitext.json`` atomically."""
        path = Path(folder) / BITEXT_FILE
        with atomic_write(path) as handle:
            handle.write(self.to_json())
        return path

    @classmethod
    def load(cls, path: str | Path) -> BitextResults:
        """Read a ``bitext.json`` (or the folder holding one)."""
        text, path = read_record_text(path, BITEXT_FILE)
        return cls.from_json(text, path)


def bitext_ranks(queries: np.ndarray, pool: np.ndarray, gold: np.ndarray, *, chunk: int = 1024) -> np.ndarray:
    """1-based rank of each query's gold candidate by inner product, a tie counted against it (rank = 1 + the
    other candidates scoring at least as high). Scores are computed in float64 and rounded to the six decimals of
    the plugin's runs (:func:`~hybrid_plugin.pyserini.trec_runs.quantize_scores`), so that equal vectors tie
    whatever order a BLAS kernel sums in.

    Example::

        >>> q = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
        >>> bitext_ranks(q, np.array([[1.0, 0.0], [1.0, 0.0]], dtype=np.float32), np.array([0, 1])).tolist()
        [2, 2]
    """
    queries = np.ascontiguousarray(queries, dtype=np.float64)
    pool_t = np.ascontiguousarray(np.asarray(pool, dtype=np.float64).T)
    gold = np.asarray(gold, dtype=np.int64)
    ranks = np.empty(len(queries), dtype=np.int64)
    for start in range(0, len(queries), chunk):
        scores = quantize_scores(queries[start:start + chunk] @ pool_t)
        rows = np.arange(len(scores))
        target = scores[rows, gold[start:start + chunk]]
        ranks[start:start + chunk] = np.count_nonzero(scores >= target[:, None], axis=1)  # gold itself: rank 1
    return ranks


def _direction(qa: ParallelQA, encoded: EncodedQA, x: str, y: str) -> tuple[float, float]:
    """(accuracy, mAP) of queries in ``x`` against the pool of ``y``."""
    index = {c.docid: i for i, c in enumerate(qa.candidates[y])}
    gold = np.array([index[qa.relevant[y][qid]] for qid in qa.questions[x]], dtype=np.int64)
    ranks = bitext_ranks(encoded.queries[x], encoded.passages[y], gold)
    return float(np.mean(ranks == 1)), float(np.mean(1.0 / ranks))


def score_bitext(qa: ParallelQA, encoded: EncodedQA, group: str = "unlisted") -> BitextLanguage:
    """One language's :class:`BitextLanguage` from the embeddings of its :meth:`TatoebaSet.pair` collection."""
    x = next((lang for lang in qa.languages if lang != _PIVOT), None)
    if x is None or set(qa.languages) != {x, _PIVOT}:
        raise UsageError(f"{qa.name} is not a Tatoeba pair (xx with en) but has {', '.join(qa.languages)}")
    acc_to, map_to = _direction(qa, encoded, x, _PIVOT)
    acc_from, map_from = _direction(qa, encoded, _PIVOT, x)
    return BitextLanguage(x, len(qa.questions[x]), group, acc_to, acc_from, map_to, map_from)


def evaluate_bitext(tatoeba: TatoebaSet, model: str | os.PathLike[str] | SentenceTransformer | None, *,
                    training: Iterable[str] = (), model_name: str | None = None, batch_size: int = 32,
                    cache: bool = True, device: str | None = None,
                    show_progress: bool = False) -> BitextResults:
    """Tatoeba's xx -> eng and eng -> xx accuracy and mAP for every language of ``tatoeba``.

    Args:
        tatoeba (TatoebaSet): the bitexts (:func:`~hybrid_plugin.data.load_tatoeba`).
        model (str | SentenceTransformer | None): a model folder or hub id, a loaded model, None for the default.
        training (iterable of str): the languages the model was fine-tuned on (for the resource groups).
        model_name (str, optional): the name to report.
        batch_size (int, default 32): ``model.encode`` batch size.
        cache (bool, default True): read and add embeddings in the plugin's embedding cache (model folders only).
        device (str, optional): the torch device.
        show_progress (bool, default False): tqdm bars while encoding.

    Returns:
        BitextResults: one :class:`BitextLanguage` per language, in ``tatoeba.languages`` order.

    Raises:
        UsageError: a batch size below 1, an unknown model.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise UsageError(f"batch_size must be a positive number but got {batch_size!r}")
    training = tuple(training)
    if model is None or isinstance(model, (str, os.PathLike)):
        path: str | None = resolve_model(None if model is None else os.fspath(model))
        loaded = load_model(path, device=device)
        argument = None if model is None else os.fspath(model)
        name = model_name or (DEFAULT_MODEL_NAME if argument is None or argument in DEFAULT_MODEL_ALIASES
                              else argument)
    else:
        path, loaded, name = None, model, model_name or "model"
    prompts = model_prompts(loaded)
    identity = model_identity(path, name=name, prompts=prompts) if cache and path is not None else None
    levels = resource_levels(tatoeba.languages, training)
    scores: dict[str, BitextLanguage] = {}
    for lang in tatoeba.languages:
        qa = tatoeba.pair(lang)
        store = EmbeddingCache.for_model(identity, qa.checksum) if identity is not None else None
        encoded = encode_parallel_qa(loaded, qa, prompts=prompts, batch_size=batch_size, cache=store,
                                     show_progress=show_progress)
        scores[lang] = score_bitext(qa, encoded, levels[lang].group)
    return BitextResults(ModelInfo(name, path, dict(prompts)), training, scores, dict(tatoeba.sources),
                         package_versions(("hybrid-plugin", "sentence-transformers", "transformers", "torch", "numpy")),
                         datetime.now(timezone.utc).isoformat(timespec="seconds"))
