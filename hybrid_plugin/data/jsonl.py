"""The parallel JSONL reader: a user's own parallel QA data, one item per line::

    {"id": "q1", "languages": {
        "en": {"question": "Who wrote Faust?", "passage": "Goethe wrote Faust."},
        "de": {"question": "Wer schrieb Faust?", "sentences": ["Faust ist ein Drama.", "Goethe schrieb es."],
               "answer": 1}}}

A language entry gives either one ``passage`` (the relevant candidate) or a paragraph as ``sentences`` with the
index of the relevant one in ``answer``; the other sentences become candidates too (and free hard negatives).
Identical candidate texts within a language are stored once. Ids and language codes follow
:func:`~hybrid_plugin.data.collection.check_name`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hybrid_plugin.data.collection import Candidate, ParallelQA, check_name, name_from_path, read_json_lines
from hybrid_plugin.errors import DataError
from hybrid_plugin.files import sha256_file

__all__ = ["read_parallel_jsonl"]


class _Pools:
    """The collection as it is read: questions, candidate pools and answers per language."""

    def __init__(self) -> None:
        self.questions: dict[str, dict[str, str]] = {}
        self.candidates: dict[str, list[Candidate]] = {}
        self.relevant: dict[str, dict[str, str]] = {}
        self.docid_of_text: dict[str, dict[str, str]] = {}
        self.paragraphs: dict[str, int] = {}

    def add(self, qid: str, lang: str, question: str, sentences: list[str], answer: int) -> None:
        pool = self.candidates.setdefault(lang, [])
        texts = self.docid_of_text.setdefault(lang, {})
        paragraph = self.paragraphs.get(lang, 0)
        docids = []
        for i, text in enumerate(sentences):
            if text not in texts:
                cand = Candidate(f"{lang}-{paragraph}-{i}", text, lang, paragraph, i)
                pool.append(cand)
                texts[text] = cand.docid
            docids.append(texts[text])
        self.paragraphs[lang] = paragraph + 1
        self.questions.setdefault(lang, {})[qid] = question
        self.relevant.setdefault(lang, {})[qid] = docids[answer]


def read_parallel_jsonl(path: Path, *, name: str | None = None) -> ParallelQA:
    """Read a parallel JSONL file (format in the module docstring).

    Args:
        path: the ``.jsonl`` file.
        name: the collection's name (default: the file's name without ``.jsonl``).

    Example::

        qa = read_parallel_jsonl(Path("mine.jsonl"))
        qa.languages, qa.qids                  # (('de', 'en'), ('q1',))
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("no such file", path)
    name = check_name(name or name_from_path(path.stem), "dataset", path=path)
    pools = _Pools()
    seen_ids: set[str] = set()
    for line_no, item in read_json_lines(path):
        where = f"line {line_no}"
        qid, entries = _read_item(item, path, where)
        if qid in seen_ids:
            raise DataError(f"id {qid} occurs twice", path, where)
        seen_ids.add(qid)
        for lang, entry in entries.items():
            check_name(lang, "language", path=path, where=where)
            pools.add(qid, lang, *_read_entry(entry, path, f"{where} language {lang}"))
    if not pools.questions:
        raise DataError("holds no items", path)
    languages = tuple(sorted(pools.questions))
    qa = ParallelQA(name, languages, {lang: pools.questions[lang] for lang in languages},
                    {lang: pools.candidates[lang] for lang in languages},
                    {lang: pools.relevant[lang] for lang in languages}, {path.name: sha256_file(path)})
    qa.check_linked(path)
    return qa


def _read_item(item: Any, path: Path, where: str) -> tuple[str, dict[str, Any]]:
    """The id and the language entries of one line."""
    if not isinstance(item, dict):
        raise DataError("expected an object with fields id and languages", path, where)
    qid = item.get("id")
    if isinstance(qid, int) and not isinstance(qid, bool):
        qid = str(qid)
    if not isinstance(qid, str) or not qid:
        raise DataError('"id" must be a non-empty string', path, where)
    check_name(qid, "qid", path=path, where=where)
    entries = item.get("languages")
    if not isinstance(entries, dict) or not entries:
        raise DataError('"languages" must map language codes to {question, passage} objects', path, where)
    return qid, entries


def _read_entry(entry: Any, path: Path, at: str) -> tuple[str, list[str], int]:
    """The question, the sentences and the index of the answer of one language entry."""
    if not isinstance(entry, dict):
        raise DataError("expected an object with question and passage (or sentences + answer)", path, at)
    question = entry.get("question")
    if not isinstance(question, str) or not question.strip():
        raise DataError('"question" must be non-empty text', path, at)
    if "passage" in entry:
        sentences, answer = [entry["passage"]], 0
    elif "sentences" in entry:
        sentences, answer = entry["sentences"], entry.get("answer")
    else:
        raise DataError('needs "passage", or "sentences" with "answer"', path, at)
    if not isinstance(sentences, list) or not sentences or not all(
            isinstance(s, str) and s.strip() for s in sentences):
        raise DataError("passage / sentences must be non-empty text", path, at)
    if not isinstance(answer, int) or isinstance(answer, bool) or not 0 <= answer < len(sentences):
        raise DataError(f'"answer" must index one of the {len(sentences)} sentences, got {answer!r}', path, at)
    return question, sentences, answer
