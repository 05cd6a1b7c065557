"""BEIR-format collections: the typed record (:class:`BeirCollection`) and the reader of a BEIR folder.

A BEIR folder (the layout of https://github.com/beir-cellar/beir, and of every set it publishes) holds::

    corpus.jsonl        {"_id": "<docid>", "title": "<title>", "text": "<text>"}     (title optional)
    queries.jsonl       {"_id": "<qid>", "text": "<query>"}
    qrels/<split>.tsv   query-id<TAB>corpus-id<TAB>score    (a header line, then graded judgments: 0, 1, 2, ...)

Multilingual variants: one BEIR folder per language (``<folder>/<lang>/``, as mMARCO and MIRACL publish them;
:func:`read_beir_languages`), or (read and written by the plugin) a ``"language"`` field on every document and
query (the plugin's codes, :mod:`hybrid_plugin.data.languages`); a query may also carry ``"item"``, the id that
links its translations (parallel collections: XQuAD-R, NTREX-128, ...). Without ``language`` fields the folder is one
language (``language=``, default ``en``). Extra fields (BEIR's ``metadata``, the plugin's ``paragraph`` /
``sentence``) are kept where the plugin uses them and otherwise ignored, as BEIR's own loader does.

**Titles** are handled as Pyserini handles a BEIR corpus (``pyserini.encode input --fields title text ...
encoder --fields title text --prefix P``): its ``AutoDocumentEncoder`` prefixes the text, then joins
``f"{title} {text}"``, so a document is encoded as ``"<title> <P> <text>"`` (the title *before* the passage
prefix; :meth:`BeirDocument.encoder_input`). A document without a title is ``"<P> <text>"`` (stock Pyserini would
encode the word ``None`` there: its field parser turns an empty title into None; use ``--fields text`` for a
corpus without titles). Where a document becomes a parallel collection's candidate, its text is
``f"{title} {text}"`` (:attr:`BeirDocument.contents`).

**Why a record of its own** rather than a :class:`~hybrid_plugin.data.collection.ParallelQA`: ParallelQA holds
one relevant candidate per item and pool (``relevant[lang][qid] -> docid``) and binary relevance; BEIR qrels are
many-to-many and graded (NFCorpus: up to hundreds of judged documents per query, grades 0-2). A BEIR collection
whose judgments fit ParallelQA -- one relevant document per query and pool language, as every folder written by
``prepare --format beir`` -- converts into one (:func:`hybrid_plugin.data.beir_convert.beir_to_parallel_qa`) and
takes the plugin's mono / cross / multi path; any BEIR collection is evaluated with its graded qrels by
:func:`hybrid_plugin.evaluation.beir_eval.evaluate_beir`.

Errors: a missing file or split, a line that is not a JSON object, a missing or non-string ``_id`` / ``text``,
a duplicate id, a qrels line that is not three tab-separated fields, names an unknown query or document, or has
a score that is not a non-negative integer, and bytes that are not UTF-8 raise one
:class:`~hybrid_plugin.errors.DataError` naming the file, the line and the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hybrid_plugin.data.collection import check_name, name_from_path, read_json_lines, read_text_lines
from hybrid_plugin.errors import DataError
from hybrid_plugin.files import sha256_file

if TYPE_CHECKING:
    from hybrid_plugin.data.splits import SplitInfo

__all__ = ["BeirCollection", "BeirDocument", "BeirQuery", "QRELS_HEADER", "beir_language_folders", "is_beir_folder",
           "read_beir", "read_beir_folder", "read_beir_languages", "read_qrels_tsv"]

QRELS_HEADER = ("query-id", "corpus-id", "score")
"""The header line of a BEIR qrels file."""


@dataclass(frozen=True)
class BeirDocument:
    """One corpus document: id, title (may be empty), text, and its language."""

    docid: str
    title: str
    text: str
    language: str
    paragraph: int | None = None
    sentence: int | None = None

    @property
    def contents(self) -> str:
        """Title and text as one text, ``"<title> <text>"`` as Pyserini joins the two fields; the text alone
        when there is no title."""
        return f"{self.title} {self.text}" if self.title else self.text

    def encoder_input(self, prefix: str = "") -> str:
        """What Pyserini's ``AutoDocumentEncoder`` encodes for this document with ``--fields title text`` and the
        passage prefix ``prefix`` (a prompt such as ``"passage: "``): ``"<title> <prefix><text>"``; without a
        title ``"<prefix><text>"``.

        Example::

            >>> BeirDocument("d1", "Aspirin", "lowers fever.", "en").encoder_input("passage: ")
            'Aspirin passage: lowers fever.'
        """
        return f"{self.title} {prefix}{self.text}" if self.title else f"{prefix}{self.text}"


@dataclass(frozen=True)
class BeirQuery:
    """One query: id, text, language, and the item it belongs to (its id when it has no translations)."""

    qid: str
    text: str
    language: str
    item: str


@dataclass
class BeirCollection:
    """A BEIR collection: corpus, the queries judged in one split, and their graded qrels.

    Args:
        name: the collection's name (a folder's name by default).
        corpus: docid -> document, in file order.
        queries: qid -> query, in file order (only queries that the split judges).
        qrels: ``qrels[qid][docid]`` is the grade (0 = judged not relevant).
        split: the qrels split read (``"test"``, ``"dev"``, ``"train"``).
        sources: file name -> SHA-256 of the files read.
        part: the side of a split by item the collection was written from (``beir_from_parallel_qa`` of
            ``split_items(...).dev``), so that a transform fitted on the other side is known not to overlap it;
            None for a folder read from disk.

    Example::

        beir = read_beir_folder("scifact", split="test")
        len(beir.queries), beir.languages, beir.relevant("1")      # (300, ('en',), {'31715818': 1})
    """

    name: str
    corpus: dict[str, BeirDocument]
    queries: dict[str, BeirQuery]
    qrels: dict[str, dict[str, int]]
    split: str = "test"
    sources: dict[str, str] = field(default_factory=dict)
    part: SplitInfo | None = None

    def __post_init__(self) -> None:
        check_name(self.name, "dataset")
        check_name(self.split, "dataset")
        for qid, judged in self.qrels.items():
            if qid not in self.queries:
                raise DataError(f"qrels name query {qid!r}, which is not a query of {self.name}")
            unknown = [d for d in judged if d not in self.corpus]
            if unknown:
                raise DataError(f"qrels of query {qid} name document {unknown[0]!r}, which is not in the corpus")

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages of queries and documents, in order of first appearance (queries first)."""
        seen: dict[str, None] = {}
        for query in self.queries.values():
            seen.setdefault(query.language)
        for doc in self.corpus.values():
            seen.setdefault(doc.language)
        return tuple(seen)

    def relevant(self, qid: str) -> dict[str, int]:
        """The documents judged relevant (grade > 0) for ``qid``, with their grades."""
        return {d: g for d, g in self.qrels.get(qid, {}).items() if g > 0}


def is_beir_folder(path: str | Path) -> bool:
    """Whether ``path`` is a folder in BEIR's layout (``corpus.jsonl``, ``queries.jsonl``, ``qrels/``)."""
    path = Path(path)
    return (path / "corpus.jsonl").is_file() and (path / "queries.jsonl").is_file() and (path / "qrels").is_dir()


def _text_field(record: Mapping[str, Any], key: str, path: Path, where: str, *, required: bool = True) -> str:
    value = record.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        got = "missing" if key not in record else f"a {type(value).__name__}"
        raise DataError(f"field {key!r} must be a string, got {got}", path, where)
    return value


def _language(record: Mapping[str, Any], default: str, path: Path, where: str) -> str:
    if "language" not in record:
        return default
    return check_name(record["language"], "language", path=path, where=f"{where} field 'language'")


def _position(record: Mapping[str, Any], key: str, path: Path, where: str) -> int | None:
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise DataError(f"field {key!r} must be a non-negative integer, got {value!r}", path, where)
    return value


def _records(path: Path) -> Any:
    """``(where, object)`` of each line of a JSON-lines file whose lines must be objects with an ``_id``."""
    if not path.is_file():
        raise DataError("missing file (a BEIR folder holds corpus.jsonl, queries.jsonl and qrels/<split>.tsv)",
                        path)
    for line_no, record in read_json_lines(path):
        where = f"line {line_no}"
        if not isinstance(record, dict):
            raise DataError(f"expected a JSON object, got {type(record).__name__}", path, where)
        if "_id" not in record:
            raise DataError("missing field '_id'", path, where)
        yield where, record


def _read_corpus(path: Path, language: str) -> dict[str, BeirDocument]:
    corpus: dict[str, BeirDocument] = {}
    for where, record in _records(path):
        docid = check_name(record["_id"], "docid", path=path, where=f"{where} field '_id'")
        if docid in corpus:
            raise DataError(f"document id {docid} occurs twice", path, where)
        corpus[docid] = BeirDocument(
            docid, _text_field(record, "title", path, where, required=False), _text_field(record, "text", path, where),
            _language(record, language, path, where), _position(record, "paragraph", path, where),
            _position(record, "sentence", path, where))
    if not corpus:
        raise DataError("holds no documents", path)
    return corpus


def _read_queries(path: Path, language: str) -> dict[str, BeirQuery]:
    queries: dict[str, BeirQuery] = {}
    for where, record in _records(path):
        qid = check_name(record["_id"], "qid", path=path, where=f"{where} field '_id'")
        if qid in queries:
            raise DataError(f"query id {qid} occurs twice", path, where)
        item = record.get("item", qid)
        check_name(item, "qid", path=path, where=f"{where} field 'item'")
        text = _text_field(record, "text", path, where)
        queries[qid] = BeirQuery(qid, text, _language(record, language, path, where), item)
    return queries


def read_qrels_tsv(path: Path, queries: Mapping[str, BeirQuery], corpus: Mapping[str, BeirDocument]
                   ) -> dict[str, dict[str, int]]:
    """Read ``qrels/<split>.tsv``: the header, then ``query-id<TAB>corpus-id<TAB>score`` lines (checked)."""
    qrels: dict[str, dict[str, int]] = {}
    for line_no, line in read_text_lines(path):
        fields = line.rstrip("\r\n").split("\t")
        where = f"line {line_no}"
        if line_no == 1:
            if tuple(fields) != QRELS_HEADER:
                raise DataError(f"expected the header {chr(9).join(QRELS_HEADER)!r}, got {line.rstrip()!r}", path,
                                where)
            continue
        if fields == [""]:
            continue
        if len(fields) != 3:
            raise DataError(f"expected query-id<TAB>corpus-id<TAB>score, got {len(fields)} field(s)", path, where)
        qid, docid, score = fields
        if qid not in queries:
            raise DataError(f"field 'query-id': {qid!r} is not in queries.jsonl", path, where)
        if docid not in corpus:
            raise DataError(f"field 'corpus-id': {docid!r} is not in corpus.jsonl", path, where)
        if not score.isascii() or not score.isdigit():
            raise DataError(f"field 'score': {score!r} is not a non-negative integer grade", path, where)
        if docid in qrels.get(qid, {}):
            raise DataError(f"query {qid} judges document {docid} twice", path, where)
        qrels.setdefault(qid, {})[docid] = int(score)
    if not qrels:
        raise DataError("holds no judgments", path)
    return qrels


def read_beir_folder(folder: str | Path, *, split: str = "test", name: str | None = None,
                     language: str = "en") -> BeirCollection:
    """Read a BEIR folder (the layout is in the module docstring).

    Args:
        folder: the folder holding ``corpus.jsonl``, ``queries.jsonl`` and ``qrels/<split>.tsv``.
        split: the qrels split to read. Defaults to ``"test"``.
        name: the collection's name (default: from the folder's name).
        language: the language of documents and queries without a ``language`` field. Defaults to ``"en"``.

    Returns:
        BeirCollection: every document, and the queries that ``split`` judges (as BEIR's loader keeps them).

    Raises:
        DataError: a missing file or split, or a malformed line (file, line and field named).

    Example::

        beir = read_beir_folder("../shared/data/beir/xquad-r", split="test")
        beir.languages[:3], len(beir.corpus)
    """
    folder = Path(folder)
    check_name(split, "dataset", where="--split")
    check_name(language, "language")
    qrels_path = folder / "qrels" / f"{split}.tsv"
    if not qrels_path.is_file():
        have = sorted(p.stem for p in (folder / "qrels").glob("*.tsv")) if (folder / "qrels").is_dir() else []
        raise DataError(f"no qrels for split {split!r} (splits here: {', '.join(have) or 'none'})", qrels_path)
    corpus = _read_corpus(folder / "corpus.jsonl", language)
    queries = _read_queries(folder / "queries.jsonl", language)
    qrels = read_qrels_tsv(qrels_path, queries, corpus)
    judged = {qid: queries[qid] for qid in queries if qid in qrels}
    sources = {rel: sha256_file(folder / rel) for rel in ("corpus.jsonl", "queries.jsonl", f"qrels/{split}.tsv")}
    return BeirCollection(name or name_from_path(folder.resolve().name), corpus, judged, qrels, split, sources)


def beir_language_folders(folder: str | Path) -> dict[str, Path]:
    """The per-language BEIR folders of a multilingual release (``<folder>/<lang>/corpus.jsonl`` ..., as mMARCO
    and MIRACL publish one folder per language), by language in name order; empty when there is none.

    Example::

        beir_language_folders("miracl-beir")         # {'de': PosixPath('miracl-beir/de'), 'yo': ...}
    """
    folder = Path(folder)
    if not folder.is_dir() or is_beir_folder(folder):
        return {}
    return {sub.name: sub for sub in sorted(folder.iterdir()) if is_beir_folder(sub)}


def read_beir_languages(folder: str | Path, *, split: str = "test", name: str | None = None) -> BeirCollection:
    """Read a multilingual release of one BEIR folder per language (``<folder>/<lang>/``) as one collection.

    Documents and queries take their folder's language and the ids ``"<lang>.<id>"`` (ids repeat across
    languages in mMARCO); a query's ``item`` is its id in its folder, so queries that share an id across
    languages (mMARCO's translations) are one item, and those that do not (MIRACL's) are items of their own.

    Raises:
        DataError: no language folder, a folder name that is not a language code, or a malformed file.

    Example::

        beir = read_beir_languages("mmarco-beir", split="dev")
        beir.languages                               # ('de', 'en', ...)
    """
    folder = Path(folder)
    parts = beir_language_folders(folder)
    if not parts:
        raise DataError("holds no BEIR folder per language (<language>/corpus.jsonl, queries.jsonl, qrels/)", folder)
    corpus: dict[str, BeirDocument] = {}
    queries: dict[str, BeirQuery] = {}
    qrels: dict[str, dict[str, int]] = {}
    sources: dict[str, str] = {}
    for lang, sub in parts.items():
        check_name(lang, "language", path=sub)
        part = read_beir_folder(sub, split=split, language=lang)
        for doc in part.corpus.values():
            corpus[f"{lang}.{doc.docid}"] = BeirDocument(f"{lang}.{doc.docid}", doc.title, doc.text, lang,
                                                         doc.paragraph, doc.sentence)
        for query in part.queries.values():
            queries[f"{lang}.{query.qid}"] = BeirQuery(f"{lang}.{query.qid}", query.text, lang, query.item)
        for qid, judged in part.qrels.items():
            qrels[f"{lang}.{qid}"] = {f"{lang}.{d}": g for d, g in judged.items()}
        sources.update({f"{lang}/{rel}": digest for rel, digest in part.sources.items()})
    return BeirCollection(name or name_from_path(folder.resolve().name), corpus, queries, qrels, split, sources)


def read_beir(folder: str | Path, *, split: str = "test", name: str | None = None) -> BeirCollection:
    """A BEIR folder (:func:`read_beir_folder`) or a release of one BEIR folder per language
    (:func:`read_beir_languages`), whichever ``folder`` is.

    Example::

        read_beir("beir/xquad-r").languages          # ('en', 'de', 'zh')
    """
    if is_beir_folder(folder):
        return read_beir_folder(folder, split=split, name=name)
    return read_beir_languages(folder, split=split, name=name)
