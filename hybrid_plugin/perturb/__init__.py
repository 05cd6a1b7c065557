"""Query perturbations: noisy, romanised, code-switched and adversarial questions, to measure how robust a
retriever is (issue 14).

What lives here, one module per job:

* :mod:`~hybrid_plugin.perturb.kinds`: the kinds and the typed settings ``Perturbation`` (``KIND:LEVEL``);
* :mod:`~hybrid_plugin.perturb.segments`: scripts, words / grapheme clusters, a language's letters;
* :mod:`~hybrid_plugin.perturb.characters`: character noise at a target error rate (textnoisr), casing and
  punctuation loss;
* :mod:`~hybrid_plugin.perturb.keyboards`: keyboard-neighbour typos;
* :mod:`~hybrid_plugin.perturb.scripts`: diacritics stripping (per script) and romanisation (anyascii);
* :mod:`~hybrid_plugin.perturb.code_switch`: words of the parallel question in another language;
* :mod:`~hybrid_plugin.perturb.text`: one question perturbed (never empty);
* :mod:`~hybrid_plugin.perturb.collection`: a whole ``ParallelQA`` perturbed, and what was done;
* :mod:`~hybrid_plugin.perturb.topics`: perturbed Pyserini topic files (``hybrid-plugin perturb``);
* :mod:`~hybrid_plugin.perturb.drop`: the drop of a perturbed evaluation from a clean one;
* :mod:`~hybrid_plugin.perturb.attack`: the black-box greedy attack against a model;
* :mod:`~hybrid_plugin.perturb.attack_topics`: every language of a collection attacked, as Pyserini topic files
  (``hybrid-plugin attack``);
* :mod:`~hybrid_plugin.perturb.measure`: edit distance and character error rate.

What does not: evaluation itself (``evaluate(..., perturb=...)`` in :mod:`hybrid_plugin.evaluation.pipeline`
calls :func:`perturb_collection` and is otherwise unchanged).

Example::

    from hybrid_plugin.perturb import parse_perturbation, perturb_collection

    noisy, report = perturb_collection(qa, parse_perturbation("typos:0.1", seed=0))
"""

from __future__ import annotations

from hybrid_plugin.lazy import lazy_exports

_EXPORTS = {
    "KINDS": "kinds",
    "Perturbation": "kinds",
    "parse_perturbation": "kinds",
    "perturb_text": "text",
    "PerturbationReport": "collection",
    "perturb_collection": "collection",
    "write_perturbed_topics": "topics",
    "PerturbationDrop": "drop",
    "perturbation_drop": "drop",
    "AttackSettings": "attack",
    "AttackReport": "attack",
    "attack_queries": "attack",
    "AttackSummary": "attack_topics",
    "attack_collection": "attack_topics",
    "write_attacked_topics": "attack_topics",
    "cache_checksum": "collection",
    "character_error_rate": "measure",
    "edit_distance": "measure",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(
    __name__, {name: f"hybrid_plugin.perturb.{module}" for name, module in _EXPORTS.items()}, __all__)
