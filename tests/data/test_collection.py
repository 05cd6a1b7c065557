"""The collection record: the name rules (a table of allowed and refused names), its checks, slicing."""

from __future__ import annotations

import pytest

from hybrid_plugin.data import Candidate, ParallelQA, check_name
from hybrid_plugin.errors import DataError, UsageError

GOOD_NAMES = [
    ("language", "en"), ("language", "zh-cn"), ("language", "pt_BR"), ("language", "x" * 64),
    ("dataset", "xquad-r"), ("dataset", "0-shot"), ("qid", "56beb4343aeaaa14008c925b"), ("qid", "問1"),
    ("qid", "a/b:c#1"), ("docid", "de-0-3"), ("docid", "doc.1"),
]

BAD_NAMES = [
    # (kind, value, message)
    ("language", "x/../../../NAME", r"language 'x/\.\./\.\./\.\./NAME' is not allowed: expected 1 to 64 ASCII"),
    ("language", "..", r"language '\.\.' is not allowed"),
    ("language", "", r"language '' is not allowed"),
    ("language", "-en", r"language '-en' is not allowed"),
    ("language", "_en", r"language '_en' is not allowed"),
    ("language", "en.x", r"language 'en\.x' is not allowed"),
    ("language", "e n", r"language 'e n' is not allowed"),
    ("language", "en\n", r"language 'en\\n' is not allowed"),
    ("language", "dé", r"language 'dé' is not allowed"),
    ("language", "x" * 65, r"language 'x{65}' is not allowed"),
    ("language", "multi", r"language 'multi' is reserved"),
    ("language", 3, r"language must be a string, got int 3"),
    ("dataset", "a/b", r"dataset name 'a/b' is not allowed"),
    ("dataset", "C:\\x", r"dataset name 'C:\\\\x' is not allowed"),
    ("dataset", None, r"dataset name must be a string, got NoneType None"),
    ("qid", "", r"question id '' is not allowed: expected a non-empty id"),
    ("qid", "a b", r"question id 'a b' is not allowed"),
    ("qid", "a\tb", r"question id 'a\\tb' is not allowed"),
    ("qid", "a\rb", r"question id 'a\\rb' is not allowed"),
    ("qid", "a\x00", r"question id 'a\\x00' is not allowed"),
    ("qid", "a\x1b[31m", r"question id 'a\\x1b\[31m' is not allowed"),
    ("qid", "a\u2028b", r"question id 'a\\u2028b' is not allowed"),
    ("qid", "a\u3000b", r"question id 'a\\u3000b' is not allowed"),
    ("qid", 17, r"question id must be a string, got int 17"),
    ("docid", "d 1", r"candidate id 'd 1' is not allowed"),
    ("docid", "d\x7f", r"candidate id 'd\\x7f' is not allowed"),
]


@pytest.mark.parametrize(("what", "value"), GOOD_NAMES)
def test_allowed_names(what, value):
    assert check_name(value, what) == value


@pytest.mark.parametrize(("what", "value", "message"), BAD_NAMES)
def test_refused_names(what, value, message):
    with pytest.raises(DataError, match=rf"^f\.txt: line 3: {message}") as caught:
        check_name(value, what, path="f.txt", where="line 3")
    assert "\n" not in str(caught.value)


def test_a_long_value_is_shortened_in_the_message():
    with pytest.raises(DataError) as caught:
        check_name("a b" * 1000, "qid")
    assert len(str(caught.value)) < 200


def test_an_unknown_kind_is_a_bug():
    with pytest.raises(ValueError, match="what must be one of"):
        check_name("en", "lang")  # type: ignore[arg-type]


def _toy(languages=("en", "de"), *, qid="q1", docid_of=lambda lang: f"{lang}-0-0", name="toy") -> ParallelQA:
    return ParallelQA(
        name=name, languages=languages,
        questions={lang: {qid: "Q?"} for lang in languages},
        candidates={lang: [Candidate(docid_of(lang), "A.", lang, 0, 0)] for lang in languages},
        relevant={lang: {qid: docid_of(lang)} for lang in languages},
    )


def test_names_are_checked_when_the_collection_is_made():
    assert _toy().qids == ("q1",)
    with pytest.raises(DataError, match="dataset name 'a b'"):
        _toy(name="a b")
    with pytest.raises(DataError, match=r"language 'x/\.\.'"):
        _toy(languages=("en", "x/.."))
    with pytest.raises(DataError, match="language en: question id 'q 1'"):
        _toy(qid="q 1")
    with pytest.raises(DataError, match=r"language en: candidate id 'en 0' is not allowed"):
        _toy(docid_of=lambda lang: f"{lang} 0")


def test_require_languages():
    _toy().require_languages(2, "cross-lingual evaluation")
    with pytest.raises(DataError, match=r"^cross-lingual evaluation needs at least 2 languages, but toy has 1 \(en\)$"):
        _toy(languages=("en",)).require_languages(2, "cross-lingual evaluation")


def test_check_linked():
    _toy(languages=("en",)).check_linked()
    qa = _toy()
    qa.questions["de"] = {"q2": "Q?"}
    qa.relevant["de"] = {"q2": "de-0-0"}
    qa = ParallelQA(qa.name, qa.languages, qa.questions, qa.candidates, qa.relevant)
    with pytest.raises(DataError, match="data.jsonl: question id q1 occurs only in en"):
        qa.check_linked("data.jsonl")


def test_slicing(xquad):
    two = xquad.select_languages(["de", "en"])
    assert two.languages == ("de", "en") and two.checksum == xquad.checksum
    small = two.subset(two.qids[:2], name="tiny")
    assert small.name == "tiny" and small.qids == two.qids[:2]
    with pytest.raises(UsageError, match="unknown question ids"):
        two.subset(["nope"])
    assert xquad.limit(None) is xquad
