"""One question perturbed: :func:`perturb_text` dispatches a :class:`~hybrid_plugin.perturb.kinds.Perturbation` to
the module of its kind, and never returns an empty question.

A perturbation that leaves nothing but whitespace (deleting every character of a two-letter question, removing
the only punctuation of "?") is drawn again from the next generator of the same question (up to
:data:`RETRIES` times); if every draw is empty, the question is kept unperturbed (and counted as such by the
collection's report).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from hybrid_plugin.errors import UsageError
from hybrid_plugin.perturb.characters import character_noise, drop_punctuation, lowercase_words
from hybrid_plugin.perturb.code_switch import code_switch
from hybrid_plugin.perturb.keyboards import keyboard_typos
from hybrid_plugin.perturb.kinds import Perturbation, query_rng
from hybrid_plugin.perturb.scripts import romanize, strip_diacritics

__all__ = ["RETRIES", "perturb_text"]

RETRIES = 10
"""Draws tried before an empty result gives way to the original question."""


def _once(text: str, perturbation: Perturbation, rng: random.Random, language: str, letters: Sequence[str],
          donor_text: str | None) -> str:
    kind, level = perturbation.kind, perturbation.level
    if kind == "typos":
        return character_noise(text, level, rng, letters)
    if kind == "keyboard":
        return keyboard_typos(text, level, rng, language=language, letters=letters)
    if kind == "lowercase":
        return lowercase_words(text, level, rng)
    if kind == "punctuation":
        return drop_punctuation(text, level, rng)
    if kind == "diacritics":
        return strip_diacritics(text, level, rng)
    if kind == "romanize":
        return romanize(text, level, rng)
    if donor_text is None:
        raise UsageError("codeswitch needs the parallel question (donor_text) of another language")
    return code_switch(text, donor_text, level, rng).text


def perturb_text(text: str, perturbation: Perturbation, *, language: str, key: str = "",
                 letters: Sequence[str] = (), donor_text: str | None = None) -> str:
    """Perturb one question, deterministically for (settings, language, key).

    Args:
        text: the question.
        perturbation: the settings.
        language: the question's language (picks the keyboard layout; part of the seed).
        key: the question's id (part of the seed, so a question's perturbation does not depend on the others).
        letters: the letters substitutions and insertions draw from (default: the question's own).
        donor_text: ``codeswitch`` only: the same question in another language.

    Returns:
        str: the perturbed question, never empty or only whitespace (for a non-empty ``text``).

    Raises:
        UsageError: ``codeswitch`` without ``donor_text``.

    Example::

        perturb_text("Who wrote Hamlet?", Perturbation("keyboard", 0.1), language="en", key="q1")
    """
    for attempt in range(RETRIES):
        rng = query_rng(perturbation, language, key if not attempt else f"{key}#{attempt}")
        result = _once(text, perturbation, rng, language, letters, donor_text)
        if result.strip():
            return result
    return text
