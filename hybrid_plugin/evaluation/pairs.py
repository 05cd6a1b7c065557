"""Which cross-lingual pairs ``X -> Y`` an evaluation scores: all of them, or a seeded sample.

A collection with ``L`` languages has ``L (L - 1)`` cross-lingual pairs: 132 for XQuAD-R, but 16,256 for
NTREX-128 (128 languages), each searched by ~2,000 queries -- too many to rank and measure in one evaluation.
:class:`PairChoice` ``sample:N[:SEED]`` keeps, of the cross-lingual grid,

* every ``X -> pivot`` and ``pivot -> X`` pair (the pivot is English, the language every NTREX-128 sentence was
  translated from), and
* ``N`` of the other pairs ``X -> Y`` (neither the pivot), drawn uniformly without replacement with ``SEED``
  (default 0) from the grid sorted by language code, so the draw does not depend on the order languages are given
  in; ``N`` at least the number of such pairs keeps them all.

The mono settings (``X -> X``) and the multilingual pool (every query against all candidates, with its language
bias) are always scored. ``all`` (the default) scores the whole grid.

What does *not* live here: the ranking (:mod:`~hybrid_plugin.evaluation.scoring`, which ranks only the pools
chosen), the ``--pairs`` option (:mod:`hybrid_plugin.cli.evaluate`).

Example::

    >>> choice = PairChoice.parse("sample:2:7")
    >>> chosen = choice.select(["en", "de", "fr", "yo"])
    >>> sorted(p for p in chosen if "en" not in p), choice.spec
    ([('fr', 'yo'), ('yo', 'de')], 'sample:2:7')
    >>> len(chosen), PairChoice.parse("all").select(["en", "de"]) is None
    (8, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np

from hybrid_plugin.errors import UsageError

__all__ = ["PAIR_MODES", "PIVOT", "PairChoice", "PairMode"]

PairMode = Literal["all", "sample"]
PAIR_MODES: tuple[str, ...] = get_args(PairMode)
PIVOT = "en"
"""The pivot language whose pairs with every language a sample keeps."""
_SYNTAX = "'all' or 'sample:N[:SEED]' (N pairs besides X->en and en->X, e.g. sample:200 or sample:200:1)"


def _count(value: Any, what: str, *, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise UsageError(f"--pairs {what} must be an integer of at least {low} but got {value!r} (expected {_SYNTAX})")
    return value


@dataclass(frozen=True)
class PairChoice:
    """Which cross-lingual pairs an evaluation scores, checked when made.

    Args:
        mode (str, default "all"): ``"all"`` or ``"sample"``.
        count (int, default 0): with ``sample``, the pairs drawn besides the pivot's (at least 1).
        seed (int, default 0): the draw's seed.
        pivot (str, default "en"): the language whose pairs with every other are always kept.

    Raises:
        UsageError: an unknown mode, a count or seed that is not a non-negative integer, a count with ``all``.
    """

    mode: PairMode = "all"
    count: int = 0
    seed: int = 0
    pivot: str = PIVOT

    def __post_init__(self) -> None:
        if self.mode not in PAIR_MODES:
            raise UsageError(f"--pairs must be {_SYNTAX} but got mode {self.mode!r}")
        _count(self.seed, "SEED", low=0)
        if self.mode == "sample":
            _count(self.count, "N", low=1)
        elif self.count or self.seed:
            raise UsageError(f"--pairs all takes no N or SEED (expected {_SYNTAX})")
        if not isinstance(self.pivot, str) or not self.pivot:
            raise UsageError(f"the pivot language must be a language code but got {self.pivot!r}")

    @classmethod
    def parse(cls, text: str | PairChoice | None) -> PairChoice:
        """``"all"``, ``"sample:N"`` or ``"sample:N:SEED"`` (a :class:`PairChoice` or None passes through / is
        ``all``); :class:`UsageError` naming the text otherwise."""
        if text is None:
            return cls()
        if isinstance(text, PairChoice):
            return text
        if not isinstance(text, str):
            raise UsageError(f"--pairs must be {_SYNTAX} but got {text!r}")
        parts = text.strip().split(":")
        if parts == ["all"]:
            return cls()
        if parts[0] != "sample" or len(parts) not in (2, 3) or not all(p.isdigit() for p in parts[1:]):
            raise UsageError(f"--pairs must be {_SYNTAX} but got {text!r}")
        return cls("sample", int(parts[1]), int(parts[2]) if len(parts) == 3 else 0)

    @property
    def spec(self) -> str:
        """The option's text: ``all`` or ``sample:N:SEED``."""
        return "all" if self.mode == "all" else f"sample:{self.count}:{self.seed}"

    def record(self) -> dict[str, Any]:
        """What ``results.settings`` says (nothing for ``all``, the default, so earlier records stay equal)."""
        if self.mode == "all":
            return {}
        return {"pairs": {"spec": self.spec, "pivot": self.pivot, "sampled": self.count, "seed": self.seed}}

    def select(self, languages: Sequence[str]) -> frozenset[tuple[str, str]] | None:
        """The cross-lingual pairs ``(X, Y)`` scored among ``languages`` (None: all of them).

        The pivot's pairs (when the pivot is among ``languages``) and ``count`` of the others, drawn with
        ``seed`` from the sorted grid.
        """
        if self.mode == "all":
            return None
        langs = sorted(dict.fromkeys(languages))
        chosen = {(x, y) for x in langs for y in langs if x != y and self.pivot in (x, y)}
        others = [(x, y) for x in langs for y in langs if x != y and self.pivot not in (x, y)]
        if self.count >= len(others):
            return frozenset(chosen.union(others))
        picked = np.random.default_rng(self.seed).choice(len(others), size=self.count, replace=False)
        return frozenset(chosen.union(others[i] for i in sorted(picked.tolist())))
