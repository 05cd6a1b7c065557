"""A language-bias removal in a BEIR evaluation, and the domain adaptation that fits it on the target corpus.

* :func:`beir_fit_texts` -- the documents of a BEIR corpus as fit texts for
  :func:`~hybrid_plugin.debias.fitting.fit_debias` (each document in both roles; the queries and qrels are not
  read): bias statistics fitted on unlabeled text of the target domain. This is *transductive over the corpus*
  (the documents searched are the documents fitted on, as a user who holds the corpus can always do) and not over
  the judgments (no query, no qrel);
* :func:`prepare_beir_debias` -- the checks of :func:`~hybrid_plugin.debias.embeddings.prepare_debias` (the
  model's digest, dimension and prompts; the languages; a transform fitted on the evaluated collection itself,
  i.e. with its queries, is refused) for a BEIR collection, and whether the transform was fitted on its corpus;
* :func:`apply_to_beir` -- the transform applied to the query and document embeddings (per role; per language
  for ``center`` / ``lir``, from the records' ``language``).

What does *not* live here: the evaluation (:func:`hybrid_plugin.evaluation.beir_eval.evaluate_beir`, which calls
these), the transform and its fit (:mod:`hybrid_plugin.debias`).

Example::

    beir = read_beir("beir/ntrex-de-en")
    lsar = fit_debias(None, beir_fit_texts(beir), per_language=200, description=CORPUS_DESCRIPTION)
    evaluate_beir(beir, None, debias=lsar).debias["fitted_on_target_corpus"]   # True
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from hybrid_plugin.data.beir import BeirCollection
from hybrid_plugin.data.collection import Candidate, ParallelQA
from hybrid_plugin.debias.embeddings import AppliedDebias, prepare_debias
from hybrid_plugin.debias.transform import LanguageDebias
from hybrid_plugin.errors import UsageError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from hybrid_plugin.data.splits import SplitInfo

__all__ = ["CORPUS_DESCRIPTION", "BeirDebias", "apply_to_beir", "beir_fit_texts", "corpus_checksum",
           "prepare_beir_debias"]

CORPUS_DESCRIPTION = ("the documents of the evaluated BEIR corpus in both roles (unlabeled target-domain text; "
                      "queries and qrels not used): transductive over the corpus, not over the judgments")
"""What ``fit_debias(description=...)`` records for a fit on a BEIR corpus (``hybrid-plugin debias --corpus-only``)."""


def corpus_checksum(beir: BeirCollection) -> str:
    """A SHA-256 over the corpus's documents (id, language, title, text, in order): the identity of the corpus
    alone, whatever files (or split) it was read from.

    Example::

        corpus_checksum(read_beir("beir/xq")) == corpus_checksum(read_beir("beir/xq", split="dev"))   # True
    """
    digest = hashlib.sha256()
    for doc in beir.corpus.values():
        digest.update(f"{doc.docid}\0{doc.language}\0{doc.title}\0{doc.text}\n".encode())
    return digest.hexdigest()


def _identity(name: str, languages: Sequence[str], sources: Mapping[str, str],
              part: SplitInfo | None = None) -> ParallelQA:
    """An empty collection that carries a name, languages, sources and the side of a split: what the debias
    checks compare."""
    return ParallelQA(name, tuple(languages), {lang: {} for lang in languages}, {lang: [] for lang in languages},
                      {lang: {} for lang in languages}, dict(sources), part)


def beir_fit_texts(beir: BeirCollection, *, languages: Sequence[str] | None = None) -> ParallelQA:
    """The documents of ``beir``'s corpus as the fit texts of a language-bias removal: per language, every
    document (``"<title> <text>"``) as a query-role text and as a passage-role text; the queries and qrels are not
    used. Pass ``per_language`` / ``seed`` to :func:`~hybrid_plugin.debias.fitting.fit_debias` to draw from them
    (each role draws its own documents); the transform records the corpus as its source, and
    :func:`~hybrid_plugin.evaluation.beir_eval.evaluate_beir` then records ``fitted_on_target_corpus: true``.

    Args:
        beir: the collection whose corpus is fitted on (the target domain).
        languages: keep only these document languages (default: every language with documents).

    Returns:
        ParallelQA: named ``<name>-corpus``, no judgments, sources ``{"corpus": corpus_checksum(beir)}``.

    Raises:
        UsageError: a language with no document in the corpus.

    Example::

        texts = beir_fit_texts(read_beir("beir/ntrex-de-en"))
        fit_debias(None, texts, per_language=200, description=CORPUS_DESCRIPTION).source.dataset  # '...-corpus'
    """
    pools: dict[str, list[Candidate]] = {}
    for i, doc in enumerate(beir.corpus.values()):
        pools.setdefault(doc.language, []).append(Candidate(doc.docid, doc.contents, doc.language,
                                                            doc.paragraph or 0, i if doc.sentence is None
                                                            else doc.sentence))
    wanted = tuple(pools) if languages is None else tuple(languages)
    missing = [lang for lang in wanted if lang not in pools]
    if missing:
        raise UsageError(f"the corpus of {beir.name} has no document in language {missing[0]!r} (its languages: "
                         f"{', '.join(pools)})")
    return ParallelQA(f"{beir.name}-corpus", wanted, {lang: {c.docid: c.text for c in pools[lang]} for lang in wanted},
                      {lang: pools[lang] for lang in wanted}, {lang: {} for lang in wanted},
                      {"corpus": corpus_checksum(beir)})


@dataclass(frozen=True)
class BeirDebias:
    """A transform checked for one BEIR evaluation, and whether it was fitted on the evaluated corpus."""

    applied: AppliedDebias
    fitted_on_target_corpus: bool

    @property
    def transform(self) -> LanguageDebias:
        """The transform applied."""
        return self.applied.transform

    def record(self) -> dict[str, Any]:
        """``BeirResults.debias``: method, rank, digest, what it was fitted on, and whether that was the evaluated
        collection (``fitted_on_evaluated_data``) or its corpus alone (``fitted_on_target_corpus``)."""
        return self.applied.record() | {"fitted_on_target_corpus": self.fitted_on_target_corpus}


def prepare_beir_debias(debias: LanguageDebias | None, beir: BeirCollection, *, model: SentenceTransformer,
                        model_path: str | None, model_digest: str | None, prompts: Mapping[str, str],
                        allow_same_data: bool = False) -> BeirDebias | None:
    """Check a transform against a BEIR evaluation before anything is encoded
    (:func:`~hybrid_plugin.debias.embeddings.prepare_debias` on the collection's name, languages and source files).

    Args:
        debias: the transform (None: nothing to check).
        beir: the collection evaluated.
        model, model_path, model_digest, prompts, allow_same_data: as for ``prepare_debias``.

    Returns:
        BeirDebias | None: the checked transform (None without one).

    Raises:
        UsageError: a transform fitted on another model, missing a language it needs, or fitted on the evaluated
            collection itself (its queries; ``allow_same_data`` measures that oracle). A fit on the corpus alone
            (:func:`beir_fit_texts`) passes and is recorded.

    Example::

        checked = prepare_beir_debias(lsar, beir, model=st, model_path=path, model_digest=digest,
                                      prompts={"query": "query: ", "passage": "passage: "})
    """
    if debias is None:
        return None
    applied = prepare_debias(debias, _identity(beir.name, beir.languages, beir.sources, beir.part), model=model,
                             model_path=model_path, model_digest=model_digest, prompts=prompts,
                             allow_same_data=allow_same_data)
    languages = sorted({d.language for d in beir.corpus.values()})
    corpus = _identity(f"{beir.name}-corpus", languages, {"corpus": corpus_checksum(beir)})
    return BeirDebias(applied, debias.source.overlaps(corpus))


def _by_language(vectors: np.ndarray, languages: Sequence[str], debias: LanguageDebias, role: str) -> np.ndarray:
    if not debias.needs_language:
        return debias.apply(vectors, role=role)  # type: ignore[arg-type]
    out = np.empty(vectors.shape, dtype=np.float32)
    codes = np.asarray(languages)
    for lang in dict.fromkeys(languages):
        rows = np.flatnonzero(codes == lang)
        out[rows] = debias.apply(vectors[rows], language=lang, role=role)  # type: ignore[arg-type]
    return out


def apply_to_beir(debias: LanguageDebias, beir: BeirCollection, queries: np.ndarray, documents: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """The query and document embeddings (rows in ``beir.queries`` / ``beir.corpus`` order) with the transform
    applied: queries in the query role, documents in the passage role, each row with its record's language.

    Example::

        queries, documents = apply_to_beir(lsar, beir, queries, documents)
    """
    return (_by_language(queries, [q.language for q in beir.queries.values()], debias, "query"),
            _by_language(documents, [d.language for d in beir.corpus.values()], debias, "passage"))
