"""The parallel JSONL reader: the format, and a table of bad inputs (one row per case), path escapes included."""

from __future__ import annotations

import json
import re

import pytest

from hybrid_plugin.data import load_parallel_qa, read_parallel_jsonl
from hybrid_plugin.errors import DataError


def test_parallel_jsonl(tmp_path):
    path = tmp_path / "mine.jsonl"
    rows = [
        {"id": "a", "languages": {"en": {"question": "Who?", "passage": "Goethe wrote it."},
                                  "de": {"question": "Wer?", "sentences": ["Ein Drama.", "Goethe schrieb es."],
                                         "answer": 1}}},
        {"id": "b", "languages": {"en": {"question": "What?", "passage": "Goethe wrote it."},
                                  "de": {"question": "Was?", "passage": "Ein Drama."}}},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    qa = load_parallel_qa(path)
    assert qa.languages == ("de", "en")
    assert qa.num_candidates() == 3  # identical texts are stored once per language
    assert qa.positive("a", "en") == qa.positive("b", "en")
    assert qa.positive("b", "de").text == "Ein Drama."


def test_integer_ids_and_any_script(tmp_path):
    path = tmp_path / "mine.jsonl"
    rows = [{"id": 7, "languages": {"en": {"question": "Q?", "passage": "P."}, "zh-cn": {"question": "问?",
                                                                                       "passage": "答。"}}},
            {"id": "問1", "languages": {"en": {"question": "R?", "passage": "S."}, "zh-cn": {"question": "问2?",
                                                                                         "passage": "答2。"}}}]
    path.write_text("\n\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    qa = read_parallel_jsonl(path)
    assert qa.qids == ("7", "問1") and qa.languages == ("en", "zh-cn")


def _item(languages: dict, qid: object = "x") -> str:
    return json.dumps({"id": qid, "languages": languages})


_EN = {"question": "Q", "passage": "P"}

BAD_LINES = [
    # (case, the file's bytes, the message expected after "bad.jsonl: ")
    ("not JSON", b"{not json", r"line 1: malformed JSON"),
    ("not UTF-8", _item({"en": _EN}).encode() + b"\n" + b'{"id": "\xff"}', r"line 2 byte 9: not UTF-8 text"),
    ("Latin-1 text", '{"id": "caf\xe9"}'.encode("latin-1"), r"line 1 byte \d+: not UTF-8 text"),
    ("binary", bytes(range(256)), r"line \d+ byte \d+: not UTF-8 text"),
    ("deeply nested", b"[" * 100_000, r"line 1: malformed JSON"),
    ("a list", b"[1, 2]", r"line 1: expected an object with fields id and languages"),
    ("no id", b'{"languages": {}}', r'line 1: "id" must be a non-empty string'),
    ("boolean id", _item({"en": _EN}, True).encode(), r'line 1: "id" must be a non-empty string'),
    ("id with a space", _item({"en": _EN}, "a b").encode(), r"line 1: question id 'a b' is not allowed"),
    ("id with a tab", _item({"en": _EN}, "a\tb").encode(), r"line 1: question id 'a\\tb' is not allowed"),
    ("id with a control character", _item({"en": _EN}, "a\x07").encode(),
     r"line 1: question id 'a\\x07' is not allowed"),
    ("id twice", (_item({"en": _EN}) + "\n" + _item({"en": _EN})).encode(), r"line 2: id x occurs twice"),
    ("no languages", _item({}).encode(), r'line 1: "languages" must map language codes'),
    ("language escapes the folder", _item({"x/../../../NAME": _EN, "en": _EN}).encode(),
     r"line 1: language 'x/\.\./\.\./\.\./NAME' is not allowed: expected 1 to 64 ASCII letters"),
    ("absolute language", _item({"/tmp/NAME": _EN, "en": _EN}).encode(),
     r"line 1: language '/tmp/NAME' is not allowed"),
    ("language with a dot", _item({"en.x": _EN, "de": _EN}).encode(), r"line 1: language 'en\.x' is not allowed"),
    ("language with a space", _item({"e n": _EN, "de": _EN}).encode(), r"line 1: language 'e n' is not allowed"),
    ("empty language", _item({"": _EN, "de": _EN}).encode(), r"line 1: language '' is not allowed"),
    ("language too long", _item({"e" * 65: _EN, "de": _EN}).encode(), r"line 1: language 'e{65}' is not allowed"),
    ("reserved language", _item({"multi": _EN, "de": _EN}).encode(), r"line 1: language 'multi' is reserved"),
    ("entry not an object", _item({"en": "Q"}).encode(), r"line 1 language en: expected an object"),
    ("no question", _item({"en": {"passage": "P"}}).encode(), r'line 1 language en: "question" must be non-empty'),
    ("no passage", _item({"en": {"question": "Q"}}).encode(),
     r'line 1 language en: needs "passage", or "sentences" with "answer"'),
    ("passage a number", _item({"en": {"question": "Q", "passage": 3}}).encode(),
     r"line 1 language en: passage / sentences must be non-empty text"),
    ("answer out of range", _item({"en": {"question": "Q", "sentences": ["a"], "answer": 3}}).encode(),
     r'line 1 language en: "answer" must index one of the 1 sentences, got 3'),
    ("answer a boolean", _item({"en": {"question": "Q", "sentences": ["a"], "answer": True}}).encode(),
     r'line 1 language en: "answer" must index one of the 1 sentences, got True'),
    ("empty file", b"\n\n", r"holds no items"),
    ("ids that do not link languages", (_item({"en": _EN}, "a") + "\n" + _item({"de": _EN}, "b")).encode(),
     r"question id [ab] occurs only in (en|de)"),
]


@pytest.mark.parametrize(("content", "message"), [row[1:] for row in BAD_LINES], ids=[row[0] for row in BAD_LINES])
def test_bad_input(tmp_path, content, message):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content + b"\n")
    with pytest.raises(DataError, match=rf"^{re.escape(str(path))}: {message}") as caught:
        read_parallel_jsonl(path)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "line 1: malformed JSON"),
        ('{"id": "x", "languages": {"en": {"question": "Q"}}}', 'needs "passage"'),
        ('{"id": "x", "languages": {"en": {"question": "Q", "sentences": ["a"], "answer": 3}}}',
         '"answer" must index one of the 1 sentences, got 3'),
    ],
)
def test_parallel_jsonl_errors(tmp_path, line, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(DataError, match=message):
        read_parallel_jsonl(path)


@pytest.mark.parametrize(("name", "derived"), [("my data", "my-data"), ("a.b", "a-b"), ("-lead", "lead"),
                                               ("..", "dataset")])
def test_file_names_outside_the_name_rule_give_a_cleaned_dataset_name(tmp_path, name, derived):
    path = tmp_path / f"{name}.jsonl"
    path.write_text(_item({"en": _EN, "de": _EN}) + "\n")
    assert read_parallel_jsonl(path).name == derived
    assert read_parallel_jsonl(path, name="mine").name == "mine"


def test_an_explicit_dataset_name_outside_the_rule_is_refused(tmp_path):
    path = tmp_path / "ok.jsonl"
    path.write_text(_item({"en": _EN, "de": _EN}) + "\n")
    with pytest.raises(DataError, match=r"dataset name '\.\./x' is not allowed"):
        read_parallel_jsonl(path, name="../x")
