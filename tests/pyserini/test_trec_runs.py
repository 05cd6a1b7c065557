"""hybrid_plugin.pyserini.trec_runs: the run writer (page-cache bypass or not, the bytes are the same), its
atomicity, the line renderer against Python's own formatting, the simple writer and the reader."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hybrid_plugin.errors import DataError
from hybrid_plugin.pyserini.trec_runs import (
    RunFileWriter,
    ScoredDoc,
    TrecRunWriter,
    quantize_scores,
    read_run,
    write_trec_run,
)

_PAGE = 4096


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pieces=st.lists(st.integers(min_value=0, max_value=3 * _PAGE + 17), max_size=12),
       pages=st.integers(min_value=1, max_value=3), direct=st.booleans())
def test_the_file_holds_exactly_what_was_written(tmp_path, pieces, pages, direct):
    """Pieces that straddle the aligned buffer, end on a block boundary or leave an unaligned tail."""
    rng = np.random.default_rng(len(pieces))
    chunks = [rng.integers(0, 256, size=n, dtype=np.uint8).tobytes() for n in pieces]
    path = tmp_path / f"out-{pages}-{direct}.bin"
    with RunFileWriter(path, direct=direct, buffer_bytes=pages * _PAGE) as out:
        for chunk in chunks:
            out.write(memoryview(chunk))
    assert path.read_bytes() == b"".join(chunks)
    assert out.bytes_written == sum(pieces)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_the_file_appears_only_when_closed_and_an_error_leaves_nothing(tmp_path):
    path = tmp_path / "runs" / "en-de.txt"
    writer = RunFileWriter(path, buffer_bytes=_PAGE)
    writer.write(b"x" * (2 * _PAGE + 5))
    assert not path.exists() and writer.partial.exists()
    assert writer.close() == path and path.stat().st_size == 2 * _PAGE + 5
    with pytest.raises(ValueError, match="already closed"):
        writer.close()

    path.write_text("the previous run\n")
    with pytest.raises(RuntimeError, match="rendering failed"), RunFileWriter(path, buffer_bytes=_PAGE) as out:
        out.write(b"y" * (3 * _PAGE))
        raise RuntimeError("rendering failed")
    assert path.read_text() == "the previous run\n"  # untouched, and no partial file left beside it
    assert sorted(p.name for p in path.parent.iterdir()) == ["en-de.txt"]


def test_direct_writes_for_large_files_only_and_the_mode_follows_the_umask(tmp_path):
    """O_DIRECT (where it exists) for the whole blocks of a file larger than the buffer; a small file is written
    normally at close. Either way the file's mode is what open() would give."""
    small = RunFileWriter(tmp_path / "small.txt", buffer_bytes=_PAGE)
    assert small.direct == hasattr(os, "O_DIRECT")
    small.write(b"q1 Q0 d1 1 0.500000 Faiss\n")
    path = small.close()
    assert not small.direct and path.read_bytes() == b"q1 Q0 d1 1 0.500000 Faiss\n"
    reference = tmp_path / "reference.txt"
    reference.write_bytes(b"")
    assert path.stat().st_mode == reference.stat().st_mode

    large = RunFileWriter(tmp_path / "large.txt", buffer_bytes=_PAGE)
    large.write(b"z" * (3 * _PAGE + 10))
    assert large.bytes_written == 3 * _PAGE and large.direct == hasattr(os, "O_DIRECT")
    assert large.close().read_bytes() == b"z" * (3 * _PAGE + 10)
    with pytest.raises(ValueError, match="multiple of 4096"):
        RunFileWriter(tmp_path / "bad.txt", buffer_bytes=1000)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_rendered_lines_equal_python_formatting(tmp_path, data):
    n = data.draw(st.integers(1, 5))
    k = data.draw(st.integers(1, 30))
    docids = data.draw(st.lists(st.from_regex(r"[a-z0-9][a-z0-9\-]{0,20}", fullmatch=True), min_size=k,
                                 max_size=40, unique=True))
    qids = data.draw(st.lists(st.from_regex(r"[A-Za-z0-9_]{1,40}", fullmatch=True), min_size=n, max_size=n))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    docs = np.stack([rng.permutation(len(docids))[:k] for _ in range(n)])
    scale = data.draw(st.sampled_from([1.0, 30.0, 1e4]))
    raw = (rng.standard_normal((n, k)) * scale).astype(np.float32)
    if data.draw(st.booleans()):
        raw = np.abs(raw) % 1.0  # every score 0.xxxxxx: the common case has its own path
    scores = quantize_scores(raw)
    tag = data.draw(st.from_regex(r"[A-Za-z0-9_.\-]{1,30}", fullmatch=True))
    lengths = rng.integers(0, k + 1, size=n)
    path = write_trec_run(tmp_path / "run.txt", qids, docs, scores, docids, tag=tag, lengths=lengths)
    expected = "".join(f"{qids[i]} Q0 {docids[docs[i, r]]} {r + 1} {scores[i, r] / 1e6:.6f} {tag}\n"
                       for i in range(n) for r in range(int(lengths[i])))
    assert path.read_text() == expected


@pytest.mark.skipif(not hasattr(os, "O_DIRECT"), reason="no O_DIRECT on this platform")
def test_a_refused_direct_write_goes_on_buffered(tmp_path, monkeypatch):
    """Some file systems open with O_DIRECT and refuse the writes (EINVAL): the writer drops O_DIRECT and goes
    on from where it was. (No such file system here, so the refusal is played by a wrapper around os.write.)"""
    import errno
    import fcntl

    real_write = os.write

    def refusing_write(fd, data):
        if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT:
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_write(fd, data)

    monkeypatch.setattr("hybrid_plugin.pyserini.trec_runs.os.write", refusing_write)
    chunks = [bytes([i % 251]) * (_PAGE + 123 * i) for i in range(6)]
    with RunFileWriter(tmp_path / "run.txt", buffer_bytes=2 * _PAGE) as out:
        assert out.direct
        for chunk in chunks:
            out.write(chunk)
    assert not out.direct
    assert (tmp_path / "run.txt").read_bytes() == b"".join(chunks)


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


def test_read_run_reads_what_the_fast_writer_wrote_and_names_bad_lines(tmp_path):
    path = write_trec_run(tmp_path / "run.txt", ["q1"], np.array([[1, 0]]), np.array([[812345, -5]]), ["d0", "d1"])
    assert read_run(path) == {"q1": [ScoredDoc("q1", "d1", 0.812345), ScoredDoc("q1", "d0", -0.000005)]}
    (tmp_path / "short.txt").write_text("q1 Q0 d1 1 0.5 tag\n\nq1 Q0 d2 2 0.4\n")
    with pytest.raises(DataError, match=r"short.txt: line 3: expected 'qid Q0 docid rank score tag'"):
        read_run(tmp_path / "short.txt")
    (tmp_path / "nan.txt").write_text("q1 Q0 d1 1 high tag\n")
    with pytest.raises(DataError, match=r"line 1: the score 'high' is not a number"):
        read_run(tmp_path / "nan.txt")
