"""The LAReQA reader: XQuAD-R, MLQA-R and any folder in their format.

A LAReQA folder holds one SQuAD v1.1 JSON per language (``ar.json``, ``de.json``, ...), each paragraph with
``sentences`` and ``sentence_breaks``. Every sentence is a retrieval candidate (docid ``<lang>-<paragraph>-<i>``);
a question's relevant candidate is the sentence whose break holds ``answer_start``. Question ids are shared across
languages: that is how parallel questions are linked.

What does not live here: downloads of the named sets (:mod:`hybrid_plugin.data.registry`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hybrid_plugin.data.collection import Candidate, ParallelQA, check_name, name_from_path
from hybrid_plugin.errors import DataError
from hybrid_plugin.files import sha256_file

__all__ = ["read_lareqa_folder"]


def read_lareqa_folder(folder: Path, languages: Iterable[str] | None = None, *, name: str | None = None) -> ParallelQA:
    """Read a LAReQA-style folder (one SQuAD JSON with sentence breaks per language).

    Args:
        folder: the folder holding ``<lang>.json`` files.
        languages: the languages to read; each must have its file. Default: every ``*.json`` in the folder.
        name: the collection's name (default: the folder's name).

    Example::

        qa = read_lareqa_folder(Path("../shared/data/xquad-r"), ["en", "de"])
        qa.positive(qa.qids[0], "de").docid    # 'de-0-1'
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError("no such folder", folder)
    name = check_name(name or name_from_path(folder.name), "dataset", path=folder)
    if languages is None:
        langs = sorted(p.stem for p in folder.glob("*.json"))
        if not langs:
            raise DataError("holds no <language>.json files", folder)
    else:
        langs = list(languages)
    for lang in langs:
        check_name(lang, "language", path=folder)
    missing = [lang for lang in langs if not (folder / f"{lang}.json").is_file()]
    if missing:
        raise DataError(f"missing language file {missing[0]}.json (expected one file per language: "
                        f"{', '.join(f'{lang}.json' for lang in langs)})", folder)
    questions, candidates, relevant, sources = {}, {}, {}, {}
    for lang in langs:
        path = folder / f"{lang}.json"
        questions[lang], candidates[lang], relevant[lang] = _read_language(path, lang)
        sources[f"{lang}.json"] = sha256_file(path)
    qa = ParallelQA(name, tuple(langs), questions, candidates, relevant, sources)
    qa.check_linked(folder)
    return qa


def _load_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except json.JSONDecodeError as exc:
        raise DataError(f"malformed JSON: {exc.msg}", path, f"line {exc.lineno} column {exc.colno}") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", path) from None
    except RecursionError:
        raise DataError("malformed JSON: nested too deeply", path) from None
    except OSError as exc:
        raise DataError(f"cannot read: {exc.strerror or exc}", path) from None


def _expect(value: Any, kind: type, path: Path, where: str, what: str) -> Any:
    if not isinstance(value, kind) or isinstance(value, bool):
        raise DataError(f"{what} must be a {kind.__name__}, got {type(value).__name__}", path, where)
    return value


def _read_language(path: Path, lang: str) -> tuple[dict[str, str], list[Candidate], dict[str, str]]:
    doc = _load_json(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise DataError('expected a SQuAD-style object with a "data" list', path)
    questions: dict[str, str] = {}
    candidates: list[Candidate] = []
    relevant: dict[str, str] = {}
    paragraph_no = 0
    for article_no, article in enumerate(doc["data"]):
        paragraphs = _expect(article.get("paragraphs") if isinstance(article, dict) else None, list, path,
                             f"article {article_no}", '"paragraphs"')
        for para in paragraphs:
            where = f"paragraph {paragraph_no}"
            spans = _read_sentences(para, path, where, lang, paragraph_no, candidates)
            for qa in _expect(para["qas"], list, path, where, '"qas"'):
                qid, question, start = _read_question(qa, path, where)
                if qid in questions:
                    raise DataError(f"question id {qid} occurs twice", path, where)
                hits = [i for i, (b, e) in enumerate(spans) if b <= start < e]
                if not hits:
                    raise DataError(f"question {qid}: answer_start {start} is outside every sentence", path, where)
                questions[qid] = question
                relevant[qid] = f"{lang}-{paragraph_no}-{hits[0]}"
            paragraph_no += 1
    if not questions:
        raise DataError("holds no questions", path)
    return questions, candidates, relevant


def _read_sentences(para: Any, path: Path, where: str, lang: str, paragraph_no: int,
                    candidates: list[Candidate]) -> list[tuple[int, int]]:
    """Append the paragraph's sentences to ``candidates``; return their ``[start, end)`` spans in the context."""
    if not isinstance(para, dict):
        raise DataError("a paragraph must be an object", path, where)
    for key in ("context", "sentences", "sentence_breaks", "qas"):
        if key not in para:
            raise DataError(f'missing field "{key}"', path, where)
    sentences = _expect(para["sentences"], list, path, where, '"sentences"')
    breaks = _expect(para["sentence_breaks"], list, path, where, '"sentence_breaks"')
    if len(sentences) != len(breaks):
        raise DataError(f"{len(sentences)} sentences but {len(breaks)} sentence_breaks", path, where)
    context_len = len(_expect(para["context"], str, path, where, '"context"'))
    spans: list[tuple[int, int]] = []
    for i, (text, span) in enumerate(zip(sentences, breaks)):
        _expect(text, str, path, f"{where} sentence {i}", "a sentence")
        if (not isinstance(span, list) or len(span) != 2
                or not all(isinstance(x, int) and not isinstance(x, bool) for x in span)
                or not 0 <= span[0] <= span[1] <= context_len):
            raise DataError(f"sentence_breaks[{i}] = {span!r} is not a [start, end] pair inside the "
                            f"context (length {context_len})", path, where)
        spans.append((span[0], span[1]))
        candidates.append(Candidate(f"{lang}-{paragraph_no}-{i}", text, lang, paragraph_no, i))
    return spans


def _read_question(qa: Any, path: Path, where: str) -> tuple[str, str, int]:
    """The id, text and first answer_start of one entry of ``qas``."""
    qid = qa.get("id") if isinstance(qa, dict) else None
    if not isinstance(qid, str) or not qid:
        raise DataError('a question needs a non-empty string "id"', path, where)
    check_name(qid, "qid", path=path, where=where)
    question = qa.get("question")
    if not isinstance(question, str) or not question.strip():
        raise DataError(f'question {qid}: "question" must be non-empty text', path, where)
    answers = qa.get("answers")
    if not isinstance(answers, list) or not answers or not isinstance(answers[0], dict):
        raise DataError(f'question {qid}: "answers" must be a non-empty list', path, where)
    start = answers[0].get("answer_start")
    if not isinstance(start, int) or isinstance(start, bool):
        raise DataError(f"question {qid}: answer_start must be an integer, got {start!r}", path, where)
    return qid, question, start
