"""hybrid_plugin.study.check_outcomes: a check's OK / OKish / FAIL outcomes kept as JSON beside the record, merged
condition by condition, refused when malformed or when the record changed since."""

from __future__ import annotations

import json

import pytest

from hybrid_plugin.cli import main
from hybrid_plugin.errors import DataError
from hybrid_plugin.study.check_outcomes import read_outcomes, write_outcomes
from hybrid_plugin.study.record import CheckOutcome


@pytest.fixture
def record(tmp_path):
    path = tmp_path / "record.yaml"
    path.write_text("conditions: []\n", encoding="utf-8")
    return path


def test_outcomes_round_trip_and_merge(tmp_path, record):
    path = tmp_path / "record-check.json"
    first = [CheckOutcome("a.en-en", "OK", {"R@1": 0.5}, {"R@1": 0.5}),
             CheckOutcome("a.en-de", "FAIL", {"R@1": 0.5}, {}, "command failed (exit 1): boom")]
    write_outcomes(first, path, record=record)
    assert read_outcomes(path, record=record) == {o.name: o for o in first}
    # a later check of one condition replaces that one and keeps the others
    again = CheckOutcome("a.en-de", "OKish", {"R@1": 0.5}, {"R@1": 0.5003})
    write_outcomes([again], path, record=record)
    assert read_outcomes(path, record=record) == {"a.en-en": first[0], "a.en-de": again}
    assert list(json.loads(path.read_text())["outcomes"]) == ["a.en-de", "a.en-en"]  # sorted: small diffs


def test_outcomes_of_a_changed_record_are_refused(tmp_path, record):
    path = write_outcomes([CheckOutcome("a", "OK", {"R@1": 1.0}, {"R@1": 1.0})], tmp_path / "c.json", record=record)
    record.write_text("conditions: []\n# edited\n", encoding="utf-8")
    with pytest.raises(DataError, match="another version of record.yaml"):
        read_outcomes(path, record=record)
    with pytest.raises(DataError, match="another version"):  # nor merged into
        write_outcomes([], path, record=record)
    assert read_outcomes(path)["a"].status == "OK"  # without a record to compare, read as they are


@pytest.mark.parametrize(("text", "message"), [
    ("{", "not a valid JSON file"),
    ("[]", 'expected a JSON object with an "outcomes" object'),
    ('{"outcomes": {}}', "'record_sha256' must be a string"),
    ('{"record_sha256": "x", "outcomes": {"a": 1}}', "'outcomes.a' must be an object"),
    ('{"record_sha256": "x", "outcomes": {"a": {"status": "fine"}}}', "'outcomes.a.status' must be one of"),
    ('{"record_sha256": "x", "outcomes": {"a": {"status": "OK", "expected": {"R@1": "high"}}}}',
     "'outcomes.a.expected' must map"),
    ('{"record_sha256": "x", "outcomes": {"a": {"status": "OK", "expected": {}, "got": {}, "message": 3}}}',
     "'outcomes.a.message' must be a string"),
])
def test_malformed_outcomes_name_the_file_and_field(tmp_path, text, message):
    path = tmp_path / "c.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=message) as info:
        read_outcomes(path)
    assert str(path) in str(info.value)
    with pytest.raises(DataError, match="cannot read the check outcomes"):
        read_outcomes(tmp_path / "missing.json")


def test_outcomes_without_check_is_a_usage_error(tmp_path, capsys):
    assert main(["reproduce", "--outcomes", str(tmp_path / "c.json")]) == 2
    assert "--outcomes goes with --check" in capsys.readouterr().err
    assert not (tmp_path / "c.json").exists()
