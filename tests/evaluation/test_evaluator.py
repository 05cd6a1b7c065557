"""hybrid_plugin.evaluation.evaluator: the sentence-transformers evaluator gives the numbers of ``evaluate``,
writes its CSV, and refuses bad arguments when made."""

from __future__ import annotations

import numpy as np
import pytest

from hybrid_plugin.errors import UsageError
from hybrid_plugin.evaluation.evaluator import MultilingualRetrievalEvaluator
from hybrid_plugin.evaluation.pipeline import evaluate


def test_bad_arguments_are_refused(xquad_slice):
    with pytest.raises(UsageError, match="max_questions"):
        MultilingualRetrievalEvaluator(xquad_slice, max_questions=0)
    with pytest.raises(UsageError, match="primary_metric"):
        MultilingualRetrievalEvaluator(xquad_slice, primary_metric="ndcg")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="no language 'xx'"):
        MultilingualRetrievalEvaluator(xquad_slice, languages=["en", "xx"])
    with pytest.raises(UsageError, match="ParallelQA"):
        MultilingualRetrievalEvaluator({"en": []})  # type: ignore[arg-type]


def test_evaluator_gives_the_numbers_of_evaluate(tiny_model, xquad, isolated_cache):
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(tiny_model), device="cpu")
    evaluator = MultilingualRetrievalEvaluator(xquad, max_questions=12, languages=["en", "de", "es"], name="xq")
    metrics = evaluator(model)
    assert evaluator.primary_metric == "xq_map_mean"
    assert set(metrics) == {"xq_map_mono", "xq_map_cross", "xq_map_multi", "xq_map_mean", "xq_bias"}
    qa = xquad.select_languages(["en", "de", "es"]).limit(12)
    results = evaluate(qa, str(tiny_model), out=None, cache=False, show_progress=False)
    assert metrics["xq_map_mono"] == pytest.approx(results.map["mono"], abs=1e-12)
    assert metrics["xq_map_cross"] == pytest.approx(results.map["cross"], abs=1e-12)
    assert metrics["xq_map_multi"] == pytest.approx(results.map["multi"], abs=1e-12)
    assert metrics["xq_bias"] == pytest.approx(results.bias, abs=1e-9)
    assert metrics["xq_map_mean"] == pytest.approx(np.mean(list(results.map.values())), abs=1e-12)


def test_evaluator_writes_csv(tiny_model, xquad, tmp_path):
    from sentence_transformers import SentenceTransformer

    evaluator = MultilingualRetrievalEvaluator(xquad, max_questions=4, languages=["en", "de"])
    evaluator(SentenceTransformer(str(tiny_model), device="cpu"), output_path=str(tmp_path), epoch=1, steps=5)
    rows = (tmp_path / evaluator.csv_file).read_text().splitlines()
    assert rows[0].split(",") == evaluator.csv_headers and rows[1].startswith("1,5,")


def test_evaluator_with_sampled_pairs_gives_the_numbers_of_evaluate(tiny_model, shared_data, isolated_cache):
    from sentence_transformers import SentenceTransformer

    from hybrid_plugin.data.loading import load_parallel_qa

    news = load_parallel_qa("ntrex-128", data=shared_data / "ntrex-128", languages=["en", "de", "es", "fr", "sw"])
    model = SentenceTransformer(str(tiny_model), device="cpu")
    evaluator = MultilingualRetrievalEvaluator(news, max_questions=6, name="news", pairs="sample:2:1")
    metrics = evaluator(model)
    results = evaluate(news.limit(6), str(tiny_model), out=None, cache=False, show_progress=False,
                       pairs="sample:2:1")
    assert len(results.pairs) == 5 + 2 * 4 + 2  # mono, X<->en, two sampled others
    assert metrics["news_map_cross"] == pytest.approx(results.map["cross"], abs=1e-12)
    assert metrics["news_map_multi"] == pytest.approx(results.map["multi"], abs=1e-12)
    with pytest.raises(UsageError):
        MultilingualRetrievalEvaluator(news, pairs="sample:x")
