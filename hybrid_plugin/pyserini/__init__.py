"""Everything Pyserini reads or runs: prepared topics / corpora / qrels, TREC runs, Faiss files, the Lucene
(BM25) baseline, the Java runtime and its import hook, and the export of a trained model.

What lives here (one module per job):

* :mod:`~hybrid_plugin.pyserini.prepared` -- ``prepare`` and the readers of topics, qrels and prepared folders;
* :mod:`~hybrid_plugin.pyserini.trec_runs` -- TREC run files (writers, reader, score format);
* :mod:`~hybrid_plugin.pyserini.faiss_files` -- Faiss indexes and pre-encoded queries in Pyserini's layout;
* :mod:`~hybrid_plugin.pyserini.bm25` -- the BM25 baseline through Lucene indexes;
* :mod:`~hybrid_plugin.pyserini.java` and :mod:`~hybrid_plugin.pyserini.import_hook` -- finding and configuring
  Java for Pyserini;
* :mod:`~hybrid_plugin.pyserini.export` -- writing a model as Pyserini reads it;
* :mod:`~hybrid_plugin.pyserini.corpus_check` and :mod:`~hybrid_plugin.pyserini.sharded` -- encoding a large
  corpus with the stock ``pyserini.encode`` in shards on several processes (run by
  :mod:`~hybrid_plugin.pyserini.subprocesses`), merged with Pyserini's own tool.

What does not: the collections themselves (:mod:`hybrid_plugin.data`), encoding and scoring
(:mod:`hybrid_plugin.evaluation`). The real ``pyserini`` package is imported only inside the functions that
need it.

Public names are imported on first use, so that importing one module here does not import the others (numpy,
the JVM) -- and so that :mod:`hybrid_plugin.data` can import ``prepared`` without a cycle.
"""

from __future__ import annotations

from hybrid_plugin.lazy import lazy_exports


_MODULES = {
    "prepared": ("PreparedFiles", "prepare", "prepared_paths", "read_prepared", "read_qrels", "read_topics"),
    "trec_runs": ("SCORE_DECIMALS", "RunFileWriter", "ScoredDoc", "TrecRunWriter", "quantize_scores", "read_run",
                  "write_trec_run"),
    "faiss_files": ("write_encoded_queries", "write_faiss_index"),
    "bm25": ("ANSERINI_LANGUAGES", "Bm25Settings", "analyzer_of", "build_lucene_index", "evaluate_bm25",
             "usable_analyzer"),
    "java": ("MIN_JAVA_VERSION", "JavaRuntime", "configure_java", "find_java", "pyserini_env"),
    "import_hook": ("HOOK_ENV", "install_import_hook", "startup_hook_active"),
    "export": ("PYSERINI_JSON", "TOLERANCE", "ExportInfo", "export_model", "pyserini_flags", "read_export"),
    "corpus_check": ("check_corpus", "corpus_files", "shard_sizes"),
    "subprocesses": ("available_cores", "run_parallel", "thread_limits"),
    "sharded": ("MERGE_MODULE", "RECORD_FILE", "ShardSettings", "ShardedIndex", "encode_corpus_sharded",
                "read_sharded_index"),
}
_EXPORTS = {name: f"hybrid_plugin.pyserini.{module}" for module, names in _MODULES.items() for name in names}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
