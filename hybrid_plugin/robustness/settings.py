"""What the robustness study runs: :class:`RobustnessSettings` (checked once, when made), the levels of each
perturbation kind, the quick variant, and the study (``hybrid-plugin reproduce``) whose models it reads.

The full study: every perturbation kind of :data:`~hybrid_plugin.perturb.kinds.KINDS` at the three levels of
:data:`LEVELS`, and the attack at the two budgets of :data:`BUDGETS`, for every model of the study (the untuned
base, X-X, X-Y and hybrid of each direction and seed -- or of the first ``seeds`` seeds), each on its own
zero-shot evaluation set, with the study's item limit (``trained_on``: the directions of some training
collections only). The quick variant (:data:`QUICK`, about ten minutes on 2 CPU cores) keeps three kinds (one
of character noise, romanisation, code-switching), the first 10 items, the attack at budgets 1 and 2 with 6
variants per step on the first 2 items of each language.

Example::

    >>> settings = RobustnessSettings(study=Path("outputs/reproduce-quick"), quick=True, check_study=False)
    >>> settings.kinds, settings.budgets, settings.items
    (('typos', 'romanize', 'codeswitch'), (1, 2), 10)
    >>> [c.label for c in settings.cells()][:3]
    ['typos:0.05', 'typos:0.1', 'typos:0.2']
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from hybrid_plugin.errors import DataError, UsageError
from hybrid_plugin.perturb.attack import AttackSettings
from hybrid_plugin.perturb.kinds import KINDS, Perturbation
from hybrid_plugin.study.selection import study_seeds, study_trained_on
from hybrid_plugin.study.settings import Condition, ReproduceSettings, conditions

__all__ = ["BUDGETS", "LEVELS", "QUICK", "Cell", "RobustnessSettings", "read_study"]

LEVELS: dict[str, tuple[float, float, float]] = {
    "typos": (0.05, 0.1, 0.2),
    "keyboard": (0.05, 0.1, 0.2),
    "lowercase": (0.25, 0.5, 1.0),
    "punctuation": (0.25, 0.5, 1.0),
    "diacritics": (0.25, 0.5, 1.0),
    "romanize": (0.25, 0.5, 1.0),
    "codeswitch": (0.1, 0.3, 0.5),
}
"""Three severities per kind: character error rates for the noise kinds, shares of the units touched for the
others (see :data:`~hybrid_plugin.perturb.kinds.KINDS`)."""
BUDGETS: tuple[int, int] = (1, 3)
"""The attack's budgets (character edits per query) of the full study."""
QUICK: dict[str, Any] = {"kinds": ("typos", "romanize", "codeswitch"), "items": 10, "budgets": (1, 2),
                         "attack_items": 2, "candidates": 6}
"""The quick variant: what it keeps of the full study (about ten minutes on 2 CPU cores)."""
FULL: dict[str, Any] = {"kinds": tuple(LEVELS), "items": None, "budgets": BUDGETS, "attack_items": 100,
                        "candidates": 16}
"""The full study: every kind, the study's items, the attack on the first 100 items of each language (the attack
asks the model for up to ``1 + budget × candidates`` query embeddings per query: 1,100 XQuAD-R queries at budget
3 are 53,900 embeddings per model; an ``attack_items`` of at least the collection's items attacks every item)."""
assert set(LEVELS) == set(KINDS)
PLAN_FILE = "plan.json"
_PLAN_FIELDS = ("preset", "model", "alphas", "seeds", "directions", "max_steps", "epochs", "batch_size",
                "max_seq_length", "lr", "freeze_embeddings", "train_limit", "eval_limit", "scale", "hard_negatives",
                "loss", "mini_batch_size", "backend", "precision", "debias")


@dataclass(frozen=True)
class Cell:
    """One column of the study: a perturbation kind at a level, or the attack at a budget."""

    kind: str
    level: float
    seed: int = 0

    @property
    def is_attack(self) -> bool:
        return self.kind == "attack"

    @property
    def label(self) -> str:
        """``typos:0.1``, ``attack:2``."""
        return f"{self.kind}:{self.level:g}"

    @property
    def folder(self) -> str:
        """The cell's folder name: ``typos-0.1``, ``attack-2``."""
        return f"{self.kind}-{self.level:g}"

    def perturbation(self) -> Perturbation:
        return Perturbation(self.kind, self.level, self.seed)  # type: ignore[arg-type]


def read_study(study: Path) -> ReproduceSettings:
    """The settings of the study in ``study`` (its ``plan.json``, written by ``hybrid-plugin reproduce``).

    Raises:
        UsageError: no ``plan.json`` there.
        DataError: a malformed plan.
    """
    path = Path(study) / PLAN_FILE
    if not path.is_file():
        raise UsageError(f"--study {study}: no {PLAN_FILE} (a folder written by hybrid-plugin reproduce)")
    try:
        plan = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise DataError("malformed JSON (not written by hybrid-plugin reproduce?)", path) from None
    if not isinstance(plan, dict) or "preset" not in plan:
        raise DataError("expected the JSON object of a study's settings (with 'preset')", path)
    try:
        return ReproduceSettings.from_plan({k: plan[k] for k in _PLAN_FIELDS if k in plan}, Path(study))
    except (TypeError, UsageError) as exc:
        raise DataError(f"not a study's settings: {exc}", path) from None


def _check_int(value: Any, name: str, low: int, high: int | None = None, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        bound = f"from {low} to {high}" if high is not None else f">= {low}"
        raise UsageError(f"robustness {name} must be an integer {bound} but got {value!r}")


@dataclass(frozen=True)
class RobustnessSettings:
    """The robustness study's options (``hybrid-plugin robustness``), checked once when made.

    Args:
        study (Path): the folder of a study written by ``hybrid-plugin reproduce`` (its ``plan.json``, models).
        out (Path, optional): where the robustness study goes (default: ``STUDY/robustness``, or
            ``STUDY/robustness-quick`` with ``quick``).
        quick (bool, default False): the quick variant (:data:`QUICK`) for every field left None.
        kinds (tuple[str], optional): perturbation kinds (default: all seven; quick: three).
        items (int, optional): evaluate on the first N items (default: the study's limit; quick: 10).
        budgets (tuple[int], optional): the attack's budgets (default: 1 and 3; quick: 1 and 2); ``()`` for none.
        attack_items (int, optional): attack the first N items of each language (default: 100; quick: 2; at
            least the collection's items: every item); the attack cells are measured on those queries.
        candidates (int, optional): attack variants per step (default 16; quick 8).
        unit (str, default "char"): the attack's edits, ``"char"`` or ``"word"``.
        seed (int, default 0): the seed of the perturbations and of the attack.
        trials (int, default 10000): sign flips of the paired randomisation tests.
        batch_size (int, default 32): encoding batch size.
        seeds (int, optional): the trained models of seeds 0..seeds-1 only (default: every seed of the study's
            plan); the base is always evaluated. Recorded in the plan only when given, so a folder written
            without it resumes with the default.
        trained_on (tuple[str], optional): only the directions whose training collection is named here (the
            trained models of those collections, and the base on their evaluation sets; default: every
            direction of the plan). Recorded in the plan only when given.
        data_root (Path, optional): a folder holding the evaluation sets (default: the study's ``data_root``
            is not recorded: download, or ``$HYBRID_PLUGIN_DATA`` in the CLI).
        publish (Path, optional): copy the small outputs here as they are finished.
        check_study (bool, default True): read the study's plan now (False: for examples and tests of the
            vocabulary only).

    Raises:
        UsageError: an unknown kind, a count out of range, a study folder without a plan, ``seeds`` more than
            the plan's, a ``trained_on`` collection the plan does not train on.
        DataError: a malformed plan.
    """

    study: Path
    out: Path | None = None
    quick: bool = False
    kinds: tuple[str, ...] | None = None
    items: int | None = None
    budgets: tuple[int, ...] | None = None
    attack_items: int | None = None
    candidates: int | None = None
    unit: Literal["char", "word"] = "char"
    seed: int = 0
    trials: int = 10000
    batch_size: int = 32
    seeds: int | None = None
    trained_on: tuple[str, ...] | None = None
    data_root: Path | None = None
    publish: Path | None = None
    check_study: bool = True
    _study: ReproduceSettings | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        preset = QUICK if self.quick else FULL
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        for key in ("kinds", "budgets", "attack_items", "candidates"):
            if values[key] is None:
                values[key] = preset[key]
        kinds = tuple(values["kinds"])
        unknown = [k for k in kinds if k not in LEVELS]
        if not kinds or unknown or len(set(kinds)) != len(kinds):
            raise UsageError(f"robustness kinds must be distinct names from {', '.join(LEVELS)} but got "
                             f"{','.join(map(str, kinds)) or 'none'}")
        budgets = tuple(values["budgets"])
        for budget in budgets:
            _check_int(budget, "budget", 1, 20)
        if len(set(budgets)) != len(budgets):
            raise UsageError(f"robustness budgets must be distinct but got {budgets}")
        _check_int(values["items"], "items", 1, optional=True)
        _check_int(values["attack_items"], "attack_items", 1, optional=True)
        _check_int(values["seed"], "seed", 0)
        _check_int(values["trials"], "trials", 1)
        _check_int(values["batch_size"], "batch_size", 1)
        study_seeds(self.seeds, None, Path(self.study))  # a positive integer; the plan's bound below
        AttackSettings(budget=1, unit=self.unit, candidates=values["candidates"], seed=values["seed"])  # checks
        study = Path(self.study)
        trained_on = study_trained_on(self.trained_on, None, study)  # distinct names; the plan's check below
        values.update(study=study, kinds=kinds, budgets=budgets, trained_on=trained_on,
                      data_root=None if self.data_root is None else Path(self.data_root),
                      publish=None if self.publish is None else Path(self.publish),
                      out=Path(self.out) if self.out is not None else
                      study / ("robustness-quick" if self.quick else "robustness"))
        if values["items"] is None and self.quick:
            values["items"] = QUICK["items"]
        if self.check_study:
            values["_study"] = read_study(study)
            study_seeds(self.seeds, values["_study"].seeds, study)
            study_trained_on(trained_on, values["_study"].directions, study)
            if values["items"] is None:
                values["items"] = values["_study"].eval_limit
        for key, value in values.items():
            object.__setattr__(self, key, value)

    @property
    def reproduce(self) -> ReproduceSettings:
        """The study's own settings (its ``plan.json``)."""
        if self._study is None:
            raise UsageError("these robustness settings were made with check_study=False (no study read)")
        return self._study

    def conditions(self) -> list[Condition]:
        """The study's models evaluated: the base of each evaluation set, then the trained models of seeds
        0..``seeds``-1 (every seed of the plan when ``seeds`` is None), of the directions ``trained_on`` keeps."""
        kept = [d for d in self.reproduce.directions if self.trained_on is None or d[0] in self.trained_on]

        def wanted(c: Condition) -> bool:
            if c.train_set is None:
                return c.eval_set in {eval_set for _, eval_set in kept}
            return (c.train_set, c.eval_set) in kept and (self.seeds is None or c.seed < self.seeds)

        return [c for c in conditions(self.reproduce) if wanted(c)]

    def cells(self) -> list[Cell]:
        """Every perturbation kind at each of its levels, then the attack at each budget."""
        found = [Cell(kind, level, self.seed) for kind in self.kinds for level in LEVELS[kind]]
        return found + [Cell("attack", float(b), self.seed) for b in self.budgets]

    def attack(self, cell: Cell) -> AttackSettings:
        """The attack's settings of an attack cell."""
        return AttackSettings(budget=int(cell.level), unit=self.unit, candidates=int(self.candidates or 16),
                              seed=self.seed)

    def data(self, name: str) -> Path | None:
        """The local folder of evaluation set ``name`` (None: download it)."""
        return None if self.data_root is None else self.data_root / name

    def plan(self) -> dict[str, Any]:
        """The settings that decide the results (a resumed run must have the same)."""
        return {"study": self.study.name, "quick": self.quick, "kinds": list(self.kinds), "items": self.items,
                "levels": {k: list(LEVELS[k]) for k in self.kinds}, "budgets": list(self.budgets),
                "attack_items": self.attack_items, "candidates": self.candidates, "unit": self.unit,
                "seed": self.seed, "trials": self.trials, **({} if self.seeds is None else {"seeds": self.seeds}),
                **({} if self.trained_on is None else {"trained_on": list(self.trained_on)})}
