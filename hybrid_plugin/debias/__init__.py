"""Language-bias removal: fitted on text that is not the evaluation set, saved with the model, applied by
``evaluate --debias``, and (LSAR, one linear map) a sentence-transformers module for training and encoding.

What lives here, one module per job:

* :mod:`~hybrid_plugin.debias.algebra`: the numpy algebra (top singular directions, LSAR's subspace, removing a
  basis, unit rows);
* :mod:`~hybrid_plugin.debias.transform`: :class:`LanguageDebias`, the fitted record (``center``, ``lir``,
  ``lsar``), ``apply``, ``save`` / ``load``;
* :mod:`~hybrid_plugin.debias.storage`: its files (``debias.json`` + ``debias.npz``) and their checks;
* :mod:`~hybrid_plugin.debias.fitting`: :func:`fit_debias` (a model and fit texts -> a transform) and
  :func:`fit_embeddings`;
* :mod:`~hybrid_plugin.debias.module`: LSAR as a sentence-transformers ``Dense`` module (:func:`with_projection`);
* :mod:`~hybrid_plugin.debias.embeddings`: applying a transform to an evaluation's embeddings, and the checks
  that it fits the model and the collection evaluated.

What does not: encoding and its cache (:mod:`hybrid_plugin.evaluation.encoding`), the evaluation itself
(:mod:`hybrid_plugin.evaluation.pipeline`, which calls :mod:`~hybrid_plugin.debias.embeddings`), the Faiss files
(:mod:`hybrid_plugin.pyserini.faiss_files`). See ``docs/debias.md``.

Names are imported lazily: ``import hybrid_plugin.debias`` does not load torch.

Example::

    from hybrid_plugin.data import load_parallel_qa
    from hybrid_plugin.debias import LanguageDebias, fit_debias

    mlqa = load_parallel_qa("mlqa-r", data="../shared/data/mlqa-r")
    fit_debias(None, mlqa, method="lsar", per_language=200).save("debias-lsar")
    LanguageDebias.load("debias-lsar").describe()   # 'lsar (rank 6) fitted on mlqa-r (7 languages, ...'
"""

from __future__ import annotations

from hybrid_plugin.lazy import lazy_exports


_EXPORTS = {
    "METHODS": "transform",
    "ROLES": "transform",
    "FitSource": "transform",
    "FittedModel": "transform",
    "LanguageDebias": "transform",
    "Method": "transform",
    "default_rank": "transform",
    "draw_texts": "fitting",
    "fit_debias": "fitting",
    "fit_embeddings": "fitting",
    "freeze_projections": "module",
    "projection_module": "module",
    "projection_modules": "module",
    "with_projection": "module",
    "apply_to_encoded": "embeddings",
    "prepare_debias": "embeddings",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(
    __name__, {name: f"hybrid_plugin.debias.{module}" for name, module in _EXPORTS.items()}, __all__)
