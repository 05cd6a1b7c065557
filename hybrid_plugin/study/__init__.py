"""The paper's study as one resumable job (``hybrid-plugin reproduce``): X-X, X-Y and hybrid training on one
collection, zero-shot evaluation on the other next to the untuned base, the summary with seen / unseen languages
and significance tests, and the Pyserini-2CR-style record of stock commands with :func:`check_record`.

- :mod:`~hybrid_plugin.study.settings`: :class:`ReproduceSettings` (validated once), :data:`PRESETS`,
  :data:`DIRECTIONS`, :func:`config_name`, the conditions and their folders;
- :mod:`~hybrid_plugin.study.runner`: :func:`run_reproduction`, :func:`train_models` (the models only);
- :mod:`~hybrid_plugin.study.summary`: :func:`summarise`, :func:`summary_markdown`, :func:`language_splits`;
- :mod:`~hybrid_plugin.study.record`: :func:`write_record`, :func:`check_record`, :class:`CheckOutcome`;
- :mod:`~hybrid_plugin.study.ablation`: :func:`run_ablation`, :class:`AblationSettings`, :data:`VARIANTS` -- the
  recipe ablation on a development split of the training collection;
- :mod:`~hybrid_plugin.study.ablation_record`: :class:`AblationRecord` (one JSON per variant) and its table.

What does not live here: training, evaluation, export and the leaderboard / plots (the study calls
:mod:`hybrid_plugin.training`, :mod:`hybrid_plugin.evaluation`, :mod:`hybrid_plugin.pyserini`,
:mod:`hybrid_plugin.analysis`). The runner and the record are imported lazily (they bring in training and
evaluation), so that importing the settings stays light.
"""

from __future__ import annotations


from hybrid_plugin.study.settings import DIRECTIONS, PRESETS, Condition, ReproduceSettings, conditions, config_name
from hybrid_plugin.lazy import lazy_exports

_LAZY = {
    "run_reproduction": "hybrid_plugin.study.runner",
    "train_models": "hybrid_plugin.study.runner",
    "summarise": "hybrid_plugin.study.summary",
    "summary_markdown": "hybrid_plugin.study.summary",
    "language_splits": "hybrid_plugin.study.summary",
    "write_record": "hybrid_plugin.study.record",
    "check_record": "hybrid_plugin.study.record",
    "read_record": "hybrid_plugin.study.record",
    "CheckOutcome": "hybrid_plugin.study.record",
    "AblationSettings": "hybrid_plugin.study.ablation",
    "run_ablation": "hybrid_plugin.study.ablation",
}

__all__ = ["DIRECTIONS", "PRESETS", "Condition", "ReproduceSettings", "conditions", "config_name", *_LAZY]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
