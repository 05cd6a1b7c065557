"""The Tatoeba reader: LASER's test set of up to 1,000 sentence pairs with English for each of 112 languages.

The folder (``data/tatoeba/v1`` of facebookresearch/LASER, see :mod:`hybrid_plugin.data.registry`) holds, for
each language (Tatoeba's ISO 639-3 codes: ``deu``, ``cmn``, ``swh``), ``tatoeba.<code>-eng.<code>`` and
``tatoeba.<code>-eng.eng``: line ``n`` of one is the translation of line ``n`` of the other. The English sides
differ from language to language, so the set is 112 bitexts, not one parallel collection:

* :class:`Bitext` -- one language's aligned pairs (the plugin's code, :mod:`hybrid_plugin.data.languages`);
* :class:`TatoebaSet` -- all of them, with :meth:`TatoebaSet.pair`: one language and English as a two-language
  :class:`~hybrid_plugin.data.collection.ParallelQA` (named ``tatoeba-<lang>``), and :meth:`TatoebaSet.pool`:
  several languages around one deduplicated English pool (named ``tatoeba-pool``).

How :meth:`TatoebaSet.pair` maps a bitext: **item** = a pair, question id ``"<n>"`` (its line number); the
**questions** of ``<lang>`` and ``en`` are the two sides; each side's **pool** is its sentences (one paragraph
per line, docid ``<lang>-<n-1>-0``; equal sentences in a side are one candidate, relevant to both items -- the
published files have none); the **relevant candidate** of an item is its own sentence on that side. So the
cross settings ``<lang>->en`` and ``en-><lang>`` are LASER's xx->eng and eng->xx similarity search: R@1 is its
accuracy (1 - error rate, nearest neighbour by cosine as in Artetxe & Schwenk 2019), AP the mAP; the mono settings
are trivial. All 112 languages are 112 such collections (their English pools differ, so no multilingual pool).

How :meth:`TatoebaSet.pool` maps several bitexts: **item** = one distinct English sentence of the chosen
languages' English sides, question id :func:`english_item_id` (the first 16 hex digits of the SHA-256 of its
text, so an item keeps its id whichever languages are chosen; two sentences with one id raise
:class:`~hybrid_plugin.errors.DataError`); languages ``en`` first, then the chosen ones, and items in id order (a
fixed shuffle: the first ``n`` items mix the languages). The **questions** of ``en`` are the English sentences;
those of language X are X's sentences, each under the item of its English translation. An item lacks the
languages whose bitext does not hold its English sentence (as an MLQA-R item lacks some languages: no question
and no relevant candidate there; every item has ``en`` and at least one other language). If one English sentence
is paired with several X sentences, the first (in file order) is X's question of that item and the others are
left out (the published files have no such case: each English side is distinct). **Pools**: ``en`` = the
distinct English sentences (docid ``en-<item>``), X = X's kept sentences (docid ``X-<item>`` of its first item;
equal sentences are one candidate, relevant to each of their items, as in :meth:`TatoebaSet.pair`); each
candidate is a paragraph of its own, numbered in item order. X -> en then searches one English pool for the
queries of every language: the union is larger, and so harder, than any one bitext's English side.

Errors: a missing file, sides of different lengths (a line without its translation), an empty line or bytes that
are not UTF-8 raise :class:`~hybrid_plugin.errors.DataError` naming the file and line.

Example::

    tatoeba = read_tatoeba_folder("../shared/data/tatoeba", ["de", "sw"])
    len(tatoeba["sw"]), tatoeba["de"].english[0]       # (390, '...')
    qa = tatoeba.pair("sw")                             # languages ('sw', 'en'), 390 items
    pool = tatoeba.pool(["de", "sw"])                   # languages ('en', 'de', 'sw'), one item per English
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from hybrid_plugin.data.collection import Candidate, ParallelQA, check_name, read_text_lines
from hybrid_plugin.data.languages import check_chosen_languages, dataset_code, dataset_languages
from hybrid_plugin.errors import DataError, UsageError
from hybrid_plugin.files import sha256_file

__all__ = ["TATOEBA_NAME", "TATOEBA_POOL", "Bitext", "TatoebaSet", "english_item_id", "read_tatoeba_folder",
           "tatoeba_files"]

TATOEBA_NAME = "tatoeba"
"""The set's name (and its key in the registry)."""

TATOEBA_POOL = f"{TATOEBA_NAME}-pool"
"""The name of :meth:`TatoebaSet.pool`'s collection: several languages, one English pool."""


def english_item_id(english: str) -> str:
    """The item id of an English sentence in :meth:`TatoebaSet.pool`: the first 16 hex digits of its SHA-256.

    Example::

        >>> english_item_id("I am tired.")
        'f405fc9a481225d9'
    """
    return hashlib.sha256(english.encode("utf-8")).hexdigest()[:16]


def tatoeba_files(language: str) -> tuple[str, str]:
    """The two files of a language (the plugin's code): its side and the English side.

    Example::

        >>> tatoeba_files("zh")
        ('tatoeba.cmn-eng.cmn', 'tatoeba.cmn-eng.eng')
    """
    own = dataset_code(language, TATOEBA_NAME)
    if own == "eng":
        raise UsageError("tatoeba pairs every language with English; en has no bitext of its own")
    return f"tatoeba.{own}-eng.{own}", f"tatoeba.{own}-eng.eng"


@dataclass(frozen=True)
class Bitext:
    """One language's sentences and their English translations, aligned line by line.

    Args:
        language: the plugin's code (``"de"``).
        sentences: the sentences in ``language``.
        english: ``english[i]`` translates ``sentences[i]``.

    Example::

        >>> Bitext("de", ("Ich bin müde.",), ("I am tired.",)).pairs()[0]
        ('Ich bin müde.', 'I am tired.')
    """

    language: str
    sentences: tuple[str, ...]
    english: tuple[str, ...]

    def __post_init__(self) -> None:
        check_name(self.language, "language")
        if self.language == "en":
            raise DataError("a bitext pairs a language with English; its language cannot be en")
        if len(self.sentences) != len(self.english):
            raise DataError(f"{self.language}: {len(self.sentences)} sentences but {len(self.english)} English "
                            "translations")
        if not self.sentences:
            raise DataError(f"{self.language}: the bitext has no pairs")

    def __len__(self) -> int:
        return len(self.sentences)

    def pairs(self) -> list[tuple[str, str]]:
        """``(sentence, English)`` pairs in file order."""
        return list(zip(self.sentences, self.english))


@dataclass
class TatoebaSet:
    """The Tatoeba test set: one :class:`Bitext` per language.

    Args:
        bitexts: language -> its bitext, in a fixed order.
        sources: file name -> SHA-256 of the files read.
    """

    bitexts: dict[str, Bitext]
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages paired with English (``en`` itself is not one)."""
        return tuple(self.bitexts)

    def __getitem__(self, language: str) -> Bitext:
        if language not in self.bitexts:
            raise UsageError(f"tatoeba has no language {language!r} here; it has {', '.join(self.bitexts)}")
        return self.bitexts[language]

    def __iter__(self) -> Iterator[Bitext]:
        return iter(self.bitexts.values())

    def num_pairs(self) -> int:
        """Pairs summed over languages."""
        return sum(len(b) for b in self.bitexts.values())

    def pair(self, language: str) -> ParallelQA:
        """One language and English as a two-language collection ``tatoeba-<language>`` (module docstring).

        Example::

            qa = tatoeba.pair("de")
            qa.languages, qa.positive("1", "en").text      # (('de', 'en'), 'I am tired.' ...)
        """
        bitext = self[language]
        qids = [str(n) for n in range(1, len(bitext) + 1)]
        questions, candidates, relevant = {}, {}, {}
        for lang, side in ((language, bitext.sentences), ("en", bitext.english)):
            questions[lang] = dict(zip(qids, side))
            candidates[lang], relevant[lang] = _side_pool(lang, side, qids)
        files = tatoeba_files(language)
        sources = {f: self.sources[f] for f in files if f in self.sources}
        return ParallelQA(f"{TATOEBA_NAME}-{language}", (language, "en"), questions, candidates, relevant, sources)

    def pool(self, languages: Iterable[str] | None = None) -> ParallelQA:
        """Several languages around one deduplicated English pool, ``tatoeba-pool`` (the mapping is in the
        module docstring: an item per distinct English sentence, id :func:`english_item_id`).

        Args:
            languages: the languages paired with English (default: every language of the set), in this order
                after ``en``.

        Returns:
            ParallelQA: languages ``("en", *languages)``; items in id order.

        Raises:
            UsageError: a language the set does not hold, ``en``, or none. DataError: two English sentences
            whose ids collide.

        Example::

            qa = tatoeba.pool(["de", "sw"])
            qa.languages, qa.positive(english_item_id("I am tired."), "en").text   # (('en', 'de', 'sw'), ...)
        """
        chosen = tuple(self.languages if languages is None else dict.fromkeys(languages))
        if not chosen or "en" in chosen:
            raise UsageError(f"{TATOEBA_POOL} takes the languages paired with English (en is its pool), got "
                             f"{', '.join(chosen) or 'none'}")
        english: dict[str, str] = {}
        own: dict[str, dict[str, str]] = {}
        for lang in chosen:
            kept = own[lang] = {}
            for sentence, eng in self[lang].pairs():
                qid = english_item_id(eng)
                if english.setdefault(qid, eng) != eng:
                    raise DataError(f"two English sentences share the item id {qid}: {english[qid]!r}, {eng!r}",
                                    tatoeba_files(lang)[1])
                kept.setdefault(qid, sentence)  # the first X sentence of an English sentence
        qids = sorted(english)
        paragraph = {qid: i for i, qid in enumerate(qids)}
        questions = {"en": {qid: english[qid] for qid in qids}}
        candidates = {"en": [Candidate(f"en-{qid}", english[qid], "en", paragraph[qid], 0) for qid in qids]}
        relevant = {"en": {qid: f"en-{qid}" for qid in qids}}
        for lang in chosen:
            questions[lang] = {qid: own[lang][qid] for qid in qids if qid in own[lang]}
            candidates[lang], relevant[lang] = _pool_side(lang, questions[lang], paragraph)
        sources = {f: self.sources[f] for lang in chosen for f in tatoeba_files(lang) if f in self.sources}
        return ParallelQA(TATOEBA_POOL, ("en", *chosen), questions, candidates, relevant, sources)


def _pool_side(lang: str, questions: dict[str, str], paragraph: dict[str, int]
               ) -> tuple[list[Candidate], dict[str, str]]:
    """One language's pool in :meth:`TatoebaSet.pool`: its questions, equal sentences as one candidate."""
    candidates: list[Candidate] = []
    relevant: dict[str, str] = {}
    docid_of: dict[str, str] = {}
    for qid, text in questions.items():
        docid = docid_of.get(text)
        if docid is None:
            docid = docid_of[text] = f"{lang}-{qid}"
            candidates.append(Candidate(docid, text, lang, paragraph[qid], 0))
        relevant[qid] = docid
    return candidates, relevant


def _side_pool(lang: str, sentences: tuple[str, ...], qids: list[str]) -> tuple[list[Candidate], dict[str, str]]:
    candidates: list[Candidate] = []
    relevant: dict[str, str] = {}
    docid_of: dict[str, str] = {}
    for i, (qid, text) in enumerate(zip(qids, sentences)):
        docid = docid_of.get(text)
        if docid is None:
            docid = docid_of[text] = f"{lang}-{i}-0"
            candidates.append(Candidate(docid, text, lang, i, 0))
        relevant[qid] = docid
    return candidates, relevant


def _read_side(path: Path) -> tuple[str, ...]:
    lines = []
    for line_no, line in read_text_lines(path):
        text = line.rstrip("\n")
        if not text.strip():
            raise DataError("empty sentence (every line is one sentence, aligned with the other side)", path,
                            f"line {line_no}")
        lines.append(text)
    return tuple(lines)


def _read_bitext(folder: Path, language: str, sources: dict[str, str]) -> Bitext:
    sides = []
    for file in tatoeba_files(language):
        path = folder / file
        if not path.is_file():
            raise DataError(f"missing {file} (is this LASER's data/tatoeba/v1?)", folder)
        sides.append(_read_side(path))
        sources[file] = sha256_file(path)
    own, eng = sides
    if len(own) != len(eng):
        short = tatoeba_files(language)[len(own) > len(eng)]
        raise DataError(f"has {min(len(own), len(eng))} lines but its other side has {max(len(own), len(eng))} "
                        f"(line {min(len(own), len(eng)) + 1} has no translation)", folder / short)
    return Bitext(language, own, eng)


def read_tatoeba_folder(folder: str | Path, languages: Iterable[str] | None = None) -> TatoebaSet:
    """Read the Tatoeba test set (the layout is in the module docstring).

    Args:
        folder: the folder holding the ``tatoeba.<code>-eng.*`` files.
        languages: the plugin's codes to read, in this order (default: all 112, in Tatoeba's code order).

    Returns:
        TatoebaSet: one bitext per language.

    Raises:
        UsageError: a language Tatoeba does not have. DataError: a missing or malformed file.

    Example::

        tatoeba = read_tatoeba_folder("../shared/data/tatoeba")
        len(tatoeba.languages), tatoeba.num_pairs()      # (112, 88877)
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError("no such folder", folder)
    available = [lang for lang in dataset_languages(TATOEBA_NAME) if lang != "en"]
    if languages is None:
        langs = sorted(available, key=lambda lang: dataset_code(lang, TATOEBA_NAME))
    else:
        langs = list(check_chosen_languages("tatoeba", available, languages))
    sources: dict[str, str] = {}
    bitexts = {lang: _read_bitext(folder, lang, sources) for lang in langs}
    return TatoebaSet(bitexts, sources)
