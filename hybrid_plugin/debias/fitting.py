"""Fitting a language-bias removal: the fit texts drawn per language, encoded with the model's prompts (each
distinct text once, through the embedding cache), and the transform fitted on their embeddings.

* :func:`fit_debias` -- a model and fit texts (a collection :func:`~hybrid_plugin.data.load_parallel_qa` loads,
  or a mapping language -> sentences) -> :class:`~hybrid_plugin.debias.transform.LanguageDebias`;
* :func:`fit_embeddings` -- the same from embeddings already computed (the exact algebra, no model);
* :func:`draw_texts` -- which texts are encoded: per language, the distinct questions (query role) and candidate
  sentences (passage role) of a collection, or the same sentences in both roles; at most ``per_language`` of
  each, drawn with ``seed``.

Fit on text that is *not* the evaluation set: a training set (``mlqa-r`` for an XQuAD-R evaluation) or unlabeled
parallel sentences (``ntrex-128``). What does *not* live here: the record, applying and saving it
(:mod:`hybrid_plugin.debias.transform`), the sentence-transformers module (:mod:`hybrid_plugin.debias.module`).

Example::

    from hybrid_plugin.data import load_parallel_qa
    from hybrid_plugin.debias.fitting import fit_debias

    mlqa = load_parallel_qa("mlqa-r", data="../shared/data/mlqa-r")
    debias = fit_debias(None, mlqa, method="lsar", rank=4, per_language=200)   # the default model
    debias.save("debias-lsar")   # hybrid-plugin evaluate --debias debias-lsar ...
"""

from __future__ import annotations

import hashlib
import logging
import os
import zlib
from collections.abc import Mapping, Sequence, Sized
from dataclasses import replace
from typing import TYPE_CHECKING, Union

import numpy as np

from hybrid_plugin.data.collection import Candidate, ParallelQA, check_name
from hybrid_plugin.debias.algebra import lsar_basis, top_directions
from hybrid_plugin.debias.transform import (
    METHODS,
    ROLES,
    FitSource,
    FittedModel,
    LanguageDebias,
    Method,
    default_rank,
    role_languages,
)
from hybrid_plugin.errors import UsageError
from hybrid_plugin.evaluation.embedding_cache import EmbeddingCache, ModelIdentity, Role, model_identity
from hybrid_plugin.evaluation.encoding import encode_parallel_qa, should_normalize
from hybrid_plugin.models.loading import DEFAULT_MODEL_ALIASES, DEFAULT_MODEL_NAME, load_model, model_prompts, resolve_model

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["FitTexts", "draw_texts", "embeddings_unit_length", "fit_debias", "fit_embeddings"]

logger = logging.getLogger(__name__)

FitTexts = Union[ParallelQA, Mapping[str, Sequence[str]]]
"""What a transform is fitted on: a collection, or sentences per language."""


# ------------------------------------------------------------------------------------------------ from embeddings


def fit_embeddings(embeddings: Mapping[str, Mapping[str, np.ndarray]], *, method: Method, rank: int | None = None,
                   normalize: bool = True, source: FitSource, model: FittedModel) -> LanguageDebias:
    """Fit a transform on embeddings ``embeddings[role][language]`` (``(n, dim)`` each, both roles).

    Args:
        embeddings (dict): the fit texts' embeddings per role (``"query"``, ``"passage"``) and language.
        method (str): ``"center"``, ``"lir"`` or ``"lsar"``.
        rank (int, optional): directions removed (default: :func:`default_rank`); not for ``center``.
        normalize (bool, default True): whether the model's embeddings are unit length (results are rescaled).
        source (FitSource): what the texts are (its ``languages`` and ``texts`` are filled in here).
        model (FittedModel): whose embeddings they are.

    Returns:
        LanguageDebias: the fitted record.

    Raises:
        UsageError: an unknown method, a rank out of range, a language with no text, fewer than two languages
            for ``lsar``.

    Example::

        >>> rng = np.random.default_rng(0)
        >>> emb = {r: {"en": rng.normal(size=(5, 3)) + 1, "de": rng.normal(size=(5, 3)) - 1} for r in ROLES}
        >>> fit_embeddings(emb, method="lsar", rank=1, source=FitSource("toy", "0"), model=FittedModel("m")).rank
        1
    """
    if method not in METHODS:
        raise UsageError(f"method must be one of {', '.join(METHODS)} but got {method!r}")
    languages = role_languages(embeddings, "embeddings")
    given, rank = rank, _fit_rank(method, rank, len(languages))
    tables = {r: {lang: np.asarray(embeddings[r][lang], dtype=np.float64) for lang in languages} for r in ROLES}
    empty = [(r, lang) for r in ROLES for lang in languages if tables[r][lang].ndim != 2 or not len(tables[r][lang])]
    if empty:
        raise UsageError(f"no {empty[0][0]} texts to fit for language {empty[0][1]!r}")
    dims = {tables[r][lang].shape[1] for r in ROLES for lang in languages}
    if len(dims) != 1:
        raise UsageError(f"the embeddings must have one dimension but have {sorted(dims)}")
    dim = dims.pop()
    rank = min(rank, dim - 1) if given is None and rank is not None else rank  # a default fits the dimension
    _check_rank_for(method, rank, tables, dim)
    means = {r: {lang: tables[r][lang].mean(axis=0) for lang in languages} for r in ROLES}
    bases: dict[str, dict[str, np.ndarray]] = {}
    basis = None
    if method == "lir" and rank is not None:
        bases = {r: {lang: top_directions(tables[r][lang], rank) for lang in languages} for r in ROLES}
    elif method == "lsar" and rank is not None:
        basis = lsar_basis([np.stack([means[r][lang] for lang in languages]) for r in ROLES], rank)
    counts = {r: {lang: int(len(tables[r][lang])) for lang in languages} for r in ROLES}
    return LanguageDebias(method, rank, means, replace(source, languages=languages, texts=counts), model, bases,
                          basis, normalize)


def _fit_rank(method: str, rank: int | None, languages: int) -> int | None:
    """The rank to fit: :func:`default_rank` when none is given; a whole number >= 1 for lir and lsar, None for
    center."""
    if method == "center":
        if rank is not None:
            raise UsageError(f"rank is for lir and lsar; center removes no directions (got rank {rank})")
        return None
    rank = default_rank(method, languages) if rank is None else rank
    if not isinstance(rank, int) or isinstance(rank, bool) or rank < 1:
        raise UsageError(f"rank must be a whole number of at least 1 for {method} but got {rank!r}")
    return rank


def _check_lir_rank(rank: int, rows: int, what: str) -> None:
    if rank > rows:
        raise UsageError(f"lir rank {rank} is more than the {rows} directions of the {rows} {what}; draw more "
                         "texts or lower the rank")


def _check_lsar_rank(rank: int, languages: int) -> None:
    if languages < 2:
        raise UsageError(f"lsar needs the means of at least two languages but got {languages}")
    most = len(ROLES) * (languages - 1)
    if rank > most:
        raise UsageError(f"lsar rank {rank} is more than the {most} directions that the centred means of "
                         f"{languages} languages span ({len(ROLES)} roles); lower the rank or fit more languages")


def _check_rank_for(method: str, rank: int | None, drawn: Mapping[str, Mapping[str, Sized]],
                    dim: int | None = None) -> None:
    """The rank against the texts drawn and (once the model is loaded) its dimension, before anything is encoded."""
    if rank is None:
        return
    if dim is not None and rank >= dim:
        raise UsageError(f"rank must be a whole number from 1 to {dim - 1} (below the dimension) for {method} but "
                         f"got {rank}")
    if method == "lsar":
        _check_lsar_rank(rank, len(drawn["query"]))
    for role, by_lang in drawn.items() if method == "lir" else ():
        for lang, texts in by_lang.items():
            _check_lir_rank(rank, len(texts), f"{role} texts in {lang}")


# ------------------------------------------------------------------------------------------------ the fit texts


def _distinct(texts: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(t for t in texts if t.strip()))


def draw_texts(texts: FitTexts, *, per_language: int | None = None, seed: int = 0,
               languages: Sequence[str] | None = None) -> dict[Role, dict[str, list[str]]]:
    """The texts a transform is fitted on, per role and language.

    Args:
        texts (ParallelQA | dict): a collection (its distinct questions for the query role, its distinct
            candidate sentences for the passage role) or ``{language: sentences}`` (the same sentences in both
            roles).
        per_language (int, optional): draw at most this many texts per language and role (None: all).
        seed (int, default 0): the draw's seed; each (role, language) has its own stream, so adding a language
            leaves the others' draws as they were.
        languages (list, optional): keep only these languages.

    Returns:
        dict: ``texts[role][language]``, in the source's order.

    Raises:
        UsageError: ``per_language`` below 1, an unknown language, a language with no text.

    Example::

        >>> draw_texts({"en": ["a cat", "a dog", "a cat"], "de": ["eine Katze"]}, per_language=1)["query"]["de"]
        ['eine Katze']
    """
    if per_language is not None and (isinstance(per_language, bool) or not isinstance(per_language, int)
                                     or per_language < 1):
        raise UsageError(f"per_language must be a positive number of texts but got {per_language!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise UsageError(f"seed must be an integer from 0 to {2**32 - 1} but got {seed!r}")
    if isinstance(texts, ParallelQA):
        qa = texts if languages is None else texts.select_languages(languages)
        found = {"query": {lang: _distinct(list(qa.questions[lang].values())) for lang in qa.languages},
                 "passage": {lang: _distinct([c.text for c in qa.candidates[lang]]) for lang in qa.languages}}
    else:
        wanted = list(texts) if languages is None else list(languages)
        missing = [lang for lang in wanted if lang not in texts]
        if missing:
            raise UsageError(f"no sentences for language {missing[0]!r}; given: {', '.join(texts)}")
        for lang in wanted:
            check_name(lang, "language")
        found = {role: {lang: _distinct(list(texts[lang])) for lang in wanted} for role in ROLES}
    drawn: dict[Role, dict[str, list[str]]] = {}
    for role, by_lang in found.items():
        drawn[role] = {}
        for lang, pool in by_lang.items():
            if not pool:
                raise UsageError(f"language {lang!r} has no {role} texts to fit on")
            if per_language is not None and len(pool) > per_language:
                rng = np.random.default_rng([seed, zlib.crc32(f"{role}\0{lang}".encode())])
                pool = [pool[i] for i in sorted(rng.choice(len(pool), per_language, replace=False).tolist())]
            drawn[role][lang] = pool
    return drawn


def _as_collection(drawn: Mapping[Role, Mapping[str, list[str]]], name: str, sources: Mapping[str, str]
                   ) -> ParallelQA:
    """The drawn texts as a collection (questions: the query texts, candidates: the passage texts), so that
    :func:`encode_parallel_qa` encodes them through the embedding cache."""
    languages = tuple(drawn["query"])
    return ParallelQA(
        name=name, languages=languages,
        questions={lang: {f"{lang}-q{i}": t for i, t in enumerate(drawn["query"][lang])} for lang in languages},
        candidates={lang: [Candidate(f"{lang}-p{i}", t, lang, i, 0) for i, t in enumerate(drawn["passage"][lang])]
                    for lang in languages},
        relevant={lang: {} for lang in languages}, sources=dict(sources))


# ------------------------------------------------------------------------------------------------ with a model


def embeddings_unit_length(model: SentenceTransformer) -> bool:
    """Whether the embeddings the plugin scores with are unit length: the model normalises them itself (a
    ``Normalize`` module) or scores by cosine (then :func:`~hybrid_plugin.evaluation.encoding.encode_texts`
    normalises them).

    Example::

        embeddings_unit_length(load_model())   # True: the default model ends in Normalize
    """
    from sentence_transformers.sentence_transformer.modules import Normalize  # heavy: imports torch

    return should_normalize(model) or any(isinstance(module, Normalize) for module in model)


def _load(model: str | os.PathLike[str] | SentenceTransformer | None, device: str | None
          ) -> tuple[SentenceTransformer, FittedModel, ModelIdentity | None]:
    if model is not None and not isinstance(model, (str, os.PathLike)):
        name = getattr(getattr(model, "model_card_data", None), "base_model", None) or "model"
        return model, FittedModel(name, None, None, model_prompts(model)), None
    argument = None if model is None else os.fspath(model)
    path = resolve_model(argument)
    name = DEFAULT_MODEL_NAME if argument is None or argument in DEFAULT_MODEL_ALIASES else argument
    loaded = load_model(path, device=device)
    prompts = model_prompts(loaded)
    identity = model_identity(path, name=name, prompts=prompts)
    return loaded, FittedModel(name, identity.path, identity.digest, prompts), identity


def fit_debias(model: str | os.PathLike[str] | SentenceTransformer | None, texts: FitTexts, *,
               method: Method = "lsar", rank: int | None = None, per_language: int | None = None, seed: int = 0,
               languages: Sequence[str] | None = None, name: str | None = None, description: str = "",
               batch_size: int = 32, cache: bool = True, device: str | None = None,
               show_progress: bool = True) -> LanguageDebias:
    """Fit a language-bias removal for ``model`` on ``texts``.

    Both roles are fitted: the query texts are encoded with the model's query prompt, the passage texts with
    its passage prompt (:func:`~hybrid_plugin.models.model_prompts`), each distinct text once, through the
    embedding cache (shared with ``evaluate`` on the same collection).

    Args:
        model (str | SentenceTransformer | None): a model folder or hub id, a loaded model, or None for the default.
        texts (ParallelQA | dict): see :func:`draw_texts`; not the evaluation set.
        method (str, default "lsar"): ``"center"``, ``"lir"`` or ``"lsar"``.
        rank (int, optional): directions removed (default: :func:`default_rank`).
        per_language (int, optional): at most this many texts per language and role; seed (int): the draw's seed.
        languages (list, optional): fit only these languages.
        name (str, optional): the name recorded for a mapping of sentences (default ``"sentences"``).
        description (str): free text recorded with the source.
        batch_size (int, default 32), cache (bool, default True), device (str, optional), show_progress (bool):
            encoding options.

    Returns:
        LanguageDebias: the fitted transform (``save`` it, or pass it to ``evaluate(debias=...)``).

    Raises:
        UsageError: a bad option (checked before the model is loaded), an unknown model or language.

    Example::

        lsar = fit_debias(None, load_parallel_qa("ntrex-128", languages=["en", "de", "zh"]), per_language=100)
        lsar.rank, lsar.apply(vectors, role="query")   # 2 (languages - 1), the vectors with the bias removed
    """
    if method not in METHODS:
        raise UsageError(f"method must be one of {', '.join(METHODS)} but got {method!r}")
    _fit_rank(method, rank, 2)  # a rank given is checked now; a default one is chosen by fit_embeddings
    drawn = draw_texts(texts, per_language=per_language, seed=seed, languages=languages)
    _check_rank_for(method, rank, drawn)
    part = FitSource.part_of(texts)
    if isinstance(texts, ParallelQA):
        label, sources = texts.name, dict(texts.sources)
        description = description or "questions (query role) and candidate sentences (passage role)"
    else:
        label = check_name(name or "sentences", "dataset")
        digest = hashlib.sha256("".join(f"{lang}\0{t}\n" for lang in drawn["query"] for t in texts[lang]).encode())
        sources = {"sentences": digest.hexdigest()}
        description = description or "the same sentences in both roles"
    collection = _as_collection(drawn, label, sources)
    loaded, fitted, identity = _load(model, device)
    _check_rank_for(method, rank, drawn, dim=loaded.get_embedding_dimension() or None)
    store = EmbeddingCache.for_model(identity, collection.checksum) if cache and identity is not None else None
    encoded = encode_parallel_qa(loaded, collection, prompts=fitted.prompts, batch_size=batch_size, cache=store,
                                 show_progress=show_progress)
    source = FitSource(label, collection.checksum, per_language=per_language, seed=seed, description=description,
                       part=part)
    debias = fit_embeddings({"query": encoded.queries, "passage": encoded.passages}, method=method, rank=rank,
                            normalize=embeddings_unit_length(loaded), source=source, model=fitted)
    logger.debug("fitted %s", debias.describe())
    return debias
