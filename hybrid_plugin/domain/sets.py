"""The domain study's data: each domain's evaluation side and adaptation side, split by item, as collections and
as BEIR folders (:class:`DomainData`; the protocols are in :mod:`hybrid_plugin.domain.settings`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from hybrid_plugin.adaptation.parallel import collection_texts, items_digest, without_texts_of
from hybrid_plugin.data.beir import BeirCollection
from hybrid_plugin.data.beir_convert import beir_from_parallel_qa
from hybrid_plugin.data.collection import ParallelQA
from hybrid_plugin.data.loading import load_parallel_qa
from hybrid_plugin.data.splits import split_items
from hybrid_plugin.domain.settings import DOMAINS, DomainSettings
from hybrid_plugin.errors import DataError
from hybrid_plugin.lowres.sets import first_per_language

__all__ = ["DomainData", "DomainSides", "denoising_texts", "fit_texts"]


@dataclass(frozen=True)
class DomainSides:
    """One domain cut in two: ``evaluated`` (every row is measured on its BEIR folder ``beir``) and ``adapt``
    (what adaptations read; ``adapt_beir``, its first items with ``--quick``, is where the better baseline is
    chosen)."""

    domain: str
    evaluated: ParallelQA
    adapt: ParallelQA
    beir: BeirCollection
    adapt_beir: BeirCollection

    def record(self) -> dict[str, Any]:
        """The split in a JSON form: items, digests, and the check that no text is shared."""
        shared = collection_texts(self.adapt) & collection_texts(self.evaluated)
        return {"domain": self.domain, "evaluated": self.evaluated.name, "adapt": self.adapt.name,
                "evaluated_items": len(self.evaluated.qids), "adapt_items": len(self.adapt.qids),
                "evaluated_digest": items_digest(self.evaluated), "adapt_digest": items_digest(self.adapt),
                "shared_items": len(set(self.evaluated.qids) & set(self.adapt.qids)), "shared_texts": len(shared),
                "queries": len(self.beir.queries), "documents": len(self.beir.corpus)}


def denoising_texts(qa: ParallelQA) -> list[str]:
    """The distinct sentences of a collection (its questions and candidates, every language), in a fixed order:
    the unlabeled target-domain text of TSDAE."""
    return sorted(collection_texts(qa), key=lambda t: hashlib.sha256(t.encode()).hexdigest())


def fit_texts(qa: ParallelQA) -> dict[str, list[str]]:
    """The sentences of each language of a collection (its questions and candidates, each text once): the
    unlabeled text a language-bias removal is fitted on, in both roles (AfriQA's question languages have no
    passages of their own, so a collection's two roles cannot be used as they are)."""
    texts: dict[str, list[str]] = {}
    for lang in qa.languages:
        found = [*qa.questions[lang].values(), *(c.text for c in qa.candidates[lang])]
        texts[lang] = list(dict.fromkeys(found))
    return texts


class DomainData:
    """Each domain's two sides, built when first asked for, then kept."""

    def __init__(self, settings: DomainSettings) -> None:
        self.settings = settings
        self._sides: dict[str, DomainSides] = {}

    def _load(self, dataset: str, domain: str, *, sliced: bool = True, adapt: bool = False) -> ParallelQA:
        settings = self.settings
        qa = load_parallel_qa(dataset, data=settings.data(dataset), languages=settings.languages(domain, adapt=adapt))
        items = settings.items(domain)
        return qa if items is None or not sliced else first_per_language(qa, items)

    def sides(self, domain: str) -> DomainSides:
        """The evaluation and adaptation sides of ``domain``."""
        if domain not in self._sides:
            spec = DOMAINS[domain]
            if spec.adapt_dataset is None:
                split = split_items(self._load(spec.dataset, domain), 1 - self.settings.adapt_fraction,
                                    seed=self.settings.split_seed)
                evaluated, adapt = split.dev, split.train
            else:  # the release's own split: training reads all of it (no encoding), even with --quick
                evaluated = self._load(spec.dataset, domain)
                adapt = self._load(spec.adapt_dataset, domain, sliced=False, adapt=True)
            adapt = without_texts_of(adapt, evaluated)
            beir = beir_from_parallel_qa(evaluated, pool=spec.pools)
            items = self.settings.items(domain)
            chosen_on = adapt if items is None else first_per_language(adapt, items)
            adapt_beir = beir_from_parallel_qa(chosen_on, pool=[p for p in spec.pools if chosen_on.candidates.get(p)])
            if not beir.queries or not adapt_beir.queries:
                raise DataError(f"domain {domain}: a side without queries (languages "
                                f"{', '.join(self.settings.languages(domain))})")
            self._sides[domain] = DomainSides(domain, evaluated, adapt, beir, adapt_beir)
        return self._sides[domain]
