"""The robustness study (issue 14): the models of a zero-shot study (``hybrid-plugin reproduce``) evaluated on
perturbed and adversarial queries, the drop from the clean queries per setting / kind / level / language, and
paired randomisation tests of hybrid against each baseline on the per-query drop.

What lives here, one module per job:

* :mod:`~hybrid_plugin.robustness.settings`: ``RobustnessSettings``, the levels, budgets and the quick variant;
* :mod:`~hybrid_plugin.robustness.cells`: one model evaluated on one (clean, perturbed or attacked) collection,
  reusing the clean embeddings through the cache;
* :mod:`~hybrid_plugin.robustness.runner`: ``run_robustness``, resumable, publishing as it goes;
* :mod:`~hybrid_plugin.robustness.summary`: the drops, the tests, ``RobustnessSummary`` and its Markdown.

What does not: the perturbations and the attack (:mod:`hybrid_plugin.perturb`), the tests themselves
(:mod:`hybrid_plugin.analysis.significance`), the plots (:mod:`hybrid_plugin.analysis.severity_plots`).

Example::

    from hybrid_plugin.robustness import RobustnessSettings, run_robustness

    summary = run_robustness(RobustnessSettings(study="outputs/reproduce-quick", quick=True))
"""

from __future__ import annotations

from hybrid_plugin.lazy import lazy_exports

_EXPORTS = {
    "RobustnessSettings": "settings",
    "run_robustness": "runner",
    "RobustnessSummary": "summary",
    "summarise_robustness": "summary",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(
    __name__, {name: f"hybrid_plugin.robustness.{module}" for name, module in _EXPORTS.items()}, __all__)
