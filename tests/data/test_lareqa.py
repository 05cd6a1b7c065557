"""The LAReQA reader: counts of the real sets, a tiny folder, and a table of bad inputs."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hybrid_plugin.data import read_lareqa_folder
from hybrid_plugin.errors import DataError, UsageError


def test_xquad_counts(xquad):
    assert len(xquad.languages) == 11
    assert all(len(xquad.questions[lang]) == 1190 for lang in xquad.languages)
    assert xquad.num_candidates() == 13014
    assert len(xquad.qids) == 1190
    assert all(len(xquad.item_languages(q)) == 11 for q in xquad.qids)


def test_mlqa_counts(mlqa):
    assert len(mlqa.languages) == 7
    assert mlqa.num_questions() == 4199
    assert mlqa.num_candidates() == 20534
    assert 2 <= min(len(mlqa.item_languages(q)) for q in mlqa.qids)


def test_relevant_candidate_holds_the_answer(shared_data, xquad):
    doc = json.loads((shared_data / "xquad-r" / "de.json").read_text(encoding="utf-8"))
    para = doc["data"][0]["paragraphs"][0]
    qa = para["qas"][0]
    start = qa["answers"][0]["answer_start"]
    cand = xquad.positive(qa["id"], "de")
    b, e = para["sentence_breaks"][cand.sentence]
    assert cand.paragraph == 0 and b <= start < e
    assert cand.docid == f"de-0-{cand.sentence}"


def test_limit_keeps_answer_paragraphs(xquad):
    small = xquad.limit(10)
    assert small.qids == xquad.qids[:10]
    for lang in small.languages:
        pool = {c.docid for c in small.candidates[lang]}
        assert all(small.relevant[lang][q] in pool for q in small.qids)
        assert len(pool) < len(xquad.candidates[lang])
    with pytest.raises(UsageError):
        xquad.limit(0)


def test_tiny_folder(tiny_folder):
    qa = read_lareqa_folder(tiny_folder)
    assert qa.languages == ("de", "en")
    assert qa.relevant["en"] == {"q1": "en-0-1", "q2": "en-0-0"}
    assert qa.relevant["de"] == {"q1": "de-0-1", "q2": "de-0-0"}
    assert [c.text for c in qa.paragraph_of(qa.positive("q1", "en"))] == ["Alpha one.", "Beta two."]


def test_missing_language_file(tiny_folder):
    with pytest.raises(DataError, match="missing language file fr.json"):
        read_lareqa_folder(tiny_folder, ["en", "fr"])


def test_malformed_json(tiny_folder):
    (tiny_folder / "de.json").write_text('{"data": [\n  {"paragraphs": ]}')
    with pytest.raises(DataError, match=r"de.json: line 2 column \d+: malformed JSON"):
        read_lareqa_folder(tiny_folder)


def test_answer_outside_every_sentence(tiny_folder):
    doc = json.loads((tiny_folder / "en.json").read_text())
    doc["data"][0]["paragraphs"][0]["qas"][0]["answers"][0]["answer_start"] = 812
    (tiny_folder / "en.json").write_text(json.dumps(doc))
    with pytest.raises(DataError, match="en.json: paragraph 0: question q1: answer_start 812 is outside every sentence"):
        read_lareqa_folder(tiny_folder)


def test_ids_that_do_not_line_up(tiny_folder):
    doc = json.loads((tiny_folder / "de.json").read_text())
    doc["data"][0]["paragraphs"][0]["qas"][1]["id"] = "q9"
    (tiny_folder / "de.json").write_text(json.dumps(doc))
    with pytest.raises(DataError, match=r"question id q[29] occurs only in (en|de)"):
        read_lareqa_folder(tiny_folder)


def test_sentences_and_breaks_disagree(tiny_folder):
    doc = json.loads((tiny_folder / "de.json").read_text())
    doc["data"][0]["paragraphs"][0]["sentence_breaks"].pop()
    (tiny_folder / "de.json").write_text(json.dumps(doc))
    with pytest.raises(DataError, match="2 sentences but 1 sentence_breaks"):
        read_lareqa_folder(tiny_folder)


# ------------------------------------------------------------------------------------------------ bad inputs

def _para(doc: dict) -> dict:
    return doc["data"][0]["paragraphs"][0]


def _set(get: Callable[[dict], Any], key: Any, value: Any) -> Callable[[dict], dict]:
    """An edit of the German file: ``get(doc)[key] = value``."""
    def edit(doc: dict) -> dict:
        get(doc)[key] = value
        return doc
    return edit


def _question(doc: dict, n: int = 0) -> dict:
    return _para(doc)["qas"][n]


def _drop(key: str) -> Callable[[dict], dict]:
    def edit(doc: dict) -> dict:
        del _para(doc)[key]
        return doc
    return edit


BAD_GERMAN_FILES = [
    # (case, edit of de.json's document or its raw bytes, the message expected after "de.json: ")
    ("not UTF-8", b'{"data": [\xff\xfe]}', r"not UTF-8 text"),
    ("binary", bytes(range(256)), r"not UTF-8 text"),
    ("truncated JSON", b'{"data": [', r"line 1 column \d+: malformed JSON"),
    ("deeply nested JSON", b"[" * 100_000, r"malformed JSON"),
    ("a list, not an object", lambda doc: [doc], r'expected a SQuAD-style object with a "data" list'),
    ("data not a list", _set(lambda d: d, "data", {}), r'expected a SQuAD-style object with a "data" list'),
    ("article not an object", _set(lambda d: d, "data", [3]), r'article 0: "paragraphs" must be a list, got NoneType'),
    ("paragraphs not a list", _set(lambda d: d["data"][0], "paragraphs", "p"),
     r'article 0: "paragraphs" must be a list, got str'),
    ("paragraph not an object", _set(lambda d: d["data"][0], "paragraphs", [[]]),
     r"paragraph 0: a paragraph must be an object"),
    ("no sentence_breaks", _drop("sentence_breaks"), r'paragraph 0: missing field "sentence_breaks"'),
    ("sentences a string", _set(_para, "sentences", "Eins."), r'paragraph 0: "sentences" must be a list, got str'),
    ("context a number", _set(_para, "context", 7), r'paragraph 0: "context" must be a str, got int'),
    ("sentence a number", _set(_para, "sentences", [1, "Zwei beta."]),
     r"paragraph 0 sentence 0: a sentence must be a str, got int"),
    ("break outside the context", _set(_para, "sentence_breaks", [[0, 999], [12, 22]]),
     r"paragraph 0: sentence_breaks\[0\] = \[0, 999\] is not a \[start, end\] pair"),
    ("break of booleans", _set(_para, "sentence_breaks", [[False, True], [12, 22]]),
     r"paragraph 0: sentence_breaks\[0\] = \[False, True\] is not a \[start, end\] pair"),
    ("qas not a list", _set(_para, "qas", {}), r'paragraph 0: "qas" must be a list, got dict'),
    ("integer question id", _set(_question, "id", 1), r'paragraph 0: a question needs a non-empty string "id"'),
    ("empty question id", _set(_question, "id", ""), r'paragraph 0: a question needs a non-empty string "id"'),
    ("question id with a space", _set(_question, "id", "q 1"),
     r"paragraph 0: question id 'q 1' is not allowed: expected a non-empty id of printable characters"),
    ("question id with a tab", _set(_question, "id", "q\t1"), r"paragraph 0: question id 'q\\t1' is not allowed"),
    ("question id with a newline", _set(_question, "id", "q1\n"), r"paragraph 0: question id 'q1\\n' is not allowed"),
    ("question id with a NUL", _set(_question, "id", "q\x001"), r"paragraph 0: question id 'q\\x001' is not allowed"),
    ("question id with a no-break space", _set(_question, "id", "q\xa01"),
     r"paragraph 0: question id 'q\\xa01' is not allowed"),
    ("question id twice", _set(lambda d: _question(d, 1), "id", "q1"), r"paragraph 0: question id q1 occurs twice"),
    ("empty question", _set(_question, "question", " "), r'paragraph 0: question q1: "question" must be non-empty'),
    ("no answers", _set(_question, "answers", []), r'paragraph 0: question q1: "answers" must be a non-empty list'),
    ("answer_start a string", _set(lambda d: _question(d)["answers"][0], "answer_start", "13"),
     r"paragraph 0: question q1: answer_start must be an integer, got '13'"),
    ("answer_start a boolean", _set(lambda d: _question(d)["answers"][0], "answer_start", True),
     r"paragraph 0: question q1: answer_start must be an integer, got True"),
    ("no questions", _set(_para, "qas", []), r"holds no questions"),
]


@pytest.mark.parametrize(("edit", "message"), [row[1:] for row in BAD_GERMAN_FILES],
                         ids=[row[0] for row in BAD_GERMAN_FILES])
def test_bad_language_file(tiny_folder: Path, edit, message):
    path = tiny_folder / "de.json"
    if isinstance(edit, bytes):
        path.write_bytes(edit)
    else:
        path.write_text(json.dumps(edit(json.loads(path.read_text()))))
    with pytest.raises(DataError, match=rf"^{re.escape(str(path))}: {message}") as caught:
        read_lareqa_folder(tiny_folder)
    assert "\n" not in str(caught.value)


BAD_FOLDERS = [
    # (case, file to add, languages asked for, folder name, message)
    ("language file name with a space", "e n.json", None, "tiny", r"language 'e n' is not allowed"),
    ("language file name with a dot", "train-v1.1.json", None, "tiny", r"language 'train-v1\.1' is not allowed"),
    ("language asked for climbs out", None, ["en", "../tiny/de"], "tiny", r"language '\.\./tiny/de' is not allowed"),
    ("language asked for is reserved", "multi.json", ["en", "multi"], "tiny", r"language 'multi' is reserved"),
]


@pytest.mark.parametrize(("extra", "languages", "folder_name", "message"), [row[1:] for row in BAD_FOLDERS],
                         ids=[row[0] for row in BAD_FOLDERS])
def test_bad_names_in_a_folder(tiny_folder: Path, extra, languages, folder_name, message):
    folder = tiny_folder.rename(tiny_folder.with_name(folder_name))
    if extra:
        (folder / extra).write_text((folder / "de.json").read_text())
    with pytest.raises(DataError, match=message):
        read_lareqa_folder(folder, languages)


@pytest.mark.parametrize(("folder_name", "derived"), [("my data", "my-data"), ("x" * 65, "x" * 64)])
def test_a_folder_name_outside_the_rule_gives_a_cleaned_dataset_name(tiny_folder: Path, folder_name, derived):
    folder = tiny_folder.rename(tiny_folder.with_name(folder_name))
    assert read_lareqa_folder(folder).name == derived


def test_a_name_given_overrides_the_folder_name(tiny_folder: Path):
    folder = tiny_folder.rename(tiny_folder.with_name("my data"))
    assert read_lareqa_folder(folder, name="mine").name == "mine"
