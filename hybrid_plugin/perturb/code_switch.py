"""Code-switching (``codeswitch``): a span of the question replaced by the corresponding words of the *same
question in another language* (the parallel question of the same item, ``ParallelQA.questions[donor][qid]``).

How a span is chosen: the question is cut into units (words; grapheme clusters in Thai and Han, see
:func:`~hybrid_plugin.perturb.segments.split_units`); a contiguous span of ``n`` units (``n`` drawn with expected
value ``level × units``, at least one) starts at a random unit. The corresponding span of the donor question is
found by **relative position** (a monotone, length-proportional alignment: units ``[s, s+n)`` of ``N`` map to
donor units ``[round(s·M/N), round((s+n)·M/N))`` of ``M``, at least one) -- a documented approximation of a word
alignment that needs no aligner model and keeps the result a mix of exactly two parallel questions. At level 1
the whole question is the donor question (a cross-lingual query).

Every unit of the result is either a unit of the original question, in order, or a unit of the donor question,
in order (:class:`CodeSwitch` says which span came from where); a space separates the donor span from its
neighbours unless both languages are unsegmented (and even then where two words of spaced scripts would merge).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from hybrid_plugin.perturb.kinds import count_for
from hybrid_plugin.perturb.segments import UNSEGMENTED_SCRIPTS, char_script, split_units, text_script

__all__ = ["CodeSwitch", "code_switch"]


@dataclass(frozen=True)
class CodeSwitch:
    """One code-switched question: its text, the counted units of the original that were replaced
    (``replaced = (first, count)``) and the counted units of the donor that replaced them (``taken``)."""

    text: str
    replaced: tuple[int, int]
    taken: tuple[int, int]


def code_switch(text: str, donor: str, level: float, rng: random.Random) -> CodeSwitch:
    """Replace a share ``level`` of ``text``'s units (one contiguous span) by the corresponding span of ``donor``.

    Args:
        text: the question.
        donor: the same question in another language.
        level: the share of units replaced, in (0, 1].
        rng: the question's generator.

    Returns:
        CodeSwitch: the text and the spans; the original text when either question has no units.

    Example::

        code_switch("Who wrote the play Hamlet?", "Wer schrieb das Stück Hamlet?", 0.4, random.Random(0)).text
    """
    source, other = split_units(text), split_units(donor)
    total, available = len(source.content), len(other.content)
    if not total or not available:
        return CodeSwitch(text, (0, 0), (0, 0))
    count = max(1, count_for(level, total, rng))
    first = rng.randrange(total - count + 1)
    start = min(round(first * available / total), available - 1)
    end = max(start + 1, min(available, round((first + count) * available / total)))
    lo, hi = source.span(first, count)
    d_lo, d_hi = other.span(start, end - start)
    inserted = "".join(other.units[d_lo:d_hi])
    spaced = not (text_script(text) in UNSEGMENTED_SCRIPTS and text_script(donor) in UNSEGMENTED_SCRIPTS)
    left, right = "".join(source.units[:lo]), "".join(source.units[hi:])
    return CodeSwitch(_glue(_glue(left, inserted, spaced), right, spaced), (first, count), (start, end - start))


def _glue(a: str, b: str, spaced: bool) -> str:
    """``a + b``, with a space between them where one belongs: always between a spaced language's words, and
    between two characters of spaced scripts that would otherwise merge into one word (``Super`` + ``？``)."""
    if not a or not b or a[-1].isspace() or b[0].isspace():
        return a + b
    merges = char_script(a[-1]) not in UNSEGMENTED_SCRIPTS and char_script(b[0]) not in UNSEGMENTED_SCRIPTS
    return f"{a} {b}" if spaced or merges else a + b
