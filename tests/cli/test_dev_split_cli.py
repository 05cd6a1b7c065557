"""``train`` / ``evaluate --dev-fraction``: one-line errors, and evaluate scores the held-out items and records the
split."""

from __future__ import annotations

import json

import pytest

from hybrid_plugin.data.splits import split_items


def _cli(*argv: str) -> int:
    from hybrid_plugin.cli import main

    return main(list(argv))


@pytest.mark.parametrize(("command", "options", "message"), [
    ("train", ["--dev-fraction", "1.5"], r"--dev-fraction must be a number in (0, 1) (the share of items held "
                                         "out), got 1.5"),
    ("train", ["--dev-seed", "3"], "--dev-seed goes with --dev-fraction"),
    ("train", ["--dev-fraction", "0.1", "--dev-seed", "-2"], "--dev-seed must be an integer in [0, 4294967295], "
                                                             "got -2"),
    ("train", ["--dev-fraction", "0.0001", "--limit", "30"], "--dev-fraction 0.0001 of xquad-r's 1190 items "
                                                             "leaves the dev side empty"),
    ("evaluate", ["--dev-fraction", "0"], "--dev-fraction must be a number in (0, 1)"),
    ("evaluate", ["--dev-seed", "1"], "--dev-seed goes with --dev-fraction"),
    ("evaluate", ["--dev-fraction", "nan"], "argument --dev-fraction: expected a finite number, got 'nan'"),
])
def test_bad_split_options_are_one_line(shared_data, tmp_path, capsys, command, options, message):
    flag = "--train" if command == "train" else "--dataset"
    argv = [command, flag, "xquad-r", "--data", str(shared_data / "xquad-r"), "--out", str(tmp_path / "o"), *options]
    assert _cli(*argv) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]  # (after any log lines)
    assert err.startswith("hybrid-plugin: error: ") and message in err
    assert not (tmp_path / "o").exists()


def test_evaluate_scores_the_dev_side_and_records_it(tiny_model, shared_data, xquad, tmp_path, capsys,
                                                     one_torch_thread):
    out = tmp_path / "dev"
    assert _cli("evaluate", "--dataset", "xquad-r", "--data", str(shared_data / "xquad-r"), "--languages", "en,de",
                "--model", str(tiny_model), "--dev-fraction", "0.05", "--dev-seed", "2", "--backend", "torch",
                "--runs", "none", "--out", str(out), "-q") == 0
    assert "dev split (" in capsys.readouterr().out
    dev = split_items(xquad.select_languages(["en", "de"]), 0.05, seed=2).dev
    results = json.loads((out / "results.json").read_text())
    assert results["dataset"]["split"] == dev.split.to_dict() and results["dataset"]["items"] == len(dev.qids)
    assert set(results["per_query"]["en-de"]) == set(dev.qids)
    assert results["dataset"]["candidates"] == {lang: len(dev.candidates[lang]) for lang in ("en", "de")}
