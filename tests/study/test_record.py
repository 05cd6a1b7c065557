"""hybrid_plugin.study.record: reading a 2CR record; a malformed one is a one-line DataError naming the file and
the field (issue #12), the committed records are read as they are."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hybrid_plugin.errors import DataError, UsageError
from hybrid_plugin.study.record import check_record, read_record

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = sorted((ROOT / "benchmarks" / "reproduce").glob("*/record.yaml"))

GOOD = {
    "title": "t",
    "setup": ["hybrid-plugin prepare xquad-r --out . --overwrite"],
    "tolerance": {"OK": 1e-4, "OKish": 5e-4},
    "conditions": [{
        "name": "xquad-r.base-seed0.en-en", "encoder": "encoders/base",
        "commands": ["python -m pyserini.encode input --corpus c.jsonl output --embeddings indexes/x --to-faiss",
                     "ir_measures qrels/x.txt runs/x.txt AP@1000"],
        "scores": {"AP@1000": 0.5},
    }],
}


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.parent.name)
def test_committed_records_are_read(path):
    record = read_record(path)
    assert record.conditions and all(c.scores and len(c.commands) == 3 for c in record.conditions)
    assert record.tolerance == {"OK": 1e-4, "OKish": 5e-4}


def _with(change):
    data = yaml.safe_load(yaml.safe_dump(GOOD))
    change(data)
    return data


BAD = [
    ("not-a-mapping", ["a", "b"], "expected a mapping"),
    ("no-conditions", {"title": "t"}, "'conditions' must be a list"),
    ("condition-not-mapping", _with(lambda d: d["conditions"].append(3)), "'conditions\\[1\\]' must be a mapping"),
    ("no-name", _with(lambda d: d["conditions"][0].pop("name")), "'conditions\\[0\\].name'"),
    ("encoder-number", _with(lambda d: d["conditions"][0].update(encoder=7)), "'conditions\\[0\\].encoder'"),
    ("commands-string", _with(lambda d: d["conditions"][0].update(commands="ls")), "'conditions\\[0\\].commands'"),
    ("command-empty", _with(lambda d: d["conditions"][0]["commands"].append("")),
     "'conditions\\[0\\].commands\\[2\\]'"),
    ("command-quote", _with(lambda d: d["conditions"][0]["commands"].append("ls 'x")),
     "'conditions\\[0\\].commands\\[2\\]'"),
    ("encode-no-embeddings", _with(lambda d: d["conditions"][0]["commands"].__setitem__(
        0, "python -m pyserini.encode input --corpus c.jsonl")), "'conditions\\[0\\].commands\\[0\\]'"),
    ("scores-missing", _with(lambda d: d["conditions"][0].pop("scores")), "'conditions\\[0\\].scores'"),
    ("score-text", _with(lambda d: d["conditions"][0]["scores"].update({"R@1": "high"})),
     "'conditions\\[0\\].scores.R@1' must be a finite number"),
    ("score-nan", _with(lambda d: d["conditions"][0]["scores"].update({"R@1": float("nan")})),
     "'conditions\\[0\\].scores.R@1'"),
    ("tolerance-list", _with(lambda d: d.update(tolerance=[1])), "'tolerance'"),
    ("tolerance-no-ok", _with(lambda d: d.update(tolerance={"OKish": 1e-3})), "'tolerance.OK'"),
    ("setup-not-list", _with(lambda d: d.update(setup="prepare")), "'setup'"),
]


@pytest.mark.parametrize(("data", "message"), [(d, m) for _, d, m in BAD], ids=[name for name, _, _ in BAD])
def test_a_malformed_record_is_one_line_naming_the_file_and_field(tmp_path, data, message):
    path = tmp_path / "record.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(DataError, match=message) as caught:
        check_record(path, tmp_path / "work")
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)
    assert not (tmp_path / "work").exists()  # refused before anything was run or made


@pytest.mark.parametrize(("content", "message"), [
    (b"conditions: [\n  - {name: a", "not a valid YAML file"),
    (b"\xff\xfe\x00binary", "not a UTF-8 text file"),
])
def test_unreadable_records(tmp_path, content, message):
    path = tmp_path / "record.yaml"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message) as caught:
        check_record(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_a_missing_record(tmp_path):
    with pytest.raises(DataError, match="cannot read the record"):
        check_record(tmp_path / "nope.yaml")


def test_no_matching_condition_and_missing_study(tmp_path):
    path = tmp_path / "record.yaml"
    path.write_text(yaml.safe_dump(GOOD), encoding="utf-8")
    with pytest.raises(UsageError, match="matches"):
        check_record(path, tmp_path / "work", only="nothing-like-this")
    with pytest.raises(UsageError, match="--study"):
        check_record(path, tmp_path / "work", study=tmp_path / "missing")
