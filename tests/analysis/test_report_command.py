"""Tests of ``hybrid-plugin report`` and the inputs it reads: results files (read by
``hybrid_plugin.evaluation.results.load_results``) and the training fields the leaderboard places them by."""

from __future__ import annotations

import csv
import io
import json

import pytest

from hybrid_plugin.cli import main
from hybrid_plugin.errors import DataError
from hybrid_plugin.evaluation.results import load_results, split_pair


def write_json(path, data):
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------------------------
# load_results


def test_load_results_reads_file_and_folder(tmp_path, make_results, record_of):
    data = make_results()
    write_json(tmp_path / "results.json", data)
    assert load_results(tmp_path / "results.json") == record_of(data)
    assert load_results(tmp_path) == record_of(data)


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda r: r.pop("map"), "missing required field 'map'"),
    (lambda r: r["map"].pop("cross"), "missing required field 'map.cross'"),
    (lambda r: r["model"].pop("name"), "'model.name'"),
    (lambda r: r.__setitem__("bias", "high"), "'bias' must be a finite number"),
    (lambda r: r["pairs"]["en-de"].__setitem__("map", None), "'pairs.en-de.map' must be a finite number"),
    (lambda r: r.__setitem__("pairs", {}), "'pairs' is empty"),
    (lambda r: r.__setitem__("per_query", [1]), "'per_query' must be an object"),
])
def test_load_results_names_file_and_field(tmp_path, make_results, mutate, message):
    data = make_results()
    mutate(data)
    path = write_json(tmp_path / "r.json", data)
    with pytest.raises(DataError, match=message) as info:
        load_results(path)
    assert str(path) in str(info.value)


def test_load_results_missing_and_malformed(tmp_path):
    with pytest.raises(DataError, match="results file not found"):
        load_results(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"map": ', encoding="utf-8")
    with pytest.raises(DataError, match="not a valid JSON file"):
        load_results(bad)
    write_json(bad, [1, 2])
    with pytest.raises(DataError, match="expected a JSON object"):
        load_results(bad)


def test_split_pair():
    assert split_pair("en-de", ["en", "de"]) == ("en", "de")
    assert split_pair("zh-cn-en", ["zh-cn", "en"]) == ("zh-cn", "en")
    assert split_pair("en-zh-cn", ["zh-cn", "en"]) == ("en", "zh-cn")
    assert split_pair("en-de", []) == ("en", "de")
    with pytest.raises(DataError):
        split_pair("en-fr", ["en", "de"])
    with pytest.raises(DataError):
        split_pair("ende", [])


# ---------------------------------------------------------------------------------------------------------------
# hybrid-plugin report


def test_cli_report_writes_leaderboard(tmp_path, capsys, make_results):
    runs = [make_results(sampling="hybrid", alpha=0.5, seed=s, shift=d) for s, d in ((1, 0.00), (2, 0.02), (3, 0.01))]
    runs += [make_results(sampling="xx", alpha=1.0, seed=1, shift=-0.03), make_results()]
    runs += [make_results(sampling="hybrid", alpha=0.5, seed=1, dataset="mlqa-r", shift=0.05)]
    paths = [write_json(tmp_path / f"r{i}.json", r) for i, r in enumerate(runs)]
    out = tmp_path / "out"
    assert main(["report", *map(str, paths), "--out", str(out)]) == 0
    md = (out / "leaderboard.md").read_text(encoding="utf-8")
    assert capsys.readouterr().out == md
    assert "± " in md and "(paper)" in md
    assert len(list(csv.DictReader(io.StringIO((out / "leaderboard.csv").read_text(encoding="utf-8"))))) == 16
    assert main(["report", str(paths[0]), "--out", str(out), "--no-paper"]) == 0
    assert "(paper)" not in (out / "leaderboard.md").read_text(encoding="utf-8")


def _training(**fields):
    def mutate(r):
        r["training"] = {"sampling": "hybrid", "alpha": 0.5, "seed": 1, **fields}
    return mutate


# one row per malformed input: each must end in one line on stderr, exit status 2 and no output
BAD_INPUTS = {
    "missing file": None,
    "not JSON": "{not json",
    "missing fields": json.dumps({"model": {"name": "m"}}),
    "not UTF-8": b"\xff\xfe{}",
    "a list": "[1, 2]",
    "sampling a list": _training(sampling=["hybrid"]),
    "alpha a string": _training(alpha="half"),
    "alpha out of range": _training(alpha=7),
    "train_dataset a number": _training(train_dataset=3),
    "training a list": lambda r: r.__setitem__("training", ["hybrid"]),
    "limit a string": lambda r: r["dataset"].__setitem__("limit", "fifty"),
    "languages a string": lambda r: r["dataset"].__setitem__("languages", "en"),
    "cell not an object": lambda r: r["pairs"].__setitem__("en-de", 0.5),
    "unknown pair": lambda r: r["pairs"].__setitem__("en-fr", {"map": 0.5}),
    "measures not objects": lambda r: r.__setitem__("measures", {"mono": 5}),
    "R@1 a string": lambda r: r["measures"]["mono"].__setitem__("R@1", "x"),
    "schema from the future": lambda r: r.__setitem__("schema_version", 99),
    "prompts a string": lambda r: r["model"].__setitem__("prompts", "query: "),
    "questions a number": lambda r: r["dataset"].__setitem__("questions", 15),
    "a language a number": lambda r: r["dataset"].__setitem__("languages", ["en", 5, "zh"]),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_cli_report_errors_exit_2_without_output(tmp_path, capsys, make_results, case):
    good = write_json(tmp_path / "good.json", make_results())
    bad = tmp_path / "bad.json"
    content = BAD_INPUTS[case]
    if isinstance(content, str):
        bad.write_text(content, encoding="utf-8")
    elif isinstance(content, bytes):
        bad.write_bytes(content)
    elif content is not None:
        data = make_results()
        content(data)
        write_json(bad, data)
    out = tmp_path / "out"
    assert main(["report", str(good), str(bad), "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err.strip()
    assert err.startswith("hybrid-plugin: error: ") and "\n" not in err and "Traceback" not in err
    assert not out.exists()
