"""Pyserini-format files: topics (TSV), JsonCollection corpora, TREC qrels and TREC run files.

``prepare`` writes, for a dataset ``D`` and each language ``L``::

    topics/D.L.tsv      qid<TAB>question
    corpus/D/L.jsonl    {"id": "L-<paragraph>-<sentence>", "contents": "<sentence>"}  (whitespace runs -> one space)
    qrels/D.L.txt       qid 0 docid 1   (relevant candidates in pool L; qids are shared across languages)
    qrels/D.multi.txt   the union over all pools
    checksums/D.sha256  sha256sum-format list of the files above (commit it to pin a reproduction)
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, NamedTuple

from hybrid_plugin.data import Candidate, ParallelQA, sha256_file
from hybrid_plugin.errors import DataError, UsageError

__all__ = [
    "PreparedFiles",
    "ScoredDoc",
    "TrecRunWriter",
    "atomic_write",
    "prepare",
    "prepared_paths",
    "read_prepared",
    "read_qrels",
    "read_run",
    "read_topics",
]

logger = logging.getLogger(__name__)


class ScoredDoc(NamedTuple):
    """One line of a TREC run file."""

    qid: str
    docid: str
    score: float


@dataclass(frozen=True)
class PreparedFiles:
    """Where ``prepare`` puts the files of dataset ``name`` under ``root``."""

    root: Path
    name: str

    def topics(self, lang: str) -> Path:
        return self.root / "topics" / f"{self.name}.{lang}.tsv"

    def corpus(self, lang: str) -> Path:
        return self.root / "corpus" / self.name / f"{lang}.jsonl"

    def qrels(self, lang: str) -> Path:
        """Qrels of pool ``lang``; ``lang="multi"`` gives the union over all pools."""
        return self.root / "qrels" / f"{self.name}.{lang}.txt"

    @property
    def checksums(self) -> Path:
        return self.root / "checksums" / f"{self.name}.sha256"


def prepared_paths(root: str | Path, name: str) -> PreparedFiles:
    """The file layout of a prepared dataset."""
    return PreparedFiles(Path(root), name)


@contextmanager
def atomic_write(path: Path, mode: str = "w") -> Iterator[IO]:
    """Open a temporary file beside ``path`` and rename it over ``path`` only if the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.chmod(tmp, _FILE_MODE)  # mkstemp makes owner-only files; outputs get the usual umask-based mode
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8", newline=None if "b" in mode else "\n") as f:
            yield f
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()


def _clean(text: str) -> str:
    # A TSV topic must stay on one line and in one field, and pyserini.encode splits a document's contents into
    # fields at newlines (its --delimiter): runs of whitespace become one space. Tokenizers that split on
    # whitespace (SentencePiece with nmt_nfkc, WordPiece) give the same tokens either way.
    return " ".join(text.split())


def prepare(qa: ParallelQA, out: str | Path = ".", *, overwrite: bool = False) -> PreparedFiles:
    """Write ``qa`` as Pyserini topics, JsonCollection corpora and TREC qrels under ``out``.

    All files are written to temporary names first and renamed only when every one is complete, so an
    error leaves no partial output. Existing files with other content are an error unless ``overwrite``.

    Example::

        from hybrid_plugin import load_parallel_qa
        from hybrid_plugin.pyserini_io import prepare

        files = prepare(load_parallel_qa("xquad-r"), ".")
        files.topics("en"), files.corpus("de"), files.qrels("de")
    """
    files = PreparedFiles(Path(out), qa.name)
    contents: dict[Path, str] = {}
    for lang in qa.languages:
        contents[files.topics(lang)] = "".join(f"{qid}\t{_clean(text)}\n" for qid, text in qa.questions[lang].items())
        contents[files.corpus(lang)] = "".join(
            json.dumps({"id": c.docid, "contents": _clean(c.text)}, ensure_ascii=False) + "\n" for c in qa.candidates[lang]
        )
        contents[files.qrels(lang)] = _qrels_text(qa, [lang])
    contents[files.qrels("multi")] = _qrels_text(qa, qa.languages)

    import hashlib

    sums = "".join(
        f"{hashlib.sha256(text.encode('utf-8')).hexdigest()}  {path.relative_to(files.root).as_posix()}\n"
        for path, text in contents.items()
    )
    contents[files.checksums] = sums

    clashes = [p for p, text in contents.items() if p.exists() and p.read_text(encoding="utf-8") != text]
    if clashes and not overwrite:
        raise UsageError(f"{clashes[0]} exists with other content ({len(clashes)} file(s) would change); "
                         "pass --overwrite to replace them")
    pending: list[tuple[str, Path]] = []
    try:
        for path, text in contents.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            os.chmod(tmp, _FILE_MODE)
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
            pending.append((tmp, path))
        for tmp, path in pending:
            os.replace(tmp, path)
    finally:
        for tmp, _ in pending:
            if os.path.exists(tmp):
                os.unlink(tmp)
    logger.info("wrote %d topic files, %d corpora and %d qrels files under %s",
                len(qa.languages), len(qa.languages), len(qa.languages) + 1, files.root)
    return files


def _qrels_text(qa: ParallelQA, pools: Iterable[str]) -> str:
    lines = []
    pools = list(pools)
    for qid in qa.qids:
        for lang in pools:
            docid = qa.relevant[lang].get(qid)
            if docid is not None:
                lines.append(f"{qid} 0 {docid} 1\n")
    return "".join(lines)


def read_topics(path: str | Path) -> dict[str, str]:
    """Read a ``qid<TAB>text`` topics file."""
    path = Path(path)
    topics: dict[str, str] = {}
    try:
        with open(path, encoding="utf-8") as handle:
            for line_no, line in enumerate(handle, start=1):
                line = line.rstrip("\n")
                if not line:
                    continue
                qid, sep, text = line.partition("\t")
                if not sep or not qid:
                    raise DataError("expected qid<TAB>question", path, f"line {line_no}")
                topics[qid] = text
    except OSError as exc:
        raise DataError(f"cannot read: {exc.strerror}", path) from None
    return topics


def read_qrels(path: str | Path) -> dict[str, dict[str, int]]:
    """Read TREC qrels ``qid 0 docid rel`` into ``{qid: {docid: rel}}``."""
    path = Path(path)
    qrels: dict[str, dict[str, int]] = {}
    try:
        with open(path, encoding="utf-8") as handle:
            for line_no, line in enumerate(handle, start=1):
                parts = line.split()
                if not parts:
                    continue
                if len(parts) != 4 or not parts[3].lstrip("-").isdigit():
                    raise DataError("expected 'qid 0 docid relevance'", path, f"line {line_no}")
                qrels.setdefault(parts[0], {})[parts[2]] = int(parts[3])
    except OSError as exc:
        raise DataError(f"cannot read: {exc.strerror}", path) from None
    return qrels


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
            run.setdefault(parts[0], []).append(ScoredDoc(parts[0], parts[2], float(parts[4])))
    return run


def _read_corpus(path: Path, lang: str) -> list[Candidate]:
    candidates = []
    with open(path, encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
                docid, text = doc["id"], doc["contents"]
            except (json.JSONDecodeError, KeyError, TypeError):
                raise DataError('expected {"id": ..., "contents": ...}', path, f"line {line_no}") from None
            parts = docid.rsplit("-", 2)
            para, sent = (int(parts[1]), int(parts[2])) if len(parts) == 3 and parts[1].isdigit() and \
                parts[2].isdigit() else (line_no, 0)
            candidates.append(Candidate(docid, text, lang, para, sent))
    return candidates


def read_prepared(root: str | Path, name: str | None = None) -> ParallelQA:
    """Read back a folder written by :func:`prepare` (or by hand in the same layout) as a :class:`ParallelQA`."""
    root = Path(root)
    names = sorted({p.name.rsplit(".", 2)[0] for p in (root / "topics").glob("*.*.tsv")})
    if name is None:
        if len(names) != 1:
            raise UsageError(f"{root} holds {'no' if not names else 'several'} prepared datasets "
                             f"({', '.join(names)}); name one")
        name = names[0]
    files = PreparedFiles(root, name)
    languages = tuple(sorted(p.name[len(name) + 1:-4] for p in (root / "topics").glob(f"{name}.*.tsv")))
    if not languages:
        raise DataError(f"no topics/{name}.<language>.tsv files", root)
    questions, candidates, relevant, sources = {}, {}, {}, {}
    for lang in languages:
        for path in (files.topics(lang), files.corpus(lang), files.qrels(lang)):
            if not path.is_file():
                raise DataError(f"missing {path.relative_to(root)} (prepare writes topics, corpus and qrels for "
                                "every language)", root)
            sources[path.relative_to(root).as_posix()] = sha256_file(path)
        questions[lang] = read_topics(files.topics(lang))
        candidates[lang] = _read_corpus(files.corpus(lang), lang)
        pool = {c.docid for c in candidates[lang]}
        rel: dict[str, str] = {}
        for qid, docs in read_qrels(files.qrels(lang)).items():
            positives = [d for d, r in docs.items() if r > 0]
            if len(positives) != 1 or positives[0] not in pool:
                raise DataError(f"question {qid} needs exactly one relevant docid of corpus/{name}/{lang}.jsonl, "
                                f"got {positives}", files.qrels(lang))
            if qid in questions[lang]:
                rel[qid] = positives[0]
        relevant[lang] = rel
    qa = ParallelQA(name, languages, questions, candidates, relevant, sources)
    return qa


@contextmanager
def TrecRunWriter(path: str | Path, tag: str) -> Iterator:  # noqa: N802 - reads as a class at call sites
    """Write a TREC run file atomically: ``with TrecRunWriter(p, "tag") as write: write(qid, [(docid, score)…])``.

    Ranks start at 1 in the order given; the file appears only when the block completes.
    """
    with atomic_write(Path(path)) as handle:

        def write(qid: str, hits: Iterable[tuple[str, float]]) -> None:
            for rank, (docid, score) in enumerate(hits, start=1):
                handle.write(f"{qid} Q0 {docid} {rank} {score:.6f} {tag}\n")

        yield write
