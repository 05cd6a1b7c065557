"""A recipe ablation on a development split: :data:`VARIANTS`, :class:`AblationSettings`, :func:`run_ablation`.

A recipe is chosen on items held out of the *training* collection, never on an evaluation set (issue #13): every
variant trains on the train side of the collection (:func:`~hybrid_plugin.data.split_items`, 10 % of MLQA-R's
items held out by default) and is evaluated on the dev side, next to the untuned base model on the same items.
A variant is a named dict of :class:`~hybrid_plugin.training.TrainingSettings` overrides over one shared recipe
(:data:`BASE_RECIPE`: the study's ``full`` preset, hybrid α 0.5), plus optional keyword arguments for
:func:`~hybrid_plugin.evaluation.evaluate` (e.g. ``{"debias": ...}`` where ``evaluate`` takes it).

Resumable: each record (``OUT/<variant>.json``, :class:`~hybrid_plugin.study.ablation_record.AblationRecord`) is
written as soon as the variant is done and skipped when the run is repeated with the same settings; a variant
killed while training resumes from its last checkpoint in ``WORK/<variant>/model`` (``TrainingSettings(
resume=True)``; the checkpoints are removed once its model is saved); ``OUT/ablation.md`` is regenerated after
each record. ``WORK`` (default ``outputs/ablation``)
holds the models and full ``results.json`` files; ``OUT`` only the small records.

What does not live here: the records and the table (:mod:`hybrid_plugin.study.ablation_record`), the
command line (``benchmarks/training/ablation.py``).
"""

from __future__ import annotations

import gc
import inspect
import json
import logging
import re
import resource
import shutil
import time
from dataclasses import MISSING, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, get_args

import torch

from hybrid_plugin.data.collection import ParallelQA
from hybrid_plugin.data.loading import load_parallel_qa
from hybrid_plugin.data.splits import check_split_options, split_items
from hybrid_plugin.errors import UsageError
from hybrid_plugin.evaluation.pipeline import evaluate
from hybrid_plugin.evaluation.results import EvaluationResults
from hybrid_plugin.models.backends import BACKENDS
from hybrid_plugin.provenance import package_versions
from hybrid_plugin.study.ablation_debias import describe, fitted_lsar, projected_base
from hybrid_plugin.study.ablation_record import BASE, AblationRecord, read_records, write_markdown, write_record
from hybrid_plugin.study.settings import PRESETS
from hybrid_plugin.training.settings import TrainingSettings
from hybrid_plugin.training.trainer import train

__all__ = ["BASE_RECIPE", "VARIANTS", "AblationSettings", "Variant", "run_ablation"]

logger = logging.getLogger(__name__)

BASE_RECIPE: dict[str, Any] = {
    "sampling": "hybrid", "alpha": 0.5,
    **{k: PRESETS["full"][k] for k in ("batch_size", "max_seq_length", "freeze_embeddings", "lr")},
}
"""The recipe every variant starts from: the study's ``full`` preset (batch 32, 64 tokens, frozen token
embeddings, lr 3e-5), hybrid batches with α 0.5; the steps come from :attr:`AblationSettings.steps`."""

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_MANAGED = ("train", "out", "data", "model", "resume", "overwrite", "dev_fraction", "dev_seed", "limit", "device",
            "save_steps")
"""Training settings the runner sets itself (a variant may not override them)."""
_VERSIONS = ("hybrid-plugin", "torch", "sentence-transformers", "transformers", "onnxruntime")
DebiasWhen = Literal["before", "after"]
_DEFAULTS = {f.name: f.default for f in fields(TrainingSettings) if f.default is not MISSING}


@dataclass(frozen=True)
class Variant:
    """One recipe of the ablation.

    Args:
        name (str): file-name safe (``[A-Za-z0-9][A-Za-z0-9_.-]*``), not ``"base"``.
        training (dict): :class:`~hybrid_plugin.training.TrainingSettings` fields over :data:`BASE_RECIPE`.
        evaluation (dict): keyword arguments for :func:`~hybrid_plugin.evaluation.evaluate`.
        debias (str, optional): ``"after"``: evaluate with LSAR fitted for the trained model;
            ``"before"``: train the base model with its LSAR as a frozen layer
            (:mod:`~hybrid_plugin.study.ablation_debias`).
        model_from (str, optional): evaluate the model another variant trained (the same training settings,
            trained once), e.g. ``"after"`` on ``scale100-hn``'s model.

    Example::

        >>> Variant("scale100-hn", {"scale": 100.0, "hard_negatives": True}).name
        'scale100-hn'
    """

    name: str
    training: dict[str, Any] = field(default_factory=dict)
    evaluation: dict[str, Any] = field(default_factory=dict)
    debias: DebiasWhen | None = None
    model_from: str | None = None

    def __post_init__(self) -> None:
        if self.debias is not None and self.debias not in get_args(DebiasWhen):
            raise UsageError(f"variant {self.name}: debias must be one of {', '.join(get_args(DebiasWhen))}, "
                             f"got {self.debias!r}")
        if self.model_from is not None and self.debias == "before":
            raise UsageError(f"variant {self.name}: debias 'before' trains its own model (no model_from)")
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name) or self.name == BASE:
            raise UsageError(f"variant name {self.name!r} is not allowed: expected letters, digits, '.', '-', '_' "
                             f"and not {BASE!r}")
        managed = sorted(set(self.training) & set(_MANAGED))
        if managed:
            raise UsageError(f"variant {self.name}: the runner sets {', '.join(managed)} itself")


VARIANTS: dict[str, Variant] = {v.name: v for v in (
    Variant("scale20", {"scale": 20.0}),
    Variant("scale50", {"scale": 50.0}),
    Variant("scale100", {"scale": 100.0}),
    Variant("scale100-hn", {"scale": 100.0, "hard_negatives": True}),
    Variant("scale100-b128-cached", {"scale": 100.0, "batch_size": 128, "loss": "cached-mnrl",
                                     "mini_batch_size": 32}),
    Variant("scale100-lr1e-5", {"scale": 100.0, "lr": 1e-5}),
    Variant("scale100-hn-lsar-after", {"scale": 100.0, "hard_negatives": True}, debias="after",
            model_from="scale100-hn"),
    Variant("scale100-hn-lsar-before", {"scale": 100.0, "hard_negatives": True}, debias="before"),
)}
"""The shipped variants: the loss's scale (sentence-transformers' default 20 vs E5's own temperature 0.01, i.e.
100), same-paragraph hard negatives, a larger batch with the cached loss, a smaller learning rate, and LSAR
(fitted on NTREX-128) applied after training the chosen recipe or built into the model before it."""


@dataclass
class AblationSettings:
    """What :func:`run_ablation` runs.

    Args:
        out (str | Path): the records folder (``<variant>.json``, ``ablation.md``). Defaults to
            ``benchmarks/training/ablation``.
        work (str | Path): models and full results (outside the repository). Defaults to ``outputs/ablation``.
        train (str): the training collection (see :func:`~hybrid_plugin.data.load_parallel_qa`). Defaults to
            ``"mlqa-r"``.
        data (str | Path, optional): its local folder.
        model (str, optional): the base model; None: the default multilingual-e5-small.
        variants (tuple[str, ...]): names in ``catalogue``, in order. Defaults to all of them.
        steps (int): optimisation steps of every variant that does not set ``max_steps``. Defaults to the ``full``
            preset's 200.
        dev_fraction (float): share of the items held out. Defaults to 0.1.
        dev_seed (int): which split. Defaults to 0.
        limit (int, optional): keep the first ``limit`` items of the collection before splitting (quick checks).
        backend (str): inference backend of the evaluations. Defaults to ``onnx`` (faster on a CPU, the same
            embeddings as torch: ``benchmarks/encoding/README.md``).
        device (str, optional): torch device for training and evaluation.
        save_steps (int): checkpoint every so many steps (what a killed variant resumes from). Defaults to 50.
        seed (int): training seed. Defaults to 0.
        catalogue (dict[str, Variant]): the variants to choose from. Defaults to :data:`VARIANTS`.

    Raises:
        UsageError: an unknown variant, a bad number, or a variant whose settings ``TrainingSettings`` refuses.
    """

    out: str | Path = "benchmarks/training/ablation"
    work: str | Path = "outputs/ablation"
    train: str = "mlqa-r"
    data: str | Path | None = None
    model: str | None = None
    variants: tuple[str, ...] = tuple(VARIANTS)
    steps: int = PRESETS["full"]["max_steps"]
    dev_fraction: float = 0.1
    dev_seed: int = 0
    limit: int | None = None
    backend: str = "onnx"
    device: str | None = None
    save_steps: int = 50
    seed: int = 0
    catalogue: dict[str, Variant] = field(default_factory=lambda: dict(VARIANTS))
    debias_fit_on: str = "ntrex-128"
    debias_data: str | Path | None = None
    debias_per_language: int = 200

    def __post_init__(self) -> None:
        check_split_options(self.dev_fraction, self.dev_seed)
        for name in ("steps", "save_steps", "debias_per_language"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise UsageError(f"--{name.replace('_', '-')} must be a positive integer, got {value!r}")
        if self.backend not in BACKENDS:
            raise UsageError(f"--backend must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        self.variants = tuple(self.variants)
        unknown = [v for v in self.variants if v not in self.catalogue]
        unknown += [f"{v} (its model_from)" for v in self.variants if v in self.catalogue
                    and self.catalogue[v].model_from not in (None, *self.catalogue)]
        if unknown or not self.variants:
            raise UsageError(f"--variants: unknown {', '.join(unknown) or '(none given)'}; choose from "
                             f"{', '.join(self.catalogue)}")
        accepted = inspect.signature(evaluate).parameters
        for name in self.variants:
            self.training_settings(name)  # every variant's settings are checked now, before anything runs
            wrong = [k for k in self.catalogue[name].evaluation if k not in accepted]
            if wrong:
                raise UsageError(f"variant {name}: evaluate() takes no option {', '.join(wrong)}")

    def training_settings(self, name: str, *, resume: bool = False) -> TrainingSettings:
        """The :class:`TrainingSettings` of variant ``name`` (its model goes to ``WORK/<name>/model``)."""
        options = {**BASE_RECIPE, "max_steps": self.steps, "seed": self.seed, **self.catalogue[name].training}
        projected = str(Path(self.work) / name / "projected")  # made by ablation_debias.projected_base
        return TrainingSettings(train=self.train, out=Path(self.work) / name / "model", data=self.data,
                                model=projected if self.catalogue[name].debias == "before" else self.model,
                                dev_fraction=self.dev_fraction, dev_seed=self.dev_seed,
                                device=self.device, save_steps=self.save_steps, resume=resume, **options)

    def identity(self, name: str) -> dict[str, Any]:
        """What a record of ``name`` must have been made with to be skipped on a rerun."""
        common = {"train": self.train, "model": self.model or "default", "backend": self.backend,
                  "limit": self.limit, "dev_fraction": self.dev_fraction, "dev_seed": self.dev_seed}
        if name == BASE:
            return common
        training = self.training_settings(name).to_json()
        for key in ("out", "resume", "overwrite", "device", "save_steps", "logging_steps"):
            training.pop(key, None)
        identity = {**common, "recipe": {**BASE_RECIPE, "max_steps": self.steps, "seed": self.seed},
                    "training": training, "evaluation": self.catalogue[name].evaluation}
        if self.catalogue[name].debias is not None:  # absent from the records made before it existed
            training.pop("model", None)  # the projected folder's path: its content is what "debias" says
            identity["debias"] = describe(self, self.catalogue[name].debias)
        return identity


# ---------------------------------------------------------------------------------------------- memory


def _reset_peak_memory() -> str:
    """Reset the peak resident memory (Linux: ``clear_refs`` 5 resets VmHWM) and torch's GPU peak; return how
    the peak is read (``"VmHWM"`` or, where it cannot be reset, the process's ``"ru_maxrss"``)."""
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return "VmHWM"
    except OSError:
        return "ru_maxrss"


def _peak_memory() -> tuple[float | None, float | None]:
    """Peak resident memory and peak GPU memory allocated by torch since :func:`_reset_peak_memory`, in MiB."""
    rss = None
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                rss = round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    if rss is None:
        rss = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    gpu = round(torch.cuda.max_memory_allocated() / 2**20, 1) if torch.cuda.is_available() else None
    return rss, gpu


def _release_memory() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


# ---------------------------------------------------------------------------------------------- running


def _existing(settings: AblationSettings, name: str) -> AblationRecord | None:
    """The finished record of ``name``, if it was made with these settings (else an error, nothing is replaced)."""
    path = Path(settings.out) / f"{name}.json"
    if not path.is_file():
        return None
    record = AblationRecord.load(path)
    wanted = json.loads(json.dumps(settings.identity(name)))
    if record.identity != wanted:
        changed = sorted(k for k in set(wanted) | set(record.identity) if wanted.get(k) != record.identity.get(k))
        raise UsageError(f"{path} was made with other settings ({', '.join(changed)} differ); remove it, or give "
                         "another --out and --work")
    return record


def _trained_model(settings: AblationSettings, name: str, qa: ParallelQA) -> dict[str, Any]:
    """Train variant ``name`` (or resume it, or read its finished run); return its ``training.json``."""
    folder = Path(settings.work) / name / "model"
    report_file = folder / "training.json"
    wanted = settings.training_settings(name)
    if report_file.is_file():
        report = json.loads(report_file.read_text(encoding="utf-8"))
        before = {k: v for k, v in report.get("settings", {}).items() if k not in ("resume", "overwrite")}
        now = {k: v for k, v in wanted.to_json().items() if k not in ("resume", "overwrite")}
        # a setting added after the run was made is absent from its report: its default is what the run used
        changed = sorted(k for k in set(now) | set(before) if before.get(k, _DEFAULTS.get(k)) != now.get(k))
        if changed:
            raise UsageError(f"{folder} holds a finished run with other settings ({', '.join(changed)}); remove it "
                             "or give another --work")
        return report
    resume = any((path / "trainer_state.json").is_file() for path in (folder / "checkpoints").glob("checkpoint-*"))
    logger.info("%s: %s", name, "resuming training" if resume else "training")
    report = train(settings.training_settings(name, resume=resume), qa=qa).report
    shutil.rmtree(folder / "checkpoints", ignore_errors=True)  # the model is saved; only a killed run needs them
    return report


def _evaluation(settings: AblationSettings, name: str, model: str | None, dev: ParallelQA,
                options: dict[str, Any], training: dict[str, Any] | None) -> tuple[EvaluationResults, str, float]:
    """Evaluate ``model`` on the dev side; the full results go to ``WORK/<name>/results.json``."""
    started = time.perf_counter()
    results = evaluate(dev, model, out=None, backend=settings.backend, device=settings.device, show_progress=False,
                       training=training, **options)
    folder = Path(settings.work) / name
    folder.mkdir(parents=True, exist_ok=True)
    path = results.save(folder)
    return results, str(path), time.perf_counter() - started


def _run_one(settings: AblationSettings, name: str, qa: ParallelQA, dev: ParallelQA, command: str) -> AblationRecord:
    """Train (unless ``name`` is the base) and evaluate one variant; return its record (not yet written)."""
    _reset_peak_memory()
    report: dict[str, Any] = {}
    started = time.perf_counter()
    if name == BASE:
        model, options, overrides = settings.model, {}, {}
    else:
        variant = settings.catalogue[name]
        if variant.debias == "before":
            projected_base(settings, name, qa.languages)
        trained = variant.model_from or name
        report = _trained_model(settings, trained, qa)
        trained_split = (report.get("data") or {}).get("split") or {}
        if trained_split.get("dev_digest") != dev.split.dev_digest:  # type: ignore[union-attr]
            raise UsageError(f"variant {name} was trained beside another dev split than the one evaluated")
        model, options = str(Path(settings.work) / trained / "model"), dict(variant.evaluation)
        overrides = {**variant.training, **({"debias": variant.debias} if variant.debias else {})}
        if variant.debias == "after":
            options["debias"] = fitted_lsar(settings, model, Path(settings.work) / name / "debias", qa.languages)
    train_seconds = time.perf_counter() - started
    training = None if name == BASE else {"variant": name, "settings": report.get("settings")}
    results, results_file, eval_seconds = _evaluation(settings, name, model, dev, options, training)
    rss, gpu = _peak_memory()
    timings = report.get("timings") or {}
    return AblationRecord(
        name=name, identity=json.loads(json.dumps(settings.identity(name))), overrides=dict(overrides),
        evaluation_options={k: (describe(settings, "after") if k == "debias" else v) for k, v in options.items()},
        map=results.map, bias=results.bias,
        split=dev.split.to_dict(),  # type: ignore[union-attr]
        steps=int(report.get("global_step") or 0), seconds_per_step=timings.get("seconds_per_step"),
        train_seconds=round(train_seconds, 3), eval_seconds=round(eval_seconds, 3), peak_rss_mib=rss,
        peak_gpu_mib=gpu, final_loss=report.get("final_loss"), command=command, results_file=results_file,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"), versions=package_versions(_VERSIONS))


def run_ablation(settings: AblationSettings, *, command: str = "") -> list[AblationRecord]:
    """Run the base and every selected variant that has no record yet; write each record when it is done and
    regenerate ``OUT/ablation.md``.

    Args:
        settings (AblationSettings): what to run.
        command (str): the command line, recorded in each new record and in the table.

    Returns:
        list[AblationRecord]: the base's and the selected variants' records, in that order.

    Raises:
        UsageError, DataError: bad settings, or a record / work folder made with other settings.

    Example::

        from hybrid_plugin.study.ablation import AblationSettings, run_ablation

        records = run_ablation(AblationSettings(data="../shared/data/mlqa-r", variants=("scale20", "scale100")))
        [(r.name, r.map["mono"]) for r in records]
    """
    for name in (BASE, *settings.variants):  # a stale record is an error before anything runs
        _existing(settings, name)
    qa = load_parallel_qa(settings.train, data=settings.data).limit(settings.limit)
    dev = split_items(qa, settings.dev_fraction, seed=settings.dev_seed).dev
    logger.info("dev side of %s: %s", qa.name, dev.split.title)  # type: ignore[union-attr]
    records = []
    for name in (BASE, *settings.variants):
        record = _existing(settings, name)
        if record is None:
            record = _run_one(settings, name, qa, dev, command)
            write_record(record, settings.out)
            write_markdown(read_records(settings.out, settings.variants), Path(settings.out) / "ablation.md")
            _release_memory()
            logger.info("%s: mAP mono %.4f, cross %.4f, multi %.4f", name, *(record.map[s] or float("nan")
                                                                        for s in ("mono", "cross", "multi")))
        records.append(record)
    write_markdown(read_records(settings.out, tuple(settings.catalogue)), Path(settings.out) / "ablation.md")
    return records
