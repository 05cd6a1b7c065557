"""Character-level perturbations: noise at a target character error rate (``typos``), casing loss
(``lowercase``) and punctuation loss (``punctuation``).

``typos`` is textnoisr's :class:`~textnoisr.noise.CharNoiseAugmenter` (BSD-2-Clause): it applies insert, swap,
substitute and delete with probabilities unbiased so that the *expected* character error rate (Levenshtein
distance / original length) equals the level, and draws new characters from a given set -- here the question's own
letters, so Thai noise stays Thai and Han noise stays Han, and a question's noise does not depend on the others. Its
generator is seeded from the question's own generator. Measured on XQuAD-R (150 questions per language), the mean
error rate is 0.90-1.08 × the level at 0.02-0.1 and 0.91-0.95 × at 0.3 (an edit applied over an earlier one can
cancel it; Levenshtein counts the cheaper path), so ``typos`` stops at 0.3.

``lowercase`` and ``punctuation`` touch a share of the cased words / punctuation characters, drawn without
replacement (:func:`~hybrid_plugin.perturb.kinds.count_for`: the expected share is exactly the level). Scripts
without case (Arabic, Devanagari, Thai, Han) are unchanged by ``lowercase``.
"""

from __future__ import annotations

import random
import string
import unicodedata
import warnings
from collections.abc import Sequence

from textnoisr.noise import CharNoiseAugmenter

from hybrid_plugin.perturb.kinds import count_for
from hybrid_plugin.perturb.segments import split_units

__all__ = ["character_noise", "drop_punctuation", "lowercase_words"]


def character_noise(text: str, level: float, rng: random.Random, letters: Sequence[str] = ()) -> str:
    """Insert / delete / substitute / swap characters of ``text`` at the expected character error rate ``level``.

    Args:
        text: the question.
        level: the target character error rate, in (0, 0.3].
        rng: the question's generator (:func:`~hybrid_plugin.perturb.kinds.query_rng`).
        letters: the characters insertions and substitutions draw from (default: the text's own letters; ASCII
            letters are added when fewer than two are given).

    Returns:
        str: the noisy text (possibly empty for a very short question; the caller checks).

    Example::

        character_noise("Who wrote Hamlet?", 0.1, random.Random(0))
    """
    pool = tuple(dict.fromkeys(letters or [ch for ch in text if ch.isalpha()]))
    if len(pool) < 2:
        pool = tuple(dict.fromkeys(pool + tuple(string.ascii_letters)))
    augmenter = CharNoiseAugmenter(noise_level=level, character_set=pool, seed=rng.getrandbits(64))
    with warnings.catch_warnings():
        # textnoisr's swap unbiasing solves for a probability per text length; for texts of one to three
        # characters scipy's fsolve warns that it is not converging (the probability it returns is still used)
        warnings.filterwarnings("ignore", "The iteration is not making good progress", RuntimeWarning)
        return augmenter.add_noise(text)


def lowercase_words(text: str, level: float, rng: random.Random) -> str:
    """Lowercase a share ``level`` of the words (units) that have upper-case letters.

    Example::

        lowercase_words("Who wrote Hamlet?", 1.0, random.Random(0))   # 'who wrote hamlet?'
    """
    units = list(split_units(text).units)
    cased = [i for i, u in enumerate(units) if u != u.lower()]
    for i in rng.sample(cased, count_for(level, len(cased), rng)):
        units[i] = units[i].lower()
    return "".join(units)


def drop_punctuation(text: str, level: float, rng: random.Random) -> str:
    """Remove a share ``level`` of the punctuation characters (Unicode categories P*: ``?``, ``¿``, ``؟``, ``।``,
    ``？``, quotes, ...).

    Example::

        drop_punctuation("¿Quién escribió «Hamlet»?", 1.0, random.Random(0))   # 'Quién escribió Hamlet'
    """
    marks = [i for i, ch in enumerate(text) if unicodedata.category(ch).startswith("P")]
    gone = set(rng.sample(marks, count_for(level, len(marks), rng)))
    return "".join(ch for i, ch in enumerate(text) if i not in gone)
