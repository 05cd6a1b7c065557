"""What the domain-transfer study runs: :class:`DomainSettings` (checked once, when made), the domains and their
protocols (:data:`DOMAINS`), the ``--quick`` slices and the folder layout.

The study takes the zero-shot models of a ``hybrid-plugin reproduce`` folder (the untuned base, X-X, X-Y, hybrid;
seed 0), trained on Wikipedia QA, and evaluates them on collections of other domains, as BEIR folders through
:func:`~hybrid_plugin.evaluation.beir_eval.evaluate_beir` (nDCG@10, AP, R@100, MRR@10; language bias where a
query has answers in several languages). Then it adapts the hybrid model and the better baseline to each domain
with three options and evaluates them again:

* ``lsar`` -- (a) language-bias removal (LSAR) fitted on unlabeled text of the domain: the adaptation side's
  sentences (:mod:`hybrid_plugin.debias`);
* ``parallel`` -- (b) continued hybrid training with the domain's parallel text as X-Y pairs, beside the model's
  own training collection (:mod:`hybrid_plugin.adaptation.parallel`);
* ``denoising`` -- (c) TSDAE on the domain's text, mixed with the hybrid batches
  (:mod:`hybrid_plugin.adaptation.denoising`).

**No evaluated item is adapted on.** Each domain's collection is split by item (and document): the *evaluation
side* is what every row is measured on; the *adaptation side* (without any item sharing a text with the
evaluation side) is all an adaptation reads -- and what the better baseline is chosen on (its zero-shot nDCG@10
there), so no choice looks at the evaluated items. AfriQA has its own released split: adaptation on its train
split, evaluation on its test split.

Domains (:data:`DOMAINS`):

* ``news`` -- NTREX-128 (newstest2019 sentences): X -> a multilingual pool of English, German and Spanish
  sentences (a query judged against its translation in each; bias defined), queries in the other languages;
* ``african-qa`` -- AfriQA: questions in African languages -> the gold English / French Wikipedia passages;
* ``conversational`` -- Tatoeba (short everyday sentences, ``tatoeba-pool``): X -> one pool of the distinct
  English sentences of every evaluated language (Tatoeba's xx -> eng, but over the union of the English sides,
  so harder than one bitext's); no English queries (they would find themselves), no bias (one pool language).

Its folder::

    OUT/domain.json                                   the settings (a rerun must have the same, except
                                                      ``domains``: the union of the domains run so far)
    OUT/cells/<domain>/<system>/beir.json (+ .md)     one evaluation (``cell.json`` says what the system is)
    OUT/selection/<domain>/<config>/beir.json         the baselines on the adaptation side (the choice)
    OUT/models/<domain>/<system>/                     adapted models (training.json) and transforms
    OUT/summary.md, summary.json, domains.png         the summary, its record, the plot

Example::

    >>> settings = DomainSettings(study="outputs/reproduce-quick", out="/tmp/domain-doc", quick=True)
    >>> settings.steps, settings.domains
    (6, ('news', 'african-qa', 'conversational'))
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal, get_args

from hybrid_plugin.errors import UsageError

__all__ = ["ADAPTATIONS", "DOMAINS", "GROWING", "SETTINGS_FILE", "Adaptation", "Domain", "DomainSettings", "DomainSpec"]

Domain = Literal["news", "african-qa", "conversational"]
Adaptation = Literal["lsar", "parallel", "denoising"]
ADAPTATIONS: tuple[Adaptation, ...] = get_args(Adaptation)
SETTINGS_FILE = "domain.json"
GROWING = ("domains",)
"""The keys of :meth:`DomainSettings.plan` a resumed study may differ in: ``domain.json`` keeps the union."""


@dataclass(frozen=True)
class DomainSpec:
    """One domain: its collection (``dataset``; ``adapt_dataset`` when the release has its own training split),
    the pool languages its queries search, the languages evaluated (full and ``--quick``) and items (quick), and
    the languages ``adapt_dataset`` has (None: all evaluated ones)."""

    dataset: str
    adapt_dataset: str | None
    pools: tuple[str, ...]
    languages: tuple[str, ...]
    quick_languages: tuple[str, ...]
    quick_items: int
    description: str
    adapt_languages: tuple[str, ...] | None = None


DOMAINS: dict[str, DomainSpec] = {
    "news": DomainSpec(
        "ntrex-128", None, ("en", "de", "es"),
        ("en", "de", "es", "ar", "hi", "vi", "zh", "fr", "ru", "sw", "ha", "am", "ta", "yo", "zu", "ig"),
        ("en", "de", "es", "ar", "sw", "yo", "zu"), 120,
        "news sentences (NTREX-128, newstest2019): X -> en + de + es pool"),
    "african-qa": DomainSpec(
        "afriqa", "afriqa-train", ("en", "fr"),
        ("bem", "fon", "ha", "ig", "rw", "sw", "tw", "yo", "zu", "en", "fr"),
        ("ha", "yo", "zu", "fon", "en", "fr"), 30,
        "African-language Wikipedia QA (AfriQA): X -> gold en / fr passages",
        ("bem", "fon", "ha", "ig", "rw", "tw", "yo", "zu", "en", "fr")),  # train has no Swahili gold passages
    "conversational": DomainSpec(
        "tatoeba-pool", None, ("en",),
        ("en", "de", "es", "ar", "zh", "hi", "vi", "fr", "ru", "tl", "sw", "kab", "ber", "yue", "ceb"),
        ("en", "de", "ar", "fr", "kab", "yue"), 1000,
        "conversational sentences (Tatoeba): X -> one deduplicated English pool"),
}

_FOLDERS = {"afriqa-train": "afriqa", "tatoeba-pool": "tatoeba"}
"""Data sets read from another set's folder (the rest from ``data_root/<dataset>``)."""


def _positive_int(value: Any, option: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"{option} must be a positive integer, got {value!r}")
    return value


@dataclass(frozen=True)
class DomainSettings:
    """The options of ``hybrid-plugin domain``.

    Args:
        study (str | Path): a ``hybrid-plugin reproduce`` folder (its ``plan.json`` and trained models).
        out (str | Path): the study's folder (resumable).
        data_root (str | Path): the folder holding ``ntrex-128/``, ``afriqa/``, ``tatoeba/`` and the training
            collections.
        quick (bool): the ``--quick`` slices (about ten minutes on two CPU cores).
        domains (tuple[str, ...], optional): which of :data:`DOMAINS` (default: all).
        adaptations (tuple[str, ...], optional): which of :data:`ADAPTATIONS` (default: all).
        adapt_fraction (float): share of a split domain's items on the adaptation side. Defaults to 0.5.
        split_seed (int): the split's seed. Defaults to 0.
        steps (int, optional): training steps of each adaptation (default 6 quick, 60 full).
        batch_size (int, optional): pairs per batch (default 16 quick, 32 full).
        per_language (int, optional): LSAR fit texts per language and role (default 25 quick, 200 full).
        limit (int, optional): items per language of each domain's collection instead of the preset's (tests).
        publish (str | Path, optional): copy the small outputs there as they finish.
    """

    study: Path
    out: Path
    data_root: Path = Path("../shared/data")
    quick: bool = False
    domains: tuple[str, ...] | None = None
    adaptations: tuple[str, ...] | None = None
    adapt_fraction: float = 0.5
    split_seed: int = 0
    steps: int | None = None
    batch_size: int | None = None
    per_language: int | None = None
    limit: int | None = None
    publish: Path | None = None

    def __post_init__(self) -> None:
        for name in ("study", "out", "data_root", "publish"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, Path(os.fspath(value)))
        domains = tuple(DOMAINS) if self.domains is None else tuple(self.domains)
        adaptations = ADAPTATIONS if self.adaptations is None else tuple(self.adaptations)
        for option, values, known in (("--domains", domains, tuple(DOMAINS)), ("--adaptations", adaptations,
                                                                            ADAPTATIONS)):
            unknown = [v for v in values if v not in known]
            if unknown or not values:
                raise UsageError(f"{option} must name some of {', '.join(known)}, got {unknown or 'nothing'}")
        object.__setattr__(self, "domains", domains)
        object.__setattr__(self, "adaptations", adaptations)
        defaults = (6, 16, 25) if self.quick else (60, 32, 200)
        for name, default in zip(("steps", "batch_size", "per_language"), defaults):
            value = default if getattr(self, name) is None else getattr(self, name)
            object.__setattr__(self, name, _positive_int(value, f"--{name.replace('_', '-')}"))
        if self.limit is not None:
            _positive_int(self.limit, "--limit")
        if not (isinstance(self.adapt_fraction, float) and 0 < self.adapt_fraction < 1):
            raise UsageError(f"--adapt-fraction must be in (0, 1), got {self.adapt_fraction!r}")
        if not (self.study / "plan.json").is_file():
            raise UsageError(f"--study {self.study} holds no plan.json (a hybrid-plugin reproduce folder)")
        if self.publish is not None and self.publish.resolve() == self.out.resolve():
            raise UsageError("--publish must differ from --out")

    def languages(self, domain: str, *, adapt: bool = False) -> tuple[str, ...]:
        """The languages evaluated in ``domain`` (its pools included); with ``adapt``, those of them that its
        ``adapt_dataset`` has."""
        spec = DOMAINS[domain]
        chosen = spec.quick_languages if self.quick else spec.languages
        if adapt and spec.adapt_languages is not None:
            return tuple(lang for lang in chosen if lang in spec.adapt_languages)
        return chosen

    def items(self, domain: str) -> int | None:
        """Items kept per language of a domain's collection (None: all)."""
        if self.limit is not None:
            return self.limit
        return DOMAINS[domain].quick_items if self.quick else None

    @property
    def source_items(self) -> int | None:
        """Items of the model's own training collection an adaptation trains beside the domain's text (the
        first 200 with ``--quick``: a few steps draw a few hundred pairs; None: all)."""
        return 200 if self.quick else None

    def data(self, dataset: str) -> Path:
        """The local folder of a data set (AfriQA's splits share ``afriqa/``; ``tatoeba-pool`` reads ``tatoeba/``)."""
        return self.data_root / _FOLDERS.get(dataset, dataset)

    def plan(self) -> dict[str, Any]:
        """The settings that decide the results (``domain.json``; a resumed study must have the same, except
        ``domains``, which a resumed study may extend: :data:`GROWING`)."""
        keep = ("quick", "domains", "adaptations", "adapt_fraction", "split_seed", "steps", "batch_size",
                "per_language", "limit")
        plan = {f.name: getattr(self, f.name) for f in fields(self) if f.name in keep}
        plan.update(domains=list(self.domains), adaptations=list(self.adaptations), study=str(self.study))
        return plan
