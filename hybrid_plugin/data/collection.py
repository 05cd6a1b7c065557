"""The parallel QA collection and the rules its names follow.

What lives here: :class:`Candidate`, :class:`ParallelQA` (lookups, slicing and the checks a collection must pass),
:func:`check_name` (the closed character set of every name that becomes a path or a TREC field) and
:func:`read_text_lines` / :func:`read_json_lines`, the one way the line-based readers read a UTF-8 file.

What does not: the readers of particular formats (:mod:`hybrid_plugin.data.lareqa`, :mod:`hybrid_plugin.data.jsonl`,
:mod:`hybrid_plugin.pyserini.prepared`) and the downloads (:mod:`hybrid_plugin.data.registry`).

Names
-----
Languages and dataset names become parts of file names (``topics/D.L.tsv``, ``corpus/D/L.jsonl``), question and
candidate ids become fields of TREC qrels and runs (``qid Q0 docid rank score tag``). So:

* a **language** or **dataset name** is 1 to 64 ASCII letters, digits, ``-`` and ``_``, starting with a letter or
  a digit (``[A-Za-z0-9][A-Za-z0-9_-]*``); no dots, slashes or spaces, so it can never leave its folder.
  The language ``multi`` is reserved (``qrels/D.multi.txt`` is the union over all pools);
* a **question id** or **candidate id** is non-empty and printable, with no whitespace and no control characters
  (any script is fine: ``56beb4343aeaaa14008c925b``, ``de-0-3``, ``問1``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from hybrid_plugin.errors import DataError, UsageError

if TYPE_CHECKING:
    from hybrid_plugin.data.splits import SplitInfo

__all__ = [
    "name_from_path",
    "MAX_NAME_LENGTH",
    "RESERVED_LANGUAGES",
    "Candidate",
    "NameKind",
    "ParallelQA",
    "check_name",
    "read_json_lines",
    "read_record_text",
    "read_text_lines",
]

NameKind = Literal["language", "dataset", "qid", "docid"]
"""What a checked name is: the first two become file names, the last two TREC fields."""

MAX_NAME_LENGTH = 64
"""Longest language or dataset name."""

RESERVED_LANGUAGES = frozenset({"multi"})
"""Language codes that would clash with a prepared file of the whole collection (``qrels/D.multi.txt``)."""

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_LABELS: dict[str, str] = {"language": "language", "dataset": "dataset name", "qid": "question id",
                           "docid": "candidate id"}


def _shown(value: str) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."


def check_name(value: Any, what: NameKind, *, path: str | Path | None = None, where: str | None = None) -> str:
    """Return ``value`` if it is an allowed name of kind ``what``; raise :class:`DataError` otherwise.

    Args:
        value: the name read from a file or given by a caller.
        what: ``"language"`` or ``"dataset"`` (``[A-Za-z0-9][A-Za-z0-9_-]*``, at most 64 characters), or
            ``"qid"`` / ``"docid"`` (non-empty, printable, no whitespace or control characters).
        path: the file the name was read from, named in the error.
        where: the place in that file (``"line 3"``), named in the error.

    Example::

        check_name("zh-cn", "language")          # 'zh-cn'
        check_name("x/../../NAME", "language")   # DataError: language 'x/../../NAME' is not allowed: ...
    """
    if what not in _LABELS:
        raise ValueError(f"what must be one of {', '.join(_LABELS)}, got {what!r}")
    label = _LABELS[what]
    if not isinstance(value, str):
        raise DataError(f"{label} must be a string, got {type(value).__name__} {value!r}", path, where)
    if what in ("language", "dataset"):
        if len(value) > MAX_NAME_LENGTH or not _NAME.fullmatch(value):
            raise DataError(f"{label} {_shown(value)} is not allowed: expected 1 to {MAX_NAME_LENGTH} ASCII "
                            "letters, digits, '-' or '_', starting with a letter or digit", path, where)
        if what == "language" and value in RESERVED_LANGUAGES:
            raise DataError(f"language {value!r} is reserved (qrels/D.{value}.txt is the union over all pools)",
                            path, where)
    elif not value.isprintable() or " " in value or not value:
        # isprintable() is False for every whitespace character except the ASCII space, and for control characters
        raise DataError(f"{label} {_shown(value)} is not allowed: expected a non-empty id of printable characters "
                        "without whitespace", path, where)
    return value


def name_from_path(stem: str) -> str:
    """A dataset name for a folder or file that was given without one: its name with every run of characters
    outside ``[A-Za-z0-9_-]`` replaced by ``-`` (``"my data.v2"`` -> ``"my-data-v2"``), cut to
    :data:`MAX_NAME_LENGTH`; ``"dataset"`` when nothing is left."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-_")[:MAX_NAME_LENGTH].strip("-_")
    return cleaned or "dataset"


def read_text_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """Yield ``(line number, line)`` of a UTF-8 text file (universal newlines, as ``open`` reads text).

    Bytes that are not UTF-8 and files that cannot be read raise :class:`DataError` naming the file (and line).
    """
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as handle:
            yield from enumerate(handle, start=1)
    except UnicodeDecodeError as exc:
        raise DataError(f"not UTF-8 text ({exc.reason})", path, _undecodable_line(path)) from None
    except OSError as exc:
        raise DataError(f"cannot read: {exc.strerror or exc}", path) from None


def read_record_text(path: str | Path, file_name: str) -> tuple[str, Path]:
    """The text of a record file the plugin wrote: ``path``, or ``path/file_name`` when ``path`` is a folder;
    a missing, unreadable or non-UTF-8 file is one :class:`DataError` naming it. Returns ``(text, the file)``.

    Example::

        text, path = read_record_text("outputs/bitext", "bitext.json")
    """
    path = Path(path)
    if path.is_dir():
        path = path / file_name
    try:
        return path.read_text(encoding="utf-8"), path
    except UnicodeDecodeError as exc:
        raise DataError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", path) from None
    except OSError as exc:
        raise DataError(f"cannot read: {exc.strerror or exc}", path) from None


def _undecodable_line(path: Path) -> str | None:
    """Where the first byte that is not UTF-8 sits (UTF-8 never splits a character across a newline byte)."""
    with open(path, "rb") as handle:
        for line_no, raw in enumerate(handle, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                return f"line {line_no} byte {exc.start + 1}"
    return None


def read_json_lines(path: str | Path) -> Iterator[tuple[int, Any]]:
    """Yield ``(line number, value)`` for every non-blank line of a JSON-lines file (errors as DataError)."""
    for line_no, line in read_text_lines(path):
        if not line.strip():
            continue
        try:
            yield line_no, json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"malformed JSON: {exc.msg} (column {exc.colno})", path, f"line {line_no}") from None
        except RecursionError:
            raise DataError("malformed JSON: nested too deeply", path, f"line {line_no}") from None


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

    The collection's name, languages and ids are checked with :func:`check_name` when it is made.

    Args:
        name: the collection's name (``"xquad-r"``, ``"mlqa-r"`` or a user's).
        languages: language codes, in a fixed order.
        questions: ``questions[lang][qid]`` is the question text of item ``qid`` in ``lang``.
        candidates: ``candidates[lang]`` is the candidate pool of ``lang``, in document order.
        relevant: ``relevant[lang][qid]`` is the docid of the candidate in pool ``lang`` that answers ``qid``.
        sources: file name -> SHA-256 of the files it was read from.
        split: which side of a development split this is (set by :func:`~hybrid_plugin.data.split_items`;
            kept by :meth:`limit`, :meth:`subset` and :meth:`select_languages`), None for a whole collection.

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
    split: SplitInfo | None = None

    def __post_init__(self) -> None:
        self.check_names()
        self._by_docid: dict[str, Candidate] = {c.docid: c for pool in self.candidates.values() for c in pool}
        seen: dict[str, None] = {}
        for lang in self.languages:
            for qid in self.questions[lang]:
                seen.setdefault(qid)
        self.qids: tuple[str, ...] = tuple(seen)

    # -- checks --------------------------------------------------------------------------------------------
    def check_names(self) -> None:
        """Check the name, the languages and every question and candidate id (see :func:`check_name`)."""
        check_name(self.name, "dataset")
        for lang in self.languages:
            check_name(lang, "language")
            for qid in self.questions[lang]:
                check_name(qid, "qid", where=f"language {lang}")
            for cand in self.candidates[lang]:
                check_name(cand.docid, "docid", where=f"language {lang}")

    def require_languages(self, count: int, why: str) -> None:
        """Raise :class:`DataError` unless the collection has at least ``count`` languages (``why`` needs them).

        Example::

            qa.require_languages(2, "cross-lingual evaluation")
        """
        if len(self.languages) < count:
            have = ", ".join(self.languages) or "none"
            raise DataError(f"{why} needs at least {count} languages, but {self.name} has {len(self.languages)} "
                            f"({have})")

    def check_linked(self, path: str | Path | None = None) -> None:
        """Raise :class:`DataError` if some question id exists in one language only (ids must link languages).

        A collection of a single language has nothing to link and passes.
        """
        if len(self.languages) < 2:
            return
        for qid in self.qids:
            langs = self.item_languages(qid)
            if len(langs) < 2:
                raise DataError(f"question id {qid} occurs only in {langs[0]}; ids must link a question across at "
                                "least two languages (do the files' ids line up?)", path)

    # -- lookups -------------------------------------------------------------------------------------------
    def candidate(self, docid: str) -> Candidate:
        """The candidate with this docid."""
        return self._by_docid[docid]

    @property
    def query_only(self) -> tuple[str, ...]:
        """The languages without a pool (AfriQA's question languages): queried against other pools, never
        searched themselves -- no mono setting, no corpus, no qrels."""
        return tuple(lang for lang in self.languages if not self.candidates[lang])

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
        return self._restricted(name or self.name, languages, questions, candidates, relevant)

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
        return self._restricted(self.name, wanted, self.questions, self.candidates, self.relevant)

    def _restricted(self, name: str, languages: tuple[str, ...], questions: dict[str, dict[str, str]],
                    candidates: dict[str, list[Candidate]], relevant: dict[str, dict[str, str]]) -> ParallelQA:
        return ParallelQA(
            name=name,
            languages=languages,
            questions={lang: questions[lang] for lang in languages},
            candidates={lang: candidates[lang] for lang in languages},
            relevant={lang: relevant[lang] for lang in languages},
            sources=dict(self.sources),
            split=self.split,
        )
