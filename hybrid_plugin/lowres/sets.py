"""The low-resource study's data: each set loaded once and cut to its slice, and the texts each language-bias
removal is fitted on (never the set it is applied to, :data:`~hybrid_plugin.lowres.settings.DEBIAS_FIT_ON`).

* :class:`LowresData` -- ``collection("afriqa")`` / ``collection("ntrex-128")`` (a :class:`ParallelQA`),
  ``tatoeba()`` (a :class:`TatoebaSet`), ``fit_texts(fit_set, languages)`` (what ``fit_debias`` draws from);
* :func:`first_per_language` -- the first ``n`` questions of each query language (AfriQA's slice: its items are
  ordered by language, so ``limit`` alone would keep one language).

Example::

    data = LowresData(settings)
    data.collection("afriqa").languages, len(data.tatoeba().languages)   # ('ha', 'sw', 'yo', 'zu', 'en'), 6
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Union

from hybrid_plugin.data.collection import ParallelQA
from hybrid_plugin.data.languages import dataset_languages
from hybrid_plugin.data.loading import load_parallel_qa, load_tatoeba
from hybrid_plugin.data.tatoeba import Bitext, TatoebaSet
from hybrid_plugin.lowres.settings import LowresSettings

__all__ = ["FitTexts", "LowresData", "first_per_language"]

FitTexts = Union[ParallelQA, dict[str, list[str]]]


def first_per_language(qa: ParallelQA, n: int) -> ParallelQA:
    """The items of the first ``n`` questions of each language that has no pool (AfriQA's query languages), or
    of the collection's first ``n`` items when every language has one (NTREX-128)."""
    query_only = qa.query_only
    if not query_only:
        return qa.limit(n)
    keep = [qid for lang in query_only for qid in list(qa.questions[lang])[:n]]
    return qa.subset(keep)


class LowresData:
    """The study's sets, each loaded (and sliced) when first asked for, then kept."""

    def __init__(self, settings: LowresSettings) -> None:
        self.settings = settings
        self._collections: dict[str, ParallelQA] = {}
        self._tatoeba: TatoebaSet | None = None

    def collection(self, name: str) -> ParallelQA:
        """AfriQA or NTREX-128, cut to the settings' slice."""
        if name not in self._collections:
            part = self.settings.slice(name)
            qa = load_parallel_qa(name, data=self.settings.data(name), languages=part.languages)
            self._collections[name] = qa if part.items is None else first_per_language(qa, part.items)
        return self._collections[name]

    def tatoeba(self) -> TatoebaSet:
        """Tatoeba, cut to the settings' slice (the first ``items`` pairs of each language)."""
        if self._tatoeba is None:
            part = self.settings.slice("tatoeba")
            full = load_tatoeba(data=self.settings.data("tatoeba"), languages=part.languages)
            n = part.items
            self._tatoeba = full if n is None else TatoebaSet(
                {lang: Bitext(lang, b.sentences[:n], b.english[:n]) for lang, b in full.bitexts.items()},
                dict(full.sources))
        return self._tatoeba

    def evaluated_languages(self, name: str) -> tuple[str, ...]:
        """The languages evaluated in set ``name`` (Tatoeba's with English)."""
        if name == "tatoeba":
            return (*self.tatoeba().languages, "en")
        return self.collection(name).languages

    def fit_texts(self, fit_set: str, languages: Iterable[str]) -> FitTexts:
        """The texts a transform is fitted on: ``fit_set``'s sentences in those of ``languages`` it has (English
        always), whole (not the evaluation slice: they are not evaluated).

        NTREX-128 is read as a collection (its sentences in both roles); Tatoeba as sentences per language, its
        English sides giving English.
        """
        available = set(dataset_languages(fit_set))
        wanted = [lang for lang in dict.fromkeys([*languages, "en"]) if lang in available or
                  (fit_set == "tatoeba" and lang == "en")]
        if fit_set != "tatoeba":
            return load_parallel_qa(fit_set, data=self.settings.data(fit_set), languages=wanted)
        bitexts = load_tatoeba(data=self.settings.data(fit_set), languages=[lang for lang in wanted if lang != "en"])
        texts = {b.language: list(dict.fromkeys(b.sentences)) for b in bitexts}
        texts["en"] = list(dict.fromkeys(s for b in bitexts for s in b.english))
        return texts
