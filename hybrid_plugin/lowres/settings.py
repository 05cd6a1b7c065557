"""What the low-resource study runs: :class:`LowresSettings` (checked once, when made), the ``--quick`` slices,
which collection each set's language-bias removal is fitted on, and the models of the ``reproduce`` study it reads.

The study takes the models a ``hybrid-plugin reproduce`` folder trained -- the untuned base, X-X, X-Y and hybrid,
every seed (``seeds``: the first K; ``trained_on``: some training collections) -- and evaluates them zero-shot on
three sets none of them was trained on: AfriQA (X -> English / French questions against the gold passages),
NTREX-128 (news sentences: X -> Y for a seeded sample of pairs, every X -> English and English -> X, and the
multilingual pool) and Tatoeba (xx <-> eng bitext accuracy). Its folder::

    OUT/lowres.json                                      the settings (a rerun must have the same)
    OUT/cells/<set>/<train>/<config>[+<method>]/seed<k>/  results.json (+ .md, pairs.png) or bitext.json
    OUT/debias/<fit set>/<train>/<config>-seed<k>/       the language-bias removal fitted for each model
    OUT/summary.md, summary.json, languages-<set>[-<train>].png   the summary, its record, the per-language plots

**Language-bias removal is never fitted on the set it is evaluated on** (:data:`DEBIAS_FIT_ON`): AfriQA and
Tatoeba are evaluated with a transform fitted on NTREX-128 (parallel news sentences in 128 languages: every
AfriQA and most Tatoeba languages), NTREX-128 with one fitted on Tatoeba's sentences (the other set with many
languages; its English sides give English). LSAR is one projection, so it applies to evaluated languages the fit
did not see.

``--quick`` (:data:`QUICK_SLICES`, about ten minutes on two CPU cores for four models): about two languages of
each resource group per set, the first items of each. AfriQA ha, sw (pre-trained only), yo, zu (unseen) against
the English pool, 20 questions each; NTREX-128 en, de (trained), sw, ha, yo, zu, the first 40 sentences (the pools
hold their whole documents), pairs ``sample:6``; Tatoeba de, es, sw, am, ast, kab, the first 40 pairs each; 25 fit
sentences per language. The full study: every language and item, pairs ``sample:200``, 200 fit sentences per
language. ``limit`` replaces the items of either (tests: a handful).

Example::

    >>> settings = LowresSettings(study="benchmarks/reproduce/quick", out="/tmp/lowres-doc", quick=True)
    >>> settings.pairs.spec, settings.debias_per_language, settings.sets
    ('sample:6:0', 25, ('afriqa', 'ntrex-128', 'tatoeba'))
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal, get_args

from hybrid_plugin.data.registry import DATASETS
from hybrid_plugin.debias.transform import METHODS, Method
from hybrid_plugin.errors import DataError, UsageError
from hybrid_plugin.evaluation.bitext import BITEXT_FILE
from hybrid_plugin.evaluation.cells import RESULTS_FILE
from hybrid_plugin.evaluation.pairs import PairChoice
from hybrid_plugin.models.loading import resolve_model
from hybrid_plugin.study.selection import study_seeds, study_trained_on
from hybrid_plugin.study.settings import Condition, config_name

__all__ = ["DEBIAS_FIT_ON", "FULL_PAIRS", "LOWRES_SETS", "QUICK_PAIRS", "QUICK_SLICES", "SETTINGS_FILE", "LowresSet",
           "LowresSettings", "Slice", "StudyModel", "cell_dir", "is_done", "study_models"]

LowresSet = Literal["afriqa", "ntrex-128", "tatoeba"]
LOWRES_SETS: tuple[LowresSet, ...] = get_args(LowresSet)
SETTINGS_FILE = "lowres.json"


@dataclass(frozen=True)
class Slice:
    """Part of a set: these languages (None: all), the first ``items`` of each (None: all)."""

    languages: tuple[str, ...] | None = None
    items: int | None = None


QUICK_SLICES: dict[str, Slice] = {
    "afriqa": Slice(("ha", "sw", "yo", "zu", "en"), 20),
    "ntrex-128": Slice(("en", "de", "sw", "ha", "yo", "zu"), 40),
    "tatoeba": Slice(("de", "es", "sw", "am", "ast", "kab"), 40),
}
"""``--quick``: per set, the languages and the items per query language (AfriQA: questions per language)."""
QUICK_PAIRS = "sample:6:0"
FULL_PAIRS = "sample:200:0"
DEBIAS_FIT_ON: dict[str, str] = {"afriqa": "ntrex-128", "tatoeba": "ntrex-128", "ntrex-128": "tatoeba"}
"""The collection each set's language-bias removal is fitted on: never the set itself."""


def _positive(value: Any, option: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"{option} must be a positive integer but got {value!r}")
    return value


@dataclass(frozen=True)
class LowresSettings:
    """The options of ``hybrid-plugin lowres``, checked once when made (nothing is read but ``study/plan.json``).

    Args:
        study (str | Path): a folder written by ``hybrid-plugin reproduce`` (its ``plan.json`` and ``models/``).
        out (str | Path): the study's output folder (resumed when it holds this study).
        quick (bool, default False): the ``--quick`` slices (:data:`QUICK_SLICES`).
        sets (tuple of str, default all three): which of ``afriqa``, ``ntrex-128``, ``tatoeba``.
        data_root (str | Path, optional): local copies ``<data_root>/<set>`` instead of downloading.
        pairs (PairChoice | str, optional): the NTREX-128 pairs (default ``sample:200`` / quick ``sample:6``).
        debias (bool, default True): evaluate every model a second time with the language-bias removal.
        debias_method (str, default "lsar"): ``center``, ``lir`` or ``lsar``.
        debias_per_language (int, optional): fit sentences per language (default 200 / quick 25).
        limit (int, optional): the items of every set's slice (AfriQA: questions per language).
        batch_size (int, default 32): encoding batch size.
        trials (int, default 10000): random sign patterns of the paired randomisation tests.
        seeds (int, optional): the trained models of seeds 0..seeds-1 only (default: every seed of the study's
            plan); the base always. Recorded in ``lowres.json`` only when given (a folder written without it
            resumes with the default).
        trained_on (tuple of str, optional): only the trained models of these training collections (default:
            every direction of the study's plan); the base always. Not recorded in ``lowres.json``: it chooses
            which models a run evaluates and summarises, not what a cell holds, so one folder can be filled one
            direction at a time (the summary records it).
        publish (str | Path, optional): copy the small outputs here as they finish.

    Raises:
        UsageError: a bad option, a study folder without ``plan.json``, ``out`` the study folder itself,
            ``seeds`` more than the plan's, a ``trained_on`` collection the plan does not train on.
        DataError: with ``seeds`` or ``trained_on``, a malformed ``plan.json``.
    """

    study: Path
    out: Path
    quick: bool = False
    sets: tuple[str, ...] = LOWRES_SETS
    data_root: Path | None = None
    pairs: PairChoice | str | None = None
    debias: bool = True
    debias_method: Method = "lsar"
    debias_per_language: int | None = None
    limit: int | None = None
    batch_size: int = 32
    trials: int = 10000
    seeds: int | None = None
    trained_on: tuple[str, ...] | None = None
    publish: Path | None = None

    def __post_init__(self) -> None:
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        put("study", Path(self.study))
        put("out", Path(self.out))
        if not (self.study / "plan.json").is_file():
            raise UsageError(f"--study {self.study} holds no plan.json; give a folder written by hybrid-plugin "
                             "reproduce")
        if os.path.abspath(self.out) == os.path.abspath(self.study):
            raise UsageError(f"--out {self.out} is the study folder; choose a folder of its own")
        sets = tuple(self.sets)
        unknown = [s for s in sets if s not in LOWRES_SETS]
        if unknown or not sets or len(set(sets)) != len(sets):
            raise UsageError(f"--sets must be distinct names among {', '.join(LOWRES_SETS)} but got "
                             f"{','.join(map(str, sets)) or 'none'}")
        put("sets", sets)
        put("pairs", PairChoice.parse(self.pairs if self.pairs is not None else
                                      QUICK_PAIRS if self.quick else FULL_PAIRS))
        if self.debias_method not in METHODS:
            raise UsageError(f"--debias-method must be one of {', '.join(METHODS)} but got {self.debias_method!r}")
        per_language = self.debias_per_language if self.debias_per_language is not None else \
            25 if self.quick else 200
        put("debias_per_language", _positive(per_language, "--debias-per-language"))
        _positive(self.batch_size, "--batch-size")
        if self.limit is not None:
            _positive(self.limit, "--limit")
        _positive(self.trials, "--trials")
        study_seeds(self.seeds, None, self.study)  # a positive integer before the plan is read
        trained_on = study_trained_on(self.trained_on, None, self.study)  # distinct names first
        plan = _read_plan(self.study) if self.seeds is not None or trained_on is not None else None
        if plan is not None and self.seeds is not None:
            study_seeds(self.seeds, plan["seeds"], self.study)
        if plan is not None and trained_on is not None:
            directions = tuple((str(d[0]), str(d[-1])) for d in plan["directions"])
            study_trained_on(trained_on, directions, self.study)
        put("trained_on", trained_on)
        put("quick", bool(self.quick))
        put("debias", bool(self.debias))
        for name in ("data_root", "publish"):
            value = getattr(self, name)
            put(name, None if value is None else Path(value))

    @property
    def pair_choice(self) -> PairChoice:
        """:attr:`pairs` as checked (a :class:`PairChoice` once the settings are made)."""
        return PairChoice.parse(self.pairs)

    def slice(self, name: str) -> Slice:
        """The part of set ``name`` evaluated (everything unless ``quick``)."""
        part = QUICK_SLICES[name] if self.quick else Slice()
        return part if self.limit is None else Slice(part.languages, self.limit)

    def data(self, name: str) -> Path | None:
        """The local folder of collection ``name`` (None: download it)."""
        return None if self.data_root is None else self.data_root / name

    def plan(self) -> dict[str, Any]:
        """What decides the results (``lowres.json``; a resumed study must have the same)."""
        keep = ("quick", "sets", "debias", "debias_method", "debias_per_language", "limit")
        plan: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self) if f.name in keep}
        plan.update(study=os.path.abspath(self.study), sets=list(self.sets), pairs=self.pair_choice.spec)
        if self.seeds is not None:  # absent by default: folders written before --seeds resume unchanged
            plan["seeds"] = self.seeds
        return plan


@dataclass(frozen=True)
class StudyModel:
    """One model of the ``reproduce`` study: ``config`` (``base``, ``xx``, ``xy``, ``hybrid-a0.5``), ``seed``, its
    ``path`` (a folder or hub id), the collection it was trained on (None: the base) and that collection's
    languages (the ``trained`` resource group of every row, the base's included, so groups match across rows)."""

    config: str
    seed: int
    path: str
    train_set: str | None
    training_languages: tuple[str, ...]

    @property
    def trained_on(self) -> str:
        """The training collection's name, or ``base``: the level of the study's folders above the config."""
        return "base" if self.train_set is None else self.train_set

    @property
    def key(self) -> str:
        """``base`` or ``<train set>/<config>-seed<k>``: the model's folder under ``debias/<fit set>/``."""
        return "base" if self.train_set is None else f"{self.train_set}/{self.config}-seed{self.seed}"


def _read_plan(study: Path) -> dict[str, Any]:
    path = study / "plan.json"
    try:
        plan = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"cannot read the study's plan ({exc})", path) from None
    for key, kind in (("alphas", list), ("seeds", int), ("directions", list)):
        if not isinstance(plan, dict) or not isinstance(plan.get(key), kind):
            raise DataError(f"field {key!r} must be a {kind.__name__}", path)
    return plan


def study_models(study: Path, seeds: int | None = None,
                 trained_on: tuple[str, ...] | None = None) -> tuple[list[StudyModel], list[str]]:
    """The models of a ``reproduce`` folder: the base, then every trained model (``training.json`` beside it),
    seed by seed; and the folders of the plan's models that are not trained yet (a rerun adds them).

    Args:
        study (Path): the ``reproduce`` folder.
        seeds (int, optional): only the trained models of seeds 0..seeds-1 (default: every seed of the plan;
            checked by :class:`LowresSettings`, a larger number is the plan's seeds).
        trained_on (tuple of str, optional): only the models trained on these collections (default: all; the
            base either way, its training languages still the plan's first collection's).

    Raises:
        DataError: a plan that is not the study's JSON.
    """
    plan = _read_plan(study)
    train_sets = list(dict.fromkeys(str(d[0]) for d in plan["directions"]))
    languages = {name: tuple(DATASETS[name].languages) if name in DATASETS else () for name in train_sets}
    base_languages = languages[train_sets[0]] if train_sets else ()
    models = [StudyModel("base", 0, resolve_model(plan.get("model")), None, base_languages)]
    missing = []
    for seed in range(plan["seeds"] if seeds is None else min(seeds, plan["seeds"])):
        for train_set in (t for t in train_sets if trained_on is None or t in trained_on):
            for alpha in plan["alphas"]:
                folder = Condition(train_set, "-", float(alpha), seed).model_dir(study)
                if (folder / "training.json").is_file():
                    models.append(StudyModel(config_name(float(alpha)), seed, str(folder), train_set,
                                             languages[train_set]))
                else:
                    missing.append(str(folder))
    return models, missing


def cell_dir(out: Path, set_name: str, model: StudyModel, debias: str | None) -> Path:
    """``OUT/cells/<set>/<train>/<config>[+<method>]/seed<k>``: one cell's folder."""
    config = model.config + (f"+{debias}" if debias else "")
    return out / "cells" / set_name / model.trained_on / config / f"seed{model.seed}"


def is_done(folder: Path, set_name: str) -> bool:
    """Whether a cell's record is there (a cell folder is swapped in only when complete)."""
    return (folder / (BITEXT_FILE if set_name == "tatoeba" else RESULTS_FILE)).is_file()
