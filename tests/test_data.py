"""Loading parallel QA collections: counts of the real sets, the JSONL format, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hybrid_plugin.data import load_parallel_qa, read_lareqa_folder, read_parallel_jsonl
from hybrid_plugin.errors import DataError, UsageError


def squad(paragraphs: list[dict]) -> dict:
    return {"version": "1.1", "data": [{"title": "t", "paragraphs": paragraphs}]}


def paragraph(sentences: list[str], qas: list[tuple[str, str, int]]) -> dict:
    context, breaks = "", []
    for s in sentences:
        start = len(context) + (1 if context else 0)
        context = f"{context} {s}" if context else s
        breaks.append([start, start + len(s)])
    return {
        "context": context,
        "sentences": sentences,
        "sentence_breaks": breaks,
        "qas": [{"id": qid, "question": q, "answers": [{"answer_start": a, "text": "x"}]} for qid, q, a in qas],
    }


@pytest.fixture
def tiny_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "tiny"
    folder.mkdir()
    en = squad([paragraph(["Alpha one.", "Beta two."], [("q1", "Which is beta?", 12), ("q2", "Which is alpha?", 0)])])
    de = squad([paragraph(["Eins alpha.", "Zwei beta."], [("q1", "Welches ist beta?", 13), ("q2", "Alpha?", 1)])])
    (folder / "en.json").write_text(json.dumps(en))
    (folder / "de.json").write_text(json.dumps(de))
    return folder


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


def test_named_set_missing_file(tiny_folder):
    with pytest.raises(DataError, match="missing language file ar.json"):
        load_parallel_qa("xquad-r", data=tiny_folder)


def test_named_set_wrong_checksum(tmp_path, shared_data):
    import shutil

    folder = tmp_path / "copy"
    shutil.copytree(shared_data / "mlqa-r", folder)
    (folder / "de.json").chmod(0o644)
    (folder / "de.json").write_text("{}")
    with pytest.raises(DataError, match="de.json: is not the published mlqa-r file"):
        load_parallel_qa("mlqa-r", data=folder)


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


def test_unknown_dataset():
    with pytest.raises(UsageError, match="unknown dataset 'squad-r'"):
        load_parallel_qa("squad-r")


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
