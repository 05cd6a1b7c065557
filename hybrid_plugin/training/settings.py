"""What one training run does: :class:`TrainingSettings`, checked once when it is made, and the paper's preset.

Every option is checked in ``__post_init__``, before anything reads data or touches the output folder: choices
against their ``Literal`` types, numbers finite and in their ranges, counts positive integers, and the options
that go together. Each problem is one :class:`~hybrid_plugin.errors.UsageError` that names the option (as
``hybrid-plugin train`` spells it) and the value. Checks that need the data (a batch larger than the training set,
X-Y batches from one language) are :func:`hybrid_plugin.training.train`'s, also before the output is touched.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from hybrid_plugin.data.splits import check_split_options
from hybrid_plugin.errors import UsageError
from hybrid_plugin.sampling.planning import DEFAULT_TEMPERATURE, LanguageWeights, Mixing, XYMode

__all__ = ["PAPER_PRESET", "LossName", "Sampling", "TrainingSettings"]

Sampling = Literal["hybrid", "xx", "xy"]
LossName = Literal["mnrl", "cached-mnrl"]

PAPER_PRESET: dict[str, Any] = {
    "batch_size": 100,
    "lr": 3e-5,
    "weight_decay": 0.01,
    "max_seq_length": 256,
    "max_steps": None,
    "epochs": 1.0,
    "warmup_ratio": 0.1,
    "freeze_embeddings": False,
}
"""``--paper``: the paper's optimiser settings (AdamW, lr 3e-5, weight decay 0.01, batch 100), one full epoch,
passages up to 256 tokens, all weights trained."""

STREAM_FIELDS = ("train", "data", "model", "sampling", "alpha", "language_weights", "xy_mode", "mixing",
                 "batch_size", "seed", "languages", "limit", "hard_negatives", "max_seq_length", "loss",
                 "dev_fraction", "dev_seed", "scale", "language_temperature")
"""Settings that change the batches or the model: a resumed run must keep them."""

_MAX_SEED = 2**32 - 1  # numpy's legacy seeding (transformers' set_seed) takes no more

_CHOICES: tuple[tuple[str, Any], ...] = (
    ("sampling", Sampling), ("loss", LossName), ("language_weights", LanguageWeights), ("xy_mode", XYMode),
    ("mixing", Mixing),
)
_POSITIVE_INTS = ("batch_size", "max_seq_length", "mini_batch_size", "logging_steps", "save_total_limit")
_OPTIONAL_POSITIVE_INTS = ("max_steps", "limit", "save_steps")
_FLAGS = ("resume", "overwrite", "freeze_embeddings", "hard_negatives")
# (option, lowest, highest, lowest allowed, highest allowed, what it means when out of range)
_RANGES: tuple[tuple[str, float, float, bool, bool, str], ...] = (
    ("epochs", 0.0, math.inf, False, False, ""),
    ("lr", 0.0, math.inf, False, False, ""),
    ("weight_decay", 0.0, math.inf, True, False, ""),
    ("warmup_ratio", 0.0, 1.0, True, False, ""),
    ("scale", 0.0, math.inf, False, False, ""),
    ("alpha", 0.0, 1.0, True, True, " (1 = X-X only, 0 = X-Y only)"),
    ("language_temperature", 0.0, 1.0, True, True, " (p ∝ n^τ: 0 = uniform, 1 = size)"),
)


def _flag(name: str) -> str:
    return f"--{name.replace('_', '-')}"


def _check_number(name: str, value: Any, low: float, high: float, low_ok: bool, high_ok: bool, note: str) -> None:
    """A finite number in the range (``low``, ``high``), the ends included where allowed."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    inside = number and math.isfinite(value) and (low < value or (low_ok and value == low)) and (
        value < high or (high_ok and value == high))
    if not inside:
        if math.isinf(high):
            wanted = f"a finite number {'>=' if low_ok else '>'} {low:g}"
        else:
            wanted = f"in {'[' if low_ok else '('}{low:g}, {high:g}{']' if high_ok else ')'}"
        raise UsageError(f"{_flag(name)} must be {wanted}{note}, got {value!r}")


def _check_positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"{_flag(name)} must be a positive integer, got {value!r}")


@dataclass
class TrainingSettings:
    """What one training run does (the options of ``hybrid-plugin train``).

    Args:
        train (str): ``"xquad-r"``, ``"mlqa-r"``, a LAReQA-style folder, a parallel ``.jsonl`` file or a folder
            written by ``hybrid-plugin prepare`` (see :func:`~hybrid_plugin.data.load_parallel_qa`).
        out (str | Path): output folder: the final model, ``checkpoints/``, ``training.json``.
        data (str | Path, optional): local folder of a named set.
        model (str, optional): base model (hub id or folder); None: the default model.
        sampling (str): ``"hybrid"`` (α = ``alpha``), ``"xx"`` (α = 1) or ``"xy"`` (α = 0). Defaults to hybrid.
        alpha (float, optional): share of X-X batches, for ``"hybrid"`` only. Defaults to None (0.5, the paper's
            best).
        language_weights, xy_mode, mixing: see :class:`~hybrid_plugin.sampling.HybridBatchSampler`.
        language_temperature (float): τ of ``language_weights="temperature"`` (p ∝ n^τ), in [0, 1]. Defaults to
            0.3 (XLM-R's); recorded always, used only with ``"temperature"``.
        alpha_schedule (str | float | Callable, optional): see :class:`~hybrid_plugin.sampling.HybridTrainingCallback`.
        max_steps (int, optional): optimisation steps; None: ``epochs`` decides. Defaults to 50 (minutes on a CPU).
        epochs (float): epochs when ``max_steps`` is None (an epoch = rows / batch size steps). Defaults to 1.
        batch_size (int): pairs per batch and process. Defaults to 32.
        lr (float): AdamW learning rate, finite and positive. Defaults to 3e-5.
        weight_decay (float): finite, ``>= 0``. Defaults to 0.01.
        warmup_ratio (float): linear warm-up share of the steps, in [0, 1). Defaults to 0.1.
        max_seq_length (int): tokens per text. Defaults to 64.
        seed (int): in [0, 2**32 - 1]. Defaults to 0.
        resume (bool): continue from the last checkpoint in ``out/checkpoints``. Defaults to False.
        overwrite (bool): replace an existing training output in ``out``. Defaults to False.
        freeze_embeddings (bool): freeze the token-embedding matrix. Defaults to False.
        languages (Sequence[str], optional): train on these languages only.
        limit (int, optional): keep the first ``limit`` items (of the train side, with ``dev_fraction``).
        dev_fraction (float, optional): hold out this share of the items, in (0, 1), and train on the rest only
            (:func:`~hybrid_plugin.data.split_items`: by item and paragraph; ``hybrid-plugin evaluate
            --dev-fraction`` evaluates the held-out side). Defaults to None (train on every item).
        dev_seed (int): which split. Defaults to 0.
        hard_negatives (bool): add a same-paragraph hard negative per pair. Defaults to False.
        loss (str): ``"mnrl"`` or ``"cached-mnrl"`` (large batches on small memory). Defaults to ``"mnrl"``.
        mini_batch_size (int): mini-batch of ``"cached-mnrl"``. Defaults to 16.
        scale (float): the loss's similarity scale (inverse temperature), finite and positive. Defaults to 20.
        save_steps (int, optional): checkpoint every so many steps; None: once at the end. Defaults to None.
        save_total_limit (int): checkpoints kept. Defaults to 2.
        logging_steps (int): Defaults to 10.
        device (str, optional): ``"cpu"``, ``"cuda"``...; None lets the trainer choose.

    Raises:
        UsageError: an option has a value that is not allowed (the message names it and the value).

    Example::

        >>> TrainingSettings(train="xquad-r", out="runs/hybrid", alpha=0.3).effective_alpha
        0.3
        >>> TrainingSettings(train="xquad-r", out="runs/x", lr=float("inf"))
        Traceback (most recent call last):
        hybrid_plugin.errors.UsageError: --lr must be a finite number > 0, got inf
    """

    train: str
    out: str | Path
    data: str | Path | None = None
    model: str | None = None
    sampling: Sampling = "hybrid"
    alpha: float | None = None
    language_weights: LanguageWeights = "uniform"
    language_temperature: float = DEFAULT_TEMPERATURE
    xy_mode: XYMode = "pair_per_batch"
    mixing: Mixing = "batch"
    alpha_schedule: str | float | Callable[[int], float] | None = None
    max_steps: int | None = 50
    epochs: float = 1.0
    batch_size: int = 32
    lr: float = 3e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_seq_length: int = 64
    seed: int = 0
    resume: bool = False
    overwrite: bool = False
    freeze_embeddings: bool = False
    languages: Sequence[str] | None = None
    limit: int | None = None
    hard_negatives: bool = False
    dev_fraction: float | None = None
    dev_seed: int = 0
    loss: LossName = "mnrl"
    mini_batch_size: int = 16
    scale: float = 20.0
    save_steps: int | None = None
    save_total_limit: int = 2
    logging_steps: int = 10
    device: str | None = None

    def __post_init__(self) -> None:
        self._check_values()
        self._check_combinations()

    def _check_values(self) -> None:
        """Each option on its own."""
        for name, allowed in _CHOICES:
            value = getattr(self, name)
            if value not in get_args(allowed):
                raise UsageError(f"{_flag(name)} must be one of {', '.join(get_args(allowed))}, got {value!r}")
        for name in _POSITIVE_INTS:
            _check_positive_int(name, getattr(self, name))
        for name in _OPTIONAL_POSITIVE_INTS:
            if getattr(self, name) is not None:
                _check_positive_int(name, getattr(self, name))
        for name, *limits in _RANGES:
            if getattr(self, name) is not None:
                _check_number(name, getattr(self, name), *limits)
        for name in _FLAGS:
            if not isinstance(getattr(self, name), bool):
                raise UsageError(f"{_flag(name)} is a switch (True or False), got {getattr(self, name)!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed <= _MAX_SEED:
            raise UsageError(f"--seed must be an integer in [0, {_MAX_SEED}], got {self.seed!r}")
        for name in ("train", "out"):
            if not isinstance(getattr(self, name), (str, Path)) or not str(getattr(self, name)).strip():
                raise UsageError(f"{_flag(name)} must name a dataset or a path, got {getattr(self, name)!r}")
        if self.device is not None and (not isinstance(self.device, str) or not self.device.strip()):
            raise UsageError(f"--device must name a device (cpu, cuda, cuda:1, mps), got {self.device!r}")
        check_split_options(self.dev_fraction, self.dev_seed, optional=True)
        self._check_schedule()
        self._check_languages()

    def _check_schedule(self) -> None:
        schedule = self.alpha_schedule
        if schedule is None or callable(schedule) or schedule == "curriculum":
            return
        if isinstance(schedule, (int, float)) and not isinstance(schedule, bool):
            _check_number("alpha_schedule", schedule, 0.0, 1.0, True, True, "")
            return
        raise UsageError(f"--alpha-schedule must be 'curriculum', a number in [0, 1] or a function of the epoch, "
                         f"got {schedule!r}")

    def _check_languages(self) -> None:
        if self.languages is None:
            return
        if isinstance(self.languages, str) or not all(isinstance(x, str) and x for x in self.languages):
            raise UsageError(f"--languages must be a list of language codes, got {self.languages!r}")
        self.languages = tuple(self.languages)
        repeated = sorted({x for x in self.languages if self.languages.count(x) > 1})
        if repeated:
            raise UsageError(f"--languages names {', '.join(repeated)} more than once")

    def _check_combinations(self) -> None:
        """Options that go together (or exclude each other)."""
        if self.alpha is not None and self.sampling != "hybrid":
            raise UsageError(f"--alpha goes with --sampling hybrid; --sampling {self.sampling} fixes alpha at "
                             f"{self.effective_alpha:g}")
        if self.sampling != "hybrid" and self.alpha_schedule is not None:
            raise UsageError("an alpha schedule goes with --sampling hybrid")
        if self.resume and self.overwrite:
            raise UsageError("--resume and --overwrite exclude each other")
        if self.languages is not None and len(self.languages) < 2 and self.sampling != "xx":
            raise UsageError(f"X-Y batches (--sampling {self.sampling}) need at least two --languages, got "
                             f"{', '.join(self.languages)}")

    @property
    def effective_alpha(self) -> float:
        if self.sampling == "hybrid":
            return 0.5 if self.alpha is None else float(self.alpha)
        return 1.0 if self.sampling == "xx" else 0.0

    def to_json(self) -> dict[str, Any]:
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Path):
                value = str(value)
            elif isinstance(value, tuple):
                value = list(value)
            elif callable(value):
                value = getattr(value, "__name__", repr(value))
            out[f.name] = value
        return out

    def changed_since(self, before: dict[str, Any]) -> list[str]:
        """The settings that change the batches or the model (:data:`STREAM_FIELDS`) and differ from ``before``
        (an earlier run's :meth:`to_json`), as ``"name (old -> new)"``."""
        now = self.to_json()
        # a field newer than ``before`` had its default then
        defaults = {f.name: None if f.default is dataclasses.MISSING else f.default for f in dataclasses.fields(self)}
        return [f"{k} ({before.get(k, defaults[k])!r} -> {now.get(k)!r})" for k in STREAM_FIELDS
                if before.get(k, defaults[k]) != now.get(k)]
