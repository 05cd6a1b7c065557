"""The domain-transfer study: zero-shot models trained on Wikipedia QA, evaluated on other domains as BEIR
folders, and three domain adaptations of the hybrid model and of the better baseline.

What lives here:

- :mod:`~hybrid_plugin.domain.settings` -- :class:`DomainSettings`, the domains and their protocols
  (:data:`DOMAINS`), the adaptations (:data:`ADAPTATIONS`), the ``--quick`` slices and the folder layout;
- :mod:`~hybrid_plugin.domain.sets` -- each domain split by item into an evaluation and an adaptation side;
- :mod:`~hybrid_plugin.domain.runner` -- :func:`run_domain` (resumable);
- :mod:`~hybrid_plugin.domain.summary` -- :class:`DomainSummary`, the table, the tests and the plot.

What does not: the adaptations themselves (:mod:`hybrid_plugin.adaptation`, :mod:`hybrid_plugin.debias`), the
BEIR evaluation (:mod:`hybrid_plugin.evaluation.beir_eval`). The runner and the summary are imported lazily (they
bring in torch), so importing the settings stays light.
"""

from __future__ import annotations

from hybrid_plugin.domain.settings import ADAPTATIONS, DOMAINS, DomainSettings
from hybrid_plugin.lazy import lazy_exports

_LAZY = {
    "run_domain": "hybrid_plugin.domain.runner",
    "summarise": "hybrid_plugin.domain.summary",
    "summary_markdown": "hybrid_plugin.domain.summary",
    "DomainSummary": "hybrid_plugin.domain.summary",
}

__all__ = ["ADAPTATIONS", "DOMAINS", "DomainSettings", *_LAZY]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
