"""One BEIR-format cell with the stock tools: a BEIR folder written by the plugin (with titles) -> stock
``pyserini.encode --fields title text`` -> ``pyserini.search.faiss`` -> the ``ir_measures`` command; its nDCG@10,
R@100, RR@10 and AP@1000 equal :func:`~hybrid_plugin.evaluation.beir_eval.evaluate_beir`'s in-process values."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.java]

BIN = Path(sys.executable).parent




def test_stock_pyserini_reproduces_a_beir_cell(tmp_path, shared_data, default_model_path, run_stock):
    run = run_stock
    from hybrid_plugin.data.beir import read_beir_folder
    from hybrid_plugin.data.beir_convert import beir_from_parallel_qa, write_beir
    from hybrid_plugin.data.loading import load_parallel_qa
    from hybrid_plugin.evaluation.beir_eval import ALL, BEIR_MEASURES, evaluate_beir
    from hybrid_plugin.pyserini.export import read_export

    qa = load_parallel_qa("xquad-r", data=shared_data / "xquad-r", languages=["en", "de"]).limit(30)
    beir = beir_from_parallel_qa(qa)
    beir.corpus = {d: dataclasses.replace(doc, title=f"Paragraph {doc.paragraph}") for d, doc in beir.corpus.items()}
    folder = write_beir(beir, tmp_path / "xq")
    beir = read_beir_folder(folder)
    assert beir.corpus["en-0-0"].contents.startswith("Paragraph 0 ")
    # the stock tools' inputs: queries as a qid<TAB>text topics file, qrels in TREC's format
    (tmp_path / "topics.tsv").write_text("".join(f"{q.qid}\t{q.text}\n" for q in beir.queries.values()),
                                         encoding="utf-8")
    (tmp_path / "qrels.txt").write_text("".join(f"{q} 0 {d} {g}\n" for q, docs in beir.qrels.items()
                                                for d, g in docs.items()), encoding="utf-8")
    run([str(BIN / "hybrid-plugin"), "export", "default", "encoder"], tmp_path)
    info = read_export(tmp_path / "encoder")
    args = info.encode_args("xq/corpus.jsonl", "index", batch_size=32)
    at = args.index("output")
    args = [*args[:at], "--fields", "title", "text", *args[at:], "--fields", "title", "text"]  # input, encoder
    run([sys.executable, *args[1:]], tmp_path)
    search = info.search_args("index", "topics.tsv", "run.txt")
    run([sys.executable, *search[1:]], tmp_path)
    stdout = run([str(BIN / "ir_measures"), "qrels.txt", "run.txt", *BEIR_MEASURES, "--places", "6"], tmp_path)
    stock = {line.split("\t")[0]: float(line.split("\t")[1]) for line in stdout.strip().splitlines()}
    expected = evaluate_beir(beir, default_model_path, device="cpu").cell(ALL).values
    assert len((tmp_path / "run.txt").read_text().splitlines()) == len(beir.queries) * len(beir.corpus)
    for measure in BEIR_MEASURES:
        assert stock[measure] == pytest.approx(expected[measure], abs=1e-5), measure
    assert 0.3 < expected["nDCG@10"] <= 1.0  # a real multilingual encoder, not noise
