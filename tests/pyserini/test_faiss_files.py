"""hybrid_plugin.pyserini.faiss_files: the Faiss index and pre-encoded queries in Pyserini's layout."""

from __future__ import annotations

import numpy as np
import pytest

from hybrid_plugin.errors import DataError
from hybrid_plugin.pyserini.faiss_files import write_encoded_queries, write_faiss_index


def test_faiss_index_in_pyserinis_layout(tmp_path):
    import faiss

    vectors = np.random.default_rng(0).standard_normal((5, 8)).astype(np.float32)
    docids = [f"en-0-{i}" for i in range(5)]
    folder = write_faiss_index(tmp_path / "idx" / "en", vectors, docids)
    index = faiss.read_index(str(folder / "index"))
    assert isinstance(index, faiss.IndexFlatIP) and index.ntotal == 5 and index.d == 8
    assert np.array_equal(index.reconstruct_n(0, 5), vectors)
    assert (folder / "docid").read_text().splitlines() == docids
    scores, ids = index.search(vectors[:1], 5)
    assert np.allclose(scores[0], np.sort(vectors @ vectors[0])[::-1], atol=1e-5)
    write_faiss_index(folder, vectors[:2], docids[:2])  # replaced as a whole
    assert (folder / "docid").read_text().splitlines() == docids[:2]
    assert sorted(p.name for p in folder.parent.iterdir()) == ["en"]
    with pytest.raises(DataError, match="whitespace"):
        write_faiss_index(tmp_path / "bad", vectors[:1], ["a b"])


def test_encoded_queries_in_pyserinis_format(tmp_path):
    import pandas as pd

    vectors = np.arange(6, dtype=np.float32).reshape(2, 3)
    folder = write_encoded_queries(tmp_path / "q" / "en", ["Who?", "Where?"], vectors)
    frame = pd.read_pickle(folder / "embedding.pkl")
    lookup = dict(zip(frame["text"].tolist(), frame["embedding"].tolist()))  # what pyserini's QueryEncoder does
    assert np.array_equal(lookup["Where?"], vectors[1])
