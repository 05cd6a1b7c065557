"""Parallel question-answer collections: the record, its readers and the registry of named sets.

What lives here:

* :mod:`~hybrid_plugin.data.collection` -- :class:`Candidate`, :class:`ParallelQA` and :func:`check_name` (the
  closed character set of languages, dataset names and ids);
* :mod:`~hybrid_plugin.data.lareqa` -- :func:`read_lareqa_folder` (XQuAD-R, MLQA-R and folders in their format);
* :mod:`~hybrid_plugin.data.jsonl` -- :func:`read_parallel_jsonl` (a user's own data, one item per line);
* :mod:`~hybrid_plugin.data.registry` -- :data:`DATASETS`, :class:`DatasetSpec`, :func:`fetch_dataset` (pinned,
  verified downloads); add a named set there;
* :mod:`~hybrid_plugin.data.loading` -- :func:`load_parallel_qa`, the one entry point for all of the above.

What does not: the Pyserini files written from a collection and read back (:mod:`hybrid_plugin.pyserini.prepared`),
training rows (:mod:`hybrid_plugin.training`) and encodings (:mod:`hybrid_plugin.evaluation`).

Example::

    from hybrid_plugin.data import load_parallel_qa

    qa = load_parallel_qa("xquad-r", data="../shared/data/xquad-r", languages=["en", "de"])
    qa.positive(qa.qids[0], "de").text
"""

from __future__ import annotations

from hybrid_plugin.data.collection import Candidate, ParallelQA, check_name
from hybrid_plugin.data.jsonl import read_parallel_jsonl
from hybrid_plugin.data.lareqa import read_lareqa_folder
from hybrid_plugin.data.loading import load_parallel_qa
from hybrid_plugin.data.registry import DATASETS, DatasetSpec, data_cache_dir, fetch_dataset

__all__ = [
    "DATASETS",
    "Candidate",
    "DatasetSpec",
    "ParallelQA",
    "check_name",
    "data_cache_dir",
    "fetch_dataset",
    "load_parallel_qa",
    "read_lareqa_folder",
    "read_parallel_jsonl",
]

