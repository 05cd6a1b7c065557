"""hybrid-plugin: hybrid-batch training of multilingual dense retrievers (sentence-transformers) and their
monolingual / cross-lingual / multilingual evaluation with Pyserini (arXiv 2408.10536).

Public names are imported lazily so that ``hybrid-plugin --help`` does not pay for torch.
"""

from __future__ import annotations

from hybrid_plugin.lazy import lazy_exports


__version__ = "0.1.0"

_EXPORTS = {
    "HybridBatchSampler": "hybrid_plugin.sampling.sampler",
    "HybridTrainingCallback": "hybrid_plugin.sampling.callback",
    "ParallelQA": "hybrid_plugin.data.collection",
    "load_parallel_qa": "hybrid_plugin.data.loading",
    "MultilingualRetrievalEvaluator": "hybrid_plugin.evaluation.evaluator",
    "EvaluationResults": "hybrid_plugin.evaluation.results",
    "evaluate": "hybrid_plugin.evaluation.pipeline",
    "TrainingSettings": "hybrid_plugin.training.settings",
    "train": "hybrid_plugin.training.trainer",
    "export_model": "hybrid_plugin.pyserini.export",
    "load_model": "hybrid_plugin.models.loading",
    "HybridPluginError": "hybrid_plugin.errors",
}

__all__ = [*_EXPORTS, "__version__"]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
