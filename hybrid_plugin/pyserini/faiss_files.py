"""The dense files Pyserini's Faiss search reads: a flat inner-product index and pre-encoded queries.

* :func:`write_faiss_index` writes a folder that ``pyserini.search.faiss`` opens: ``index`` (a
  ``faiss.IndexFlatIP``) and ``docid`` (one docid per line, in row order).
* :func:`write_encoded_queries` writes ``embedding.pkl``, the pre-encoded queries that
  ``python -m pyserini.search.faiss --encoded-queries FOLDER`` looks queries up in by their text.

Each folder is built beside its target and swapped in whole (:func:`hybrid_plugin.files.staged_folder`).
What does *not* live here: computing the embeddings (:mod:`hybrid_plugin.evaluation.encoding`).

Example::

    import numpy as np
    from hybrid_plugin.pyserini.faiss_files import write_faiss_index

    write_faiss_index("indexes/en", np.eye(2, dtype=np.float32), ["en-0-0", "en-0-1"])
    # python -m pyserini.search.faiss --index indexes/en ...
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hybrid_plugin.errors import DataError
from hybrid_plugin.files import staged_folder

__all__ = ["write_encoded_queries", "write_faiss_index"]


def write_faiss_index(folder: str | Path, vectors: np.ndarray, docids: Sequence[str]) -> Path:
    """Write a Pyserini Faiss index folder: ``index`` (``faiss.IndexFlatIP``) and ``docid`` (one per line).

    This is the layout ``pyserini.search.faiss.FaissSearcher`` loads (``faiss.read_index(dir/index)`` and the
    docids of ``dir/docid`` in row order). The folder is built under a temporary name and swapped in.

    Raises:
        ValueError: ``vectors`` is not one row per docid.
        DataError: a docid is empty or holds whitespace.
    """
    import faiss  # heavy optional library, needed only here

    folder = Path(folder)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or len(vectors) != len(docids):
        raise ValueError(f"{len(docids)} docids but vectors of shape {vectors.shape}")
    bad = [d for d in docids if not d or any(ch.isspace() for ch in d)]
    if bad:
        raise DataError(f"docid {bad[0]!r} is empty or holds whitespace (a TREC run and the docid file cannot "
                        "hold it)")
    with staged_folder(folder) as tmp:
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        # serialised here and written by Python: a failed write (a full disk) is an OSError, not faiss's RuntimeError
        (tmp / "index").write_bytes(faiss.serialize_index(index).tobytes())
        (tmp / "docid").write_text("".join(f"{d}\n" for d in docids), encoding="utf-8")
    return folder


def write_encoded_queries(folder: str | Path, texts: Sequence[str], vectors: np.ndarray) -> Path:
    """Write Pyserini's pre-encoded queries (``embedding.pkl``: a DataFrame of ``id``, ``text`` and ``embedding``),
    which ``python -m pyserini.search.faiss --encoded-queries FOLDER`` looks queries up in by their text."""
    import pandas as pd  # heavy optional library, needed only here

    folder = Path(folder)
    with staged_folder(folder) as tmp:
        frame = pd.DataFrame({"id": list(range(len(texts))), "text": list(texts),
                              "embedding": [np.asarray(v, dtype=np.float32) for v in vectors]})
        frame.to_pickle(tmp / "embedding.pkl")
    return folder
