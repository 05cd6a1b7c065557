"""Between the plugin's collections and BEIR folders: :func:`beir_from_parallel_qa`, :func:`beir_to_parallel_qa`
and :func:`write_beir` (``hybrid-plugin prepare ... --format beir``).

A :class:`~hybrid_plugin.data.collection.ParallelQA` as a BEIR collection (the protocol of each named set is in
``docs/beir.md``):

* **corpus** = every candidate of every pool: ``_id`` its docid, no title, ``text`` its text, ``language`` its
  pool, and its ``paragraph`` / ``sentence`` (so that reading back gives the same candidates);
* **queries** = one per item and question language: ``_id`` ``"<lang>.<item>"``, ``language``, ``item`` (the
  item's id, shared by its translations);
* **qrels** = the multilingual pool's judgments: query ``<lang>.<item>`` -> the item's relevant candidate in
  every pool, grade 1 (as ``qrels/D.multi.txt`` of ``prepare``).

Reading back (:func:`beir_to_parallel_qa`) gives the same topics, corpus and qrels. A BEIR collection converts
when its judgments fit ParallelQA: at most one relevant document per query and pool language, the same for every
translation of an item (grades above 1 count as relevant; the graded evaluation is
:func:`hybrid_plugin.evaluation.beir_eval.evaluate_beir`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

from hybrid_plugin.data.beir import QRELS_HEADER, BeirCollection, BeirDocument, BeirQuery
from hybrid_plugin.data.collection import Candidate, ParallelQA
from hybrid_plugin.errors import DataError, UsageError
from hybrid_plugin.files import atomic_files

__all__ = ["beir_files", "beir_from_parallel_qa", "beir_to_parallel_qa", "write_beir"]

logger = logging.getLogger(__name__)


def beir_from_parallel_qa(qa: ParallelQA, *, split: str = "test", pool: str | Sequence[str] | None = None
                          ) -> BeirCollection:
    """``qa`` as a BEIR collection (the mapping is in the module docstring).

    Args:
        qa: the collection.
        split: the name of the qrels split. Defaults to ``"test"``.
        pool: one language whose candidates alone make the corpus, searched by the queries of every *other*
            language (the X -> Y protocol of bitext sets: Tatoeba's xx -> eng, NTREX-128's X -> en, AfriQA's X ->
            pivot, where a query's own language would hold the query itself); or several such languages (X -> a
            multilingual pool of those languages, searched by the queries of every language outside it: each
            query judged against its translation in every pool language, so language bias is defined). None
            (default): every pool, every query (the multilingual pool), which reads back as ``qa``.

    Raises:
        UsageError: ``pool`` is not a language of ``qa`` with candidates.

    Example::

        beir = beir_from_parallel_qa(load_parallel_qa("xquad-r", data="../shared/data/xquad-r"))
        len(beir.queries), len(beir.corpus)         # (13090, 13238)
    """
    pools = qa.languages if pool is None else (pool,) if isinstance(pool, str) else tuple(pool)
    for lang in pools if pool is not None else ():
        if not qa.candidates.get(lang):
            pooled = [lang for lang in qa.languages if qa.candidates[lang]]
            raise UsageError(f"--pool {lang!r} is not a pool of {qa.name}; its pools: {', '.join(pooled)}")
    corpus = {c.docid: BeirDocument(c.docid, "", c.text, c.language, c.paragraph, c.sentence)
              for lang in pools for c in qa.candidates[lang]}
    queries: dict[str, BeirQuery] = {}
    qrels: dict[str, dict[str, int]] = {}
    for lang in qa.languages:
        if pool is not None and lang in pools:
            continue
        for item, text in qa.questions[lang].items():
            qid = f"{lang}.{item}"
            queries[qid] = BeirQuery(qid, text, lang, item)
            judged = {qa.relevant[y][item]: 1 for y in pools if item in qa.relevant[y]}
            if judged:
                qrels[qid] = judged
    return BeirCollection(qa.name, corpus, {q: v for q, v in queries.items() if q in qrels}, qrels, split,
                          dict(qa.sources), qa.split)


def _pool_of(beir: BeirCollection, qid: str) -> dict[str, str]:
    """The relevant document of ``qid`` in each pool language (one at most)."""
    pools: dict[str, str] = {}
    for docid in beir.relevant(qid):
        lang = beir.corpus[docid].language
        if lang in pools:
            raise DataError(f"query {qid} has several relevant documents in the {lang} pool ({pools[lang]}, "
                            f"{docid}); a parallel collection holds one per pool: evaluate the graded qrels with "
                            "evaluate_beir", f"qrels/{beir.split}.tsv")
        pools[lang] = docid
    return pools


def beir_to_parallel_qa(beir: BeirCollection) -> ParallelQA:
    """A BEIR collection whose judgments fit :class:`ParallelQA` (see the module docstring) as one.

    Raises:
        DataError: a query with several relevant documents in one pool language, or translations of an item
            judged differently.

    Example::

        qa = beir_to_parallel_qa(read_beir_folder("beir/xquad-r"))
        qa.languages[:2]                            # ('ar', 'de')
    """
    languages = beir.languages
    questions: dict[str, dict[str, str]] = {lang: {} for lang in languages}
    relevant: dict[str, dict[str, str]] = {lang: {} for lang in languages}
    for query in beir.queries.values():
        if query.item in questions[query.language]:
            raise DataError(f"item {query.item} has two {query.language} queries", "queries.jsonl")
        questions[query.language][query.item] = query.text
        for pool, docid in _pool_of(beir, query.qid).items():
            known = relevant[pool].setdefault(query.item, docid)
            if known != docid:
                raise DataError(f"item {query.item}: its queries are judged against different {pool} documents "
                                f"({known}, {docid})", f"qrels/{beir.split}.tsv")
    candidates: dict[str, list[Candidate]] = {lang: [] for lang in languages}
    for number, doc in enumerate(beir.corpus.values()):
        paragraph = number if doc.paragraph is None else doc.paragraph
        candidates[doc.language].append(Candidate(doc.docid, doc.contents, doc.language, paragraph,
                                                  doc.sentence or 0))
    return ParallelQA(beir.name, languages, questions, candidates, relevant, dict(beir.sources))


def beir_files(root: str | Path, split: str = "test") -> tuple[Path, Path, Path]:
    """``corpus.jsonl``, ``queries.jsonl`` and ``qrels/<split>.tsv`` under ``root``."""
    root = Path(root)
    return root / "corpus.jsonl", root / "queries.jsonl", root / "qrels" / f"{split}.tsv"


def _document_line(doc: BeirDocument) -> str:
    record: dict[str, object] = {"_id": doc.docid, "title": doc.title, "text": doc.text, "language": doc.language}
    if doc.paragraph is not None:
        record["paragraph"] = doc.paragraph
    if doc.sentence is not None:
        record["sentence"] = doc.sentence
    return json.dumps(record, ensure_ascii=False) + "\n"


def _contents(beir: BeirCollection, root: Path) -> dict[Path, str]:
    corpus, queries, qrels = beir_files(root, beir.split)
    return {
        corpus: "".join(_document_line(doc) for doc in beir.corpus.values()),
        queries: "".join(json.dumps({"_id": q.qid, "text": q.text, "language": q.language, "item": q.item},
                                    ensure_ascii=False) + "\n" for q in beir.queries.values()),
        qrels: "\t".join(QRELS_HEADER) + "\n" + "".join(
            f"{qid}\t{docid}\t{grade}\n" for qid, judged in beir.qrels.items() for docid, grade in judged.items()),
    }


def write_beir(beir: BeirCollection, out: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``beir`` as a BEIR folder at ``out`` (``corpus.jsonl``, ``queries.jsonl``, ``qrels/<split>.tsv``).

    All three files are written to temporary names and renamed together when every one is complete
    (:func:`~hybrid_plugin.files.atomic_files`); files that exist with other content are an error unless
    ``overwrite``, and nothing else in ``out`` is touched.

    Raises:
        UsageError: ``out`` is a file, a target is not a regular file, or a target differs (without overwrite).

    Example::

        write_beir(beir_from_parallel_qa(qa), "beir/xquad-r")
    """
    root = Path(out)
    if root.exists() and not root.is_dir():
        raise UsageError(f"--out {root} exists and is not a folder")
    contents = _contents(beir, root)
    for path in contents:
        if path.is_symlink() or (path.exists() and not path.is_file()):
            raise UsageError(f"{path} exists and is not a regular file; prepare does not replace it")
        if path.parent.exists() and not path.parent.is_dir():
            raise UsageError(f"{path.parent} exists and is not a folder; prepare writes {path.name} there")
    clashes = [p for p, text in contents.items() if p.exists() and p.read_bytes() != text.encode("utf-8")]
    if clashes and not overwrite:
        raise UsageError(f"{clashes[0]} exists with other content ({len(clashes)} file(s) would change); "
                         "pass --overwrite to replace them")
    with atomic_files() as open_new:
        for path, text in contents.items():
            with open_new(path) as handle:
                handle.write(text)
    logger.info("wrote BEIR folder %s: %d documents, %d queries (split %s)", root, len(beir.corpus),
                len(beir.queries), beir.split)
    return root
