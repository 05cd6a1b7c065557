"""Training a multilingual retriever with hybrid batches: the training rows, the settings, one function per run.

What lives here:

- :mod:`~hybrid_plugin.training.settings` -- :class:`TrainingSettings` (every option checked once, when it is
  made), :data:`PAPER_PRESET`, the ``Sampling`` and ``LossName`` choices;
- :mod:`~hybrid_plugin.training.dataset` -- :func:`build_training_dataset`: one row per (item, query language,
  passage language), optional same-paragraph hard negatives, hidden metadata for the sampler;
- :mod:`~hybrid_plugin.training.trainer` -- :func:`train` (the ``hybrid-plugin train`` job: checks, output
  folder, sentence-transformers' trainer, ``training.json``), :class:`TrainingResult`;
- :mod:`~hybrid_plugin.training.run_parts` -- the steps of a run that :func:`train` and the domain adaptations
  share (data and batch checks, :func:`freeze_input_embeddings`, the loss, the trainer's arguments, the report);
- :mod:`~hybrid_plugin.training.run_folder` -- the output folder: planned before it changes, resumable, atomic.

What does not: the batch sampler and the trainer callback (:mod:`hybrid_plugin.sampling`), loading models
(:mod:`hybrid_plugin.models`), evaluating (:mod:`hybrid_plugin.evaluation`).

Example::

    from hybrid_plugin.data import load_parallel_qa
    from hybrid_plugin.training import build_training_dataset

    qa = load_parallel_qa("xquad-r", data="../shared/data/xquad-r").limit(20)
    rows = build_training_dataset(qa, hard_negatives=True)
    rows[0]          # {'anchor': ..., 'positive': ..., 'negative': ...}: the texts only
    len(rows)        # 2420 = 20 items x 11 x 11

The settings are imported eagerly (they are light); the rest on first use, as they need ``datasets`` and torch.
"""

from __future__ import annotations


from hybrid_plugin.training.settings import PAPER_PRESET, LossName, Sampling, TrainingSettings
from hybrid_plugin.lazy import lazy_exports

_LAZY = {
    "build_training_dataset": "dataset",
    "TrainingResult": "trainer",
    "freeze_input_embeddings": "run_parts",
    "train": "trainer",
}

__all__ = ["PAPER_PRESET", "LossName", "Sampling", "TrainingSettings", *_LAZY]


__getattr__, __dir__ = lazy_exports(
    __name__, {name: f"hybrid_plugin.training.{module}" for name, module in _LAZY.items()}, __all__)
