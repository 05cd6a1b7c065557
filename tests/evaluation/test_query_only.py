"""Query-only languages (AfriQA's question languages: questions, no pool) through the evaluation: the layout, the
scored settings, the results record and its tables, ``prepare`` / ``read_prepared``, and one cell (ha -> en)
reproduced by the stock ``pyserini.search.faiss``."""

from __future__ import annotations


import numpy as np
import pytest

from hybrid_plugin.analysis.tables import write_markdown_table
from hybrid_plugin.data.collection import ParallelQA
from hybrid_plugin.data.loading import load_parallel_qa
from hybrid_plugin.errors import DataError
from hybrid_plugin.evaluation.pipeline import evaluate
from hybrid_plugin.evaluation.ranking import CollectionLayout
from hybrid_plugin.evaluation.results import EvaluationResults
from hybrid_plugin.pyserini.prepared import prepare, read_prepared

PER_LANGUAGE = 12


@pytest.fixture(scope="module")
def afriqa_slice(shared_data) -> ParallelQA:
    """The first items of Hausa and Yorùbá in AfriQA's real test split, with their English pivot."""
    qa = load_parallel_qa("afriqa", data=shared_data / "afriqa", languages=["ha", "yo", "en"])
    qids = [*list(qa.questions["ha"])[:PER_LANGUAGE], *list(qa.questions["yo"])[:PER_LANGUAGE]]
    return qa.subset(qids)


def test_question_languages_are_query_only(afriqa_slice):
    qa = afriqa_slice
    assert qa.query_only == ("ha", "yo")
    layout = CollectionLayout.of(qa)
    assert layout.offsets["ha"][0] == layout.offsets["ha"][1]
    assert layout.size == len(qa.candidates["en"]) > 0
    assert len(layout.searched("ha", "ha")) == 0 and len(layout.searched("ha", "en")) == PER_LANGUAGE


def test_a_collection_without_any_pool_is_one_line_error(afriqa_slice):
    qa = afriqa_slice.select_languages(["ha", "yo"])
    with pytest.raises(DataError) as caught:
        CollectionLayout.of(qa)
    assert "query-only" in str(caught.value) and "\n" not in str(caught.value)


def brute_force_map(model, qa: ParallelQA, x: str, y: str) -> float:
    """Mean reciprocal rank of the relevant passage (one per query: AP = 1/rank), ties by docid descending as
    trec_eval orders a run."""
    qids = list(qa.questions[x])
    queries = model.encode([qa.questions[x][q] for q in qids], prompt_name="query", normalize_embeddings=True)
    pool = qa.candidates[y]
    docs = model.encode([c.text for c in pool], prompt_name="passage", normalize_embeddings=True)
    scores = np.round((queries @ docs.T).astype(np.float64), 6)
    docids = [c.docid for c in pool]
    aps = []
    for i, qid in enumerate(qids):
        gold = docids.index(qa.relevant[y][qid])
        target = scores[i, gold]
        better = sum(1 for j in range(len(pool))
                     if scores[i, j] > target or (scores[i, j] == target and docids[j] > docids[gold]))
        aps.append(1.0 / (better + 1))
    return float(np.mean(aps))


def test_evaluate_scores_cross_and_multi_only_for_query_only_languages(tiny_model, afriqa_slice, tmp_path,
                                                                       isolated_cache):
    from sentence_transformers import SentenceTransformer

    qa = afriqa_slice
    results = evaluate(qa, str(tiny_model), show_progress=False)
    assert set(results.pairs) == {"ha-en", "yo-en", "en-en"}
    assert set(results.multi) == {"ha", "yo", "en"}
    assert results.pairs["ha-en"].queries == PER_LANGUAGE and results.pairs["en-en"].queries == 2 * PER_LANGUAGE
    assert results.map["mono"] == pytest.approx(results.pairs["en-en"].value("map"))
    model = SentenceTransformer(str(tiny_model), device="cpu")
    for x in ("ha", "yo"):
        assert results.pairs[f"{x}-en"].value("map") == pytest.approx(brute_force_map(model, qa, x, "en"), abs=1e-9)
        # the multilingual pool is the English pool here: the same ranking
        assert results.multi[x].value("map") == pytest.approx(results.pairs[f"{x}-en"].value("map"))
    again = EvaluationResults.from_json(results.to_json())
    assert again.pairs == results.pairs and again.multi == results.multi
    table = write_markdown_table(results, tmp_path / "results.md").read_text(encoding="utf-8")
    assert "| query \\ pool | en | cross mean |" in table and "Query-only languages (no pool): ha, yo." in table


def test_evaluate_writes_no_index_or_qrels_for_query_only_languages(tiny_model, afriqa_slice, tmp_path,
                                                                   isolated_cache):
    evaluate(afriqa_slice, str(tiny_model), out=tmp_path / "out", show_progress=False, runs="none")
    out = tmp_path / "out"
    assert sorted(p.name for p in (out / "indexes").iterdir()) == ["en", "multi"]
    assert sorted(p.name for p in (out / "qrels").iterdir()) == ["en.txt", "multi.txt"]
    assert sorted(p.name for p in (out / "encoded-queries").iterdir()) == ["en", "ha", "yo"]
    multi_qrels = (out / "qrels" / "multi.txt").read_text(encoding="utf-8").splitlines()
    assert len(multi_qrels) == len((out / "qrels" / "en.txt").read_text(encoding="utf-8").splitlines()) > 0


def test_prepare_writes_topics_only_for_query_only_languages(afriqa_slice, tmp_path):
    qa = afriqa_slice
    files = prepare(qa, tmp_path)
    for lang in ("ha", "yo"):
        assert files.topics(lang).is_file()
        assert not files.corpus(lang).exists() and not files.qrels(lang).exists()
    assert files.corpus("en").is_file() and files.qrels("en").is_file()
    back = read_prepared(tmp_path)
    assert back.query_only == ("ha", "yo") and back.questions == qa.questions
    assert back.relevant["en"] == qa.relevant["en"] and not back.relevant["ha"]
    assert len(files.qrels("multi").read_text().splitlines()) == 2 * PER_LANGUAGE
    files.qrels("en").unlink()  # a corpus without its qrels is not query-only: one line naming the file
    with pytest.raises(DataError, match="missing qrels/afriqa.en.txt"):
        read_prepared(tmp_path)


@pytest.mark.slow
@pytest.mark.java
def test_stock_pyserini_search_faiss_reproduces_the_ha_en_run(tiny_model, afriqa_slice, tmp_path, isolated_cache,
                                                               stock_faiss_search):
    """Hausa questions against the English passages: the stock search on ``evaluate``'s index and pre-encoded
    queries gives the plugin's run (same documents in the same order, scores within float32 rounding)."""
    qa = afriqa_slice
    out = tmp_path / "out"
    evaluate(qa, str(tiny_model), out=out, show_progress=False, runs="all")
    prepared = prepare(qa, tmp_path / "prepared")
    theirs = stock_faiss_search(out / "indexes" / "en", prepared.topics("ha"), out / "encoded-queries" / "ha")
    ours = [line.split() for line in (out / "runs" / "ha-en.txt").read_text().splitlines()]
    assert len(ours) == len(theirs) == PER_LANGUAGE * len(qa.candidates["en"])

    def by_query(lines):
        out: dict[str, list[tuple[str, float]]] = {}
        for qid, _, docid, _, score, _ in lines:
            out.setdefault(qid, []).append((docid, float(score)))
        return out

    ours_q, theirs_q = by_query(ours), by_query(theirs)
    assert ours_q.keys() == theirs_q.keys() == set(qa.questions["ha"])
    for qid, hits in ours_q.items():
        for (docid, score), (stock_docid, stock_score) in zip(hits, theirs_q[qid]):
            assert abs(score - stock_score) <= 2e-6  # float32 sums in another order: last digit
            assert docid == stock_docid or abs(score - stock_score) <= 2e-6, (qid, docid, stock_docid)
