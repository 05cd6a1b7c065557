"""Pyserini-format files written by prepare: exact layout, counts, round trip, atomicity; the reader of prepared
folders against a table of bad inputs; names that would leave the output folder."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from hybrid_plugin.cli import main
from hybrid_plugin.data import load_parallel_qa
from hybrid_plugin.errors import DataError, UsageError
from hybrid_plugin.pyserini.prepared import prepare, prepared_paths, read_prepared, read_qrels, read_topics


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
    for line in prepared_xquad.checksums.read_text().splitlines():
        digest, rel = line.split("  ")
        assert hashlib.sha256((prepared_xquad.root / rel).read_bytes()).hexdigest() == digest


def test_the_committed_qrels_and_checksums_are_what_prepare_writes(prepared_xquad):
    project = Path(__file__).resolve().parents[2]
    for rel in ("checksums/xquad-r.sha256", "qrels/xquad-r.multi.txt", "qrels/xquad-r.de.txt"):
        assert (prepared_xquad.root / rel).read_bytes() == (project / rel).read_bytes()


def test_round_trip(prepared_xquad, xquad):
    back = read_prepared(prepared_xquad.root)
    assert back.languages == xquad.languages
    assert back.relevant == xquad.relevant
    assert back.questions["en"] == {q: " ".join(t.split()) for q, t in xquad.questions["en"].items()}
    assert load_parallel_qa(prepared_xquad.root).relevant == xquad.relevant


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


# ------------------------------------------------------------------------------- what prepare leaves alone

def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_overwrite_keeps_every_file_prepare_did_not_write(xquad, tmp_path):
    (tmp_path / "qrels").mkdir()
    (tmp_path / "qrels" / "mine.txt").write_text("my qrels\n")
    (tmp_path / "topics").mkdir()
    (tmp_path / "topics" / "xquad-r.en.tsv.orig").write_text("a backup\n")
    (tmp_path / "notes.md").write_text("notes\n")
    prepare(xquad.limit(3), tmp_path)
    prepare(xquad.limit(4), tmp_path, overwrite=True)
    assert (tmp_path / "qrels" / "mine.txt").read_text() == "my qrels\n"
    assert (tmp_path / "topics" / "xquad-r.en.tsv.orig").read_text() == "a backup\n"
    assert (tmp_path / "notes.md").read_text() == "notes\n"


BAD_TARGETS = [
    # (case, what is in the way, message)
    ("out is a file", "", r"--out .* exists and is not a folder"),
    ("topics is a file", "topics", r"topics exists and is not a folder"),
    ("a corpus is a folder", "corpus/xquad-r/en.jsonl/", r"en\.jsonl exists and is not a regular file"),
    ("a qrels file is a link", "qrels/xquad-r.de.txt@", r"xquad-r\.de\.txt exists and is not a regular file"),
]


@pytest.mark.parametrize(("blocker", "message"), [row[1:] for row in BAD_TARGETS], ids=[row[0] for row in BAD_TARGETS])
def test_targets_of_another_kind_are_refused_before_writing(xquad, tmp_path, blocker, message):
    out = tmp_path / "out"
    if blocker == "":
        out.write_text("a file\n")
    else:
        target = out / blocker.rstrip("/@")
        target.parent.mkdir(parents=True)
        if blocker.endswith("/"):
            target.mkdir()
        elif blocker.endswith("@"):
            (tmp_path / "elsewhere.txt").write_text("not the plugin's\n")
            target.symlink_to(tmp_path / "elsewhere.txt")
        else:
            target.write_text("a file\n")
    before = _snapshot(tmp_path)
    with pytest.raises(UsageError, match=message):
        prepare(xquad.limit(3), out, overwrite=True)
    assert _snapshot(tmp_path) == before


def test_one_language_is_refused_before_writing(xquad, tmp_path):
    with pytest.raises(DataError, match=r"prepare .* needs at least 2 languages, but xquad-r has 1 \(en\)"):
        prepare(xquad.select_languages(["en"]).limit(3), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_languages_that_differ_only_in_case_are_refused(tmp_path):
    path = tmp_path / "cases.jsonl"
    entry = {"question": "Q", "passage": "P"}
    path.write_text(json.dumps({"id": "a", "languages": {"en": entry, "EN": entry}}) + "\n")
    with pytest.raises(DataError, match="differ only in case"):
        prepare(load_parallel_qa(path), tmp_path / "out")
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------------------- names and escapes

ESCAPES = ["x/../../../NAME", "../NAME", "/tmp/NAME", "NAME\x00", "x\\..\\NAME", ".."]


@pytest.mark.parametrize("language", ESCAPES)
def test_a_language_key_never_makes_prepare_write_outside_its_folder(tmp_path, capsys, language):
    work = tmp_path / "a" / "b" / "c"
    work.mkdir(parents=True)
    data = work / "bad.jsonl"
    entry = {"question": "Q", "passage": "P"}
    data.write_text(json.dumps({"id": "q1", "languages": {language: entry, "en": entry}}) + "\n")
    before = _snapshot(tmp_path)
    assert main(["prepare", str(data), "--out", str(work / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert re.search(r"bad\.jsonl: line 1: language .* is not allowed", err)
    assert _snapshot(tmp_path) == before and not (work / "out").exists()
    assert not list(Path("/tmp").glob("NAME*"))


@pytest.mark.parametrize("language", ESCAPES)
def test_prepare_checks_names_changed_after_loading(xquad, tmp_path, language):
    qa = xquad.select_languages(["en", "de"]).limit(3)
    qa.languages = (language, "de")
    qa.questions[language] = qa.questions["en"]
    qa.candidates[language] = qa.candidates["en"]
    qa.relevant[language] = qa.relevant["en"]
    with pytest.raises(DataError, match="language .* is not allowed"):
        prepare(qa, tmp_path / "a" / "out")
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------- bad prepared folders

@pytest.fixture
def small_prepared(xquad, tmp_path):
    return prepare(xquad.select_languages(["en", "de"]).limit(3), tmp_path / "prepared")


def _replace_line(path: Path, n: int, text: bytes) -> None:
    lines = path.read_bytes().splitlines(keepends=True)
    lines[n] = text
    path.write_bytes(b"".join(lines))


BAD_PREPARED = [
    # (case, file, line index, new line (bytes), message after "<file>: ")
    ("topics not UTF-8", "topics", 1, b"q2\t\xff\xfe question\n", r"line 2 byte 4: not UTF-8 text"),
    ("topics binary", "topics", 0, bytes(range(256)) + b"\n", r"line \d+ byte \d+: not UTF-8 text"),
    ("topics without a tab", "topics", 0, b"just text\n", r"line 1: expected qid<TAB>question"),
    ("topics qid with a control character", "topics", 0, b"q\x07\tQ?\n",
     r"line 1: question id 'q\\x07' is not allowed"),
    ("topics qid twice", "topics", 1, None, r"line 2: question id \S+ occurs twice"),
    ("qrels binary", "qrels", 0, b"\x00\x01\xfe\xff 0 d 1\n", r"line 1 byte 3: not UTF-8 text"),
    ("qrels with NUL bytes", "qrels", 0, b"q\x001 0 en-0-0 1\n", r"line 1: question id 'q\\x001' is not allowed"),
    ("qrels with 3 fields", "qrels", 0, b"q1 0 en-0-0\n", r"line 1: expected 'qid 0 docid relevance'"),
    ("qrels relevance a word", "qrels", 0, b"q1 0 en-0-0 yes\n", r"line 1: expected 'qid 0 docid relevance'"),
    ("qrels relevance a superscript", "qrels", 0, "q1 0 en-0-0 \u00b2\n".encode(),
     r"line 1: expected 'qid 0 docid relevance'"),
    ("qrels docid not in the corpus", "qrels", 0, None, r"question \S+ needs exactly one relevant docid"),
    ("corpus not UTF-8", "corpus", 0, b'{"id": "en-0-0", "contents": "\xe9t\xe9"}\n', r"line 1 byte \d+: not UTF-8"),
    ("corpus not JSON", "corpus", 0, b"{id: 1}\n", r"line 1: malformed JSON"),
    ("corpus integer id", "corpus", 0, b'{"id": 17, "contents": "text"}\n',
     r"line 1: candidate id must be a string, got int 17"),
    ("corpus null id", "corpus", 0, b'{"id": null, "contents": "text"}\n', r"line 1: candidate id must be a string"),
    ("corpus id with a space", "corpus", 0, b'{"id": "en 0 0", "contents": "text"}\n',
     r"line 1: candidate id 'en 0 0' is not allowed"),
    ("corpus without contents", "corpus", 0, b'{"id": "en-0-0"}\n', r'line 1: expected \{"id": "<docid>", "contents"'),
    ("corpus contents a number", "corpus", 0, b'{"id": "en-0-0", "contents": 3}\n', r"line 1: expected \{"),
    ("corpus a list", "corpus", 0, b"[1, 2]\n", r"line 1: expected \{"),
    ("corpus id twice", "corpus", 1, None, r"line 2: candidate id \S+ occurs twice"),
]


@pytest.mark.parametrize(("kind", "index", "line", "message"), [row[1:] for row in BAD_PREPARED],
                         ids=[row[0] for row in BAD_PREPARED])
def test_bad_prepared_folder(small_prepared, kind, index, line, message):
    path = {"topics": small_prepared.topics, "qrels": small_prepared.qrels, "corpus": small_prepared.corpus}[kind]("en")
    if line is None:  # repeat the first line (twice), or point its qrels at a docid of another pool
        first = path.read_bytes().splitlines(keepends=True)[0]
        line = first.replace(b" en-", b" de-") if kind == "qrels" else first
    _replace_line(path, index, line)
    with pytest.raises(DataError, match=rf"^{re.escape(str(path))}: {message}") as caught:
        read_prepared(small_prepared.root)
    assert "\n" not in str(caught.value)


BAD_LAYOUTS = [
    # (case, file to add (relative to the prepared folder), dataset asked for, message)
    ("a dataset name with a dot", "topics/xquad.r.en.tsv", None, r"several prepared datasets"),
    ("the only dataset has a dot", "topics/xquad.r.en.tsv", "*", r"xquad\.r\.en\.tsv: dataset name 'xquad\.r'"),
    ("a language with a space", "topics/xquad-r.e n.tsv", None, r"xquad-r\.e n\.tsv: language 'e n' is not allowed"),
    ("a language with a dot", "topics/xquad-r.e.n.tsv", "xquad-r",
     r"xquad-r\.e\.n\.tsv: language 'e\.n' is not allowed"),
    ("a language that is reserved", "topics/xquad-r.multi.tsv", None, r"language 'multi' is reserved"),
]


@pytest.mark.parametrize(("extra", "name", "message"), [row[1:] for row in BAD_LAYOUTS],
                         ids=[row[0] for row in BAD_LAYOUTS])
def test_bad_prepared_layout(small_prepared, extra, name, message):
    if name == "*":  # the added file is the only topics file
        for path in (small_prepared.root / "topics").iterdir():
            path.unlink()
        name = None
    (small_prepared.root / extra).write_text("q1\tQ?\n")
    with pytest.raises((DataError, UsageError), match=message):
        read_prepared(small_prepared.root, name)


def test_unjudged_questions_and_missing_files(small_prepared):
    root = small_prepared.root
    with pytest.raises(DataError, match=r"dataset name 'x/\.\.' is not allowed"):
        read_prepared(root, "x/..")
    topics = small_prepared.topics("de")
    topics.write_text(topics.read_text() + "extra\tAn unjudged question?\n")
    with pytest.raises(DataError, match=r"question extra of topics/xquad-r\.de\.tsv has no relevant docid"):
        read_prepared(root)
    small_prepared.corpus("de").unlink()
    with pytest.raises(DataError, match=r"missing corpus/xquad-r/de\.jsonl"):
        read_prepared(root)
    with pytest.raises(DataError, match="no topics/ folder"):
        read_prepared(root / "corpus")


def test_prepared_paths():
    files = prepared_paths("out", "mine")
    assert files.topics("en") == Path("out/topics/mine.en.tsv")
    assert files.checksums == Path("out/checksums/mine.sha256")
