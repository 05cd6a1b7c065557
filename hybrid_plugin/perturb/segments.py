"""Scripts and units of text: which script a character or question is written in, and how a question is cut
into the units that ``romanize`` and ``codeswitch`` count.

* The script of a character is the first word of its Unicode name (``LATIN``, ``CYRILLIC``, ``GREEK``,
  ``ARABIC``, ``DEVANAGARI``, ``THAI``; ``CJK`` for Han ideographs); combining marks take the script of the letter
  they sit on. The script of a text is the most frequent script among its letters.
* Units: runs of non-space characters (words) in scripts that separate words by spaces; **grapheme clusters**
  (a base character with the combining marks that follow it) in the unsegmented scripts, Thai and Han (and kana),
  so a Latin name inside a Chinese question stays one unit. A cluster never splits a Thai vowel or tone mark from
  its consonant, so every unit is well-formed text. This is a documented stand-in for a word segmenter
  (PyThaiNLP, jieba): the share is a share of characters there. Whitespace is kept as units that do not count,
  so joining the units gives the text back.
* :func:`alphabet` -- the letters a language writes, read off its own questions: what substitutions and
  insertions draw from, so noise stays in the question's script.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["UNSEGMENTED_SCRIPTS", "Units", "alphabet", "char_script", "is_mark", "split_units", "text_script"]

UNSEGMENTED_SCRIPTS = frozenset({"THAI", "CJK", "HIRAGANA", "KATAKANA", "LAO", "KHMER", "MYANMAR", "TIBETAN"})
"""Scripts written without spaces between words: their units are grapheme clusters."""


def char_script(char: str) -> str:
    """The script of one character: the first word of its Unicode name (``"LATIN"``, ``"THAI"``, ``"CJK"``);
    ``""`` for a character without a name."""
    return unicodedata.name(char, "").split(" ", 1)[0]


def text_script(text: str) -> str:
    """The most frequent script among the letters of ``text`` (``""`` when it has none)."""
    counts = Counter(char_script(ch) for ch in text if ch.isalpha())
    return counts.most_common(1)[0][0] if counts else ""


def is_mark(char: str) -> bool:
    """A combining mark (Unicode categories Mn, Mc, Me)."""
    return unicodedata.category(char).startswith("M")


def _tokens(text: str) -> list[str]:
    """Whitespace runs, grapheme clusters of unsegmented scripts, and the runs of other characters between them."""
    tokens: list[str] = []
    kind = ""  # the kind of the last token: "space", "cluster" or "word"
    for ch in text:
        if ch.isspace():
            now = "space"
        elif is_mark(ch) and tokens:
            tokens[-1] += ch  # a mark stays on its base
            continue
        else:
            now = "cluster" if char_script(ch) in UNSEGMENTED_SCRIPTS else "word"
        if tokens and now == kind and now != "cluster":
            tokens[-1] += ch
        else:
            tokens.append(ch)
        kind = now
    return tokens


@dataclass(frozen=True)
class Units:
    """A question cut into units (whitespace runs kept as units of their own, so ``"".join(units)`` is the text)
    and the positions of the units that count (every unit but whitespace)."""

    units: tuple[str, ...]
    content: tuple[int, ...]

    @property
    def words(self) -> list[str]:
        """The units that count, in order."""
        return [self.units[i] for i in self.content]

    def span(self, first: int, count: int) -> tuple[int, int]:
        """The unit positions ``[start, end)`` of ``count`` counted units from the ``first`` one (the whitespace
        between them included)."""
        return self.content[first], self.content[first + count - 1] + 1


def split_units(text: str) -> Units:
    """Cut ``text`` into words (runs of non-space characters), grapheme clusters (in an unsegmented script) and
    the whitespace between them.

    Example::

        split_units("Who wrote it?").words   # ['Who', 'wrote', 'it?']
        split_units("谁写的？").words          # ['谁', '写', '的', '？']
    """
    units = tuple(_tokens(text))
    return Units(units, tuple(i for i, u in enumerate(units) if not u.isspace()))


def alphabet(texts: Iterable[str]) -> tuple[str, ...]:
    """The distinct letters and combining marks of ``texts``, sorted (what noise draws new characters from).

    Example::

        alphabet(["Wer?", "Wo"])   # ('W', 'e', 'o', 'r')
    """
    return tuple(sorted({ch for text in texts for ch in text if ch.isalpha() or is_mark(ch)}))
