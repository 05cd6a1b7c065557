"""``hybrid-plugin attack``: its options checked before anything is loaded or written, the budget kept, the report,
and its topic files searched by the stock ``pyserini.search.faiss`` giving the in-process numbers."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from hybrid_plugin.cli import main
from hybrid_plugin.perturb.measure import edit_distance

BIN = Path(sys.executable).parent
LIMIT = 6


def attack_args(shared_data, model, out, *extra):
    return ["attack", "xquad-r", "--data", str(shared_data / "xquad-r"), "--languages", "en,de", "--limit",
            str(LIMIT), "--model", str(model), "--out", str(out), *extra]


@pytest.mark.parametrize(("extra", "message"), [
    (["--budget", "0"], "argument --budget: expected a positive integer, got 0"),
    (["--budget", "21"], "attack budget must be an integer from 1 to 20 but got 21"),
    (["--candidates", "300"], "attack candidates must be an integer from 1 to 256 but got 300"),
    (["--seed", "-1"], "attack seed must be a non-negative integer"),
    (["--unit", "sentence"], "argument --unit: invalid choice"),
    (["--pool", "fr"], "--pool 'fr' is not a language of xquad-r (en, de)"),
])
def test_bad_options_are_one_line_and_write_nothing(tmp_path, shared_data, tiny_xquad_model, capsys, extra, message):
    out = tmp_path / "attacked"
    assert main(attack_args(shared_data, tiny_xquad_model, out, *extra)) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not out.exists()


def test_a_foreign_output_folder_is_refused_untouched(tmp_path, shared_data, tiny_xquad_model, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert main(attack_args(shared_data, tiny_xquad_model, tmp_path)) == 2
    assert "not written by hybrid-plugin" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]




@pytest.mark.slow
@pytest.mark.java
def test_attacked_topics_keep_the_budget_and_the_stock_search_gives_the_in_process_numbers(
        tmp_path, shared_data, tiny_xquad_model, one_torch_thread, capsys, run_stock):
    run = run_stock
    from hybrid_plugin.data.loading import load_parallel_qa
    from hybrid_plugin.evaluation.pipeline import evaluate
    from hybrid_plugin.perturb.attack import AttackSettings
    from hybrid_plugin.perturb.attack_topics import attack_collection
    from hybrid_plugin.pyserini.export import read_export
    from hybrid_plugin.pyserini.prepared import prepared_paths, read_topics

    out = tmp_path / "attacked"
    assert main(attack_args(shared_data, tiny_xquad_model, out, "--budget", "2", "--candidates", "4",
                            "--seed", "3")) == 0
    assert "model queries" in capsys.readouterr().out
    report = json.loads((out / "attack.json").read_text())
    qa = load_parallel_qa("xquad-r", data=shared_data / "xquad-r", languages=["en", "de"]).limit(LIMIT)
    assert report["queries"] == qa.num_questions() and report["model_queries_bound"] == qa.num_questions() * 9
    assert report["model_queries"] <= report["model_queries_bound"]
    every = {t for lang in qa.languages for t in qa.questions[lang].values()}
    files = prepared_paths(out, qa.name)
    for lang in qa.languages:
        topics = read_topics(files.topics(lang))
        assert list(topics) == list(qa.questions[lang])  # the names and ids `prepare` and `perturb` write
        for outcome in report["outcomes"][lang]:
            assert len(outcome["edits"]) <= 2 and outcome["model_queries"] <= 9
            assert edit_distance(outcome["original"], outcome["attacked"]) <= 2
            assert outcome["attacked"] == outcome["original"] or outcome["attacked"] not in every
            assert topics[outcome["qid"]] == " ".join(outcome["attacked"].split())
    # the same attack in process, evaluated; the stock search of the written topics gives the same numbers
    attacked, _ = attack_collection(qa, tiny_xquad_model, AttackSettings(budget=2, candidates=4, seed=3),
                                    model_name="tiny")
    results = evaluate(attacked, tiny_xquad_model, out=tmp_path / "eval", cache=False, show_progress=False)
    run([str(BIN / "hybrid-plugin"), "export", str(tiny_xquad_model), "encoder"], tmp_path)
    info = read_export(tmp_path / "encoder")
    for query_lang, pool_lang in (("de", "de"), ("en", "de")):
        run_file = f"runs/{query_lang}-{pool_lang}.txt"
        args = info.search_args(f"eval/indexes/{pool_lang}", f"attacked/topics/xquad-r.{query_lang}.tsv", run_file)
        run([sys.executable, *args[1:]], tmp_path)
        stdout = run([str(BIN / "ir_measures"), f"eval/qrels/{pool_lang}.txt", run_file, "AP@1000", "R@1",
                      "--places", "6"], tmp_path)
        stock = {line.split("\t")[0]: float(line.split("\t")[1]) for line in stdout.strip().splitlines()}
        for measure, value in stock.items():
            assert value == pytest.approx(results.pair(query_lang, pool_lang).value(measure), abs=2e-6)
