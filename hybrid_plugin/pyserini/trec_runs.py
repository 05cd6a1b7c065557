"""TREC run files (``qid Q0 docid rank score tag``): the score format, a fast line renderer and writer for
multi-gigabyte runs, a simple writer, and a reader.

The runs of every language pair of XQuAD-R are 132 files at depth 1000 (157 M lines, 8.6 GB). Lines are
rendered with numpy (byte tables gathered as 8-byte lanes into fixed-width rows, padding dropped), byte-for-byte
what Pyserini's writer prints: ``f"{qid} Q0 {docid} {rank} {score:.6f} {tag}"``. The files are written past the
page cache where the file system allows it (``O_DIRECT``): copying gigabytes of write-once output into the cache
costs more CPU than rendering it and evicts what the cache held.

What does *not* live here: ranking and scoring the runs (``hybrid_plugin.evaluation``), qrels and topics
(:mod:`hybrid_plugin.pyserini.prepared`).

Example::

    import numpy as np
    from hybrid_plugin.pyserini.trec_runs import quantize_scores, read_run, write_trec_run

    scores = quantize_scores(np.array([[0.8123451, -0.000005]]))
    write_trec_run("run.txt", ["q1"], np.array([[1, 0]]), scores, ["d0", "d1"], tag="Faiss")
    # q1 Q0 d1 1 0.812345 Faiss
    # q1 Q0 d0 2 -0.000005 Faiss
    read_run("run.txt")["q1"][0]   # ScoredDoc(qid='q1', docid='d1', score=0.812345)
"""

from __future__ import annotations

import errno
import mmap
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from types import TracebackType
from typing import NamedTuple

import numpy as np

from hybrid_plugin.errors import DataError, UsageError
from hybrid_plugin.files import atomic_write

__all__ = [
    "SCORE_DECIMALS",
    "RunFileWriter",
    "ScoredDoc",
    "TrecRunWriter",
    "quantize_scores",
    "read_run",
    "write_trec_run",
]

SCORE_DECIMALS = 6
"""Decimals of a score in a run file (what Pyserini writes); the ranking is by scores rounded to these."""

_SCALE = 10**SCORE_DECIMALS
_REFUSED = {errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP}  # how file systems say no to O_DIRECT


def quantize_scores(scores: np.ndarray) -> np.ndarray:
    """Scores as integers in units of 10^-6 (``round(score, 6) * 10^6``), exactly as ``f"{score:.6f}"`` rounds.

    A float32 times 10^6 is exact in float64, and ``np.rint`` rounds half to even like ``printf``.
    """
    out = np.multiply(scores, _SCALE, dtype=np.float64)
    np.rint(out, out=out)
    return out.astype(np.int64)


def _byte_table(strings: Sequence[str]) -> np.ndarray:
    """Strings as rows of a NUL-padded uint8 matrix."""
    encoded = [s.encode("utf-8") for s in strings]
    width = max((len(b) for b in encoded), default=0)
    table = np.zeros((len(encoded), max(width, 1)), dtype=np.uint8)
    for i, b in enumerate(encoded):
        table[i, :len(b)] = np.frombuffer(b, dtype=np.uint8)
    return table


def _lane_table(strings: Sequence[str]) -> np.ndarray:
    """Strings as rows of 8-byte lanes: a NUL-padded ``(n, lanes)`` uint64 matrix."""
    table = _byte_table(strings)
    padded = np.zeros((table.shape[0], -(-table.shape[1] // 8) * 8), dtype=np.uint8)
    padded[:, :table.shape[1]] = table
    return padded.view(np.uint64)


def _lanes(table: np.ndarray) -> list[np.ndarray]:
    """The columns of a lane table, each contiguous (a gather through one is a plain uint64 take)."""
    return [np.ascontiguousarray(table[:, j]) for j in range(table.shape[1])]


_SCORE_LANES: dict[bytes, np.ndarray] = {}


def _score_lanes(prefix: bytes) -> np.ndarray:
    """``prefix`` and the six decimals of each of 0 ... 999999 as one 8-byte lane (``b"0.000042"`` for the prefix
    ``b"0."``, ``b"000042\0\0"`` for none; 8 MB, built once per prefix)."""
    table = _SCORE_LANES.get(prefix)
    if table is None:
        values = np.arange(_SCALE, dtype=np.int64)
        rows = np.zeros((_SCALE, 8), dtype=np.uint8)
        rows[:, :len(prefix)] = np.frombuffer(prefix, dtype=np.uint8)
        for j in range(SCORE_DECIMALS):
            rows[:, len(prefix) + j] = ord("0") + (values // 10 ** (SCORE_DECIMALS - 1 - j)) % 10
        table = _SCORE_LANES.setdefault(prefix, rows.view(np.uint64).ravel())
    return table


class _RunRenderer:
    """Renders TREC run lines ``qid Q0 docid rank score tag`` with numpy (about 15x faster than f-strings).

    Each line is assembled as a row of 8-byte lanes, its fields NUL-padded to whole lanes (so every gather is a
    uint64 take), and the NULs are dropped afterwards: the bytes are exactly
    ``f"{qid} Q0 {docid} {rank} {score:.6f} {tag}\n"``.

    Args:
        docids: the document ids (indexed by the ``docs`` arrays given to :meth:`render`).
        tag: the run tag.
        depth: the most hits per query (no more than there are documents: a larger value is cut to that).
    """

    def __init__(self, docids: Sequence[str], tag: str, depth: int) -> None:
        if not tag or any(ch.isspace() for ch in tag):
            raise UsageError(f"a run tag must be non-empty without whitespace but got {tag!r}")
        self.docs = _lanes(_lane_table([f"{d} " for d in docids]))
        self.depth = max(1, min(depth, len(docids)))  # the rank table is built for every rank up to it
        self.ranks = _lane_table([f"{r} " for r in range(1, self.depth + 1)])
        self.suffix = _lane_table([f" {tag}\n"])[0]

    def render(self, qids: Sequence[str], docs: np.ndarray, scores: np.ndarray,
               lengths: np.ndarray | None = None, lines_per_block: int = 1 << 13) -> Iterator[memoryview]:
        """Yield the run's bytes (buffers, to be written in order) for ``(n, k)`` arrays of docs (best first) and
        quantised scores.

        Args:
            qids: one query id per row.
            docs: indices into the docids, ``(n, k)``.
            scores: scores in units of 10^-6 (:func:`quantize_scores`), ``(n, k)``.
            lengths: hits to write per row (default: all ``k``).
        """
        n, k = docs.shape
        if k > self.depth:
            raise ValueError(f"{k} hits per query but the renderer was made for {self.depth}")
        if not n or not k:
            return
        queries = _lane_table([f"{q} Q0 " for q in qids])
        whole_max = int(np.max(np.abs(scores))) // _SCALE
        unit = whole_max == 0 and int(scores.min()) >= 0  # every score is 0.xxxxxx: one lane, b"0." and 6 digits
        ints = [] if unit else _lanes(_lane_table([f"-{i}." for i in range(whole_max + 1)]
                                                  + [f"{i}." for i in range(whole_max + 1)]))
        digits = _score_lanes(b"0." if unit else b"")
        widths = (queries.shape[1], len(self.docs), self.ranks.shape[1], len(ints) + 1, len(self.suffix))
        q, d, r, s, t = np.cumsum((0, *widths[:-1])).tolist()
        rows = max(1, lines_per_block // k)
        buffer = np.empty((min(rows, n), k, sum(widths)), dtype=np.uint64)
        ranks = self.ranks[None, :k, :]
        for start in range(0, n, rows):
            end = min(n, start + rows)
            block = buffer[:end - start]
            part = scores[start:end]
            hits = docs[start:end]
            block[:, :, q:d] = queries[start:end, None, :]
            for j, lane in enumerate(self.docs):
                block[:, :, d + j] = lane[hits]
            block[:, :, r:s] = ranks
            if unit:
                block[:, :, s] = digits[part]
            else:
                magnitude = np.abs(part)
                whole = magnitude // _SCALE
                signed = np.where(part < 0, whole, whole + whole_max + 1)
                for j, lane in enumerate(ints):
                    block[:, :, s + j] = lane[signed]
                block[:, :, t - 1] = digits[magnitude - whole * _SCALE]
            block[:, :, t:] = self.suffix
            if lengths is not None:
                for i, length in enumerate(np.asarray(lengths[start:end]).tolist()):
                    if length < k:
                        block[i, length:, :] = 0
            flat = block.view(np.uint8).reshape(-1)
            yield memoryview(flat[flat != 0])


def write_trec_run(path: str | Path, qids: Sequence[str], docs: np.ndarray, scores: np.ndarray,
                   docids: Sequence[str], *, tag: str = "hybrid-plugin", lengths: np.ndarray | None = None) -> Path:
    """Write a TREC run file fast (atomically, through :class:`RunFileWriter`).

    Args:
        path: the run file.
        qids: one query id per row.
        docs: ``(n, k)`` indices into ``docids``, best first.
        scores: ``(n, k)`` scores as integers in units of 10^-6 (see :func:`quantize_scores`).
        docids: the document ids.
        tag: the run tag (last column).
        lengths: hits to keep per row (default: all ``k``).

    The lines are exactly ``f"{qid} Q0 {docid} {rank} {score:.6f} {tag}"`` (Pyserini's TREC format).

    Example::

        write_trec_run("run.txt", ["q1"], np.array([[1, 0]]), np.array([[812345, -5]]), ["d0", "d1"])
        # q1 Q0 d1 1 0.812345 hybrid-plugin
        # q1 Q0 d0 2 -0.000005 hybrid-plugin
    """
    docs = np.asarray(docs)
    if docs.ndim != 2 or np.shape(scores) != docs.shape or len(qids) != len(docs):
        raise ValueError(f"{len(qids)} qids, docs of shape {docs.shape} and scores of shape {np.shape(scores)}")
    renderer = _RunRenderer(docids, tag, docs.shape[1])
    with RunFileWriter(path) as handle:
        for data in renderer.render(qids, docs, np.asarray(scores, dtype=np.int64), lengths):
            handle.write(data)
    return Path(path)


class RunFileWriter:
    """Writes one large output file atomically (a hidden ``.partial`` name, renamed when closed without error),
    bypassing the page cache where the file system allows it.

    With ``direct=True`` (default) the bytes are gathered in a page-aligned buffer and written with
    ``O_DIRECT`` in whole blocks; the last partial block, and a file smaller than the buffer, are written
    normally. Where ``O_DIRECT`` is missing (macOS) or refused (some file systems), it falls back to ordinary
    buffered writes. The file's bytes are the same either way.

    Args:
        path: the file to write.
        direct: try to bypass the page cache.
        buffer_bytes: size of the aligned buffer (a multiple of 4096).

    Example::

        with RunFileWriter("runs/en-de.txt") as out:
            for data in renderer.render(qids, docs, scores):
                out.write(data)
    """

    _ALIGN = 4096  # covers 512-byte and 4 KiB logical blocks

    def __init__(self, path: str | Path, *, direct: bool = True, buffer_bytes: int = 8 << 20) -> None:
        if buffer_bytes <= 0 or buffer_bytes % self._ALIGN:
            raise ValueError(f"buffer_bytes must be a positive multiple of {self._ALIGN} but got {buffer_bytes}")
        self.path = Path(path)
        self.partial = self.path.with_name(f".{self.path.name}.partial")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
        self.direct = False
        self._fd = -1
        if direct and hasattr(os, "O_DIRECT"):
            try:
                self._fd = os.open(self.partial, flags | os.O_DIRECT, 0o666)
                self.direct = True
            except OSError as exc:
                if exc.errno not in _REFUSED:
                    raise
        if self._fd < 0:
            self._fd = os.open(self.partial, flags, 0o666)
        self._map = mmap.mmap(-1, buffer_bytes) if self.direct else None
        self._buffer = np.frombuffer(self._map, dtype=np.uint8) if self._map is not None else None
        self._used = 0
        self.bytes_written = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Append bytes."""
        if self._buffer is None:
            self._write_all(memoryview(data))
            return
        view = np.frombuffer(data, dtype=np.uint8)
        size = len(self._buffer)
        while len(view):
            take = min(len(view), size - self._used)
            self._buffer[self._used:self._used + take] = view[:take]
            self._used += take
            view = view[take:]
            if self._used == size:
                self._flush(size)

    def _flush(self, count: int) -> None:
        """Write the first ``count`` buffered bytes (a whole number of blocks while direct)."""
        assert self._map is not None and self._buffer is not None
        data = memoryview(self._map)[:count]
        if self.direct:
            try:
                written = os.write(self._fd, data)
            except OSError as exc:
                if exc.errno not in _REFUSED:
                    raise
                written = 0
            self.bytes_written += written
            if written < count:  # refused, or a short write: the rest cannot stay aligned
                self._buffered()
            data = data[written:]
        self._write_all(data)
        self._used -= count
        if self._used:  # only after a flush of the whole blocks at close
            self._buffer[:self._used] = self._buffer[count:count + self._used]

    def _buffered(self) -> None:
        """Go on without O_DIRECT (refused by the file system, or the unaligned tail)."""
        import fcntl

        fcntl.fcntl(self._fd, fcntl.F_SETFL, fcntl.fcntl(self._fd, fcntl.F_GETFL) & ~os.O_DIRECT)
        self.direct = False

    def _write_all(self, data: memoryview) -> None:
        while len(data):
            written = os.write(self._fd, data)
            self.bytes_written += written
            data = data[written:]

    def close(self) -> Path:
        """Write what is buffered and rename the file to its final name."""
        if self._fd < 0:
            raise ValueError(f"{self.path} is already closed")
        try:
            # whole blocks still direct, unless the file never outgrew the buffer (not worth a synchronous
            # direct write); the unaligned tail always buffered
            if self.direct and self.bytes_written and self._used >= self._ALIGN:
                self._flush(self._used - self._used % self._ALIGN)
            if self.direct:
                self._buffered()
            if self._used:
                self._flush(self._used)
        except BaseException:
            self.abort()
            raise
        self._release()
        os.replace(self.partial, self.path)
        return self.path

    def abort(self) -> None:
        """Close and delete the partial file (nothing is left under the final name)."""
        self._release()
        self.partial.unlink(missing_ok=True)

    def _release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        if self._map is not None:
            self._buffer = None
            with suppress(BufferError):  # a view of it is still held (by the traceback of a failed write)
                self._map.close()
            self._map = None

    def __enter__(self) -> RunFileWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


# ------------------------------------------------------------------------------------ the simple writer, the reader


class ScoredDoc(NamedTuple):
    """One line of a TREC run file."""

    qid: str
    docid: str
    score: float


_Hits = Iterable[tuple[str, float]]


@contextmanager
def TrecRunWriter(path: str | Path, tag: str) -> Iterator[Callable[[str, _Hits], None]]:  # noqa: N802 - used as a class
    """Write a TREC run file atomically: ``with TrecRunWriter(p, "tag") as write: write(qid, [(docid, score)…])``.

    Ranks start at 1 in the order given; the file appears only when the block completes.
    """
    with atomic_write(Path(path)) as handle:

        def write(qid: str, hits: _Hits) -> None:
            for rank, (docid, score) in enumerate(hits, start=1):
                handle.write(f"{qid} Q0 {docid} {rank} {score:.6f} {tag}\n")

        yield write


def read_run(path: str | Path) -> dict[str, list[ScoredDoc]]:
    """Read a TREC run file into ``{qid: [ScoredDoc, ...]}`` in file order."""
    path = Path(path)
    run: dict[str, list[ScoredDoc]] = {}
    with open(path, encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 6:
                raise DataError("expected 'qid Q0 docid rank score tag'", path, f"line {line_no}")
            try:
                score = float(parts[4])
            except ValueError:
                raise DataError(f"the score {parts[4]!r} is not a number", path, f"line {line_no}") from None
            run.setdefault(parts[0], []).append(ScoredDoc(parts[0], parts[2], score))
    return run
