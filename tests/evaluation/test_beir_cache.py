"""BEIR's evaluation through the embedding cache: a second run encodes nothing and scores the same, a changed
title or text is encoded again (that row only), ``cache=False`` writes nothing, and the vectors are the ones
``model.encode`` gives without the cache."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hybrid_plugin.data.beir import BeirCollection, BeirDocument, BeirQuery, read_beir_folder
from hybrid_plugin.data.beir_convert import beir_from_parallel_qa, write_beir
from hybrid_plugin.data.loading import load_parallel_qa
from hybrid_plugin.evaluation.beir_eval import beir_cache_checksum, evaluate_beir
from hybrid_plugin.evaluation.embedding_cache import EmbeddingCache, model_identity, text_digests
from hybrid_plugin.models import load_model, model_prompts


def _entries(cache_root: Path) -> list[dict]:
    """The metadata of every cache entry (one per encoding call that had something new to encode)."""
    folder = cache_root / "embeddings"
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.rglob("*.json"))
            if p.name != "file-hashes.json"] if folder.is_dir() else []


@pytest.fixture()
def small_beir(shared_data) -> BeirCollection:
    qa = load_parallel_qa("xquad-r", data=shared_data / "xquad-r", languages=["en", "de"]).limit(6)
    return beir_from_parallel_qa(qa)


def test_a_second_run_encodes_nothing_and_scores_the_same(tiny_model, small_beir, isolated_cache, one_torch_thread):
    uncached = evaluate_beir(small_beir, str(tiny_model), device="cpu", cache=False)
    assert _entries(isolated_cache) == []  # cache=False neither reads nor writes
    first = evaluate_beir(small_beir, str(tiny_model), device="cpu")
    entries = _entries(isolated_cache)
    assert sorted((e["role"], e["rows"]) for e in entries) == sorted(
        [("passage", len(small_beir.corpus)), ("query", len(small_beir.queries))])
    assert {e["dataset_checksum"] for e in entries} == {beir_cache_checksum(small_beir)}
    second = evaluate_beir(small_beir, str(tiny_model), device="cpu")
    assert _entries(isolated_cache) == entries  # nothing new encoded
    assert first.per_query == uncached.per_query == second.per_query  # bit-identical values
    assert first.to_dict() == second.to_dict()


def test_cached_vectors_are_what_the_model_encodes_without_the_cache(tiny_model, small_beir, isolated_cache,
                                                                   one_torch_thread):
    evaluate_beir(small_beir, str(tiny_model), device="cpu", batch_size=4)
    model = load_model(str(tiny_model), "cpu")
    prompts = model_prompts(model)
    texts = [d.encoder_input(prompts["passage"]) for d in small_beir.corpus.values()]
    cache = EmbeddingCache.for_model(model_identity(str(tiny_model), prompts=prompts), beir_cache_checksum(small_beir))
    found, vectors = cache.lookup(text_digests(texts, "passage", ""))
    assert found.all()
    expected = model.encode(texts, batch_size=4, normalize_embeddings=True, convert_to_numpy=True)
    assert np.array_equal(vectors, expected)  # the same call as before the cache: the same bits


def test_a_changed_title_or_query_is_encoded_again_alone(tiny_model, small_beir, isolated_cache, one_torch_thread):
    evaluate_beir(small_beir, str(tiny_model), device="cpu")
    before = _entries(isolated_cache)
    docid, doc = next(iter(small_beir.corpus.items()))
    retitled = replace(small_beir, corpus={**small_beir.corpus, docid: replace(doc, title="Normandie")})
    assert beir_cache_checksum(retitled) == beir_cache_checksum(small_beir)  # same sources: same cache folder
    evaluate_beir(retitled, str(tiny_model), device="cpu")
    new = [e for e in _entries(isolated_cache) if e not in before]
    assert [(e["role"], e["rows"]) for e in new] == [("passage", 1)]
    qid, query = next(iter(small_beir.queries.items()))
    asked = replace(small_beir, queries={**small_beir.queries, qid: replace(query, text=query.text + " ?")})
    evaluate_beir(asked, str(tiny_model), device="cpu")
    newer = [e for e in _entries(isolated_cache) if e not in before and e not in new]
    assert [(e["role"], e["rows"]) for e in newer] == [("query", 1)]


def test_a_folder_read_twice_and_another_split_share_the_cache(tiny_model, small_beir, tmp_path, isolated_cache,
                                                              one_torch_thread):
    folder = write_beir(small_beir, tmp_path / "xq")
    first = evaluate_beir(read_beir_folder(folder), str(tiny_model), device="cpu")
    entries = _entries(isolated_cache)
    (folder / "qrels" / "dev.tsv").write_text((folder / "qrels" / "test.tsv").read_text(encoding="utf-8"),
                                              encoding="utf-8")
    dev = evaluate_beir(read_beir_folder(folder, split="dev"), str(tiny_model), device="cpu")
    assert _entries(isolated_cache) == entries and dev.per_query == first.per_query


def test_a_loaded_model_and_the_no_cache_option_write_nothing(tiny_model, small_beir, tmp_path, isolated_cache,
                                                             one_torch_thread):
    from hybrid_plugin import cli

    evaluate_beir(small_beir, load_model(str(tiny_model), "cpu"))
    assert _entries(isolated_cache) == []
    folder = write_beir(small_beir, tmp_path / "xq")
    argv = ["beir", f"beir:{folder}", "--model", str(tiny_model), "--device", "cpu", "--no-cache",
            "--out", str(tmp_path / "out")]
    assert cli.main(argv) == 0 and (tmp_path / "out" / "beir.json").is_file()
    assert _entries(isolated_cache) == []


_names = st.text(alphabet="abcdefgh", min_size=1, max_size=6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])  # a loaded 2-core machine
@given(st.dictionaries(_names, st.text(alphabet="0123456789abcdef", min_size=4, max_size=8), max_size=4),
       st.text(alphabet="0123456789abcdef", min_size=4, max_size=8))
def test_the_key_ignores_qrels_and_order_but_not_the_text_files(sources, qrels_digest):
    corpus = {"d": BeirDocument("d", "", "text", "en")}
    queries = {"q": BeirQuery("q", "query", "en", "q")}

    def key(files: dict[str, str]) -> str:
        return beir_cache_checksum(BeirCollection("x", corpus, queries, {"q": {"d": 1}}, sources=files))

    files = {f"{name}.jsonl": digest for name, digest in sources.items()}
    assert key(files) == key(dict(reversed(files.items()))) == key({**files, "qrels/test.tsv": qrels_digest})
    assert key({**files, "qrels/dev.tsv": qrels_digest, "de/qrels/test.tsv": qrels_digest}) == key(files)
    assert key({**files, "zz/corpus.jsonl": qrels_digest}) != key(files)
