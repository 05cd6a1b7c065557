"""The low-resource study (``hybrid-plugin lowres``): the models of a ``reproduce`` study -- base, X-X, X-Y,
hybrid -- evaluated zero-shot on AfriQA, NTREX-128 (a seeded sample of X -> Y pairs, X <-> English, the
multilingual pool) and Tatoeba, with and without language-bias removal, by resource group, with paired tests,
per-language plots and published numbers beside ours.

- :mod:`~hybrid_plugin.lowres.settings`: :class:`LowresSettings` (validated once), the ``--quick`` slices, where
  each transform is fitted, the study's models and the folder layout;
- :mod:`~hybrid_plugin.lowres.sets`: the sets loaded and sliced, the fit texts;
- :mod:`~hybrid_plugin.lowres.bitext_cells`: a Tatoeba cell with debiasing and per-query ranks;
- :mod:`~hybrid_plugin.lowres.runner`: :func:`run_lowres` (resumable, ``publish``);
- :mod:`~hybrid_plugin.lowres.summary` and :mod:`~hybrid_plugin.lowres.record`: the summary and its typed record;
- :mod:`~hybrid_plugin.lowres.published`: published numbers and their sources.

What does not live here: the readers (:mod:`hybrid_plugin.data`), the evaluations (:mod:`hybrid_plugin.evaluation`),
the transforms (:mod:`hybrid_plugin.debias`), the tests and plots (:mod:`hybrid_plugin.analysis`). The runner and
the summary are imported lazily (they bring in torch), so importing the settings stays light.
"""

from __future__ import annotations

from hybrid_plugin.lazy import lazy_exports
from hybrid_plugin.lowres.settings import LOWRES_SETS, QUICK_SLICES, LowresSettings, study_models

_LAZY = {
    "run_lowres": "hybrid_plugin.lowres.runner",
    "summarise": "hybrid_plugin.lowres.summary",
    "summary_markdown": "hybrid_plugin.lowres.summary",
    "LowresSummary": "hybrid_plugin.lowres.record",
}

__all__ = ["LOWRES_SETS", "QUICK_SLICES", "LowresSettings", "study_models", *_LAZY]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
