"""One entry point for every source of a parallel QA collection: :func:`load_parallel_qa`.

It chooses the reader from what it is given -- a registered name, a LAReQA folder, a parallel JSONL file or a
folder written by ``hybrid-plugin prepare`` -- and never from substrings of a path.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from hybrid_plugin.data.collection import ParallelQA
from hybrid_plugin.data.jsonl import read_parallel_jsonl
from hybrid_plugin.data.lareqa import read_lareqa_folder
from hybrid_plugin.data.registry import DATASETS, fetch_dataset
from hybrid_plugin.errors import UsageError

# The module, not the function: hybrid_plugin.pyserini.prepared imports hybrid_plugin.data.collection, which runs
# hybrid_plugin/data/__init__.py and so this file; when prepared is imported first it is still half-made here.
from hybrid_plugin.pyserini import prepared

__all__ = ["load_parallel_qa"]


def load_parallel_qa(
    name_or_path: str | Path,
    *,
    data: str | Path | None = None,
    languages: Iterable[str] | None = None,
) -> ParallelQA:
    """Load a parallel QA collection by name or path.

    Args:
        name_or_path: ``"xquad-r"`` or ``"mlqa-r"`` (downloaded from the public LAReQA release, checksums
            verified, cached), a LAReQA-style folder, a parallel JSONL file, or a folder written by
            ``hybrid-plugin prepare`` (``topics/``, ``qrels/``, ``corpus/``).
        data: for a named set, a local folder holding its ``<lang>.json`` files instead of downloading.
        languages: restrict to these languages.

    Example::

        qa = load_parallel_qa("mlqa-r", data="../shared/data/mlqa-r")
        len(qa.qids), qa.num_questions(), qa.num_candidates()   # (1148, 4199, 20534)
    """
    key = str(name_or_path)
    if key in DATASETS:
        spec = DATASETS[key]
        qa = read_lareqa_folder(fetch_dataset(key, data=data), spec.languages, name=key)
    else:
        if data is not None:
            raise UsageError(f"--data is for the named sets ({', '.join(DATASETS)}); {key!r} is a path already")
        qa = _read_path(Path(key))
    if languages is not None:
        qa = qa.select_languages(languages)
    return qa


def _read_path(path: Path) -> ParallelQA:
    if path.is_file() and path.suffix == ".jsonl":
        return read_parallel_jsonl(path)
    if path.is_dir() and (path / "topics").is_dir() and (path / "qrels").is_dir():
        return prepared.read_prepared(path)
    if path.is_dir():
        return read_lareqa_folder(path)
    raise UsageError(f"unknown dataset {str(path)!r}: expected one of {', '.join(DATASETS)}, a LAReQA-style "
                     "folder, a parallel .jsonl file or a folder written by 'hybrid-plugin prepare'")
