"""A collection whose questions are perturbed: :func:`perturb_collection` returns a
:class:`~hybrid_plugin.data.collection.ParallelQA` with the same items, pools and qrels and perturbed questions,
so ``evaluate``, ``prepare`` and the stock Pyserini commands take it as any other collection; and
:class:`PerturbationReport`, what was done per language (questions changed, mean character error rate, the
donor languages of ``codeswitch``).

Each question is perturbed on its own (the letters substitutions and insertions draw from are the question's own),
so a question's perturbation depends on the settings, its language, its id and its text only: ``--limit`` or
``--languages`` do not change it. The collection's ``sources`` gain a ``perturbation`` entry
(its settings), so its checksum -- and the record's dataset checksum -- differ from the clean collection's.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from hybrid_plugin.data.collection import ParallelQA
from hybrid_plugin.errors import UsageError
from hybrid_plugin.perturb.kinds import Perturbation, parse_perturbation, query_rng
from hybrid_plugin.perturb.measure import mean_character_error_rate
from hybrid_plugin.perturb.text import perturb_text

__all__ = ["PERTURBATION_SOURCE", "PerturbationReport", "apply_perturbation", "cache_checksum", "donor_language",
           "perturb_collection"]

PERTURBATION_SOURCE = "perturbation"
"""The ``sources`` entry a perturbed (or attacked) collection gains: the digest of what was done to it."""


@dataclass
class PerturbationReport:
    """What a perturbation did, per language: ``changed[lang]`` questions differ from the original,
    ``questions[lang]`` in all, ``cer[lang]`` the mean character error rate, ``donors[lang]`` how often each
    donor language was used (``codeswitch``)."""

    perturbation: Perturbation
    questions: dict[str, int] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)
    cer: dict[str, float] = field(default_factory=dict)
    donors: dict[str, dict[str, int]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``perturbation.json``, ``results.settings["perturbation"]["report"]``)."""
        return {"perturbation": self.perturbation.record(), "questions": dict(self.questions),
                "changed": dict(self.changed), "cer": {k: round(v, 6) for k, v in self.cer.items()},
                "donors": {k: dict(v) for k, v in self.donors.items()}}


def donor_language(qa: ParallelQA, perturbation: Perturbation, language: str, qid: str) -> str | None:
    """The language whose parallel question replaces words of ``qid`` in ``language``: the settings' donor when
    the item has it (and it is another language), else one of the item's other languages drawn for this question;
    None for an item in one language only.

    Example::

        donor_language(qa, Perturbation("codeswitch", 0.3, donor="en"), "de", qa.qids[0])   # 'en'
    """
    others = [lang for lang in qa.item_languages(qid) if lang != language]
    if perturbation.donor is not None and perturbation.donor in others:
        return perturbation.donor
    if not others:
        return None
    return query_rng(perturbation, language, f"{qid}\tdonor").choice(others)


def perturb_collection(qa: ParallelQA, perturbation: Perturbation) -> tuple[ParallelQA, PerturbationReport]:
    """``qa`` with every question perturbed (pools and relevance unchanged).

    Args:
        qa: the collection.
        perturbation: the settings.

    Returns:
        (ParallelQA, PerturbationReport): the perturbed collection and what was done.

    Raises:
        UsageError: a ``codeswitch`` donor language the collection does not have.

    Example::

        from hybrid_plugin.perturb import Perturbation, perturb_collection

        noisy, report = perturb_collection(qa, Perturbation("typos", 0.1, seed=0))
        report.cer["de"]   # about 0.1
    """
    if perturbation.donor is not None and perturbation.donor not in qa.languages:
        raise UsageError(f"codeswitch donor {perturbation.donor!r} is not a language of {qa.name} "
                         f"({', '.join(qa.languages)})")
    report = PerturbationReport(perturbation)
    questions: dict[str, dict[str, str]] = {}
    for lang in qa.languages:
        donors: Counter[str] = Counter()
        out: dict[str, str] = {}
        for qid, text in qa.questions[lang].items():
            donor_text = None
            if perturbation.kind == "codeswitch":
                donor = donor_language(qa, perturbation, lang, qid)
                donor_text = None if donor is None else qa.questions[donor][qid]
                donors.update([donor] if donor else [])
            out[qid] = text if donor_text is None and perturbation.kind == "codeswitch" else perturb_text(
                text, perturbation, language=lang, key=qid, donor_text=donor_text)
        questions[lang] = out
        originals = qa.questions[lang]
        report.questions[lang] = len(out)
        report.changed[lang] = sum(out[q] != originals[q] for q in out)
        report.cer[lang] = mean_character_error_rate((originals[q], out[q]) for q in out)
        if donors:
            report.donors[lang] = dict(sorted(donors.items()))
    digest = hashlib.sha256(json.dumps(perturbation.record(), sort_keys=True).encode()).hexdigest()
    perturbed = ParallelQA(qa.name, qa.languages, questions, qa.candidates, qa.relevant,
                           {**qa.sources, PERTURBATION_SOURCE: digest}, qa.split)
    return perturbed, report


def cache_checksum(qa: ParallelQA) -> str:
    """The checksum of the clean collection ``qa`` was made from (its sources without the
    :data:`PERTURBATION_SOURCE` entry): the embedding cache's key, so that a perturbed evaluation reads the clean
    passages' embeddings and encodes only the questions that changed (cache rows are addressed by text).

    Example::

        cache_checksum(perturb_collection(qa, Perturbation("typos", 0.1))[0]) == qa.checksum   # True
    """
    if PERTURBATION_SOURCE not in qa.sources:
        return qa.checksum
    sources = {k: v for k, v in qa.sources.items() if k != PERTURBATION_SOURCE}
    return ParallelQA(qa.name, qa.languages, qa.questions, qa.candidates, qa.relevant, sources, qa.split).checksum


def apply_perturbation(qa: ParallelQA, perturb: Perturbation | str | None) -> tuple[ParallelQA, dict[str, Any]]:
    """What ``evaluate(..., perturb=...)`` does first: ``qa`` perturbed (a ``KIND:LEVEL`` text is parsed, seed 0)
    and the entries its results' ``settings`` gain (``{"perturbation": settings and report}``; ``{}`` and ``qa``
    itself for None).

    Raises:
        UsageError: not a Perturbation, a ``KIND:LEVEL`` text or None; a malformed text.
    """
    if perturb is None:
        return qa, {}
    if isinstance(perturb, str):
        perturb = parse_perturbation(perturb)
    if not isinstance(perturb, Perturbation):
        raise UsageError(f"perturb must be a Perturbation or 'KIND:LEVEL' but got {type(perturb).__name__}")
    perturbed, report = perturb_collection(qa, perturb)
    return perturbed, {"perturbation": report.to_dict()}
