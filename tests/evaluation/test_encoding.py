"""hybrid_plugin.evaluation.encoding: each distinct text encoded once, and the embedding cache in use."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from hybrid_plugin.data import Candidate, ParallelQA
from hybrid_plugin.errors import UsageError
from hybrid_plugin.evaluation.embedding_cache import EmbeddingCache, ModelIdentity
from hybrid_plugin.evaluation.encoding import encode_parallel_qa

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
        candidates={
            "en": [Candidate("en-0-0", "Paris", "en", 0, 0), Candidate("en-0-1", "Goethe", "en", 0, 1)],
            "de": [Candidate("de-0-0", "Paris", "de", 0, 0), Candidate("de-0-1", "Goethe", "de", 0, 1)]},
        relevant={"en": {"q1": "en-0-1", "q2": "en-0-0"}, "de": {"q1": "de-0-1", "q2": "de-0-0"}}, sources={})
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


def test_bad_batch_size(qa):
    with pytest.raises(UsageError, match="batch_size"):
        encode_parallel_qa(FakeModel(), qa, prompts=PROMPTS, batch_size=0)
