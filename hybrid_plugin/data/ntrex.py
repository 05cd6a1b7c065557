"""The NTREX-128 reader: 1,997 news sentences (the newstest2019 English source) in 128 languages, as one parallel
collection.

The folder (the release at MicrosoftTranslator/NTREX, see :mod:`hybrid_plugin.data.registry`) holds
``NTREX-128/newstest2019-src.eng.txt`` (the English source), ``NTREX-128/newstest2019-ref.<code>.txt`` (one
human translation per language; codes are ISO 639-3 with a script or region: ``deu``, ``aze-Latn``,
``zho-TW``) and ``DOCUMENT_IDS.tsv`` (the document of every line). Line ``n`` is sentence ``n`` in every file.

How it maps into a :class:`~hybrid_plugin.data.collection.ParallelQA` (named ``ntrex-128``):

* **item** = a sentence: question id ``"<n>"``, its line number (1 to 1,997);
* **language** = a file, under the plugin's code (:mod:`hybrid_plugin.data.languages`): the source is ``en``,
  the references ``de``, ``az``, ``zh`` (``zho-CN``), ``zh-TW``, ``en-GB``, ... -- 128 in all. The second Spanish
  reference (``newstest2019-ref-2.spa.txt``) is not read;
* **question** of an item in a language = its sentence there; **candidate pool** of a language = all its
  sentences; the **relevant candidate** of an item = its own sentence. A candidate's paragraph is its document
  (the order of ``DOCUMENT_IDS.tsv``), its sentence number its place in the document, its docid
  ``<lang>-<document>-<sentence>``; sentences equal within a language (a few per language, e.g. "It is very
  bad." translated alike from two English sentences) are one candidate, relevant to both items.

What this gives directly: cross-lingual X->Y (bitext retrieval: a sentence finds its translation among all 1,997
of Y, for every pair -- 16,256 settings, so sample pairs), X->English and English->X (the ``en`` pool), and the
multilingual pool of all 128 languages with its language bias. The monolingual X->X settings are trivial (the
query is its own relevant candidate).

Errors: a file with another number of lines than ``DOCUMENT_IDS.tsv`` (a sentence missing in one language), an
empty line, bytes that are not UTF-8 or a document id line with more than one column raise
:class:`~hybrid_plugin.errors.DataError` naming the file and line.

Example::

    qa = read_ntrex_folder("../shared/data/ntrex-128", ["en", "de", "yo"])
    qa.questions["yo"]["1"], qa.positive("1", "de").docid     # ('...', 'de-0-0')
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from hybrid_plugin.data.collection import Candidate, ParallelQA, check_name, read_text_lines
from hybrid_plugin.data.languages import check_chosen_languages, dataset_code, dataset_languages
from hybrid_plugin.errors import DataError
from hybrid_plugin.files import sha256_file

__all__ = ["NTREX_NAME", "ntrex_file", "read_document_ids", "read_ntrex_folder"]

logger = logging.getLogger(__name__)

NTREX_NAME = "ntrex-128"
"""The collection's name (and its key in the registry)."""

_DOCUMENT_IDS = "DOCUMENT_IDS.tsv"


def ntrex_file(language: str) -> str:
    """The file of a language (the plugin's code) inside the set's folder.

    Example::

        >>> ntrex_file("en"), ntrex_file("zh-TW")
        ('NTREX-128/newstest2019-src.eng.txt', 'NTREX-128/newstest2019-ref.zho-TW.txt')
    """
    own = dataset_code(language, NTREX_NAME)
    kind = "src" if own == "eng" else "ref"
    return f"NTREX-128/newstest2019-{kind}.{own}.txt"


def read_document_ids(path: str | Path) -> list[tuple[int, int]]:
    """``(document, sentence)`` of every line of ``DOCUMENT_IDS.tsv``: documents numbered in order of first
    appearance, sentences counted within their document (both from 0).

    Raises:
        DataError: a line with more than one column or none, or a file without lines.

    Example::

        read_document_ids("../shared/data/ntrex-128/DOCUMENT_IDS.tsv")[:3]     # [(0, 0), (0, 1), (0, 2)]
    """
    path = Path(path)
    documents: dict[str, int] = {}
    counts: dict[str, int] = {}
    places = []
    for line_no, line in read_text_lines(path):
        columns = line.rstrip("\n").split("\t")
        if len(columns) != 1 or not columns[0].strip():
            raise DataError(f"expected one document id, got {len(columns)} column(s): {line.rstrip()!r}", path,
                            f"line {line_no}")
        doc = columns[0].strip()
        documents.setdefault(doc, len(documents))
        places.append((documents[doc], counts.get(doc, 0)))
        counts[doc] = counts.get(doc, 0) + 1
    if not places:
        raise DataError("holds no document ids", path)
    return places


def _read_sentences(path: Path, expected: int) -> list[str]:
    """The lines of one language file: exactly ``expected`` non-empty sentences."""
    sentences = []
    for line_no, line in read_text_lines(path):
        text = line.rstrip("\n")
        if not text.strip():
            raise DataError("empty sentence (every line is one sentence, aligned across languages)", path,
                            f"line {line_no}")
        sentences.append(text)
    if len(sentences) != expected:
        raise DataError(f"has {len(sentences)} sentences, expected {expected} (one per line of {_DOCUMENT_IDS}; "
                        "is a line missing or split?)", path)
    return sentences


def _pool(lang: str, sentences: list[str], places: list[tuple[int, int]], qids: list[str]
          ) -> tuple[dict[str, str], list[Candidate], dict[str, str]]:
    """Questions, candidates (equal sentences once) and answers of one language."""
    candidates: list[Candidate] = []
    relevant: dict[str, str] = {}
    docid_of: dict[str, str] = {}
    for qid, text, (doc, sent) in zip(qids, sentences, places):
        docid = docid_of.get(text)
        if docid is None:
            docid = docid_of[text] = f"{lang}-{doc}-{sent}"
            candidates.append(Candidate(docid, text, lang, doc, sent))
        relevant[qid] = docid
    return dict(zip(qids, sentences)), candidates, relevant


def read_ntrex_folder(folder: str | Path, languages: Iterable[str] | None = None, *,
                      name: str = NTREX_NAME) -> ParallelQA:
    """Read NTREX-128 (the mapping is in the module docstring).

    Args:
        folder: the set's folder (``NTREX-128/``, ``DOCUMENT_IDS.tsv``).
        languages: the plugin's codes to read, in this order (default: all 128, ``en`` first, then in the order
            of the language table).
        name: the collection's name.

    Returns:
        ParallelQA: 1,997 items in each language.

    Raises:
        UsageError: a language NTREX-128 does not have. DataError: a missing or malformed file.

    Example::

        qa = read_ntrex_folder("../shared/data/ntrex-128")
        len(qa.languages), len(qa.qids), qa.num_questions()      # (128, 1997, 255616)
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError("no such folder", folder)
    name = check_name(name, "dataset")
    available = dataset_languages(NTREX_NAME)
    if languages is None:
        langs = ("en", *(lang for lang in available if lang != "en"))
    else:
        langs = check_chosen_languages(name, available, languages)
    places = read_document_ids(_existing(folder, _DOCUMENT_IDS))
    qids = [str(n) for n in range(1, len(places) + 1)]
    questions, candidates, relevant = {}, {}, {}
    sources = {_DOCUMENT_IDS: sha256_file(folder / _DOCUMENT_IDS)}
    for lang in langs:
        path = _existing(folder, ntrex_file(lang))
        sentences = _read_sentences(path, len(places))
        questions[lang], candidates[lang], relevant[lang] = _pool(lang, sentences, places, qids)
        sources[ntrex_file(lang)] = sha256_file(path)
    logger.info("%s: %d languages x %d sentences", name, len(langs), len(qids))
    return ParallelQA(name, langs, questions, candidates, relevant, sources)


def _existing(folder: Path, file: str) -> Path:
    path = folder / file
    if not path.is_file():
        raise DataError(f"missing {file} (is this the NTREX-128 release?)", folder)
    return path
