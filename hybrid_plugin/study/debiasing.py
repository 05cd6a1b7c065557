"""The study's language-bias removal: for every condition, a transform (LSAR by default) fitted with that
condition's own model on parallel text the study does not evaluate (``ntrex-128``), kept in
``OUT/debias/<eval>/<config>-seed<k>/``, so that the runner can evaluate the same model a second time with the
transform applied -- the "with debiasing" rows beside the plain ones.

The fit draws the evaluation set's languages from the fit collection (NTREX-128 holds every language of XQuAD-R
and MLQA-R), at most ``settings.debias_per_language`` sentences each, with seed 0; the sentences are encoded in both
roles with the model's prompts (:func:`~hybrid_plugin.debias.fitting.fit_debias`). A finished fit is read back,
so an interrupted study continues.

What does not live here: the methods (:mod:`hybrid_plugin.debias`), applying them in an evaluation
(``evaluate(debias=...)``), the runner (:mod:`hybrid_plugin.study.runner`).

Example::

    from hybrid_plugin.study.debiasing import condition_debias

    lsar = condition_debias(settings, condition, "outputs/study/models/mlqa-r/xx/seed0", ["ar", "de", "en"])
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from hybrid_plugin.data.loading import load_parallel_qa
from hybrid_plugin.debias.fitting import fit_debias
from hybrid_plugin.debias.storage import DEBIAS_FILE
from hybrid_plugin.debias.transform import LanguageDebias
from hybrid_plugin.study.settings import Condition, ReproduceSettings

__all__ = ["DEBIAS_SEED", "condition_debias"]

logger = logging.getLogger(__name__)

DEBIAS_SEED = 0
"""The seed of the draw of fit sentences (the same sentences for every model of a study)."""


def condition_debias(settings: ReproduceSettings, cond: Condition, model: str,
                     languages: Sequence[str]) -> LanguageDebias:
    """The transform for ``cond``'s model (fitted now, or read back from the study folder).

    Args:
        settings: the study (``settings.debias`` names the fit collection).
        cond: the condition whose model is fitted (its debiased twin is evaluated with the result).
        model: that model's folder (or hub id, for the base).
        languages: the evaluated languages (the fit draws these from the fit collection).
    """
    if settings.debias is None:
        raise ValueError("the study has no --debias-fit-on")
    folder = cond.debias_dir(settings.out)
    if (folder / DEBIAS_FILE).is_file():
        return LanguageDebias.load(folder)
    texts = load_parallel_qa(settings.debias, data=settings.data(settings.debias), languages=list(languages))
    debias = fit_debias(model, texts, method=settings.debias_method, per_language=settings.debias_per_language,
                        seed=DEBIAS_SEED, batch_size=32, show_progress=False)
    debias.save(folder)  # the arrays first, the JSON last: a folder without debias.json is fitted again
    logger.info("fitted %s for %s", debias.describe(), folder)
    return debias
