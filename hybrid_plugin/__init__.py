"""hybrid-plugin: hybrid-batch training of multilingual dense retrievers (sentence-transformers) and their
monolingual / cross-lingual / multilingual evaluation with Pyserini (arXiv 2408.10536).

Public names are imported lazily so that ``hybrid-plugin --help`` does not pay for torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "HybridBatchSampler": "hybrid_plugin.sampler",
    "HybridTrainingCallback": "hybrid_plugin.callback",
    "ParallelQA": "hybrid_plugin.data",
    "load_parallel_qa": "hybrid_plugin.data",
    "MultilingualRetrievalEvaluator": "hybrid_plugin.evaluation",
    "HybridPluginError": "hybrid_plugin.errors",
}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'hybrid_plugin' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
