"""What a study runs: :class:`ReproduceSettings` (validated once, when made), the named presets, and the
conditions the settings imply, each with its place in the study folder.

A study trains the same base model with α = 1 (X-X), α = 0 (X-Y) and α = 0.5 (hybrid) -- or any list of α -- on
one collection and evaluates it on the other, next to the untuned base model. Its folder::

    OUT/plan.json                                   the settings (a rerun must match them, or add seeds / α)
    OUT/models/<train>/<config>/seed<k>/            trained sentence-transformers models (+ training.json)
    OUT/encoders/<train>/<config>-seed<k>/          the same, exported for Pyserini (+ pyserini.json)
    OUT/eval/<eval>/<config>/seed<k>/               results.json, results.md, pairs.png, runs/, indexes/
    OUT/debias/<eval>/<config>-seed<k>/             with ``debias``: the transform fitted for that model
    OUT/eval/<eval>/<config>+<method>/seed<k>/      ... and the evaluation with it applied

``<config>`` is ``base``, ``xx``, ``xy`` or ``hybrid-a<α>`` (:func:`config_name`); a debiased twin adds
``+<method>`` (``xx+lsar``).

Example::

    >>> settings = ReproduceSettings(out="study", alphas=(1, 0.5))
    >>> settings.max_steps, settings.directions
    (30, (('mlqa-r', 'xquad-r'),))
    >>> [c.config for c in conditions(settings)]
    ['base', 'xx', 'hybrid-a0.5']
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal, get_args

from hybrid_plugin.data.collection import check_name
from hybrid_plugin.debias.transform import METHODS, Method
from hybrid_plugin.errors import UsageError
from hybrid_plugin.models.backends import DEFAULT_EVAL_BACKEND, DEFAULT_EVAL_PRECISION, check_backend
from hybrid_plugin.training.settings import LossName

__all__ = [
    "DEBIAS_SEPARATOR",
    "DIRECTIONS",
    "PRESETS",
    "Condition",
    "PresetName",
    "RECIPE",
    "RECIPE_DEFAULTS",
    "ReproduceSettings",
    "conditions",
    "config_name",
]

DIRECTIONS: tuple[tuple[str, str], ...] = (("mlqa-r", "xquad-r"), ("xquad-r", "mlqa-r"))
"""(train set, evaluation set): the two collections share no text, so each direction is zero-shot."""

PresetName = Literal["quick", "full", "paper"]

RECIPE: dict[str, Any] = {"scale": 100.0, "hard_negatives": True}
"""The loss recipe every preset uses, chosen on MLQA-R's dev split (``benchmarks/training/ablation/``): the base
model's own temperature (E5: 0.01, scale 100) and a same-paragraph hard negative for every pair."""

# Settings of the named presets. "quick" is the README's main job on 2 CPU cores (about ten minutes);
# "full" is the recorded study on this kind of machine; "paper" is the paper's scale, for a GPU.
PRESETS: dict[str, dict[str, Any]] = {
    "quick": dict(directions=DIRECTIONS[:1], max_steps=30, batch_size=32, max_seq_length=64, eval_limit=100,
                  train_limit=None, freeze_embeddings=True, lr=3e-5, **RECIPE),
    "full": dict(directions=DIRECTIONS, max_steps=200, batch_size=32, max_seq_length=64, eval_limit=None,
                 train_limit=None, freeze_embeddings=True, lr=3e-5, **RECIPE),
    "paper": dict(directions=DIRECTIONS, max_steps=None, epochs=1.0, batch_size=100, max_seq_length=128,
                  eval_limit=None, train_limit=None, freeze_embeddings=False, lr=3e-5, **RECIPE),
}

DEBIAS_SEPARATOR = "+"
"""Between a configuration and the debias method of its twin (``hybrid-a0.5+lsar``)."""

_PLAN_KEYS = ("preset", "model", "alphas", "seeds", "directions", "max_steps", "epochs", "batch_size",
              "max_seq_length", "lr", "freeze_embeddings", "train_limit", "eval_limit")

RECIPE_DEFAULTS: dict[str, Any] = {"scale": 20.0, "hard_negatives": False, "loss": "mnrl", "mini_batch_size": 16}
"""The loss recipe the first studies ran with (sentence-transformers' defaults), and what a plan without a recipe
field means. A plan records a recipe field only when it differs from these, so the plans of the studies run before
:data:`RECIPE` stay readable (they resume with ``--scale 20 --no-hard-negatives``)."""


def _positive_int(value: Any, option: str, *, optional: bool = True) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"{option} must be a positive integer, got {value!r}")
    return value


def _positive_float(value: Any, option: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise UsageError(f"{option} must be a finite positive number, got {value!r}")
    return float(value)


def _alphas(values: Any) -> tuple[float, ...]:
    alphas = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
            raise UsageError(f"--alphas values must lie in [0, 1] (1 = X-X, 0 = X-Y), got {value!r}")
        alphas.append(float(value))
    if not alphas:
        raise UsageError("--alphas needs at least one value")
    if len(set(alphas)) != len(alphas):
        raise UsageError(f"--alphas has a repeated value: {','.join(f'{a:g}' for a in alphas)}")
    return tuple(alphas)


def _directions(values: Any) -> tuple[tuple[str, str], ...]:
    directions = []
    for direction in values:
        if not isinstance(direction, (tuple, list)) or len(direction) != 2 \
                or not all(isinstance(name, str) for name in direction):
            raise UsageError(f"a direction must be a (train set, evaluation set) pair of names, got {direction!r}")
        for name in direction:
            check_name(name, "dataset")
        train_set, eval_set = direction
        if train_set == eval_set:
            raise UsageError(f"training and evaluating on {train_set} is not zero-shot")
        directions.append((train_set, eval_set))
    if not directions:
        raise UsageError("a study needs at least one (train set, evaluation set) direction")
    return tuple(directions)


@dataclass(frozen=True)
class ReproduceSettings:
    """What a study runs (the options of ``hybrid-plugin reproduce``), checked once when made.

    Args:
        out (Path): the study folder (see the module docstring).
        preset (str): ``"quick"``, ``"full"`` or ``"paper"``: fills the fields below that are left None.
        model (str, optional): base model; None: the embedded default (multilingual-e5-small).
        data_root (Path, optional): a folder holding ``xquad-r/`` and ``mlqa-r/`` (no download).
        alphas (Sequence[float]): α values to train with; 1 is X-X, 0 is X-Y. Defaults to (1, 0, 0.5).
        seeds (int): seeds per configuration (0..seeds-1). Defaults to 1.
        directions (Sequence[tuple[str, str]], optional): (train set, evaluation set) pairs.
        max_steps, epochs, batch_size, max_seq_length, lr, freeze_embeddings: training (see
            :class:`~hybrid_plugin.training.settings.TrainingSettings`).
        train_limit (int, optional): train on the first N items.
        eval_limit (int, optional): evaluate on the first N items (their paragraphs form the pools).
        scale (float, optional): the loss's similarity scale (inverse temperature); None: 20.
        hard_negatives (bool, optional): add a same-paragraph hard negative to every pair; None: False.
        loss (str, optional): ``"mnrl"`` or ``"cached-mnrl"`` (GradCache: large batches in flat memory); None: mnrl.
        mini_batch_size (int, optional): the cached loss's mini-batch; None: 16.
        export (bool): export every trained model for Pyserini. Defaults to True.
        backend, precision (str): the inference backend and precision of the evaluations (training stays
            PyTorch); see :mod:`hybrid_plugin.models.backends`.
        publish (Path, optional): also copy the small outputs (plan, results, tables, heatmaps, record) here as
            they are finished: a folder to commit, without models, indexes or runs.

    Raises:
        UsageError: an unknown preset, an α outside [0, 1] (or repeated), a count that is not a positive
            integer, a rate that is not a finite positive number, a direction that is not zero-shot.
    """

    out: Path
    preset: PresetName = "quick"
    model: str | None = None
    data_root: Path | None = None
    alphas: tuple[float, ...] = (1.0, 0.0, 0.5)
    seeds: int = 1
    directions: tuple[tuple[str, str], ...] | None = None
    max_steps: int | None = None
    epochs: float | None = None
    batch_size: int | None = None
    max_seq_length: int | None = None
    lr: float | None = None
    freeze_embeddings: bool | None = None
    train_limit: int | None = None
    eval_limit: int | None = None
    scale: float | None = None
    hard_negatives: bool | None = None
    loss: LossName | None = None
    mini_batch_size: int | None = None
    debias: str | None = None
    debias_method: Method = "lsar"
    debias_per_language: int = 200
    export: bool = True
    publish: Path | None = None
    backend: str = DEFAULT_EVAL_BACKEND
    precision: str = DEFAULT_EVAL_PRECISION
    _filled: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        if self.preset not in get_args(PresetName):
            raise UsageError(f"preset must be one of {', '.join(get_args(PresetName))}, got {self.preset!r}")
        check_backend(self.backend, self.precision)
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        for key, value in {**RECIPE_DEFAULTS, **PRESETS[self.preset]}.items():
            # once filled (e.g. by dataclasses.replace), a limit left None means "no limit", not "the preset's"
            if values[key] is None and not (key in ("train_limit", "eval_limit") and self._filled):
                values[key] = value
        if values["model"] is not None and (not isinstance(values["model"], str) or not values["model"]):
            raise UsageError(f"--model must be a model folder or hub id, got {values['model']!r}")
        values.update(
            out=Path(self.out), data_root=None if self.data_root is None else Path(self.data_root),
            publish=None if self.publish is None else Path(self.publish),
            alphas=_alphas(self.alphas), seeds=_positive_int(self.seeds, "--seeds", optional=False),
            directions=_directions(values["directions"]),
            max_steps=_positive_int(values["max_steps"], "--max-steps"),
            epochs=_positive_float(1.0 if values["epochs"] is None else values["epochs"], "epochs"),
            batch_size=_positive_int(values["batch_size"], "--batch-size", optional=False),
            max_seq_length=_positive_int(values["max_seq_length"], "max_seq_length", optional=False),
            lr=_positive_float(values["lr"], "lr"),
            freeze_embeddings=bool(values["freeze_embeddings"]), export=bool(self.export),
            train_limit=_positive_int(values["train_limit"], "--train-limit"),
            eval_limit=_positive_int(values["eval_limit"], "--eval-limit"), _filled=True,
            scale=_positive_float(values["scale"], "--scale"), hard_negatives=bool(values["hard_negatives"]),
            mini_batch_size=_positive_int(values["mini_batch_size"], "--mini-batch-size", optional=False))
        if values["debias"] is not None:
            check_name(values["debias"], "dataset")
            if any(values["debias"] in direction for direction in values["directions"]):
                raise UsageError(f"--debias-fit-on {values['debias']} is one of the study's collections; fit on "
                                 "text that is not evaluated (e.g. ntrex-128)")
        if values["debias_method"] not in METHODS:
            raise UsageError(f"--debias-method must be one of {', '.join(METHODS)}, got {values['debias_method']!r}")
        values["debias_per_language"] = _positive_int(values["debias_per_language"], "--debias-per-language",
                                                       optional=False)
        if values["loss"] not in get_args(LossName):
            raise UsageError(f"--loss must be one of {', '.join(get_args(LossName))}, got {values['loss']!r}")
        for key, value in values.items():
            object.__setattr__(self, key, value)

    @classmethod
    def from_plan(cls, plan: dict[str, Any], out: Path) -> ReproduceSettings:
        """The settings a ``plan.json`` (:meth:`plan`) was written from: a recipe field a plan leaves out is the
        earlier studies' (:data:`RECIPE_DEFAULTS`), not the preset's; ``debias`` is unpacked.

        Raises:
            UsageError: a plan these settings refuse; TypeError: an unknown field.
        """
        values = {**RECIPE_DEFAULTS, **plan}
        debias = values.pop("debias", None)
        if isinstance(debias, dict):
            values.update(debias=debias.get("fit_on"), debias_method=debias.get("method", "lsar"),
                          debias_per_language=debias.get("per_language", 200))
        elif debias is not None:
            raise UsageError(f"a plan's debias must be an object, got {debias!r}")
        if values.get("directions") is not None:
            values["directions"] = tuple(tuple(d) for d in values["directions"])
        if values.get("alphas") is not None:
            values["alphas"] = tuple(values["alphas"])
        return cls(out=Path(out), **values)

    def plan(self) -> dict[str, Any]:
        """The settings that decide the results (a resumed study must have the same)."""
        plan = {k: getattr(self, k) for k in _PLAN_KEYS}
        plan["alphas"] = list(plan["alphas"])
        plan["directions"] = [list(d) for d in plan["directions"]]
        plan.update({k: getattr(self, k) for k, v in RECIPE_DEFAULTS.items() if getattr(self, k) != v})
        if (self.backend, self.precision) != ("torch", "fp32"):  # absent from the plans of PyTorch-only studies
            plan.update(backend=self.backend, precision=self.precision)
        if self.debias is not None:  # absent from the plans of studies without it (adding it extends a study)
            plan["debias"] = {"fit_on": self.debias, "method": self.debias_method,
                              "per_language": self.debias_per_language}
        return plan

    def scale_note(self) -> str:
        """One line on the study's scale (preset, steps, batch, ...), for the summary and the record."""
        parts = [f"preset {self.preset}", f"{self.max_steps} steps" if self.max_steps else
                 f"{self.epochs:g} epoch(s)", f"batch {self.batch_size}", f"lr {self.lr:g}",
                 f"max length {self.max_seq_length}", f"{self.seeds} seed(s)"]
        if self.freeze_embeddings:
            parts.append("token embeddings frozen")
        if self.scale != RECIPE_DEFAULTS["scale"]:
            parts.append(f"loss scale {self.scale:g}")
        if self.hard_negatives:
            parts.append("same-paragraph hard negatives")
        if self.loss == "cached-mnrl":
            parts.append(f"cached loss (mini-batch {self.mini_batch_size})")
        if (self.backend, self.precision) != ("torch", "fp32"):
            parts.append(f"encoded with {self.backend} {self.precision}")
        if self.debias is not None:
            parts.append(f"every model also with {self.debias_method} fitted on {self.debias_per_language} "
                         f"{self.debias} sentences per language")
        if self.eval_limit:
            parts.append(f"evaluation on the first {self.eval_limit} items only")
        if self.train_limit:
            parts.append(f"training on the first {self.train_limit} items only")
        return ", ".join(parts)

    def data(self, name: str) -> Path | None:
        """The local folder of collection ``name`` (None: download it)."""
        return None if self.data_root is None else self.data_root / name

    @property
    def eval_sets(self) -> list[str]:
        """The evaluation collections, each once, in the order of :attr:`directions`."""
        return list(dict.fromkeys(e for _, e in self.directions))


def config_name(alpha: float | None) -> str:
    """``base`` (None), ``xx`` (1), ``xy`` (0) or ``hybrid-a<α>``."""
    if alpha is None:
        return "base"
    if alpha == 1.0:
        return "xx"
    if alpha == 0.0:
        return "xy"
    return f"hybrid-a{alpha:g}"


@dataclass(frozen=True)
class Condition:
    """One model evaluated on one collection: the untuned base (``train_set`` None) or a trained model; with
    ``debias`` (a method), the same model evaluated with that language-bias removal applied (its twin)."""

    train_set: str | None
    eval_set: str
    alpha: float | None
    seed: int
    debias: str | None = None

    @property
    def model_config(self) -> str:
        """The trained model's configuration (``xx``), the same for a condition and its debiased twin."""
        return config_name(self.alpha)

    @property
    def config(self) -> str:
        """The row of the study's tables: :attr:`model_config`, plus ``+<method>`` for a debiased twin."""
        return self.model_config + (f"{DEBIAS_SEPARATOR}{self.debias}" if self.debias else "")

    @property
    def sampling(self) -> str:
        """``base``, ``xx``, ``xy`` or ``hybrid``: the training's ``--sampling``."""
        return "hybrid" if self.model_config.startswith("hybrid") else self.model_config

    def debiased(self, method: str) -> Condition:
        """The twin of this condition evaluated with ``method`` applied."""
        return replace(self, debias=method)

    def model_dir(self, out: Path) -> Path:
        return out / "models" / str(self.train_set) / self.model_config / f"seed{self.seed}"

    def encoder_dir(self, out: Path) -> Path:
        if self.train_set is None:
            return out / "encoders" / "base"
        return out / "encoders" / str(self.train_set) / f"{self.model_config}-seed{self.seed}"

    def debias_dir(self, out: Path) -> Path:
        """Where the transform fitted for this condition's model is kept."""
        name = "base" if self.train_set is None else f"{self.model_config}-seed{self.seed}"
        return out / "debias" / self.eval_set / name

    def eval_dir(self, out: Path) -> Path:
        if self.train_set is None:
            return out / "eval" / self.eval_set / self.config
        return out / "eval" / self.eval_set / self.config / f"seed{self.seed}"


def conditions(settings: ReproduceSettings) -> list[Condition]:
    """Base rows first, then seed by seed (an interrupted multi-seed study has whole seeds finished)."""
    found = [Condition(None, e, None, 0) for e in settings.eval_sets]
    for seed in range(settings.seeds):
        for train_set, eval_set in settings.directions:
            for alpha in settings.alphas:
                found.append(Condition(train_set, eval_set, alpha, seed))
    return found
