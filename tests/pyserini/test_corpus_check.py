"""hybrid_plugin.pyserini.corpus_check: a corpus is checked the way ``pyserini.encode`` reads it, and cut into
shards the way ``--shard-id / --shard-num`` cuts it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hybrid_plugin.errors import DataError, UsageError
from hybrid_plugin.pyserini.corpus_check import check_corpus, corpus_files, shard_sizes


def _pyserini_slices(total: int, shards: int) -> list[range]:
    """Plain reference: the rows ``JsonlCollectionIterator.__iter__`` yields for each shard id."""
    slices = []
    for shard_id in range(shards):
        size = int(total / shards)
        start = shard_id * size
        end = total if shard_id == shards - 1 else min(start + size, total)
        slices.append(range(start, end))
    return slices


def _write(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _doc(docid, text: str, key: str = "contents") -> str:
    return json.dumps({"id": docid, key: text}, ensure_ascii=False)


@given(total=st.integers(1, 5000), shards=st.integers(1, 64))
def test_shard_sizes_follow_pyserini_and_cover_every_document_once(total, shards):
    if shards > total:
        with pytest.raises(UsageError, match=f"--shards {shards} is more than the {total} documents"):
            shard_sizes(total, shards)
        return
    sizes = shard_sizes(total, shards)
    slices = _pyserini_slices(total, shards)
    assert sizes == [len(s) for s in slices]
    assert [i for s in slices for i in s] == list(range(total))  # contiguous, in order, no gap, no repeat
    assert min(sizes) >= 1


@pytest.mark.slow
@pytest.mark.java
def test_shard_sizes_match_pyserinis_own_iterator(tmp_path):
    from hybrid_plugin.pyserini.java import configure_java

    configure_java()
    from pyserini.encode._base import JsonlCollectionIterator  # starts Pyserini's JVM

    corpus = _write(tmp_path / "c.jsonl", [_doc(f"d{i}", f"text {i}") for i in range(23)])
    iterator = JsonlCollectionIterator(str(corpus))
    for shards in (1, 2, 3, 5, 23):
        got = [sum(len(batch["id"]) for batch in iterator(batch_size=4, shard_id=i, shard_num=shards))
               for i in range(shards)]
        assert got == shard_sizes(check_corpus(corpus), shards)


def test_a_prepared_corpus_is_counted(tmp_path, xquad):
    from hybrid_plugin.pyserini.prepared import prepare

    files = prepare(xquad.select_languages(["en", "de"]).limit(5), tmp_path)
    folder = files.corpus("en").parent
    counts = {lang: len(files.corpus(lang).read_text(encoding="utf-8").splitlines()) for lang in ("en", "de")}
    assert check_corpus(files.corpus("en")) == counts["en"]
    assert check_corpus(folder) == counts["en"] + counts["de"]
    assert sorted(corpus_files(folder)) == sorted([files.corpus("en"), files.corpus("de")])
    assert corpus_files(folder) == [folder / name for name in os.listdir(folder)]  # Pyserini's order


def test_forms_pyserini_reads_are_accepted(tmp_path):
    corpus = _write(tmp_path / "c.jsonl", [
        _doc("a", "one"),
        _doc(7, "a number as id"),
        json.dumps({"_id": "b", "contents": "underscore id"}),
        json.dumps({"docid": "c", "text": "a text field"}),
        _doc("d", "a title with its one trailing break\n"),
    ])
    assert check_corpus(corpus) == 5


@pytest.mark.parametrize("line, needle", [
    ("", "blank line"),
    ("{not json", "malformed JSON"),
    ('["a", "b"]', "expected {"),
    (json.dumps({"contents": "no id"}), "docid None is missing"),
    (_doc("two words", "x"), "docid 'two words'"),
    (_doc("", "x"), "docid ''"),
    (json.dumps({"id": "x"}), "expected {"),
    (json.dumps({"id": "x", "contents": 3}), "expected {"),
    (_doc("x", "title\nbody"), "line break"),
    (_doc("x", "", key="text"), '"text" is not a non-empty string'),
])
def test_a_line_pyserini_cannot_read_is_named(tmp_path, line, needle):
    corpus = _write(tmp_path / "c.jsonl", [_doc("ok", "fine"), line])
    with pytest.raises(DataError, match=needle) as caught:
        check_corpus(corpus)
    assert caught.value.path == str(corpus) and caught.value.where == "line 2"


def test_bad_corpus_paths(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        check_corpus(tmp_path / "missing.jsonl")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="is an empty folder"):
        check_corpus(tmp_path / "empty")
    folder = tmp_path / "corpus"
    _write(folder / "a.jsonl", [_doc("a", "x")])
    (folder / "sub").mkdir()
    with pytest.raises(DataError, match="is not a file"):
        check_corpus(folder)
    empty_file = tmp_path / "none.jsonl"
    empty_file.write_text("")
    with pytest.raises(DataError, match="holds no document"):
        check_corpus(empty_file)
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(_doc("a", "x").encode() + b"\n" + '{"id": "b", "contents": "caf\xe9"}\n'.encode("latin-1"))
    with pytest.raises(DataError, match="not UTF-8"):
        check_corpus(latin)
