"""Hybrid batches for sentence-transformers: monolingual (X-X) and cross-lingual (X-Y) batches mixed by α.

What lives here, one job per module:

- :mod:`~hybrid_plugin.sampling.metadata` -- the hidden metadata columns of a training set and
  :class:`PairMetadata`, their integer-coded form;
- :mod:`~hybrid_plugin.sampling.planning` -- an epoch's plan: kinds by quota, rows dealt from each kind's pool
  (:func:`plan_epoch`, :class:`EpochPlan`, :class:`KindPools`, :func:`kind_weights`);
- :mod:`~hybrid_plugin.sampling.repair` -- the in-batch rule (:func:`conflict_mask`) and the swap / redraw repair
  that makes every batch follow it;
- :mod:`~hybrid_plugin.sampling.sampler` -- :class:`HybridBatchSampler`, the adapter to the trainer;
- :mod:`~hybrid_plugin.sampling.callback` -- :class:`HybridTrainingCallback`: realised shares in the logs, α
  schedules.

What does not: building the training rows from a collection and running the trainer
(:mod:`hybrid_plugin.training`). Names are imported lazily: the sampler and the callback need torch.
"""

from __future__ import annotations

from hybrid_plugin.lazy import lazy_exports


_EXPORTS = {
    "ITEM_COLUMN": "metadata",
    "METADATA_COLUMNS": "metadata",
    "PASSAGE_LANGUAGE_COLUMN": "metadata",
    "QUERY_LANGUAGE_COLUMN": "metadata",
    "TEXT_ID_COLUMNS": "metadata",
    "PairMetadata": "metadata",
    "hide_metadata_columns": "metadata",
    "EpochPlan": "planning",
    "KindPools": "planning",
    "kind_weights": "planning",
    "plan_epoch": "planning",
    "conflict_mask": "repair",
    "HybridBatchSampler": "sampler",
    "find_hybrid_sampler": "sampler",
    "HybridTrainingCallback": "callback",
}

__all__ = list(_EXPORTS)


__getattr__, __dir__ = lazy_exports(
    __name__, {name: f"hybrid_plugin.sampling.{module}" for name, module in _EXPORTS.items()}, __all__)
