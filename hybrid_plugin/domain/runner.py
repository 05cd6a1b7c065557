"""Running the domain-transfer study: the zero-shot models on each domain, the better baseline chosen on the
adaptation side, each adaptation of it and of the hybrid model, resumably; then the summary.

Each evaluation is built in a folder beside its place and swapped in complete
(:func:`~hybrid_plugin.files.staged_folder`); an adapted model is complete when its ``training.json`` (or, for
``lsar``, its ``debias.json``) is there. A rerun skips what is done. With ``publish``, the small outputs are
copied there as each cell finishes.

Example::

    from hybrid_plugin.domain import DomainSettings, run_domain

    summary = run_domain(DomainSettings(study="outputs/reproduce-quick", out="outputs/domain-quick", quick=True))
    summary.rows[0].system, summary.rows[0].values["nDCG@10"]
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hybrid_plugin.adaptation.denoising import adapt_with_denoising
from hybrid_plugin.adaptation.parallel import adapt_on_parallel_text
from hybrid_plugin.data.collection import ParallelQA
from hybrid_plugin.data.loading import load_parallel_qa
from hybrid_plugin.debias.fitting import fit_debias
from hybrid_plugin.debias.storage import DEBIAS_FILE
from hybrid_plugin.debias.transform import LanguageDebias
from hybrid_plugin.domain.sets import DomainData, DomainSides, denoising_texts, fit_texts
from hybrid_plugin.domain.settings import GROWING, SETTINGS_FILE, DomainSettings
from hybrid_plugin.domain.summary import CELL_FILE, DomainSummary, summarise, write_summary
from hybrid_plugin.errors import UsageError
from hybrid_plugin.evaluation.beir_eval import ALL, beir_markdown, evaluate_beir
from hybrid_plugin.files import atomic_write, claim_output, staged_folder
from hybrid_plugin.lowres.settings import StudyModel, study_models
from hybrid_plugin.study.folders import claim_study_folder, publish_outputs
from hybrid_plugin.study.settings import RECIPE
from hybrid_plugin.training.run_folder import REPORT_FILE
from hybrid_plugin.training.settings import TrainingSettings

__all__ = ["BEIR_FILE", "PUBLISHED", "run_domain", "zero_shot_models"]

logger = logging.getLogger(__name__)

BEIR_FILE = "beir.json"
PUBLISHED = (SETTINGS_FILE, "summary.json", "summary.md", "domains.png", "cells/*/*/beir.json", "cells/*/*/beir.md",
             f"cells/*/*/{CELL_FILE}", "selection/*/*/beir.json", "models/*/*/training.json",
             "models/*/*/debias.json", "splits/*.json")
"""The small outputs copied to ``--publish`` (no weights, no embeddings)."""


def zero_shot_models(study: Path) -> list[StudyModel]:
    """The base and the seed-0 models trained on the study's first training collection (X-X, X-Y, hybrid).

    Raises:
        UsageError: the study has no trained X-X, X-Y and hybrid model yet.
    """
    models, _ = study_models(study)
    first = next((m.train_set for m in models if m.train_set is not None), None)
    chosen = [m for m in models if m.train_set is None or (m.train_set == first and m.seed == 0)]
    configs = {m.config for m in chosen}
    if not {"xx", "xy"} <= configs or not any(c.startswith("hybrid") for c in configs):
        raise UsageError(f"--study {study} has no trained X-X, X-Y and hybrid models of seed 0 yet")
    return chosen


def _write_cell(folder: Path, results: Any, cell: dict[str, Any]) -> None:
    with staged_folder(folder, overwrite=True) as staged:
        (staged / BEIR_FILE).write_text(json.dumps(results.to_dict(), indent=1) + "\n", encoding="utf-8")
        (staged / "beir.md").write_text(beir_markdown(results), encoding="utf-8")
        (staged / CELL_FILE).write_text(json.dumps(cell, indent=1) + "\n", encoding="utf-8")
        claim_output(staged, "domain")


def _read_value(folder: Path) -> float:
    data = json.loads((folder / BEIR_FILE).read_text(encoding="utf-8"))
    return float(data["cells"][ALL]["values"]["nDCG@10"])


class _Study:
    """One run of the study: its data, the models, the source collections, the cells done."""

    def __init__(self, settings: DomainSettings, say: Callable[[str], None]) -> None:
        self.settings, self.say = settings, say
        self.data = DomainData(settings)
        self.models = {m.config: m for m in zero_shot_models(settings.study)}
        self.hybrid = next(m for c, m in self.models.items() if c.startswith("hybrid"))
        self._sources: dict[str, ParallelQA] = {}
        self.started = time.perf_counter()

    def source(self, model: StudyModel) -> ParallelQA:
        name = str(model.train_set)
        if name not in self._sources:
            qa = load_parallel_qa(name, data=self.settings.data_root / name)
            self._sources[name] = qa.limit(self.settings.source_items)
        return self._sources[name]

    def evaluate(self, folder: Path, sides: DomainSides, model: StudyModel, system: str, *, selection: bool = False,
                 path: str | None = None, debias: LanguageDebias | None = None, extra: dict | None = None) -> None:
        if (folder / BEIR_FILE).is_file():
            return
        t0 = time.perf_counter()
        beir = sides.adapt_beir if selection else sides.beir
        results = evaluate_beir(beir, path or model.path, batch_size=self.settings.batch_size, debias=debias)
        cell = {"domain": sides.domain, "system": system, "config": model.config, "model": path or model.path,
                "train_set": model.train_set, "training_languages": list(model.training_languages),
                "side": "adapt" if selection else "evaluated", "evaluate_s": round(time.perf_counter() - t0, 1),
                **(extra or {})}
        _write_cell(folder, results, cell)
        self.say(f"{sides.domain} {system}{' (adaptation side)' if selection else ''}: nDCG@10 "
                 f"{results.cell(ALL).values['nDCG@10']:.4f} ({time.perf_counter() - t0:.0f} s, total "
                 f"{time.perf_counter() - self.started:.0f} s)")

    def best_baseline(self, sides: DomainSides) -> StudyModel:
        """X-X or X-Y, whichever has the higher nDCG@10 on the adaptation side (never the evaluated items)."""
        values = {}
        for config in ("xx", "xy"):
            folder = self.settings.out / "selection" / sides.domain / config
            self.evaluate(folder, sides, self.models[config], config, selection=True)
            values[config] = _read_value(folder)
        return self.models[max(values, key=lambda c: (values[c], c == "xx"))]

    def _training(self, model: StudyModel, out: Path) -> TrainingSettings:
        s = self.settings
        return TrainingSettings(train=str(model.train_set), data=s.data_root / str(model.train_set), model=model.path,
                                out=out, max_steps=s.steps, batch_size=s.batch_size, max_seq_length=64,
                                freeze_embeddings=True, seed=0, overwrite=out.exists(), **RECIPE)

    def adapt(self, sides: DomainSides, model: StudyModel, adaptation: str) -> tuple[str | None, Any, dict]:
        """The adapted model's path (or the transform), trained or fitted unless already there."""
        folder = self.settings.out / "models" / sides.domain / f"{model.config}+{adaptation}"
        if adaptation == "lsar":
            if not (folder / DEBIAS_FILE).is_file():
                fit_debias(model.path, fit_texts(sides.adapt), method="lsar", seed=0,
                           per_language=self.settings.per_language, name=sides.adapt.name,
                           description=f"{sides.domain}: the adaptation side's sentences",
                           batch_size=self.settings.batch_size, show_progress=False).save(folder)
            return None, LanguageDebias.load(folder), {}
        if not (folder / REPORT_FILE).is_file():
            settings = self._training(model, folder)
            if adaptation == "parallel":
                adapt_on_parallel_text(settings, sides.adapt, source=self.source(model))
            else:
                adapt_with_denoising(settings, denoising_texts(sides.adapt), qa=self.source(model),
                                     denoising_batch_size=max(1, settings.batch_size // 2))
        report = json.loads((folder / REPORT_FILE).read_text(encoding="utf-8"))
        return str(folder), None, {"seconds_per_step": report["timings"]["seconds_per_step"],
                                   "train_s": report["timings"]["train_s"], "steps": report["global_step"]}

    def domain(self, domain: str) -> None:
        sides = self.data.sides(domain)
        split_file = self.settings.out / "splits" / f"{domain}.json"
        if not split_file.is_file():
            with atomic_write(split_file) as handle:
                json.dump(sides.record(), handle, indent=1)
        for config, model in self.models.items():
            self.evaluate(self.settings.out / "cells" / domain / config, sides, model, config)
        best = self.best_baseline(sides)
        for model in (self.hybrid, best):
            for adaptation in self.settings.adaptations:
                system = f"{model.config}+{adaptation}"
                folder = self.settings.out / "cells" / domain / system
                if (folder / BEIR_FILE).is_file():
                    continue
                path, transform, cost = self.adapt(sides, model, adaptation)
                self.evaluate(folder, sides, model, system, path=path, debias=transform,
                              extra={"adaptation": adaptation, "adapted_from": model.config, "cost": cost})
            _publish(self.settings)


def _publish(settings: DomainSettings) -> None:
    publish_outputs(settings.out, settings.publish, PUBLISHED)


def run_domain(settings: DomainSettings, *, progress: Callable[[str], None] | None = None) -> DomainSummary:
    """Run (or continue) the domain-transfer study and write its summary.

    Args:
        settings (DomainSettings): the options (checked when made).
        progress (callable, optional): called with one line per evaluation (the CLI prints them).

    Returns:
        DomainSummary: the summary (also ``OUT/summary.json``, ``summary.md``, ``domains.png``).

    Raises:
        UsageError: ``out`` holds something else, or the study has no trained models yet.
        DataError: a malformed plan or data file.
    """
    say = progress or logger.info
    study = _Study(settings, say)  # checks the study's models before the output folder is touched
    claim_study_folder(settings.out, SETTINGS_FILE, settings.plan(), "domain", growing=GROWING)
    for domain in settings.domains:
        study.domain(domain)
    summary = summarise(settings)
    write_summary(summary, settings.out)
    _publish(settings)
    return summary
