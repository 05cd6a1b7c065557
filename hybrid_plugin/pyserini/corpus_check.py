"""A JSONL corpus as ``python -m pyserini.encode`` reads it: checked line by line, and cut into shards as it cuts.

Pyserini's ``JsonlCollectionIterator`` (``pyserini/encode/_base.py``) reads every entry that ``os.listdir`` gives
for a corpus folder (or the one file it is given), in that order; each line must be a JSON object with ``id``
(or ``_id``, ``docid``) and ``text``, or a ``contents`` that it splits into fields at line breaks (one trailing
break is dropped). A line it cannot read ends the process with a traceback, in every shard at once; the docid
file of a Faiss index holds one docid per line, so a docid with whitespace breaks the index silently.
:func:`check_corpus` finds such lines first and names them.

``--shard-id i --shard-num N`` gives shard ``i`` the documents ``[i * (total // N), (i + 1) * (total // N))``
and the last shard the rest (:func:`shard_sizes`).

Example::

    >>> shard_sizes(10, 3)
    [3, 3, 4]
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from hybrid_plugin.data.collection import read_text_lines
from hybrid_plugin.errors import DataError, UsageError

__all__ = ["check_corpus", "corpus_files", "shard_sizes"]

_ID_KEYS = ("id", "_id", "docid")
_SHAPE = 'expected {"id": "<docid>", "contents": "<text>"} (or "text" for "contents")'


def corpus_files(corpus: str | os.PathLike[str]) -> list[Path]:
    """The files Pyserini reads for ``corpus``, in its order: the file itself, or every entry of the folder.

    Raises:
        UsageError: ``corpus`` does not exist, or is an empty folder.
        DataError: the folder holds something that is not a file (Pyserini would try to read it).
    """
    corpus = Path(corpus)
    if corpus.is_file():
        return [corpus]
    if not corpus.is_dir():
        raise UsageError(f"--corpus {corpus} does not exist (expected a .jsonl file or a folder of them)")
    files = [corpus / name for name in os.listdir(corpus)]
    if not files:
        raise UsageError(f"--corpus {corpus} is an empty folder")
    for path in files:
        if not path.is_file():
            raise DataError("is not a file; Pyserini reads every entry of a corpus folder as JSON lines", path)
    return files


def _docid(doc: dict[str, Any]) -> str | None:
    for key in _ID_KEYS:
        if key in doc:
            value = doc[key]
            return None if value is None else str(value)
    return None


def _text_problem(doc: dict[str, Any]) -> str | None:
    """Why Pyserini cannot read the text of ``doc`` as one field (None: it can)."""
    if "text" in doc:
        return None if isinstance(doc["text"], str) and doc["text"] else '"text" is not a non-empty string'
    contents = doc.get("contents")
    if not isinstance(contents, str):
        return _SHAPE
    if contents.count("\n") == 1 and contents.endswith("\n"):
        contents = contents[:-1]
    if "\n" in contents:
        return ('"contents" holds a line break, which Pyserini takes for a field separator (replace it by a '
                "space)")
    return None


def check_corpus(corpus: str | os.PathLike[str]) -> int:
    """Check every line of a JSONL corpus the way ``pyserini.encode`` will read it; return the number of documents.

    Args:
        corpus: a ``.jsonl`` file or a folder of them.

    Returns:
        int: the documents (lines) of all its files.

    Raises:
        UsageError: ``corpus`` does not exist or is an empty folder.
        DataError: a line Pyserini cannot read (blank, not JSON, not an object, no id, no one-field text), a docid
            that is empty or holds whitespace, a file that is not UTF-8, or no document at all; the message
            names the file and line.

    Example::

        >>> check_corpus("corpus/xquad-r/de.jsonl")
        1191
    """
    total = 0
    for path in corpus_files(corpus):
        for line_no, line in read_text_lines(path):
            where = f"line {line_no}"
            if not line.strip():
                raise DataError("blank line (Pyserini's reader fails on it; remove it)", path, where)
            try:
                doc = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"malformed JSON: {exc.msg} (column {exc.colno})", path, where) from None
            except RecursionError:
                raise DataError("malformed JSON: nested too deeply", path, where) from None
            if not isinstance(doc, dict):
                raise DataError(_SHAPE, path, where)
            docid = _docid(doc)
            if not docid or any(ch.isspace() for ch in docid):
                raise DataError(f"docid {docid!r} is missing, empty or holds whitespace ({_SHAPE})", path, where)
            problem = _text_problem(doc)
            if problem:
                raise DataError(problem, path, where)
            total += 1
    if total == 0:
        raise DataError("the corpus holds no document", corpus)
    return total


def shard_sizes(total: int, shards: int) -> list[int]:
    """The documents of each shard, as ``pyserini.encode --shard-id i --shard-num N`` cuts ``total`` documents.

    Raises:
        UsageError: more shards than documents (Pyserini would leave shards empty).

    Example::

        >>> shard_sizes(7, 2)
        [3, 4]
    """
    if shards > total:
        raise UsageError(f"--shards {shards} is more than the {total} documents of the corpus")
    size = total // shards
    return [size] * (shards - 1) + [total - size * (shards - 1)]
