"""The files Pyserini reads for a parallel QA collection: topics, JsonCollection corpora and TREC qrels.

``prepare`` writes, for a dataset ``D`` and each language ``L``::

    topics/D.L.tsv      qid<TAB>question
    corpus/D/L.jsonl    {"id": "L-<paragraph>-<sentence>", "contents": "<sentence>"}  (whitespace runs -> one space)
    qrels/D.L.txt       qid 0 docid 1   (relevant candidates in pool L; qids are shared across languages)
    qrels/D.multi.txt   the union over all pools

A query-only language (no candidates: AfriQA's question languages, :attr:`ParallelQA.query_only`) gets its
topics file only: no corpus, no qrels.
    checksums/D.sha256  sha256sum-format list of the files above (commit it to pin a reproduction)

and :func:`read_prepared` reads such a folder back. ``D`` and ``L`` follow
:func:`~hybrid_plugin.data.collection.check_name`, so every file lands inside the output folder.

What does not live here: TREC run files (:mod:`hybrid_plugin.pyserini.trec_runs`), the other readers of
collections (:mod:`hybrid_plugin.data`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from hybrid_plugin.data.collection import (
    Candidate,
    ParallelQA,
    check_name,
    read_json_lines,
    read_text_lines,
)
from hybrid_plugin.errors import DataError, UsageError
from hybrid_plugin.files import atomic_files, sha256_file

__all__ = ["PreparedFiles", "prepare", "prepared_paths", "read_prepared", "read_qrels", "read_topics"]

logger = logging.getLogger(__name__)

_RELEVANCE = re.compile(r"-?[0-9]+")
_POSITION = re.compile(r".*-([0-9]+)-([0-9]+)")  # "<lang>-<paragraph>-<sentence>"


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


def _clean(text: str) -> str:
    # A TSV topic must stay on one line and in one field, and pyserini.encode splits a document's contents into
    # fields at newlines (its --delimiter): runs of whitespace become one space. Tokenizers that split on
    # whitespace (SentencePiece with nmt_nfkc, WordPiece) give the same tokens either way.
    return " ".join(text.split())


def prepare(qa: ParallelQA, out: str | Path = ".", *, overwrite: bool = False) -> PreparedFiles:
    """Write ``qa`` as Pyserini topics, JsonCollection corpora and TREC qrels under ``out``.

    Everything is checked before the first byte is written: the names (:meth:`ParallelQA.check_names`), at
    least two languages, and the targets. All files are then written to temporary names and renamed together
    only when every one is complete (:func:`~hybrid_plugin.files.atomic_files`), so an error or an interrupt
    leaves the old files or the new ones, never a mix. Only the files listed in the module docstring
    are ever written; existing ones with other content are an error unless ``overwrite`` (which replaces just
    those), and nothing else in ``out`` is touched.

    Example::

        from hybrid_plugin import load_parallel_qa
        from hybrid_plugin.pyserini.prepared import prepare

        files = prepare(load_parallel_qa("xquad-r"), ".")
        files.topics("en"), files.corpus("de"), files.qrels("de")
    """
    files = _check_collection(qa, Path(out))
    contents = _contents(qa, files)
    clashes = _clashes(contents, files.root)
    if clashes and not overwrite:
        raise UsageError(f"{clashes[0]} exists with other content ({len(clashes)} file(s) would change); "
                         "pass --overwrite to replace them")
    with atomic_files() as open_new:  # every file is complete before the first rename
        for path, text in contents.items():
            with open_new(path) as handle:
                handle.write(text)
    pooled = len(qa.languages) - len(qa.query_only)
    logger.info("wrote %d topic files, %d corpora and %d qrels files under %s",
                len(qa.languages), pooled, pooled + 1, files.root)
    return files


def _check_collection(qa: ParallelQA, root: Path) -> PreparedFiles:
    """Check that ``qa`` can be prepared under ``root``; its files' layout."""
    qa.check_names()
    qa.require_languages(2, "prepare (the multilingual qrels link pools across languages)")
    folded = [lang.casefold() for lang in qa.languages]
    if len(set(folded)) != len(folded):
        raise DataError(f"languages {', '.join(qa.languages)} differ only in case; their files would clash on "
                        "file systems that ignore case")
    for lang in qa.languages:
        pool = {c.docid for c in qa.candidates[lang]}
        missing = [qid for qid, docid in qa.relevant[lang].items() if docid not in pool]
        if missing:
            raise DataError(f"question {missing[0]}: its relevant candidate is not in the {lang} pool")
    if root.exists() and not root.is_dir():
        raise UsageError(f"--out {root} exists and is not a folder")
    return PreparedFiles(root, qa.name)


def _contents(qa: ParallelQA, files: PreparedFiles) -> dict[Path, str]:
    """Every file ``prepare`` writes, with its text (the checksums file last)."""
    contents: dict[Path, str] = {}
    for lang in qa.languages:
        contents[files.topics(lang)] = "".join(f"{qid}\t{_clean(text)}\n" for qid, text in qa.questions[lang].items())
        if lang in qa.query_only:  # topics only: no pool to search, nothing to judge
            continue
        contents[files.corpus(lang)] = "".join(
            json.dumps({"id": c.docid, "contents": _clean(c.text)}, ensure_ascii=False) + "\n"
            for c in qa.candidates[lang]
        )
        contents[files.qrels(lang)] = _qrels_text(qa, [lang])
    contents[files.qrels("multi")] = _qrels_text(qa, qa.languages)
    contents[files.checksums] = "".join(
        f"{hashlib.sha256(text.encode('utf-8')).hexdigest()}  {path.relative_to(files.root).as_posix()}\n"
        for path, text in contents.items()
    )
    return contents


def _clashes(contents: dict[Path, str], root: Path) -> list[Path]:
    """The targets that exist with other content; a target or folder of another kind is an error."""
    for path in contents:
        for parent in path.relative_to(root).parents:
            folder = root / parent
            if folder.exists() and not folder.is_dir():
                raise UsageError(f"{folder} exists and is not a folder; prepare writes its files there")
        if path.is_symlink() or (path.exists() and not path.is_file()):
            raise UsageError(f"{path} exists and is not a regular file; prepare does not replace it")
    return [p for p, text in contents.items() if p.exists() and p.read_bytes() != text.encode("utf-8")]


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
    for line_no, line in read_text_lines(path):
        line = line.rstrip("\n")
        if not line:
            continue
        where = f"line {line_no}"
        qid, sep, text = line.partition("\t")
        if not sep or not qid:
            raise DataError("expected qid<TAB>question", path, where)
        check_name(qid, "qid", path=path, where=where)
        if qid in topics:
            raise DataError(f"question id {qid} occurs twice", path, where)
        topics[qid] = text
    return topics


def read_qrels(path: str | Path) -> dict[str, dict[str, int]]:
    """Read TREC qrels ``qid 0 docid rel`` into ``{qid: {docid: rel}}``."""
    path = Path(path)
    qrels: dict[str, dict[str, int]] = {}
    for line_no, line in read_text_lines(path):
        parts = line.split()
        if not parts:
            continue
        where = f"line {line_no}"
        if len(parts) != 4 or not _RELEVANCE.fullmatch(parts[3]):
            raise DataError("expected 'qid 0 docid relevance'", path, where)
        qid = check_name(parts[0], "qid", path=path, where=where)
        docid = check_name(parts[2], "docid", path=path, where=where)
        qrels.setdefault(qid, {})[docid] = int(parts[3])
    return qrels


def _read_corpus(path: Path, lang: str) -> list[Candidate]:
    candidates = []
    seen: set[str] = set()
    for line_no, doc in read_json_lines(path):
        where = f"line {line_no}"
        if not isinstance(doc, dict) or not isinstance(doc.get("contents"), str) or "id" not in doc:
            raise DataError('expected {"id": "<docid>", "contents": "<text>"}', path, where)
        docid = check_name(doc["id"], "docid", path=path, where=where)
        if docid in seen:
            raise DataError(f"candidate id {docid} occurs twice", path, where)
        seen.add(docid)
        position = _POSITION.fullmatch(docid)
        para, sent = (int(position[1]), int(position[2])) if position else (line_no, 0)
        candidates.append(Candidate(docid, doc["contents"], lang, para, sent))
    return candidates


def _prepared_name(root: Path, name: str | None) -> str:
    """The dataset a prepared folder holds (``name`` if given, else the only one there)."""
    if name is not None:
        return check_name(name, "dataset")
    topics = sorted((root / "topics").glob("*.*.tsv"))
    names = sorted({p.name.rsplit(".", 2)[0] for p in topics})
    if len(names) != 1:
        raise UsageError(f"{root} holds {'no' if not names else 'several'} prepared datasets "
                         f"({', '.join(names)}); name one")
    return check_name(names[0], "dataset", path=topics[0])


def read_prepared(root: str | Path, name: str | None = None) -> ParallelQA:
    """Read back a folder written by :func:`prepare` (or by hand in the same layout) as a :class:`ParallelQA`.

    Args:
        root: the folder holding ``topics/``, ``corpus/`` and ``qrels/``.
        name: the dataset to read (default: the only one in the folder).
    """
    root = Path(root)
    if not (root / "topics").is_dir():
        raise DataError("no topics/ folder (is this a folder written by 'hybrid-plugin prepare'?)", root)
    name = _prepared_name(root, name)
    files = PreparedFiles(root, name)
    topic_files = sorted((root / "topics").glob(f"{name}.*.tsv"))
    languages = tuple(sorted(check_name(p.name[len(name) + 1:-4], "language", path=p) for p in topic_files))
    if not languages:
        raise DataError(f"no topics/{name}.<language>.tsv files", root)
    questions, candidates, relevant, sources = {}, {}, {}, {}
    for lang in languages:
        paths = (files.topics(lang), files.corpus(lang), files.qrels(lang))
        query_only = not paths[1].exists() and not paths[2].exists()
        for path in paths[:1] if query_only else paths:
            if not path.is_file():
                raise DataError(f"missing {path.relative_to(root)} (prepare writes topics, corpus and qrels for "
                                "every language with candidates, topics only for a query-only one)", root)
            sources[path.relative_to(root).as_posix()] = sha256_file(path)
        questions[lang] = read_topics(files.topics(lang))
        candidates[lang] = [] if query_only else _read_corpus(files.corpus(lang), lang)
        relevant[lang] = {} if query_only else _relevant(files, lang, questions[lang],
                                                         {c.docid for c in candidates[lang]})
    if all(not pool for pool in candidates.values()):
        raise DataError(f"no corpus/{name}/<language>.jsonl files: every language is query-only", root)
    return ParallelQA(name, languages, questions, candidates, relevant, sources)


def _relevant(files: PreparedFiles, lang: str, questions: dict[str, str], pool: set[str]) -> dict[str, str]:
    """The relevant docid of each question of ``lang``, from its qrels (exactly one, in the pool)."""
    path = files.qrels(lang)
    rel: dict[str, str] = {}
    for qid, docs in read_qrels(path).items():
        positives = [d for d, r in docs.items() if r > 0]
        if len(positives) != 1 or positives[0] not in pool:
            raise DataError(f"question {qid} needs exactly one relevant docid of corpus/{files.name}/{lang}.jsonl, "
                            f"got {positives}", path)
        if qid in questions:
            rel[qid] = positives[0]
    unjudged = [qid for qid in questions if qid not in rel]
    if unjudged:
        raise DataError(f"question {unjudged[0]} of topics/{files.name}.{lang}.tsv has no relevant docid "
                        f"({len(unjudged)} question(s) unjudged)", path)
    return rel
