"""Script-level perturbations: diacritics stripping (``diacritics``) and romanisation (``romanize``).

What counts as a diacritic depends on the script (the marks that are letters are kept):

* **Latin, Greek, Cyrillic**: every combining mark after Unicode NFD (é→e, ệ→e, ü→u, ş→s, ά→α, й→и, ё→е), and
  the letters with a built-in stroke that NFD does not split: đ→d, ł→l, ø→o (Vietnamese đ). Letters of their own
  stay (ß, ı, æ).
* **Arabic**: the combining marks after NFD: harakat and tanwin, shadda, sukun, dagger alef, and hamza above /
  below a carrier (أ→ا, ؤ→و, ئ→ى) -- what informal Arabic leaves out.
* **Devanagari**: the nukta only (क़→क, ड़→ड). Vowel signs (matras), virama, anusvara and chandrabindu are parts
  of the spelling and stay.
* **Thai**: the tone marks (่ ้ ๊ ๋) and the thanthakhat (์, the silent-letter mark). Vowel signs above and below
  (ิ ี ุ ู ั ็) are vowels and stay.
* **Han**: none: the question is unchanged.

The level is the share of the characters carrying such a mark that lose it (drawn per question).

``romanize`` transliterates to ASCII with anyascii (ISC licence; Unidecode is GPL and cannot be a dependency of
this project): Cyrillic, Greek, Arabic, Devanagari and Thai by their standard romanisations, Han to pinyin
without tones (北京 → BeiJing), Latin by dropping its diacritics. The level is the share of the units romanised
(words; grapheme clusters in Thai and Han: :func:`~hybrid_plugin.perturb.segments.split_units`). A unit that
anyascii maps to nothing is kept as it was.
"""

from __future__ import annotations

import random
import unicodedata

from anyascii import anyascii

from hybrid_plugin.perturb.kinds import count_for
from hybrid_plugin.perturb.segments import char_script, is_mark, split_units

__all__ = ["romanize", "strip_diacritics", "stripped_char"]

_ALL_MARKS = frozenset({"LATIN", "GREEK", "CYRILLIC", "ARABIC"})
_STROKES = {"đ": "d", "Đ": "D", "ł": "l", "Ł": "L", "ø": "o", "Ø": "O"}
_KEPT_ONLY = {
    "DEVANAGARI": frozenset({"\u093c"}),  # nukta
    "THAI": frozenset({"\u0e48", "\u0e49", "\u0e4a", "\u0e4b", "\u0e4c"}),  # tone marks, thanthakhat
}


def stripped_char(char: str) -> str:
    """``char`` without its diacritics (see the table above); the character itself when it has none.

    Example::

        stripped_char("ệ"), stripped_char("\u0958"), stripped_char("\u0e48")   # ('e', 'क', '')
    """
    if char in _STROKES:
        return _STROKES[char]
    script = char_script(char)
    if script in _KEPT_ONLY:
        if char in _KEPT_ONLY[script]:
            return ""
        parts = unicodedata.normalize("NFD", char)
        return unicodedata.normalize("NFC", "".join(p for p in parts if p not in _KEPT_ONLY[script]))
    if script not in _ALL_MARKS:
        return char
    parts = unicodedata.normalize("NFD", char)
    return unicodedata.normalize("NFC", "".join(p for p in parts if not is_mark(p))) or char


def strip_diacritics(text: str, level: float, rng: random.Random) -> str:
    """Strip the diacritics of a share ``level`` of the characters that carry one.

    A lone combining mark (Thai tone marks, Arabic harakat, a decomposed accent) takes the script of its base.

    Example::

        strip_diacritics("Ai đã viết Hamlet?", 1.0, random.Random(0))   # 'Ai da viet Hamlet?'
    """
    chars = _with_marks_on_bases(unicodedata.normalize("NFC", text))
    marked = [i for i, ch in enumerate(chars) if _strip_cluster(ch) != ch]
    for i in rng.sample(marked, count_for(level, len(marked), rng)):
        chars[i] = _strip_cluster(chars[i])
    return "".join(chars)


def _with_marks_on_bases(text: str) -> list[str]:
    """Characters, each combining mark joined to the character before it."""
    chars: list[str] = []
    for ch in text:
        if chars and is_mark(ch):
            chars[-1] += ch
        else:
            chars.append(ch)
    return chars


def _strip_cluster(cluster: str) -> str:
    base = cluster[0]
    script = char_script(base)
    out = stripped_char(base)
    for mark in cluster[1:]:
        if script in _ALL_MARKS or (script in _KEPT_ONLY and mark in _KEPT_ONLY[script]):
            continue  # a diacritic of this script: dropped
        out += mark
    return out or cluster


def romanize(text: str, level: float, rng: random.Random) -> str:
    """Transliterate a share ``level`` of the units of ``text`` to ASCII (anyascii); ``level=1`` romanises all.

    Example::

        romanize("Кто написал «Гамлета»?", 1.0, random.Random(0))   # 'Kto napisal <<Gamleta>>?'
    """
    if level >= 1.0:
        return anyascii(text) or text
    units = split_units(text)
    pieces = list(units.units)
    for k in rng.sample(range(len(units.content)), count_for(level, len(units.content), rng)):
        i = units.content[k]
        pieces[i] = anyascii(pieces[i]) or pieces[i]
    return "".join(pieces)
