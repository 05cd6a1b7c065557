"""Pyserini-format files written by prepare: exact layout, counts, round trip, atomicity."""

from __future__ import annotations

import json

import pytest

from hybrid_plugin.errors import UsageError
from hybrid_plugin.pyserini_io import TrecRunWriter, prepare, read_prepared, read_qrels, read_run, read_topics


@pytest.fixture(scope="module")
def prepared_xquad(xquad, tmp_path_factory):
    out = tmp_path_factory.mktemp("prepared")
    return prepare(xquad, out)


def test_xquad_layout_and_counts(prepared_xquad, xquad):
    files = prepared_xquad
    total = 0
    for lang in xquad.languages:
        topics = read_topics(files.topics(lang))
        assert len(topics) == 1190
        lines = files.corpus(lang).read_text(encoding="utf-8").splitlines()
        docs = [json.loads(line) for line in lines]
        assert set(docs[0]) == {"id", "contents"} and docs[0]["id"] == f"{lang}-0-0"
        total += len(docs)
        qrels = read_qrels(files.qrels(lang))
        assert len(qrels) == 1190 and all(len(d) == 1 for d in qrels.values())
    assert total == 13014
    multi = read_qrels(files.qrels("multi"))
    assert len(multi) == 1190 and all(len(d) == 11 for d in multi.values())
    assert files.qrels("de").read_text().splitlines()[0].split()[1] == "0"


def test_checksums_file(prepared_xquad):
    import hashlib

    for line in prepared_xquad.checksums.read_text().splitlines():
        digest, rel = line.split("  ")
        assert hashlib.sha256((prepared_xquad.root / rel).read_bytes()).hexdigest() == digest


def test_round_trip(prepared_xquad, xquad):
    back = read_prepared(prepared_xquad.root)
    assert back.languages == xquad.languages
    assert back.relevant == xquad.relevant
    assert back.questions["en"] == {q: " ".join(t.split()) for q, t in xquad.questions["en"].items()}


def test_mlqa_qrels_judge_only_existing_items(mlqa, tmp_path):
    files = prepare(mlqa, tmp_path)
    assert sum(len(read_topics(files.topics(lang))) for lang in mlqa.languages) == 4199
    multi = read_qrels(files.qrels("multi"))
    assert sum(len(d) for d in multi.values()) == 4199
    assert len(read_qrels(files.qrels("de"))) == len(mlqa.questions["de"])


def test_existing_files_with_other_content(xquad, tmp_path):
    small = xquad.limit(3)
    files = prepare(small, tmp_path)
    prepare(small, tmp_path)  # same content: fine
    before = files.topics("en").read_text()
    with pytest.raises(UsageError, match="exists with other content"):
        prepare(xquad.limit(4), tmp_path)
    assert files.topics("en").read_text() == before
    assert not list(tmp_path.rglob("*.tmp"))
    prepare(xquad.limit(4), tmp_path, overwrite=True)
    assert len(read_topics(files.topics("en"))) == 4


def test_run_writer_is_atomic(tmp_path):
    path = tmp_path / "run.txt"
    with TrecRunWriter(path, "tag") as write:
        write("q1", [("d1", 0.9), ("d2", 0.5)])
    assert read_run(path)["q1"][1].docid == "d2"
    assert path.read_text().splitlines()[0] == "q1 Q0 d1 1 0.900000 tag"
    with pytest.raises(RuntimeError), TrecRunWriter(tmp_path / "broken.txt", "tag") as write:
        write("q1", [("d1", 1.0)])
        raise RuntimeError("boom")
    assert not (tmp_path / "broken.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.txt"]


def test_corpus_contents_are_one_pyserini_field(prepared_xquad, xquad):
    # pyserini.encode splits contents at newlines into fields; a few XQuAD-R sentences hold one
    with_newline = [c for lang in xquad.languages for c in xquad.candidates[lang] if "\n" in c.text]
    assert with_newline
    docs = {}
    for line in prepared_xquad.corpus(with_newline[0].language).read_text(encoding="utf-8").splitlines():
        doc = json.loads(line)
        docs[doc["id"]] = doc["contents"]
    assert docs[with_newline[0].docid] == " ".join(with_newline[0].text.split())
    assert not any("\n" in text for text in docs.values())
