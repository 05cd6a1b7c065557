"""Running the low-resource study: every model of a ``reproduce`` folder on AfriQA, NTREX-128 and Tatoeba, with and
without language-bias removal, resumably; then the summary (:mod:`~hybrid_plugin.lowres.summary`).

Each cell (set x model x with / without debiasing) is built in a folder beside its place and swapped in complete
(:func:`~hybrid_plugin.files.staged_folder`), so a finished cell is kept and skipped when the study runs again, and
an interrupted one leaves nothing. A fitted transform is kept under ``OUT/debias/`` and read back. With
``publish``, the small outputs (records, Markdown, plots; no embeddings) are copied there as each cell finishes.

What does not live here: the settings and the folder layout (:mod:`~hybrid_plugin.lowres.settings`), the data
(:mod:`~hybrid_plugin.lowres.sets`), the Tatoeba cell (:mod:`~hybrid_plugin.lowres.bitext_cells`), the summary.

Example::

    from hybrid_plugin.lowres import LowresSettings, run_lowres

    summary = run_lowres(LowresSettings(study="outputs/reproduce-quick", out="outputs/lowres-quick", quick=True,
                                        data_root="../shared/data"))
    summary.rows[0].system, summary.rows[0].overall   # "base", 0.41...
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from hybrid_plugin.debias.fitting import fit_debias
from hybrid_plugin.debias.storage import DEBIAS_FILE
from hybrid_plugin.debias.transform import LanguageDebias
from hybrid_plugin.evaluation.pipeline import evaluate, write_results
from hybrid_plugin.files import claim_output, staged_folder
from hybrid_plugin.lowres.bitext_cells import bitext_cell, write_per_query
from hybrid_plugin.lowres.settings import (
    DEBIAS_FIT_ON,
    SETTINGS_FILE,
    LowresSettings,
    StudyModel,
    cell_dir,
    is_done,
    study_models,
)
from hybrid_plugin.lowres.sets import LowresData
from hybrid_plugin.lowres.summary import LowresSummary, summarise, write_summary
from hybrid_plugin.study.folders import claim_study_folder, publish_outputs

__all__ = ["PUBLISHED", "run_lowres"]

logger = logging.getLogger(__name__)

PUBLISHED = (SETTINGS_FILE, "summary.json", "summary.md", "languages-*.png", "cells/*/*/*/*/results.json",
             "cells/*/*/*/*/results.md", "cells/*/*/*/*/bitext.json", "debias/*/*/debias.json",
             "debias/*/*/*/debias.json")
"""The small outputs copied to ``--publish`` (per-query files and embeddings stay behind)."""
SEED = 0
"""The seed of the draw of fit sentences (the same sentences for every model)."""


def _check_folder(settings: LowresSettings) -> None:
    """Refuse an ``out`` that is not new, empty or this study's; then claim it and record the settings."""
    if claim_study_folder(settings.out, SETTINGS_FILE, settings.plan(), "lowres"):
        logger.info("resuming the low-resource study in %s", settings.out)


class _Transforms:
    """The language-bias removal of each (model, fit set), fitted once and kept under ``OUT/debias/``."""

    def __init__(self, settings: LowresSettings, data: LowresData) -> None:
        self.settings, self.data = settings, data

    def languages(self, fit_set: str) -> list[str]:
        """The evaluated languages of the sets this fit serves."""
        served = [s for s in self.settings.sets if DEBIAS_FIT_ON[s] == fit_set]
        return list(dict.fromkeys(lang for s in served for lang in self.data.evaluated_languages(s)))

    def get(self, model: StudyModel, set_name: str) -> LanguageDebias:
        fit_set = DEBIAS_FIT_ON[set_name]
        folder = self.settings.out / "debias" / fit_set / model.key
        if (folder / DEBIAS_FILE).is_file():
            return LanguageDebias.load(folder)
        texts = self.data.fit_texts(fit_set, self.languages(fit_set))
        transform = fit_debias(model.path, texts, method=self.settings.debias_method, seed=SEED, name=fit_set,
                               per_language=self.settings.debias_per_language, batch_size=self.settings.batch_size,
                               show_progress=False)
        transform.save(folder)  # the arrays first, the JSON last: a folder without debias.json is fitted again
        logger.info("fitted %s on %s for %s", transform.describe(), fit_set, model.key)
        return transform


def _run_cell(settings: LowresSettings, data: LowresData, transforms: _Transforms, set_name: str,
              model: StudyModel, debias: str | None) -> None:
    folder = cell_dir(settings.out, set_name, model, debias)
    transform = transforms.get(model, set_name) if debias else None
    name = model.config + (f"+{debias}" if debias else "")
    training = {"train_set": model.train_set, "config": model.config, "seed": model.seed,
                "languages": list(model.training_languages)}
    with staged_folder(folder, overwrite=True) as staged:
        if set_name == "tatoeba":
            record, per_query = bitext_cell(data.tatoeba(), model.path, name=name, debias=transform,
                                            training=model.training_languages, batch_size=settings.batch_size)
            write_per_query(staged, per_query)
            record.save(staged)
        else:
            pairs = settings.pair_choice if set_name == "ntrex-128" else "all"
            results = evaluate(data.collection(set_name), model.path, model_name=name, debias=transform,
                               batch_size=settings.batch_size, show_progress=False, pairs=pairs, training=training,
                               limit=settings.slice(set_name).items)
            write_results(results, staged)
        claim_output(staged, "lowres")


def _publish(settings: LowresSettings) -> None:
    """Copy the small outputs that are newer than their published copies."""
    publish_outputs(settings.out, settings.publish, PUBLISHED)


def _cells(settings: LowresSettings, models: list[StudyModel]) -> list[tuple[str, StudyModel, str | None]]:
    """Every (set, model, debias method or None), model by model (the base first)."""
    variants = (None, settings.debias_method) if settings.debias else (None,)
    return [(s, m, d) for m in models for s in settings.sets for d in variants]


def run_lowres(settings: LowresSettings, *, progress: Callable[[str], None] | None = None) -> LowresSummary:
    """Run (or continue) the low-resource study and write its summary.

    Args:
        settings (LowresSettings): the options (checked when made).
        progress (callable, optional): called with one line per cell (the CLI prints them).

    Returns:
        LowresSummary: the summary (also ``OUT/summary.json`` and ``summary.md``).

    Raises:
        UsageError: ``out`` holds something else (another folder, or this study with other settings).
        DataError: a malformed study plan or data file.
    """
    say = progress or logger.info
    _check_folder(settings)
    models, missing = study_models(settings.study, settings.seeds, settings.trained_on)
    if missing:
        say(f"{len(missing)} model(s) of the study are not trained yet (rerun later to add them): {missing[0]}, ...")
    data = LowresData(settings)
    transforms = _Transforms(settings, data)
    todo = _cells(settings, models)
    started = time.perf_counter()
    for number, (set_name, model, debias) in enumerate(todo, 1):
        label = f"[{number}/{len(todo)}] {set_name} {model.trained_on}/{model.config}" \
                f"{'+' + debias if debias else ''} seed{model.seed}"
        if is_done(cell_dir(settings.out, set_name, model, debias), set_name):
            say(f"{label}: done already")
            continue
        t0 = time.perf_counter()
        _run_cell(settings, data, transforms, set_name, model, debias)
        say(f"{label}: {time.perf_counter() - t0:.0f} s (total {time.perf_counter() - started:.0f} s)")
        _publish(settings)
    summary = summarise(settings, models, missing)
    write_summary(summary, settings.out)
    _publish(settings)
    return summary
