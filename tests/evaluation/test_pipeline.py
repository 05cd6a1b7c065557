"""hybrid_plugin.evaluation.pipeline: what ``evaluate`` writes (every output, which runs, the cache reused), the
output folder (never a byte of a folder it did not make; its own only with overwrite; the previous state after
an interrupt), the command line's one-line errors, and the stock ``pyserini.search.faiss`` on its indexes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from hybrid_plugin.errors import HybridPluginError, UsageError
from hybrid_plugin.evaluation import pipeline
from hybrid_plugin.evaluation.pipeline import EvaluateSettings, evaluate
from hybrid_plugin.evaluation.results import MEASURES, EvaluationResults
from hybrid_plugin.files import MARKER, claim_output


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` (and ``root``'s siblings' names): file bytes, None for folders."""
    tree: dict[str, bytes | None] = {p.name: None for p in root.parent.iterdir()}
    for path in sorted(root.rglob("*")):
        tree[str(path.relative_to(root.parent))] = path.read_bytes() if path.is_file() else None
    return tree


@pytest.fixture(scope="module")
def small_qa(xquad):
    return xquad.select_languages(["en", "de", "zh"]).limit(6)


# ------------------------------------------------------------------------------------ what it writes


def test_evaluate_writes_every_output_and_reuses_the_cache(tiny_model, small_qa, tmp_path, isolated_cache):
    qa = small_qa
    out = tmp_path / "out"
    first = evaluate(qa, str(tiny_model), out=out, show_progress=False, limit=6, runs="all", verify_runs=True)
    assert first.encoding["texts_encoded"] == first.encoding["distinct_texts"] > 0
    for lang in (*qa.languages, "multi"):
        assert (out / "indexes" / lang / "index").is_file() and (out / "indexes" / lang / "docid").is_file()
        assert (out / "qrels" / f"{lang}.txt").is_file()
    for lang in qa.languages:
        assert (out / "encoded-queries" / lang / "embedding.pkl").is_file()
    assert len(list((out / "runs").glob("*.txt"))) == 3 * 3 + 3
    assert {p.name for p in out.iterdir() if p.name.startswith(".")} == {MARKER}  # no staging left over
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert (out / "results.md").is_file() and (out / "pairs.png").is_file()
    assert EvaluationResults.load(out).to_json() == first.to_json()
    with pytest.raises(UsageError):
        evaluate(qa, str(tiny_model), out=out, show_progress=False)
    second = evaluate(qa, str(tiny_model), out=out, overwrite=True, show_progress=False, limit=6, runs="all")
    assert second.encoding["texts_encoded"] == 0
    assert second.encoding["from_cache"] == first.encoding["distinct_texts"]
    assert second.map == first.map and second.pairs == first.pairs
    docids = (out / "indexes" / "multi" / "docid").read_text().split()
    assert docids == [c.docid for lang in qa.languages for c in qa.candidates[lang]]


def test_runs_choice_writes_those_runs_and_keeps_the_numbers(tiny_model, small_qa, tmp_path, isolated_cache):
    results = {}
    for runs in ("default", "all", "none"):
        results[runs] = evaluate(small_qa, str(tiny_model), out=tmp_path / runs, runs=runs, show_progress=False,
                                 verify_runs=True)
        assert results[runs].settings["runs"] == runs and results[runs].settings["depth"] == 1000
    langs = small_qa.languages
    assert {p.name for p in (tmp_path / "default" / "runs").iterdir()} == \
        {f"{x}-{x}.txt" for x in langs} | {f"{x}-multi.txt" for x in langs}
    assert len(list((tmp_path / "all" / "runs").iterdir())) == len(langs) ** 2 + len(langs)
    assert not (tmp_path / "none" / "runs").exists() and "runs" not in results["none"].files
    for name in (tmp_path / "default" / "runs").iterdir():
        assert name.read_bytes() == (tmp_path / "all" / "runs" / name.name).read_bytes()
    for runs in ("all", "none"):
        assert results[runs].pairs == results["default"].pairs and results[runs].multi == results["default"].multi
        assert results[runs].summary == results["default"].summary and results[runs].bias == results["default"].bias
        assert results[runs].per_query == results["default"].per_query
    for cell in (*results["none"].pairs.values(), *results["none"].multi.values()):
        assert set(cell.values) == set(MEASURES)  # every TREC-side measure, without a file


def test_settings_are_checked_when_made():
    for kwargs, needle in (({"batch_size": 0}, "--batch-size"), ({"depth": 0}, "--depth"),
                           ({"runs": "some"}, "--runs"), ({"workers": 0}, "--workers"),
                           ({"run_tag": "two words"}, "run tag"), ({"depth": True}, "--depth")):
        with pytest.raises(UsageError, match=needle):
            EvaluateSettings(**kwargs)


# ------------------------------------------------------------------------------------ the output folder


def test_a_folder_it_did_not_make_is_never_touched(tiny_model, small_qa, tmp_path, isolated_cache):
    """A prepared folder (qrels/, runs/, indexes/ of the user's): refused, with or without overwrite, before the
    model is loaded; not one byte changes."""
    prepared = tmp_path / "prepared"
    for sub in ("qrels", "runs", "indexes"):
        (prepared / sub).mkdir(parents=True)
        (prepared / sub / "mine.txt").write_text(f"user data in {sub}\n")
    (prepared / "results.json").write_text("{}")
    before = snapshot(prepared)
    for overwrite in (False, True):
        with pytest.raises(UsageError, match="not written by hybrid-plugin"):
            evaluate(small_qa, "no-such-model", out=prepared, overwrite=overwrite, show_progress=False)
        assert snapshot(prepared) == before


def test_its_own_folder_needs_overwrite_and_an_interrupt_keeps_the_previous_state(
        tiny_model, small_qa, tmp_path, isolated_cache, monkeypatch):
    out = tmp_path / "out"
    first = evaluate(small_qa, str(tiny_model), out=out, show_progress=False)
    before = snapshot(out)
    with pytest.raises(UsageError, match="--overwrite"):
        evaluate(small_qa, "no-such-model", out=out, show_progress=False)
    assert snapshot(out) == before

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt  # the last phase: results.json is written, the heatmap is not

    monkeypatch.setattr(pipeline, "plot_pair_heatmap", interrupted)
    with pytest.raises(KeyboardInterrupt):
        evaluate(small_qa, str(tiny_model), out=out, overwrite=True, runs="all", show_progress=False)
    assert snapshot(out) == before  # nothing half-written, no staging folder beside it
    monkeypatch.undo()
    again = evaluate(small_qa, str(tiny_model), out=out, overwrite=True, runs="all", show_progress=False)
    assert again.pairs == first.pairs and len(list((out / "runs").iterdir())) == 12
    assert (out / "pairs.png").is_file() and (out / MARKER).is_file()


def test_an_interrupted_first_run_leaves_nothing(tiny_model, small_qa, tmp_path, isolated_cache, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "write_markdown_table", interrupted)
    with pytest.raises(KeyboardInterrupt):
        evaluate(small_qa, str(tiny_model), out=tmp_path / "out", show_progress=False)
    assert list(tmp_path.iterdir()) == [isolated_cache]


def test_a_collection_of_one_language_is_refused_before_anything_is_written(xquad, tmp_path):
    with pytest.raises(HybridPluginError, match="at least 2 languages"):
        evaluate(xquad.select_languages(["en"]).limit(3), "no-such-model", out=tmp_path / "out")
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------------------------ the command line


def test_cli_errors_are_one_line_and_exit_2(tmp_path, shared_data, capsys):
    from hybrid_plugin.cli import main

    claim_output(tmp_path / "done", "evaluate")
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


# ------------------------------------------------------------------------------------ the real default model


RESULT_KEYS = {"model", "dataset", "map", "bias", "measures", "pairs", "multi_by_language", "files", "versions",
               "timings", "created", "encoding", "settings", "per_query"}


def check_schema(results: dict, qa) -> None:
    """The ``results.json`` file format (read as JSON, as other tools read it)."""
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
def test_stock_pyserini_search_faiss_reproduces_the_run_file(tiny_model, xquad, tmp_path, isolated_cache,
                                                              stock_faiss_search):
    """``python -m pyserini.search.faiss`` on an index ``evaluate`` wrote, with its pre-encoded queries, gives
    the run ``evaluate`` wrote (scores within float32 rounding; the same order where scores differ)."""
    from hybrid_plugin.pyserini.prepared import prepare

    qa = xquad.select_languages(["en", "de"]).limit(30)
    out = tmp_path / "out"
    evaluate(qa, str(tiny_model), out=out, show_progress=False, runs="all")
    prepared = prepare(qa, tmp_path / "prepared")
    theirs = stock_faiss_search(out / "indexes" / "de", prepared.topics("en"), out / "encoded-queries" / "en")
    ours = [line.split() for line in (out / "runs" / "en-de.txt").read_text().splitlines()]
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
