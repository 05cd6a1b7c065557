"""hybrid_plugin.embeddings: each distinct text encoded once, the on-disk cache, model identity, Pyserini files."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from hybrid_plugin.data import ParallelQA
from hybrid_plugin.embeddings import (
    EmbeddingCache,
    ModelIdentity,
    encode_parallel_qa,
    model_identity,
    text_digests,
    write_encoded_queries,
    write_faiss_index,
)
from hybrid_plugin.errors import DataError, UsageError

PROMPTS = {"query": "query: ", "passage": "passage: "}


class FakeModel:
    """Deterministic 8-dim embeddings from a hash of prompt + text; records every text it encodes."""

    similarity_fn_name = "cosine"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __iter__(self):
        return iter(())

    def get_sentence_embedding_dimension(self) -> int:
        return 8

    def encode(self, texts, prompt=None, batch_size=32, show_progress_bar=None, convert_to_numpy=True,
               normalize_embeddings=False):
        self.seen.extend(texts)
        rows = []
        for text in texts:
            seed = int.from_bytes(hashlib.sha256(f"{prompt}{text}".encode()).digest()[:8], "little")
            rows.append(np.random.default_rng(seed).standard_normal(8))
        out = np.array(rows, dtype=np.float32)
        if normalize_embeddings:
            out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out


@pytest.fixture(scope="module")
def qa(xquad) -> ParallelQA:
    return xquad.select_languages(["en", "de", "es"]).limit(10)


def distinct_texts(qa: ParallelQA) -> int:
    passages = {c.text for lang in qa.languages for c in qa.candidates[lang]}
    questions = {q for lang in qa.languages for q in qa.questions[lang].values()}
    return len(passages) + len(questions)


def test_each_distinct_text_is_encoded_exactly_once(qa):
    model = FakeModel()
    encoded = encode_parallel_qa(model, qa, prompts=PROMPTS, show_progress=False)
    assert len(model.seen) == distinct_texts(qa) == encoded.stats.distinct == encoded.stats.encoded
    passages = [c.text for lang in qa.languages for c in qa.candidates[lang]]
    questions = [q for lang in qa.languages for q in qa.questions[lang].values()]
    assert len(model.seen) == len(set(passages)) + len(set(questions))
    assert encoded.stats.ratio == 1.0
    for lang in qa.languages:
        assert encoded.queries[lang].shape == (len(qa.questions[lang]), 8)
        assert encoded.passages[lang].shape == (len(qa.candidates[lang]), 8)
        # rows line up with the collection and carry the right prompt
        first_question = next(iter(qa.questions[lang].values()))
        want = FakeModel().encode([first_question], prompt="query: ", normalize_embeddings=True)[0]
        assert np.allclose(encoded.queries[lang][0], want)
        assert np.allclose(np.linalg.norm(encoded.passages[lang], axis=1), 1.0, atol=1e-6)


def test_a_text_shared_by_languages_is_encoded_once():
    qa = ParallelQA(
        name="toy", languages=("en", "de"),
        questions={"en": {"q1": "Who?", "q2": "Where?"}, "de": {"q1": "Who?", "q2": "Wo?"}},
        candidates={}, relevant={}, sources={})
    from hybrid_plugin.data import Candidate

    qa.candidates.update({
        "en": [Candidate("en-0-0", "Paris", "en", 0, 0), Candidate("en-0-1", "Goethe", "en", 0, 1)],
        "de": [Candidate("de-0-0", "Paris", "de", 0, 0), Candidate("de-0-1", "Goethe", "de", 0, 1)]})
    qa.relevant.update({"en": {"q1": "en-0-1", "q2": "en-0-0"}, "de": {"q1": "de-0-1", "q2": "de-0-0"}})
    model = FakeModel()
    encoded = encode_parallel_qa(model, qa, prompts=PROMPTS, show_progress=False)
    assert sorted(model.seen) == sorted(["Paris", "Goethe", "Who?", "Where?", "Wo?"])
    assert np.array_equal(encoded.queries["en"][0], encoded.queries["de"][0])
    assert np.array_equal(encoded.passages["en"], encoded.passages["de"])


def test_cache_hit_partial_hit_and_miss(qa, tmp_path):
    identity = ModelIdentity("fake", None, "digest-1", PROMPTS)
    small = qa.limit(4)
    cache = EmbeddingCache.for_model(identity, qa.checksum, root=tmp_path)
    first = encode_parallel_qa(FakeModel(), small, prompts=PROMPTS, cache=cache, show_progress=False)
    assert first.stats.cached == 0 and first.stats.encoded == distinct_texts(small)

    model = FakeModel()
    cache = EmbeddingCache.for_model(identity, qa.checksum, root=tmp_path)
    full = encode_parallel_qa(model, qa, prompts=PROMPTS, cache=cache, show_progress=False)
    assert full.stats.cached == distinct_texts(small)  # the --limit run's texts are reused
    assert full.stats.encoded == len(model.seen) == distinct_texts(qa) - distinct_texts(small)

    model = FakeModel()
    again = encode_parallel_qa(model, qa, prompts=PROMPTS, cache=EmbeddingCache.for_model(identity, qa.checksum,
                                                                                             root=tmp_path),
                               show_progress=False)
    assert model.seen == [] and again.stats.cached == distinct_texts(qa)
    for lang in qa.languages:
        assert np.array_equal(again.queries[lang], full.queries[lang])
        assert np.array_equal(again.passages[lang], full.passages[lang])

    other = ModelIdentity("fake", None, "digest-2", PROMPTS)  # other weights: nothing shared
    model = FakeModel()
    encode_parallel_qa(model, small, prompts=PROMPTS, cache=EmbeddingCache.for_model(other, qa.checksum,
                                                                                       root=tmp_path),
                       show_progress=False)
    assert len(model.seen) == distinct_texts(small)
    assert ModelIdentity("fake", None, "digest-1", {"query": "q: ", "passage": "p: "}).key != identity.key
    assert ModelIdentity("fake", None, None).key is None
    assert EmbeddingCache.for_model(ModelIdentity("fake", None, None), qa.checksum, root=tmp_path) is None


def test_an_incomplete_cache_entry_is_ignored(tmp_path):
    cache = EmbeddingCache(tmp_path / "c")
    keys = text_digests(["a", "b"], "query", "q: ")
    stem = cache.store(keys, np.ones((2, 4), dtype=np.float32))
    assert stem is not None and json.loads(stem.with_suffix(".json").read_text())["rows"] == 2
    found, vectors = EmbeddingCache(tmp_path / "c").lookup(keys)
    assert found.all() and vectors.shape == (2, 4)
    stem.with_suffix(".json").unlink()  # as if the process died before the marker
    found, vectors = EmbeddingCache(tmp_path / "c").lookup(keys)
    assert not found.any() and vectors is None


def test_digests_depend_on_role_prompt_and_text():
    a = text_digests(["x", "x", "y"], "query", "query: ")
    assert a[0] == a[1] != a[2]
    assert text_digests(["x"], "passage", "query: ")[0] != a[0]
    assert text_digests(["x"], "query", "")[0] != a[0]


def test_model_identity_follows_the_folder_content(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"weights-1")
    (folder / "README.md").write_text("not part of the identity")
    first = model_identity(str(folder), prompts=PROMPTS, cache_root=tmp_path / "cache")
    assert first.path == str(folder.resolve()) and first.key
    (folder / "README.md").write_text("edited")
    assert model_identity(str(folder), prompts=PROMPTS, cache_root=tmp_path / "cache").key == first.key
    (folder / "model.safetensors").write_bytes(b"weights-2")
    assert model_identity(str(folder), prompts=PROMPTS, cache_root=tmp_path / "cache").key != first.key
    assert (tmp_path / "cache" / "embeddings" / "file-hashes.json").is_file()
    hub = model_identity("nobody/not-a-cached-model", cache_root=tmp_path / "cache")
    assert hub.digest is None and hub.key is None


def test_bad_batch_size(qa):
    with pytest.raises(UsageError, match="batch_size"):
        encode_parallel_qa(FakeModel(), qa, prompts=PROMPTS, batch_size=0)


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
