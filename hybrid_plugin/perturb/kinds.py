"""The perturbation kinds and their typed settings: :class:`Perturbation`, parsed from ``KIND:LEVEL``.

What lives here: the registry of kinds (:data:`KINDS`: what each does and the levels it takes), the settings
record (checked once, when made) and the one way a per-query random generator is seeded (:func:`query_rng`), so
a question's perturbation depends on the seed, the kind, its language and its id only -- never on which other
questions are in the collection.

What does not: the perturbations themselves (:mod:`~hybrid_plugin.perturb.characters`,
:mod:`~hybrid_plugin.perturb.keyboards`, :mod:`~hybrid_plugin.perturb.scripts`,
:mod:`~hybrid_plugin.perturb.code_switch`), the adversarial attack (:mod:`~hybrid_plugin.perturb.attack`,
which needs a model and has its own settings).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, Literal, get_args

from hybrid_plugin.data.collection import check_name
from hybrid_plugin.errors import DataError, UsageError

__all__ = ["KINDS", "Kind", "KindInfo", "Perturbation", "count_for", "parse_perturbation", "query_rng"]

Kind = Literal["typos", "keyboard", "lowercase", "punctuation", "diacritics", "romanize", "codeswitch"]


@dataclass(frozen=True)
class KindInfo:
    """What a kind does, what its level means, and the largest level it takes."""

    summary: str
    level: str
    max_level: float = 1.0


KINDS: dict[str, KindInfo] = {
    "typos": KindInfo("character noise: insert / delete / substitute / swap (textnoisr), new characters drawn from "
                      "the language's own alphabet", "target character error rate", 0.3),
    "keyboard": KindInfo("keyboard-neighbour substitutions where a layout exists (QWERTY, QWERTZ, Spanish, Turkish "
                         "Q, Russian ЙЦУКЕН, Greek), same-script substitutions elsewhere",
                         "target character error rate", 0.5),
    "lowercase": KindInfo("casing loss: cased words lowercased", "share of the cased words lowercased"),
    "punctuation": KindInfo("punctuation loss: punctuation characters removed", "share of the punctuation removed"),
    "diacritics": KindInfo("diacritics stripped (what counts as one depends on the script; docs/perturbations.md)",
                           "share of the marked characters stripped"),
    "romanize": KindInfo("transliteration to ASCII (anyascii)", "share of the words (characters in Thai / Han) "
                                                                "romanised"),
    "codeswitch": KindInfo("a span replaced by the corresponding words of the same question in another language",
                           "share of the words (characters in Thai / Han) replaced"),
}
assert set(KINDS) == set(get_args(Kind))


@dataclass(frozen=True)
class Perturbation:
    """One perturbation: a kind, its severity and a seed (deterministic: same settings, same texts).

    Args:
        kind (str): one of :data:`KINDS` (``typos``, ``keyboard``, ``lowercase``, ``punctuation``, ``diacritics``,
            ``romanize``, ``codeswitch``).
        level (float): the severity, in (0, 1] (``typos`` up to 0.3 and ``keyboard`` up to 0.5, where the
            measured error rate still follows the level; docs/perturbations.md); see :data:`KINDS` for what it
            measures.
        seed (int, default 0): the seed; each question draws from its own generator (:func:`query_rng`).
        donor (str, optional): ``codeswitch`` only: the language the replacing words come from (default: one of
            the item's other languages, drawn per question).

    Raises:
        UsageError: an unknown kind, a level out of range, a negative or non-integer seed, a donor on another kind.

    Example::

        Perturbation("typos", 0.1)                       # 10 % character error rate, seed 0
        parse_perturbation("codeswitch:0.3:en", seed=1)  # Perturbation('codeswitch', 0.3, 1, 'en')
    """

    kind: Kind
    level: float
    seed: int = 0
    donor: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise UsageError(f"perturbation kind {self.kind!r} is unknown; expected one of {', '.join(KINDS)}")
        top = KINDS[self.kind].max_level
        level = self.level
        if isinstance(level, bool) or not isinstance(level, (int, float)) or not math.isfinite(level) \
                or not 0 < level <= top:
            raise UsageError(f"perturbation level of {self.kind} must be a number in (0, {top:g}] "
                             f"({KINDS[self.kind].level}) but got {level!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise UsageError(f"perturbation seed must be a non-negative integer but got {self.seed!r}")
        if self.donor is not None:
            if self.kind != "codeswitch":
                raise UsageError(f"a donor language goes with codeswitch only, not {self.kind}")
            try:
                check_name(self.donor, "language")
            except DataError as exc:
                raise UsageError(f"donor {exc.message}") from None

    @property
    def label(self) -> str:
        """``KIND:LEVEL`` (``:DONOR`` added when set), as :func:`parse_perturbation` reads it."""
        return f"{self.kind}:{self.level:g}" + (f":{self.donor}" if self.donor else "")

    def record(self) -> dict[str, Any]:
        """The JSON form results and ``perturbation.json`` hold."""
        return {"kind": self.kind, "level": self.level, "seed": self.seed, "donor": self.donor, "label": self.label}

    @classmethod
    def from_record(cls, data: Any) -> Perturbation:
        """Read :meth:`record` back (raises :class:`UsageError` for a malformed one)."""
        if not isinstance(data, dict) or not {"kind", "level", "seed"} <= set(data):
            raise UsageError(f"a perturbation record needs kind, level and seed, got {data!r}")
        return cls(data["kind"], data["level"], data["seed"], data.get("donor"))


def parse_perturbation(text: str, *, seed: int = 0) -> Perturbation:
    """``KIND:LEVEL`` (``codeswitch:LEVEL:DONOR`` too) -> :class:`Perturbation`.

    Raises:
        UsageError: a malformed text, an unknown kind, a level out of range.

    Example::

        parse_perturbation("typos:0.1")    # Perturbation('typos', 0.1, 0, None)
        parse_perturbation("romanize:1")   # every word romanised
    """
    parts = text.split(":") if isinstance(text, str) else []
    if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        raise UsageError(f"--perturb expects KIND:LEVEL (e.g. typos:0.1; kinds: {', '.join(KINDS)}), got {text!r}")
    try:
        level = float(parts[1])
    except ValueError:
        raise UsageError(f"--perturb {text}: the level {parts[1]!r} is not a number") from None
    return Perturbation(parts[0], level, seed, parts[2] if len(parts) == 3 else None)  # type: ignore[arg-type]


def query_rng(perturbation: Perturbation, language: str, key: str) -> random.Random:
    """The generator of one question: seeded by the settings, the language and the question's id (a string seed:
    Python hashes it with SHA-512, the same in every process)."""
    return random.Random(f"{perturbation.seed}\t{perturbation.kind}\t{perturbation.level!r}\t{language}\t{key}")


def count_for(share: float, total: int, rng: random.Random) -> int:
    """How many of ``total`` units a ``share`` touches: ``floor(share * total)`` plus one more with the
    probability of the remainder, so the expected count is exactly ``share * total`` even for short questions."""
    exact = share * total
    whole = math.floor(exact)
    return min(total, whole + (1 if rng.random() < exact - whole else 0))
