"""One perturbed cell through the stock tools: ``hybrid-plugin perturb`` topics -> ``pyserini.search.faiss`` (the
exported model encodes the perturbed questions itself) -> ``ir_measures``, against ``evaluate(..., perturb=...)``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.java]

BIN = Path(sys.executable).parent
LIMIT = 30




def test_stock_search_of_perturbed_topics_equals_the_in_process_numbers(tmp_path, shared_data, tiny_xquad_model,
                                                                       run_stock):
    run = run_stock
    from hybrid_plugin.evaluation.pipeline import evaluate
    from hybrid_plugin.data.loading import load_parallel_qa
    from hybrid_plugin.perturb.kinds import Perturbation
    from hybrid_plugin.pyserini.export import read_export

    qa = load_parallel_qa("xquad-r", data=shared_data / "xquad-r", languages=["en", "de"]).limit(LIMIT)
    results = evaluate(qa, tiny_xquad_model, out=tmp_path / "eval", perturb=Perturbation("typos", 0.1, 5),
                       cache=False, show_progress=False, limit=LIMIT)
    run([str(BIN / "hybrid-plugin"), "perturb", "xquad-r", "--data", str(shared_data / "xquad-r"), "--languages",
         "en,de", "--limit", str(LIMIT), "--perturb", "typos:0.1", "--seed", "5", "--out", "perturbed"], tmp_path)
    run([str(BIN / "hybrid-plugin"), "export", str(tiny_xquad_model), "encoder"], tmp_path)
    info = read_export(tmp_path / "encoder")
    for query_lang, pool_lang in (("en", "de"), ("de", "de")):
        out = f"runs/{query_lang}-{pool_lang}.txt"
        args = info.search_args(f"eval/indexes/{pool_lang}", f"perturbed/topics/xquad-r.{query_lang}.tsv", out)
        run([sys.executable, *args[1:]], tmp_path)
        stdout = run([str(BIN / "ir_measures"), f"eval/qrels/{pool_lang}.txt", out, "AP@1000", "nDCG@10", "R@1",
                      "--places", "6"], tmp_path)
        stock = {line.split("\t")[0]: float(line.split("\t")[1]) for line in stdout.strip().splitlines()}
        cell = results.pair(query_lang, pool_lang)
        for measure, value in stock.items():
            assert value == pytest.approx(cell.value(measure), abs=2e-6), (query_lang, pool_lang, measure)
    assert results.settings["perturbation"]["perturbation"]["label"] == "typos:0.1"
