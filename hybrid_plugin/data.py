"""Parallel question-answer collections: items linked across languages by a shared question id.

Two on-disk formats are read:

* **LAReQA folders** (XQuAD-R, MLQA-R): one SQuAD v1.1 JSON per language (``ar.json``, ``de.json``, ...), each
  paragraph with ``sentences`` and ``sentence_breaks``. Every sentence is a retrieval candidate; a question's
  relevant candidate is the sentence whose break holds ``answer_start``.
* **Parallel JSONL** (a user's own data): one item per line::

      {"id": "q1", "languages": {
          "en": {"question": "Who wrote Faust?", "passage": "Goethe wrote Faust."},
          "de": {"question": "Wer schrieb Faust?", "sentences": ["Faust ist ein Drama.", "Goethe schrieb es."],
                 "answer": 1}}}

  A language entry gives either one ``passage`` (the relevant candidate) or a paragraph as ``sentences`` with the
  index of the relevant one in ``answer``; the other sentences become candidates too (and free hard negatives).
  Identical candidate texts within a language are stored once.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hybrid_plugin.errors import DataError, UsageError

__all__ = ["Candidate", "ParallelQA", "load_parallel_qa", "read_lareqa_folder", "read_parallel_jsonl", "sha256_file"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Candidate:
    """One retrieval candidate (a sentence) of one language's pool."""

    docid: str
    text: str
    language: str
    paragraph: int
    sentence: int


@dataclass
class ParallelQA:
    """A parallel QA collection: questions and candidate pools per language, linked by question id.

    Args:
        name: the collection's name (``"xquad-r"``, ``"mlqa-r"`` or a user's).
        languages: language codes, in a fixed order.
        questions: ``questions[lang][qid]`` is the question text of item ``qid`` in ``lang``.
        candidates: ``candidates[lang]`` is the candidate pool of ``lang``, in document order.
        relevant: ``relevant[lang][qid]`` is the docid of the candidate in pool ``lang`` that answers ``qid``.
        sources: file name -> SHA-256 of the files it was read from.

    Example::

        from hybrid_plugin import load_parallel_qa

        qa = load_parallel_qa("xquad-r", data="../shared/data/xquad-r")
        qa.num_questions()                   # 13090 (1,190 in each of 11 languages)
        qa.positive(qa.qids[0], "de").text   # the German sentence that answers the first question
    """

    name: str
    languages: tuple[str, ...]
    questions: dict[str, dict[str, str]]
    candidates: dict[str, list[Candidate]]
    relevant: dict[str, dict[str, str]]
    sources: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._by_docid: dict[str, Candidate] = {c.docid: c for pool in self.candidates.values() for c in pool}
        seen: dict[str, None] = {}
        for lang in self.languages:
            for qid in self.questions[lang]:
                seen.setdefault(qid)
        self.qids: tuple[str, ...] = tuple(seen)

    # -- lookups -------------------------------------------------------------------------------------------
    def candidate(self, docid: str) -> Candidate:
        """The candidate with this docid."""
        return self._by_docid[docid]

    def positive(self, qid: str, language: str) -> Candidate | None:
        """The candidate of pool ``language`` that answers ``qid`` (None if the item lacks that language)."""
        docid = self.relevant[language].get(qid)
        return None if docid is None else self._by_docid[docid]

    def item_languages(self, qid: str) -> tuple[str, ...]:
        """The languages in which item ``qid`` exists (question and answer)."""
        return tuple(lang for lang in self.languages if qid in self.questions[lang])

    def paragraph_of(self, candidate: Candidate) -> list[Candidate]:
        """All candidates of the paragraph that ``candidate`` belongs to, in order."""
        pool = self.candidates[candidate.language]
        return [c for c in pool if c.paragraph == candidate.paragraph]

    def num_questions(self) -> int:
        """Questions summed over languages (a parallel item counts once per language)."""
        return sum(len(q) for q in self.questions.values())

    def num_candidates(self) -> int:
        """Candidates summed over all pools."""
        return sum(len(p) for p in self.candidates.values())

    @property
    def checksum(self) -> str:
        """One SHA-256 over the source files' checksums (identifies the data a result was computed on)."""
        digest = hashlib.sha256()
        for name in sorted(self.sources):
            digest.update(f"{name}\t{self.sources[name]}\n".encode())
        return digest.hexdigest()

    # -- slicing -------------------------------------------------------------------------------------------
    def subset(self, qids: Iterable[str], *, name: str | None = None) -> ParallelQA:
        """Keep the given items and, in every language, only the paragraphs that hold their answers.

        The smaller pools make quick checks fast; the answers of the kept items stay in their pools.
        """
        keep = set(qids)
        unknown = keep.difference(self.qids)
        if unknown:
            raise UsageError(f"unknown question ids: {sorted(unknown)[:5]}")
        questions = {lang: {q: t for q, t in self.questions[lang].items() if q in keep} for lang in self.languages}
        relevant = {lang: {q: d for q, d in self.relevant[lang].items() if q in keep} for lang in self.languages}
        candidates = {}
        for lang in self.languages:
            paragraphs = {self._by_docid[d].paragraph for d in relevant[lang].values()}
            candidates[lang] = [c for c in self.candidates[lang] if c.paragraph in paragraphs]
        languages = tuple(lang for lang in self.languages if questions[lang])
        return ParallelQA(
            name=name or self.name,
            languages=languages,
            questions={lang: questions[lang] for lang in languages},
            candidates={lang: candidates[lang] for lang in languages},
            relevant={lang: relevant[lang] for lang in languages},
            sources=dict(self.sources),
        )

    def limit(self, n: int | None) -> ParallelQA:
        """The first ``n`` items (see :meth:`subset`); ``None`` keeps everything."""
        if n is None:
            return self
        if n <= 0:
            raise UsageError(f"--limit must be a positive number of questions, got {n}")
        return self.subset(self.qids[:n])

    def select_languages(self, languages: Iterable[str]) -> ParallelQA:
        """Keep only the given languages (in the given order)."""
        wanted = tuple(languages)
        missing = [lang for lang in wanted if lang not in self.languages]
        if missing:
            raise UsageError(f"{self.name} has no language {missing[0]!r}; it has {', '.join(self.languages)}")
        return ParallelQA(
            name=self.name,
            languages=wanted,
            questions={lang: self.questions[lang] for lang in wanted},
            candidates={lang: self.candidates[lang] for lang in wanted},
            relevant={lang: self.relevant[lang] for lang in wanted},
            sources=dict(self.sources),
        )


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _load_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except json.JSONDecodeError as exc:
        raise DataError(f"malformed JSON: {exc.msg}", path, f"line {exc.lineno} column {exc.colno}") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", path) from None
    except OSError as exc:
        raise DataError(f"cannot read: {exc.strerror}", path) from None


def _expect(value: Any, kind: type | tuple[type, ...], path: Path, where: str, what: str) -> Any:
    if not isinstance(value, kind) or isinstance(value, bool):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise DataError(f"{what} must be a {names}, got {type(value).__name__}", path, where)
    return value


def _read_lareqa_language(path: Path, lang: str) -> tuple[dict[str, str], list[Candidate], dict[str, str]]:
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
                if (not isinstance(span, list) or len(span) != 2 or not all(isinstance(x, int) for x in span)
                        or not 0 <= span[0] <= span[1] <= context_len):
                    raise DataError(f"sentence_breaks[{i}] = {span!r} is not a [start, end] pair inside the "
                                    f"context (length {context_len})", path, where)
                spans.append((span[0], span[1]))
                candidates.append(Candidate(f"{lang}-{paragraph_no}-{i}", text, lang, paragraph_no, i))
            for qa in _expect(para["qas"], list, path, where, '"qas"'):
                qid = qa.get("id") if isinstance(qa, dict) else None
                if not isinstance(qid, str) or not qid:
                    raise DataError('a question needs a non-empty string "id"', path, where)
                if qid in questions:
                    raise DataError(f"question id {qid} occurs twice", path, where)
                question = qa.get("question")
                if not isinstance(question, str) or not question.strip():
                    raise DataError(f'question {qid}: "question" must be non-empty text', path, where)
                answers = qa.get("answers")
                if not isinstance(answers, list) or not answers or not isinstance(answers[0], dict):
                    raise DataError(f'question {qid}: "answers" must be a non-empty list', path, where)
                start = answers[0].get("answer_start")
                if not isinstance(start, int) or isinstance(start, bool):
                    raise DataError(f"question {qid}: answer_start must be an integer, got {start!r}", path, where)
                hits = [i for i, (b, e) in enumerate(spans) if b <= start < e]
                if not hits:
                    raise DataError(f"question {qid}: answer_start {start} is outside every sentence", path, where)
                questions[qid] = question
                relevant[qid] = f"{lang}-{paragraph_no}-{hits[0]}"
            paragraph_no += 1
    if not questions:
        raise DataError("holds no questions", path)
    return questions, candidates, relevant


def read_lareqa_folder(folder: Path, languages: Iterable[str] | None = None, *, name: str | None = None) -> ParallelQA:
    """Read a LAReQA-style folder (one SQuAD JSON with sentence breaks per language).

    Args:
        folder: the folder holding ``<lang>.json`` files.
        languages: the languages to read; each must have its file. Default: every ``*.json`` in the folder.
        name: the collection's name (default: the folder's name).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError("no such folder", folder)
    if languages is None:
        langs = sorted(p.stem for p in folder.glob("*.json"))
        if not langs:
            raise DataError("holds no <language>.json files", folder)
    else:
        langs = list(languages)
    missing = [lang for lang in langs if not (folder / f"{lang}.json").is_file()]
    if missing:
        raise DataError(f"missing language file {missing[0]}.json (expected one file per language: "
                        f"{', '.join(f'{lang}.json' for lang in langs)})", folder)
    questions, candidates, relevant, sources = {}, {}, {}, {}
    for lang in langs:
        path = folder / f"{lang}.json"
        questions[lang], candidates[lang], relevant[lang] = _read_lareqa_language(path, lang)
        sources[f"{lang}.json"] = sha256_file(path)
    qa = ParallelQA(name or folder.name, tuple(langs), questions, candidates, relevant, sources)
    _check_parallel(qa, folder)
    return qa


def _check_parallel(qa: ParallelQA, path: Path) -> None:
    if len(qa.languages) < 2:
        return
    for qid in qa.qids:
        langs = qa.item_languages(qid)
        if len(langs) < 2:
            raise DataError(f"question id {qid} occurs only in {langs[0]}; ids must link a question across at "
                            "least two languages (do the files' ids line up?)", path)


def read_parallel_jsonl(path: Path, *, name: str | None = None) -> ParallelQA:
    """Read a parallel JSONL file (format in the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise DataError("no such file", path)
    questions: dict[str, dict[str, str]] = {}
    candidates: dict[str, list[Candidate]] = {}
    relevant: dict[str, dict[str, str]] = {}
    docid_of_text: dict[str, dict[str, str]] = {}
    paragraph_of_lang: dict[str, int] = {}
    seen_ids: set[str] = set()
    with open(path, encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"line {line_no}"
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"malformed JSON: {exc.msg}", path, where) from None
            if not isinstance(item, dict):
                raise DataError("expected an object with fields id and languages", path, where)
            qid = item.get("id")
            if isinstance(qid, int) and not isinstance(qid, bool):
                qid = str(qid)
            if not isinstance(qid, str) or not qid:
                raise DataError('"id" must be a non-empty string', path, where)
            if qid in seen_ids:
                raise DataError(f"id {qid} occurs twice", path, where)
            seen_ids.add(qid)
            entries = item.get("languages")
            if not isinstance(entries, dict) or not entries:
                raise DataError('"languages" must map language codes to {question, passage} objects', path, where)
            for lang, entry in entries.items():
                at = f"{where} language {lang}"
                if not isinstance(entry, dict):
                    raise DataError("expected an object with question and passage (or sentences + answer)",
                                    path, at)
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
                    raise DataError(f'"answer" must index one of the {len(sentences)} sentences, got {answer!r}',
                                    path, at)
                pool = candidates.setdefault(lang, [])
                texts = docid_of_text.setdefault(lang, {})
                paragraph = paragraph_of_lang.get(lang, 0)
                docids = []
                for i, text in enumerate(sentences):
                    if text not in texts:
                        cand = Candidate(f"{lang}-{paragraph}-{i}", text, lang, paragraph, i)
                        pool.append(cand)
                        texts[text] = cand.docid
                    docids.append(texts[text])
                paragraph_of_lang[lang] = paragraph + 1
                questions.setdefault(lang, {})[qid] = question
                relevant.setdefault(lang, {})[qid] = docids[answer]
    if not questions:
        raise DataError("holds no items", path)
    languages = tuple(sorted(questions))
    qa = ParallelQA(name or path.stem, languages, {lang: questions[lang] for lang in languages},
                    {lang: candidates[lang] for lang in languages}, {lang: relevant[lang] for lang in languages},
                    {path.name: sha256_file(path)})
    _check_parallel(qa, path)
    return qa


def load_parallel_qa(
    name_or_path: str | Path,
    *,
    data: str | Path | None = None,
    languages: Iterable[str] | None = None,
) -> ParallelQA:
    """Load a parallel QA collection by name or path.

    Args:
        name_or_path: ``"xquad-r"`` or ``"mlqa-r"`` (downloaded from the public LAReQA release, checksums
            verified, cached), a LAReQA-style folder, a parallel JSONL file, or a folder written by
            ``hybrid-plugin prepare`` (``topics/``, ``qrels/``, ``corpus/``).
        data: for a named set, a local folder holding its ``<lang>.json`` files instead of downloading.
        languages: restrict to these languages.

    Example::

        qa = load_parallel_qa("mlqa-r", data="../shared/data/mlqa-r")
        len(qa.qids), qa.num_questions(), qa.num_candidates()   # (1148, 4199, 20534)
    """
    from hybrid_plugin.download import DATASETS, fetch_dataset

    key = str(name_or_path)
    if key in DATASETS:
        spec = DATASETS[key]
        folder = fetch_dataset(key, data=data)
        qa = read_lareqa_folder(folder, spec.languages, name=key)
    else:
        if data is not None:
            raise UsageError(f"--data is for the named sets ({', '.join(DATASETS)}); {key!r} is a path already")
        path = Path(key)
        if path.is_file() and path.suffix == ".jsonl":
            qa = read_parallel_jsonl(path)
        elif path.is_dir() and (path / "topics").is_dir() and (path / "qrels").is_dir():
            from hybrid_plugin.pyserini_io import read_prepared

            qa = read_prepared(path)
        elif path.is_dir():
            qa = read_lareqa_folder(path)
        else:
            raise UsageError(f"unknown dataset {key!r}: expected one of {', '.join(DATASETS)}, a LAReQA-style "
                             "folder, a parallel .jsonl file or a folder written by 'hybrid-plugin prepare'")
    if languages is not None:
        qa = qa.select_languages(languages)
    return qa

