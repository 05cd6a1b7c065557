"""hybrid_plugin.debias.embeddings with evaluate: the transform applied to the embeddings before scoring and before
the Faiss index and pre-encoded queries are written (stock ``pyserini.search.faiss`` reproduces the debiased
run), what the results record says, the checks against the model and the collection, and LSAR fitted on MLQA-R
lowering the language bias of XQuAD-R's multilingual pool with the default model."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from hybrid_plugin.debias.embeddings import apply_to_encoded, prepare_debias, read_debias
from hybrid_plugin.debias.fitting import fit_debias
from hybrid_plugin.debias.module import with_projection
from hybrid_plugin.debias.transform import FitSource, LanguageDebias
from hybrid_plugin.errors import DataError, UsageError
from hybrid_plugin.evaluation.encoding import EncodedQA, encode_parallel_qa
from hybrid_plugin.evaluation.pipeline import evaluate
from hybrid_plugin.evaluation.results import EvaluationResults

E5 = {"query": "query: ", "passage": "passage: "}


def plain_embeddings(model_path, qa) -> EncodedQA:
    from sentence_transformers import SentenceTransformer

    return encode_parallel_qa(SentenceTransformer(str(model_path), device="cpu"), qa, prompts=E5,
                              show_progress=False)


@pytest.mark.parametrize("method", ["center", "lir", "lsar"])
def test_evaluate_applies_the_transform_to_scores_indexes_and_queries(tiny_model, tiny_transforms, eval_slice,
                                                                     tmp_path, isolated_cache, method):
    import faiss

    debias = tiny_transforms[method]
    out = tmp_path / "out"
    results = evaluate(eval_slice, str(tiny_model), out=out, show_progress=False, debias=debias)
    expected = apply_to_encoded(debias, plain_embeddings(tiny_model, eval_slice))
    index = faiss.read_index(str(out / "indexes" / "de" / "index"))
    np.testing.assert_allclose(index.reconstruct_n(0, index.ntotal), expected.passages["de"], atol=1e-5)
    queries = pd.read_pickle(out / "encoded-queries" / "en" / "embedding.pkl")
    np.testing.assert_allclose(np.stack(queries["embedding"]), expected.queries["en"], atol=1e-5)
    record = results.settings["debias"]
    assert (record["method"], record["digest"], record["fitted_on"]["dataset"]) == (method, debias.digest, "mlqa-r")
    assert record["fitted_on_evaluated_data"] is False and results.files["debias"] == "debias"
    assert LanguageDebias.load(out / "debias").digest == debias.digest
    assert EvaluationResults.load(out).settings == results.settings
    # the same numbers from the folder, and from scoring the transformed embeddings in memory
    again = evaluate(eval_slice, str(tiny_model), show_progress=False, debias=out / "debias")
    assert again.map == results.map and again.bias == results.bias
    plain = evaluate(eval_slice, str(tiny_model), show_progress=False)
    assert "debias" not in plain.settings and plain.map != results.map


def test_results_without_a_transform_still_load(tiny_model, eval_slice, tmp_path, isolated_cache):
    results = evaluate(eval_slice, str(tiny_model), out=tmp_path / "out", show_progress=False, runs="none")
    data = EvaluationResults.load(tmp_path / "out").to_dict()
    assert "debias" not in data["settings"] and "debias" not in data["files"]


def test_a_transform_of_another_model_is_refused_before_anything_is_written(tiny_model_builder, tiny_transforms,
                                                                          eval_slice, tmp_path, isolated_cache):
    other = tiny_model_builder(tmp_path / "other", seed=1)
    with pytest.raises(UsageError, match=r"fitted on .*tiny-e5 \(digest [0-9a-f]{12}\), not on the model evaluated"):
        evaluate(eval_slice, str(other), out=tmp_path / "out", show_progress=False, debias=tiny_transforms["lsar"])
    assert not (tmp_path / "out").exists()
    wide = tiny_model_builder(tmp_path / "wide", hidden=16)
    with pytest.raises(UsageError, match="fitted on 32-dimensional embeddings"):
        evaluate(eval_slice, str(wide), show_progress=False, debias=tiny_transforms["lsar"])


def test_languages_the_transform_did_not_fit(tiny_model, tiny_transforms, xquad, tmp_path, isolated_cache):
    qa = xquad.select_languages(["en", "zh"]).limit(4)
    with pytest.raises(UsageError, match=r"language 'zh' was not fitted by this center transform \(fitted: en, de, es"):
        evaluate(qa, str(tiny_model), out=tmp_path / "out", show_progress=False, debias=tiny_transforms["center"])
    assert not (tmp_path / "out").exists()
    results = evaluate(qa, str(tiny_model), show_progress=False, debias=tiny_transforms["lsar"])  # no language id
    assert results.settings["debias"]["method"] == "lsar"


def test_a_transform_fitted_on_the_evaluated_texts_is_an_oracle(tiny_model, eval_slice, isolated_cache):
    oracle = fit_debias(str(tiny_model), eval_slice, method="center", show_progress=False)
    with pytest.raises(UsageError, match="fitted on xquad-r, the texts evaluated; .* --allow-same-data"):
        evaluate(eval_slice, str(tiny_model), show_progress=False, debias=oracle)
    results = evaluate(eval_slice, str(tiny_model), show_progress=False, debias=oracle, allow_same_data=True)
    assert results.settings["debias"]["fitted_on_evaluated_data"] is True


def test_the_two_sides_of_one_split_do_not_overlap():
    def side(name, digest="d1", checksum="c"):
        return SimpleNamespace(checksum=checksum, split=SimpleNamespace(side=name, dev_digest=digest))

    fitted = FitSource("mlqa-r", "c", part=FitSource.part_of(side("train")))
    assert fitted.part == "train:d1"
    assert not fitted.overlaps(side("dev"))            # the other side of the same split
    assert fitted.overlaps(side("train"))              # the same side
    assert fitted.overlaps(side("dev", digest="d2"))   # a side of another split
    assert fitted.overlaps(SimpleNamespace(checksum="c", split=None))  # the whole collection
    assert not fitted.overlaps(SimpleNamespace(checksum="other", split=None))
    assert FitSource("x", "c").overlaps(side("dev"))


def test_a_projected_model_is_not_debiased_twice(tiny_model, tiny_transforms, eval_slice, tmp_path, isolated_cache):
    with_projection(str(tiny_model), tiny_transforms["lsar"], out=tmp_path / "projected")
    with pytest.raises(UsageError, match="applies a projection already"):
        evaluate(eval_slice, str(tmp_path / "projected"), show_progress=False, debias=tiny_transforms["lsar"])
    projected = evaluate(eval_slice, str(tmp_path / "projected"), show_progress=False)
    applied = evaluate(eval_slice, str(tiny_model), show_progress=False, debias=tiny_transforms["lsar"])
    assert projected.map == pytest.approx(applied.map, abs=1e-4)


def test_read_and_prepare(tiny_model, tiny_transforms, eval_slice, tmp_path):
    from sentence_transformers import SentenceTransformer

    assert read_debias(None) is None and read_debias(tiny_transforms["lir"]) is tiny_transforms["lir"]
    with pytest.raises(DataError, match="no such folder"):
        read_debias(tmp_path / "missing")
    with pytest.raises(UsageError, match="debias must be a LanguageDebias or a folder but got int"):
        read_debias(3)
    model = SentenceTransformer(str(tiny_model), device="cpu")
    with pytest.raises(UsageError, match="fitted with the prompts"):
        prepare_debias(tiny_transforms["lir"], eval_slice, model=model, model_path=None, model_digest=None,
                       prompts={"query": "", "passage": ""})
    assert prepare_debias(None, eval_slice, model=model, model_path=None, model_digest=None, prompts=E5) is None


# ------------------------------------------------------------------------------------------------ stock Pyserini


@pytest.mark.slow
@pytest.mark.java
def test_stock_pyserini_search_reproduces_the_debiased_run(tiny_model, tiny_transforms, eval_slice, tmp_path,
                                                           isolated_cache, stock_faiss_search):
    """``python -m pyserini.search.faiss --index OUT/indexes/multi --encoded-queries OUT/encoded-queries/en``
    gives the run ``evaluate --debias`` wrote (centring: a per-language transform no encoder could apply)."""
    from hybrid_plugin.pyserini.prepared import prepare

    out = tmp_path / "out"
    evaluate(eval_slice, str(tiny_model), out=out, show_progress=False, debias=tiny_transforms["center"])
    prepared = prepare(eval_slice, tmp_path / "prepared")
    theirs = stock_faiss_search(out / "indexes" / "multi", prepared.topics("en"), out / "encoded-queries" / "en")
    ours = [line.split() for line in (out / "runs" / "en-multi.txt").read_text().splitlines()]
    pool = sum(len(eval_slice.candidates[lang]) for lang in eval_slice.languages)
    assert len(ours) == len(theirs) == len(eval_slice.questions["en"]) * pool
    stock_scores = {(q, d): float(s) for q, _, d, _, s, _ in theirs}
    assert {(q, d) for q, _, d, _, _, _ in ours} == set(stock_scores)
    for qid, _, docid, _, score, _ in ours:
        assert abs(stock_scores[qid, docid] - float(score)) <= 2e-6  # float32 sums in another order
    same_rank = sum(a[:3] == b[:3] for a, b in zip(ours, theirs))
    assert same_rank >= 0.9 * len(ours)  # the same order, except between near-ties


# ------------------------------------------------------------------------------------------------ the default model


@pytest.mark.slow
def test_lsar_fitted_on_mlqa_lowers_the_language_bias_on_xquad(default_model_path, mlqa, xquad, isolated_cache,
                                                               one_torch_thread):
    """LSAR fitted on MLQA-R (a few texts per language; other text than XQuAD-R) lowers the language bias of
    XQuAD-R's multilingual pool in MLQA-R's seven languages, and lifts its mAP."""
    qa = xquad.select_languages(mlqa.languages).limit(12)
    lsar = fit_debias(default_model_path, mlqa, method="lsar", per_language=40, show_progress=False)
    assert lsar.rank == 6 and lsar.normalize
    plain = evaluate(qa, default_model_path, show_progress=False)
    debiased = evaluate(qa, default_model_path, show_progress=False, debias=lsar)
    assert debiased.encoding["texts_encoded"] == 0  # the same embeddings, from the cache
    assert debiased.bias < plain.bias
    assert debiased.map["multi"] > plain.map["multi"]
