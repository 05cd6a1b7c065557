"""hybrid_plugin.evaluation: full-ranking mAP and bias against a plain numpy reference, the TREC side (run files,
ir_measures) against the full ranking, the run writer against Pyserini's format, the evaluator against
``evaluate``, the command line, and the stock ``pyserini.search.faiss`` on the indexes ``evaluate`` writes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hybrid_plugin.embeddings import EncodedQA
from hybrid_plugin.errors import DataError, UsageError
from hybrid_plugin.evaluation import (
    MEASURES,
    MultilingualRetrievalEvaluator,
    evaluate,
    evaluate_embeddings,
    full_ranking_ap,
    language_bias,
    quantize_scores,
    verify_run_files,
    write_trec_run,
)

# --------------------------------------------------------------------------------------------- fixtures


def grid_embeddings(qa, seed: int, dim: int = 12) -> EncodedQA:
    """Embeddings on a coarse grid (multiples of 1/8): every inner product is exact in float32 and float64, so a
    reference can recompute the scores exactly, and many of them tie (which exercises the docid tie-break)."""
    rng = np.random.default_rng(seed)

    def vectors(n: int) -> np.ndarray:
        return (rng.integers(-4, 5, size=(n, dim)) / 8).astype(np.float32)

    encoded = EncodedQA({lang: vectors(len(qa.questions[lang])) for lang in qa.languages},
                        {lang: vectors(len(qa.candidates[lang])) for lang in qa.languages})
    # make relevant candidates likelier to win, as with a real model: query = its positive's vector + noise
    for x in qa.languages:
        for i, qid in enumerate(qa.questions[x]):
            docid = qa.relevant[x][qid]
            j = next(k for k, c in enumerate(qa.candidates[x]) if c.docid == docid)
            if rng.random() < 0.5:
                encoded.queries[x][i] = encoded.passages[x][j]
    return encoded


@pytest.fixture(scope="module")
def xquad_slice(xquad):
    return xquad.select_languages(["en", "de", "zh", "ar"]).limit(30)


@pytest.fixture(scope="module")
def mlqa_slice(mlqa):
    return mlqa.limit(60)  # items exist in some languages only


# ------------------------------------------------------------------------------------ plain numpy reference


def reference(qa, encoded: EncodedQA) -> dict:
    """Per-setting full-ranking AP and bias, one query at a time: score with float64, round to 6 decimals, sort
    by (score desc, docid desc) -- the order trec_eval gives a run file -- and read off the relevant ranks."""
    docids = [c.docid for lang in qa.languages for c in qa.candidates[lang]]
    pool_of = np.array([lang for lang in qa.languages for _ in qa.candidates[lang]])
    pool = np.concatenate([encoded.passages[lang] for lang in qa.languages]).astype(np.float64)
    docid_order = np.argsort(np.argsort(np.array(docids, dtype=object)))  # ascending docid rank
    out: dict = {"pairs": {}, "multi": {}, "bias": {}}
    for x in qa.languages:
        scores = np.round(encoded.queries[x].astype(np.float64) @ pool.T, 6)
        per_pair = {y: [] for y in qa.languages}
        multi_ap, bias = [], []
        for i, qid in enumerate(qa.questions[x]):
            ranks_multi = []
            for y in qa.languages + ("multi",):
                cols = np.arange(len(docids)) if y == "multi" else np.flatnonzero(pool_of == y)
                order = cols[np.lexsort((-docid_order[cols], -scores[i, cols]))]
                ranked = [docids[c] for c in order]
                if y == "multi":
                    rel = [qa.relevant[z][qid] for z in qa.languages if qid in qa.relevant[z]]
                    ranks = sorted(ranked.index(d) + 1 for d in rel)
                    multi_ap.append(np.mean([(k + 1) / r for k, r in enumerate(ranks)]))
                    bias.append(ranks[-1] - ranks[0])
                elif qid in qa.relevant[y]:
                    per_pair[y].append(1.0 / (ranked.index(qa.relevant[y][qid]) + 1))
        for y, aps in per_pair.items():
            if aps:
                out["pairs"][f"{x}-{y}"] = (float(np.mean(aps)), len(aps))
        out["multi"][x] = float(np.mean(multi_ap))
        out["bias"][x] = float(np.mean(bias))
    return out


@pytest.mark.parametrize("which", ["xquad", "mlqa"])
def test_full_ranking_map_and_bias_match_a_plain_numpy_reference(which, xquad_slice, mlqa_slice):
    qa = xquad_slice if which == "xquad" else mlqa_slice
    encoded = grid_embeddings(qa, seed=1)
    outcome = evaluate_embeddings(qa, encoded)
    ref = reference(qa, encoded)
    assert set(outcome.pairs) == set(ref["pairs"])
    for key, (value, queries) in ref["pairs"].items():
        assert outcome.pairs[key]["map"] == pytest.approx(value, abs=1e-6), key
        assert outcome.pairs[key]["queries"] == queries
    for x in qa.languages:
        assert outcome.multi[x]["map"] == pytest.approx(ref["multi"][x], abs=1e-6)
        assert outcome.multi[x]["bias"] == pytest.approx(ref["bias"][x], abs=1e-6)
    summary = outcome.summary()
    mono = [v for k, (v, _) in ref["pairs"].items() if k.split("-")[0] == k.split("-")[1]]
    cross = [v for k, (v, _) in ref["pairs"].items() if k.split("-")[0] != k.split("-")[1]]
    assert summary["map"]["mono"] == pytest.approx(np.mean(mono), abs=1e-6)
    assert summary["map"]["cross"] == pytest.approx(np.mean(cross), abs=1e-6)
    assert summary["map"]["multi"] == pytest.approx(np.mean(list(ref["multi"].values())), abs=1e-6)
    assert summary["bias"] == pytest.approx(np.mean(list(ref["bias"].values())), abs=1e-6)


def test_mlqa_pairs_search_only_the_items_that_exist_in_the_pool(mlqa_slice):
    outcome = evaluate_embeddings(mlqa_slice, grid_embeddings(mlqa_slice, seed=2))
    for x in mlqa_slice.languages:
        for y in mlqa_slice.languages:
            shared = set(mlqa_slice.questions[x]) & set(mlqa_slice.relevant[y])
            if shared:
                assert outcome.pairs[f"{x}-{y}"]["queries"] == len(shared)
            else:
                assert f"{x}-{y}" not in outcome.pairs
        assert outcome.multi[x]["queries"] == len(mlqa_slice.questions[x])


def test_ap_and_bias_helpers():
    ranks = np.array([[1, 3, 0], [2, 0, 0], [0, 0, 0]])
    ap = full_ranking_ap(ranks)
    assert ap[0] == pytest.approx((1 / 1 + 2 / 3) / 2)
    assert ap[1] == pytest.approx(0.5)
    assert np.isnan(ap[2])
    bias = language_bias(ranks)
    assert bias[:2].tolist() == [2.0, 0.0] and np.isnan(bias[2])


def test_quantized_scores_round_like_the_run_file_format():
    rng = np.random.default_rng(0)
    scores = (rng.standard_normal(20000) * 0.4).astype(np.float32)
    scores[:4] = [0.5e-6, 1.5e-6, -2.5e-6, 0.1234565]
    expected = np.array([round(float(f"{s:.6f}") * 1e6) for s in scores.tolist()])
    assert np.array_equal(quantize_scores(scores), expected)


# --------------------------------------------------------------------------------------------- run files


def test_run_writer_writes_pyserinis_trec_lines(tmp_path):
    docids = ["d0", "doc-1", "x-12-3"]
    docs = np.array([[2, 0, 1], [1, 2, 0]])
    raw = np.array([[1.25, 0.0000004, -0.0000004], [12.5, -3.1415926, 0.999999]], dtype=np.float32)
    scores = quantize_scores(raw)
    path = write_trec_run(tmp_path / "run.txt", ["q1", "q22"], docs, scores, docids, tag="tiny",
                          lengths=np.array([3, 2]))
    lines = path.read_text().splitlines()
    expected = [f"{q} Q0 {docids[d]} {r} {float(s) / 1e6:.6f} tiny"
                for q, row, srow, n in (("q1", docs[0], scores[0], 3), ("q22", docs[1], scores[1], 2))
                for r, (d, s) in enumerate(zip(row[:n], srow[:n]), start=1)]
    assert lines == expected
    assert lines[0] == "q1 Q0 x-12-3 1 1.250000 tiny"
    assert lines[4] == "q22 Q0 x-12-3 2 -3.141593 tiny"
    with pytest.raises(UsageError, match="tag"):
        write_trec_run(tmp_path / "bad.txt", ["q"], docs[:1], scores[:1], docids, tag="two words")


@pytest.mark.parametrize("which", ["xquad", "mlqa"])
def test_ir_measures_on_the_run_files_equal_the_full_ranking(which, xquad_slice, mlqa_slice, tmp_path):
    """Depth >= pool size: AP@1000 from stock ir_measures reading the files equals the full-ranking mAP."""
    import ir_measures
    from ir_measures import AP, R, nDCG

    qa = xquad_slice if which == "xquad" else mlqa_slice
    assert max(len(p) for p in qa.candidates.values()) <= 1000
    encoded = grid_embeddings(qa, seed=3)
    outcome = evaluate_embeddings(qa, encoded, runs_dir=tmp_path, depth=1000, tag="t")
    verify_run_files(qa, outcome, tmp_path)  # every file, all four measures, stock read_trec_run
    for key, entry in outcome.pairs.items():
        assert entry["AP@1000"] == pytest.approx(entry["map"], abs=1e-9), key
    multi_pool = sum(len(p) for p in qa.candidates.values())
    for x, entry in outcome.multi.items():
        if multi_pool <= 1000:
            assert entry["AP@1000"] == pytest.approx(entry["map"], abs=1e-9), x
        else:  # relevant candidates below rank 1000 add to the full ranking only
            assert entry["AP@1000"] <= entry["map"] + 1e-12
    # one pair by hand: stock readers, str paths, qrels restricted to the queries searched
    x, y = qa.languages[0], qa.languages[1]
    qrels_path = tmp_path / "qrels.txt"
    qrels_path.write_text("".join(f"{q} 0 {d} 1\n" for q, d in qa.relevant[y].items()))
    run = list(ir_measures.read_trec_run(str(tmp_path / f"{x}-{y}.txt")))
    searched = {r.query_id for r in run}
    qrels = [q for q in ir_measures.read_trec_qrels(str(qrels_path)) if q.query_id in searched]
    stock = ir_measures.calc_aggregate([AP @ 1000, R @ 1, nDCG @ 10], qrels, run)
    assert stock[AP @ 1000] == pytest.approx(outcome.pairs[f"{x}-{y}"]["map"], abs=1e-9)
    assert stock[R @ 1] == pytest.approx(outcome.pairs[f"{x}-{y}"]["R@1"], abs=1e-9)
    assert stock[nDCG @ 10] == pytest.approx(outcome.pairs[f"{x}-{y}"]["nDCG@10"], abs=1e-9)
    lines = (tmp_path / f"{x}-{y}.txt").read_text().splitlines()
    assert len(lines) == len(searched) * len(qa.candidates[y])


def test_shallow_runs_score_the_same_when_read_back(xquad_slice, tmp_path):
    """Depth < pool size: the in-process TREC measures (prefix runs) equal those of the files read back, and
    AP@k <= full-ranking AP."""
    outcome = evaluate_embeddings(xquad_slice, grid_embeddings(xquad_slice, seed=4), runs_dir=tmp_path, depth=7)
    verify_run_files(xquad_slice, outcome, tmp_path)
    for entry in (*outcome.pairs.values(), *outcome.multi.values()):
        assert entry["AP@1000"] <= entry["map"] + 1e-12
    first = (tmp_path / "en-de.txt").read_text().splitlines()
    assert len(first) == 7 * outcome.pairs["en-de"]["queries"]


# ------------------------------------------------------------------------------------ errors on bad input


def test_bad_input_is_refused(xquad_slice, tmp_path):
    encoded = grid_embeddings(xquad_slice, seed=5)
    short = EncodedQA({**encoded.queries, "de": encoded.queries["de"][:-1]}, encoded.passages)
    with pytest.raises(DataError, match="de embeddings"):
        evaluate_embeddings(xquad_slice, short)
    nan = EncodedQA(encoded.queries, {**encoded.passages, "en": encoded.passages["en"] * np.nan})
    with pytest.raises(DataError, match="non-finite"):
        evaluate_embeddings(xquad_slice, nan)
    with pytest.raises(UsageError, match="depth"):
        evaluate_embeddings(xquad_slice, encoded, runs_dir=tmp_path, depth=0)
    with pytest.raises(UsageError, match="max_questions"):
        MultilingualRetrievalEvaluator(xquad_slice, max_questions=0)
    with pytest.raises(UsageError, match="primary_metric"):
        MultilingualRetrievalEvaluator(xquad_slice, primary_metric="ndcg")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="no language 'xx'"):
        MultilingualRetrievalEvaluator(xquad_slice, languages=["en", "xx"])
    with pytest.raises(UsageError, match="ParallelQA"):
        MultilingualRetrievalEvaluator({"en": []})  # type: ignore[arg-type]
    (tmp_path / "results.json").write_text("{}")
    with pytest.raises(UsageError, match="--overwrite"):
        evaluate(xquad_slice, "no-such-model", out=tmp_path)


def test_cli_errors_are_one_line_and_exit_2(tmp_path, shared_data, capsys):
    from hybrid_plugin.cli import main

    (tmp_path / "done").mkdir()
    (tmp_path / "done" / "results.json").write_text("{}")
    data = ["--data", str(shared_data / "xquad-r")]
    cases = [
        (["evaluate", "--dataset", "xquad-r", *data, "--out", str(tmp_path / "done")], "--overwrite"),
        (["evaluate", "--dataset", "xquad-r", *data, "--out", str(tmp_path / "a"), "--bm25", "--model", "x"],
         "--bm25"),
        (["evaluate", "--dataset", "nope", "--out", str(tmp_path / "b")], "unknown dataset"),
        (["evaluate", "--dataset", "xquad-r", *data, "--limit", "0", "--out", str(tmp_path / "c")], "--limit"),
        (["evaluate", "--dataset", "xquad-r", *data, "--limit", "2", "--batch-size", "0",
          "--out", str(tmp_path / "d")], "--batch-size"),
        (["evaluate", "--dataset", "xquad-r", *data, "--languages", "en,xx", "--out", str(tmp_path / "e")],
         "no language 'xx'"),
    ]
    for args, needle in cases:
        capsys.readouterr()
        assert main(args) == 2, args
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("hybrid-plugin: error: ") and needle in err[0], err
    assert not (tmp_path / "a").exists() and not (tmp_path / "d" / "results.json").exists()


# ------------------------------------------------------------------------------------ with a (tiny) model


@pytest.fixture()
def isolated_cache(tmp_path, monkeypatch) -> Path:
    """An empty plugin cache (embeddings land here), sharing the already built default model when there is one."""
    from hybrid_plugin.models import cache_dir

    real_models = cache_dir() / "models"
    root = tmp_path / "cache"
    root.mkdir()
    if real_models.is_dir():
        (root / "models").symlink_to(real_models, target_is_directory=True)
    monkeypatch.setenv("HYBRID_PLUGIN_CACHE", str(root))
    return root


def test_evaluator_gives_the_numbers_of_evaluate(tiny_model, xquad, isolated_cache):
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(tiny_model), device="cpu")
    evaluator = MultilingualRetrievalEvaluator(xquad, max_questions=12, languages=["en", "de", "es"], name="xq")
    metrics = evaluator(model)
    assert evaluator.primary_metric == "xq_map_mean"
    assert set(metrics) == {"xq_map_mono", "xq_map_cross", "xq_map_multi", "xq_map_mean", "xq_bias"}
    qa = xquad.select_languages(["en", "de", "es"]).limit(12)
    results = evaluate(qa, str(tiny_model), out=None, cache=False, show_progress=False)
    assert metrics["xq_map_mono"] == pytest.approx(results["map"]["mono"], abs=1e-12)
    assert metrics["xq_map_cross"] == pytest.approx(results["map"]["cross"], abs=1e-12)
    assert metrics["xq_map_multi"] == pytest.approx(results["map"]["multi"], abs=1e-12)
    assert metrics["xq_bias"] == pytest.approx(results["bias"], abs=1e-9)
    assert metrics["xq_map_mean"] == pytest.approx(np.mean(list(results["map"].values())), abs=1e-12)


def test_evaluator_writes_csv(tiny_model, xquad, tmp_path):
    from sentence_transformers import SentenceTransformer

    evaluator = MultilingualRetrievalEvaluator(xquad, max_questions=4, languages=["en", "de"])
    evaluator(SentenceTransformer(str(tiny_model), device="cpu"), output_path=str(tmp_path), epoch=1, steps=5)
    rows = (tmp_path / evaluator.csv_file).read_text().splitlines()
    assert rows[0].split(",") == evaluator.csv_headers and rows[1].startswith("1,5,")


def test_evaluate_writes_every_output_and_reuses_the_cache(tiny_model, xquad, tmp_path, isolated_cache):
    qa = xquad.select_languages(["en", "de", "zh"]).limit(6)
    out = tmp_path / "out"
    first = evaluate(qa, str(tiny_model), out=out, show_progress=False, limit=6)
    assert first["encoding"]["texts_encoded"] == first["encoding"]["distinct_texts"] > 0
    for lang in (*qa.languages, "multi"):
        assert (out / "indexes" / lang / "index").is_file() and (out / "indexes" / lang / "docid").is_file()
        assert (out / "qrels" / f"{lang}.txt").is_file()
    for lang in qa.languages:
        assert (out / "encoded-queries" / lang / "embedding.pkl").is_file()
    assert len(list((out / "runs").glob("*.txt"))) == 3 * 3 + 3
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no staging left over
    with pytest.raises(UsageError):
        evaluate(qa, str(tiny_model), out=out, show_progress=False)
    second = evaluate(qa, str(tiny_model), out=out, overwrite=True, show_progress=False, limit=6)
    assert second["encoding"]["texts_encoded"] == 0
    assert second["encoding"]["from_cache"] == first["encoding"]["distinct_texts"]
    assert second["map"] == first["map"] and second["pairs"] == first["pairs"]
    docids = (out / "indexes" / "multi" / "docid").read_text().split()
    assert docids == [c.docid for lang in qa.languages for c in qa.candidates[lang]]


# ------------------------------------------------------------------------------------ the real default model


RESULT_KEYS = {"model", "dataset", "map", "bias", "measures", "pairs", "multi_by_language", "files", "versions",
               "timings", "created", "encoding", "settings", "per_query"}


def check_schema(results: dict, qa) -> None:
    assert RESULT_KEYS <= set(results)
    assert set(results["model"]) >= {"name", "path", "prompts"}
    assert set(results["dataset"]) >= {"name", "languages", "checksum", "sources", "limit", "items", "questions",
                                       "candidates"}
    assert set(results["map"]) == {"mono", "cross", "multi"}
    for setting in ("mono", "cross", "multi"):
        assert set(results["measures"][setting]) == set(MEASURES)
        assert 0.0 <= results["map"][setting] <= 1.0
    n = len(qa.languages)
    assert len(results["pairs"]) == n * n
    for key, entry in results["pairs"].items():
        assert set(entry) == {*MEASURES, "queries"}, key
    assert set(results["multi_by_language"]) == set(qa.languages)
    for entry in results["multi_by_language"].values():
        assert set(entry) == {*MEASURES, "bias", "queries"}
    assert set(results["per_query"]) == {*results["pairs"], *(f"multi:{x}" for x in qa.languages)}


@pytest.mark.slow
def test_end_to_end_with_the_default_model(xquad, shared_data, tmp_path, isolated_cache, default_model_path,
                                           monkeypatch):
    from sentence_transformers import SentenceTransformer

    from hybrid_plugin.cli import main

    languages = ["en", "de", "zh"]
    qa = xquad.select_languages(languages).limit(8)
    seen: list[str] = []
    original = SentenceTransformer.encode

    def counting(self, inputs, *args, **kwargs):
        seen.extend([inputs] if isinstance(inputs, str) else list(inputs))
        return original(self, inputs, *args, **kwargs)

    monkeypatch.setattr(SentenceTransformer, "encode", counting)
    out = tmp_path / "eval"
    argv = ["evaluate", "--dataset", "xquad-r", "--data", str(shared_data / "xquad-r"), "--languages",
            ",".join(languages), "--limit", "8", "--out", str(out), "-q", "--verify-runs"]
    assert main(argv) == 0
    results = json.loads((out / "results.json").read_text())
    check_schema(results, qa)
    distinct = len({c.text for lang in languages for c in qa.candidates[lang]}) + \
        len({q for lang in languages for q in qa.questions[lang].values()})
    assert len(seen) == distinct == results["encoding"]["distinct_texts"] == results["encoding"]["texts_encoded"]
    assert results["encoding"]["encoded_per_distinct"] == 1.0
    assert results["map"]["mono"] > 0.5 and results["map"]["cross"] > 0.4  # a real multilingual encoder
    assert results["model"]["prompts"] == {"query": "query: ", "passage": "passage: "}
    assert (out / "results.md").is_file()
    seen.clear()
    assert main([*argv, "--overwrite"]) == 0  # second run: every embedding from the cache
    again = json.loads((out / "results.json").read_text())
    assert seen == [] and again["encoding"]["texts_encoded"] == 0
    assert again["map"] == results["map"]


@pytest.mark.slow
@pytest.mark.java
def test_stock_pyserini_search_faiss_reproduces_the_run_file(tiny_model, xquad, tmp_path, isolated_cache):
    """``python -m pyserini.search.faiss`` on an index ``evaluate`` wrote, with its pre-encoded queries, gives
    the run ``evaluate`` wrote (scores within float32 rounding; the same order where scores differ)."""
    from hybrid_plugin.java import pyserini_env
    from hybrid_plugin.pyserini_io import prepare

    qa = xquad.select_languages(["en", "de"]).limit(30)
    out = tmp_path / "out"
    evaluate(qa, str(tiny_model), out=out, show_progress=False)
    prepared = prepare(qa, tmp_path / "prepared")
    stock = tmp_path / "stock.txt"
    args = [sys.executable, "-m", "pyserini.search.faiss", "--index", str(out / "indexes" / "de"),
            "--topics", str(prepared.topics("en")), "--encoded-queries", str(out / "encoded-queries" / "en"),
            "--output", str(stock), "--hits", "1000", "--batch-size", "16", "--threads", "1"]
    done = subprocess.run(args, env=pyserini_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    ours = [line.split() for line in (out / "runs" / "en-de.txt").read_text().splitlines()]
    theirs = [line.split() for line in stock.read_text().splitlines()]
    assert len(ours) == len(theirs) == 30 * len(qa.candidates["de"])
    def by_query(lines):
        out: dict[str, list[tuple[str, float]]] = {}
        for qid, _, docid, _, score, _ in lines:
            out.setdefault(qid, []).append((docid, float(score)))
        return out

    ours_q, theirs_q = by_query(ours), by_query(theirs)
    assert ours_q.keys() == theirs_q.keys()
    identical = 0
    for qid, hits in ours_q.items():
        stock_scores = dict(theirs_q[qid])
        for (docid, score), (stock_docid, stock_score) in zip(hits, theirs_q[qid]):
            assert abs(stock_scores[docid] - score) <= 2e-6  # float32 sums in another order: last digit
            # the same document at each rank, except between candidates whose scores (nearly) tie
            assert docid == stock_docid or abs(score - stock_score) <= 2e-6, (qid, docid, stock_docid)
            identical += docid == stock_docid and f"{score:.6f}" == f"{stock_score:.6f}"
    assert identical >= 0.9 * len(ours)  # the tiny model's scores crowd together: many near-ties
