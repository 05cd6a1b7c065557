"""Mono-, cross- and multilingual retrieval evaluation (the LAReQA protocol of DESIGN.md).

What lives here, one module per job:

* :mod:`~hybrid_plugin.evaluation.cells`: the one vocabulary of settings and measures, and the record's parts
  (``Cell``, ``ModelInfo``, ``DatasetInfo``);
* :mod:`~hybrid_plugin.evaluation.results`: the typed results record (``EvaluationResults``), ``results.json``;
* :mod:`~hybrid_plugin.evaluation.ranking`: the ranking in trec_eval's order, full-ranking AP, language bias;
* :mod:`~hybrid_plugin.evaluation.measures`: the ir_measures side (an evaluator per pool, prefix runs);
* :mod:`~hybrid_plugin.evaluation.scoring`: every setting of a collection from any scorer (``evaluate_scores``,
  ``evaluate_embeddings``, ``RankingOutcome``), and which TREC runs are written;
* :mod:`~hybrid_plugin.evaluation.encoding` and :mod:`~hybrid_plugin.evaluation.embedding_cache`: encoding each
  distinct text once, and the on-disk cache of embeddings;
* :mod:`~hybrid_plugin.evaluation.pipeline`: the ``hybrid-plugin evaluate`` job (``evaluate``) and its output
  folder;
* :mod:`~hybrid_plugin.evaluation.evaluator`: ``MultilingualRetrievalEvaluator`` for sentence-transformers
  training.

What does *not* live here: the files Pyserini reads and writes (:mod:`hybrid_plugin.pyserini`), BM25
(:mod:`hybrid_plugin.pyserini.bm25`), tables, plots and significance tests (:mod:`hybrid_plugin.analysis`).

Names are imported lazily: ``from hybrid_plugin.evaluation import EvaluationResults`` does not load torch.

Example::

    from hybrid_plugin.data import load_parallel_qa
    from hybrid_plugin.evaluation import MultilingualRetrievalEvaluator, evaluate, load_results

    qa = load_parallel_qa("xquad-r", data="../shared/data/xquad-r").limit(100)
    results = evaluate(qa, None, out="evaluation", limit=100)   # the default model; runs="default"
    load_results("evaluation").map                              # {"mono": ..., "cross": ..., "multi": ...}
    MultilingualRetrievalEvaluator(qa, name="xquad-r")          # the same mAPs, in memory, during training
"""

from __future__ import annotations

from hybrid_plugin.lazy import lazy_exports


_EXPORTS = {
    "MEASURES": "cells",
    "MULTI": "cells",
    "RESULTS_FILE": "cells",
    "SCHEMA_VERSION": "results",
    "SETTINGS": "cells",
    "TREC_MEASURES": "cells",
    "Cell": "cells",
    "DatasetInfo": "cells",
    "EvaluationResults": "results",
    "Measure": "cells",
    "ModelInfo": "cells",
    "Setting": "cells",
    "load_results": "results",
    "full_ranking_ap": "ranking",
    "language_bias": "ranking",
    "DEPTH": "measures",
    "PairChoice": "pairs",
    "RUN_CHOICES": "scoring",
    "RankingOutcome": "scoring",
    "RunChoice": "scoring",
    "evaluate_embeddings": "scoring",
    "evaluate_scores": "scoring",
    "EvaluateSettings": "pipeline",
    "evaluate": "pipeline",
    "verify_run_files": "pipeline",
    "write_qrels": "pipeline",
    "write_results": "pipeline",
    "MultilingualRetrievalEvaluator": "evaluator",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(
    __name__, {name: f"hybrid_plugin.evaluation.{module}" for name, module in _EXPORTS.items()}, __all__)
