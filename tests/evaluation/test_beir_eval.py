"""BEIR's evaluation: graded measures from ir_measures, the cells per query language, the language bias."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from hybrid_plugin.data.beir import BeirCollection, BeirDocument, BeirQuery
from hybrid_plugin.data.beir_convert import beir_from_parallel_qa
from hybrid_plugin.data.loading import load_parallel_qa
from hybrid_plugin.errors import UsageError
from hybrid_plugin.evaluation.beir_eval import ALL, BEIR_MEASURES, beir_run, evaluate_beir, score_beir_run


def test_graded_measures_by_hand():
    qrels = {"q": {"a": 2, "b": 1, "c": 0, "z": 1}}
    run = {"q": {"c": 0.9, "a": 0.8, "x": 0.7, "b": 0.6}}  # z never retrieved
    values = score_beir_run(qrels, run)["q"]
    # trec_eval's nDCG (pytrec_eval, as BEIR computes it): the grade is the gain, linear
    dcg = 2 / math.log2(3) + 1 / math.log2(5)
    ideal = 2 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4)
    assert values["nDCG@10"] == pytest.approx(dcg / ideal)
    assert values["R@100"] == pytest.approx(2 / 3)
    assert values["RR@10"] == pytest.approx(1 / 2)
    assert values["AP@1000"] == pytest.approx((1 / 2 + 2 / 4) / 3)
    assert score_beir_run({"q": {"a": 1}, "missed": {"a": 1}}, {"q": {"a": 1.0}})["missed"] == dict.fromkeys(
        BEIR_MEASURES, 0.0)


def test_exact_search_orders_by_inner_product():
    docs = np.array([[1, 0], [0.6, 0.8], [0, 1]], dtype=np.float32)
    run = beir_run(["q"], np.array([[0.8, 0.6]], dtype=np.float32), ["a", "b", "c"], docs, depth=2)
    assert list(run["q"]) == ["b", "a"] and run["q"]["b"] == pytest.approx(0.96)


def test_cells_and_bias_on_a_multilingual_folder(tiny_model, shared_data, isolated_cache, one_torch_thread):
    qa = load_parallel_qa("xquad-r", data=shared_data / "xquad-r", languages=["en", "de"]).limit(15)
    beir = beir_from_parallel_qa(qa)
    results = evaluate_beir(beir, str(tiny_model), device="cpu", batch_size=16)
    assert set(results.cells) == {"en", "de", ALL} and results.cell(ALL).queries == 30
    for cell in results.cells.values():
        assert set(cell.values) == set(BEIR_MEASURES)
        assert all(0.0 <= v <= 1.0 for v in cell.values.values())
        assert cell.bias is not None and cell.bias >= 0  # every query has an answer in both languages
    mean_en = np.mean([results.per_query[q]["nDCG@10"] for q in beir.queries if q.startswith("en.")])
    assert results.cell("en").values["nDCG@10"] == pytest.approx(mean_en)
    assert results.to_dict()["cells"]["all"]["queries"] == 30


def test_a_single_language_folder_has_no_bias_and_titles_are_encoded(tiny_model, isolated_cache, one_torch_thread):
    corpus = {d: BeirDocument(d, t, x, "en") for d, t, x in
              [("d1", "cat", "the cat sat on the mat"), ("d2", "", "a dog"), ("d3", "mat", "what is a mat")]}
    queries = {"q1": BeirQuery("q1", "who sat on the mat", "en", "q1")}
    beir = BeirCollection("tiny", corpus, queries, {"q1": {"d1": 2, "d3": 1}})
    results = evaluate_beir(beir, str(tiny_model), device="cpu")
    assert results.cell(ALL).bias is None and results.cell("en").values["R@100"] == 1.0
    with pytest.raises(UsageError, match="depth and batch_size must be at least 1"):
        evaluate_beir(beir, str(tiny_model), depth=0)


def test_command_writes_record_and_table(tiny_model, shared_data, tmp_path, capsys, isolated_cache,
                                         one_torch_thread):
    from hybrid_plugin import cli
    from hybrid_plugin.data.beir_convert import write_beir

    qa = load_parallel_qa("xquad-r", data=shared_data / "xquad-r", languages=["en", "es"]).limit(8)
    folder = write_beir(beir_from_parallel_qa(qa), tmp_path / "xq")
    out = tmp_path / "out"
    argv = ["beir", f"beir:{folder}", "--model", str(tiny_model), "--device", "cpu", "--out", str(out)]
    assert cli.main(argv) == 0
    record = json.loads((out / "beir.json").read_text(encoding="utf-8"))
    assert record["measures"] == list(BEIR_MEASURES) and set(record["cells"]) == {"en", "es", ALL}
    table = (out / "beir.md").read_text(encoding="utf-8")
    assert "| **all** | 16 |" in table and table in capsys.readouterr().out
    assert cli.main(argv) == 2  # the folder holds output: one line, nothing changed
    assert "--overwrite" in capsys.readouterr().err
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nen.x\tnope\t1\n", encoding="utf-8")
    assert cli.main([*argv[:-1], str(tmp_path / "new")]) == 2
    err = capsys.readouterr().err.strip()
    assert "test.tsv: line 2: field 'query-id'" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "new").exists()


def test_a_folder_written_by_prepare_scores_as_the_parallel_multi_setting(tiny_model, shared_data, tmp_path,
                                                                          isolated_cache, one_torch_thread):
    """The same collection two ways: BEIR's evaluation of the written folder (every query, the pool of all
    languages) equals the parallel path's multilingual setting, language bias included."""
    from hybrid_plugin.data.beir import read_beir_folder
    from hybrid_plugin.data.beir_convert import write_beir
    from hybrid_plugin.evaluation.pipeline import evaluate

    qa = load_parallel_qa("xquad-r", data=shared_data / "xquad-r", languages=["en", "de", "es"]).limit(12)
    beir = read_beir_folder(write_beir(beir_from_parallel_qa(qa), tmp_path / "xq"))
    graded = evaluate_beir(beir, str(tiny_model), device="cpu").cell(ALL)
    parallel = evaluate(load_parallel_qa(tmp_path / "xq"), str(tiny_model), device="cpu", show_progress=False,
                        cache=False)
    for measure in ("nDCG@10", "AP@1000"):
        assert graded.values[measure] == pytest.approx(parallel.measure("multi", measure), abs=1e-6), measure
    assert graded.bias == pytest.approx(parallel.measure("multi", "bias"), abs=1e-6)
