"""Keyboard-neighbour typos (``keyboard``): a key replaced by one next to it on the language's layout.

Layouts (the letter rows, unshifted, as the national standards print them): QWERTY for English and Vietnamese
(Telex input types Vietnamese on it), QWERTZ for German, the Spanish layout, Turkish Q, Russian ЙЦУКЕН and Greek.
Two letter keys are neighbours when they sit side by side in a row or touch across adjacent rows (each row is
shifted right of the one above: ``w`` touches ``2 3`` above and ``a s`` below); digits and symbols are never
typed in place of a letter. An upper-case letter is replaced by the upper-case
neighbour.

Where no layout is defined here (Arabic, Hindi, Thai, Chinese -- the last typed through a pinyin input method,
where a typo is in the romanisation, not the character) and for characters not on the layout (digits, accented
letters typed with dead keys), the substitution falls back to another letter of the same question (so of the same
script). No maintained library covers these layouts with a seedable
generator (nlpaug's ``KeyboardAug`` draws from Python's global ``random`` and ships a few layouts as JSON), so the
rows are written out here.

The number of substitutions is drawn so that the expected character error rate equals the level exactly
(:func:`~hybrid_plugin.perturb.kinds.count_for` over the characters that are not whitespace, positions without
replacement); each substitution is one Levenshtein edit. Whitespace is never replaced, so the rate cannot pass
the share of other characters (about 0.83 in XQuAD-R): levels go up to 0.5.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from hybrid_plugin.perturb.kinds import count_for

__all__ = ["LAYOUTS", "keyboard_typos", "neighbour_key", "neighbours"]

LAYOUTS: dict[str, tuple[str, ...]] = {
    "en": ("1234567890-=", "qwertyuiop[]", "asdfghjkl;'", "zxcvbnm,./"),
    "vi": ("1234567890-=", "qwertyuiop[]", "asdfghjkl;'", "zxcvbnm,./"),
    "de": ("1234567890ß´", "qwertzuiopü+", "asdfghjklöä#", "yxcvbnm,.-"),
    "es": ("1234567890'¡", "qwertyuiop`+", "asdfghjklñ´ç", "zxcvbnm,.-"),
    "tr": ("1234567890*-", "qwertyuıopğü", "asdfghjklşi,", "zxcvbnmöç."),
    "ru": ("1234567890-=", "йцукенгшщзхъ", "фывапролджэ", "ячсмитьбю."),
    "el": ("1234567890-=", ";ςερτυθιοπ[]", "ασδφγηξκλ΄'", "ζχψωβνμ,./"),
}
"""Letter rows per language (``vi`` types on QWERTY); languages not here fall back to same-script letters."""

_NEIGHBOURS: dict[str, dict[str, tuple[str, ...]]] = {}


def neighbours(language: str) -> dict[str, tuple[str, ...]]:
    """The keys next to each key of ``language``'s layout (empty for a language without one).

    Example::

        neighbours("de")["z"]   # ('t', 'u', 'g', 'h') -- QWERTZ
    """
    if language not in LAYOUTS:
        return {}
    if language not in _NEIGHBOURS:
        rows = LAYOUTS[language]
        table: dict[str, tuple[str, ...]] = {}
        for r, row in enumerate(rows):
            for c, key in enumerate(row):
                near = [row[j] for j in (c - 1, c + 1) if 0 <= j < len(row)]
                for other, columns in ((r - 1, (c, c + 1)), (r + 1, (c - 1, c))):  # rows are staggered
                    if 0 <= other < len(rows):
                        near += [rows[other][j] for j in columns if 0 <= j < len(rows[other])]
                table[key] = tuple(dict.fromkeys(k for k in near if k != key and k.isalpha()))
        _NEIGHBOURS[language] = table
    return _NEIGHBOURS[language]


def neighbour_key(char: str, table: dict[str, tuple[str, ...]], letters: Sequence[str], rng: random.Random) -> str:
    """A typo for ``char``: a neighbouring key of ``table`` (:func:`neighbours`; upper case kept), else another of
    ``letters``, else ``char`` itself.

    Example::

        neighbour_key("Z", neighbours("de"), (), random.Random(0))   # one of 'T', 'U', 'G', 'H'
    """
    lower = char.lower()
    near = table.get(lower, ())
    if near:
        choice = rng.choice(near)
        return choice.upper() if char != lower and len(choice.upper()) == 1 else choice
    others = [ch for ch in letters if ch != char]
    return rng.choice(others) if others else char


def keyboard_typos(text: str, level: float, rng: random.Random, *, language: str,
                   letters: Sequence[str] = ()) -> str:
    """Replace characters of ``text`` by keyboard neighbours (or same-script letters) at the expected character
    error rate ``level``.

    Args:
        text: the question.
        level: the expected character error rate, in (0, 0.5].
        rng: the question's generator.
        language: picks the layout (:data:`LAYOUTS`).
        letters: the letters a fallback substitution draws from (default: the question's own).

    Example::

        keyboard_typos("Wer schrieb Hamlet?", 0.1, random.Random(0), language="de")
    """
    table = neighbours(language)
    pool = list(letters) or sorted({ch for ch in text if ch.isalpha()})
    # substitutions land on keys first (typed text), then on other non-space characters
    positions = [i for i, ch in enumerate(text) if not ch.isspace()]
    wanted = count_for(level * len(text) / max(len(positions), 1), len(positions), rng) if positions else 0
    chars = list(text)
    for i in rng.sample(positions, wanted):
        chars[i] = neighbour_key(text[i], table, pool, rng)
    return "".join(chars)
