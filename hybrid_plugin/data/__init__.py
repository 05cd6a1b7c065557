"""Parallel question-answer collections: the record, its readers and the registry of named sets.

What lives here:

* :mod:`~hybrid_plugin.data.collection` -- :class:`Candidate`, :class:`ParallelQA` and :func:`check_name` (the
  closed character set of languages, dataset names and ids);
* :mod:`~hybrid_plugin.data.lareqa` -- :func:`read_lareqa_folder` (XQuAD-R, MLQA-R and folders in their format);
* :mod:`~hybrid_plugin.data.jsonl` -- :func:`read_parallel_jsonl` (a user's own data, one item per line);
* :mod:`~hybrid_plugin.data.afriqa`, :mod:`~hybrid_plugin.data.ntrex`, :mod:`~hybrid_plugin.data.tatoeba` --
  :func:`read_afriqa_folder`, :func:`read_ntrex_folder`, :func:`read_tatoeba_folder` (:class:`TatoebaSet` of
  :class:`Bitext`: one per language, with English);
* :mod:`~hybrid_plugin.data.beir`, :mod:`~hybrid_plugin.data.beir_convert`, :mod:`~hybrid_plugin.data.beir_sets`
  -- BEIR folders: :class:`BeirCollection` (graded, many-to-many qrels), :func:`read_beir`, the conversions to and
  from a parallel collection, :func:`write_beir` (``prepare --format beir``), the named BEIR sets
  (:data:`BEIR_SETS`, :func:`fetch_beir_set`, MD5-verified);
* :mod:`~hybrid_plugin.data.languages` -- the language table of the named sets (:data:`LANGUAGES`: codes, scripts,
  XLM-R's pre-training languages) and the resource level of a language (:func:`resource_levels`);
* :mod:`~hybrid_plugin.data.registry` -- :data:`DATASETS`, :class:`DatasetSpec`, :func:`fetch_dataset` (pinned,
  verified downloads); add a named set there;
* :mod:`~hybrid_plugin.data.loading` -- :func:`load_parallel_qa`, the one entry point for all of the above
  (:func:`load_tatoeba` for the Tatoeba bitexts);
* :mod:`~hybrid_plugin.data.splits` -- :func:`split_items`: a development split of a collection (by item and
  paragraph, deterministic for a seed), :class:`DataSplit`, :class:`SplitInfo`.

What does not: the Pyserini files written from a collection and read back (:mod:`hybrid_plugin.pyserini.prepared`),
training rows (:mod:`hybrid_plugin.training`) and encodings (:mod:`hybrid_plugin.evaluation`).

Example::

    from hybrid_plugin.data import load_parallel_qa

    qa = load_parallel_qa("xquad-r", data="../shared/data/xquad-r", languages=["en", "de"])
    qa.positive(qa.qids[0], "de").text
"""

from __future__ import annotations

from hybrid_plugin.data.afriqa import read_afriqa_folder
from hybrid_plugin.data.beir import BeirCollection, read_beir
from hybrid_plugin.data.beir_convert import beir_from_parallel_qa, beir_to_parallel_qa, write_beir
from hybrid_plugin.data.beir_sets import BEIR_SETS, fetch_beir_set
from hybrid_plugin.data.collection import Candidate, ParallelQA, check_name
from hybrid_plugin.data.jsonl import read_parallel_jsonl
from hybrid_plugin.data.languages import LANGUAGES, Language, ResourceLevel, resource_levels
from hybrid_plugin.data.lareqa import read_lareqa_folder
from hybrid_plugin.data.loading import load_parallel_qa, load_tatoeba
from hybrid_plugin.data.ntrex import read_ntrex_folder
from hybrid_plugin.data.registry import DATASETS, DatasetSpec, data_cache_dir, fetch_dataset
from hybrid_plugin.data.splits import DataSplit, SplitInfo, split_items
from hybrid_plugin.data.tatoeba import Bitext, TatoebaSet, read_tatoeba_folder

__all__ = [
    "BEIR_SETS",
    "DATASETS",
    "LANGUAGES",
    "BeirCollection",
    "Bitext",
    "Candidate",
    "DataSplit",
    "DatasetSpec",
    "Language",
    "ParallelQA",
    "ResourceLevel",
    "SplitInfo",
    "TatoebaSet",
    "beir_from_parallel_qa",
    "beir_to_parallel_qa",
    "check_name",
    "data_cache_dir",
    "fetch_beir_set",
    "fetch_dataset",
    "load_parallel_qa",
    "load_tatoeba",
    "read_afriqa_folder",
    "read_beir",
    "read_lareqa_folder",
    "read_ntrex_folder",
    "read_parallel_jsonl",
    "read_tatoeba_folder",
    "resource_levels",
    "split_items",
    "write_beir",
]

