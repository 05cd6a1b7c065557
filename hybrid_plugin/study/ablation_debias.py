"""Language-bias removal in the recipe ablation: LSAR fitted on text that is neither the training nor the dev side,
applied *after* training (to the trained model's embeddings when the dev side is evaluated) or *before* it (the
base model with the projection as a frozen sentence-transformers layer is what is trained).

Both fit on :attr:`AblationSettings.debias_fit_on` (NTREX-128 by default), restricted to the training
collection's languages, ``debias_per_language`` sentences each, seed 0 -- the same sentences for every model.
A fitted transform is kept in ``WORK/<variant>/debias/`` and read back on a rerun; the projected base model in
``WORK/<variant>/projected/``.

What does not live here: the ablation runner (:mod:`hybrid_plugin.study.ablation`), the methods
(:mod:`hybrid_plugin.debias`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hybrid_plugin.data.loading import load_parallel_qa
from hybrid_plugin.debias.fitting import fit_debias
from hybrid_plugin.debias.module import with_projection
from hybrid_plugin.debias.storage import DEBIAS_FILE
from hybrid_plugin.debias.transform import LanguageDebias

if TYPE_CHECKING:
    from hybrid_plugin.study.ablation import AblationSettings

__all__ = ["describe", "fitted_lsar", "projected_base"]

SEED = 0
"""The seed of the draw of fit sentences."""


def fitted_lsar(settings: AblationSettings, model: str | None, folder: Path,
                languages: Sequence[str]) -> LanguageDebias:
    """LSAR for ``model`` fitted on ``settings.debias_fit_on`` (``languages`` of it), kept in ``folder``."""
    if (folder / DEBIAS_FILE).is_file():
        return LanguageDebias.load(folder)
    texts = load_parallel_qa(settings.debias_fit_on, data=settings.debias_data, languages=list(languages))
    debias = fit_debias(model, texts, method="lsar", per_language=settings.debias_per_language, seed=SEED,
                        device=settings.device, show_progress=False)
    debias.save(folder)  # arrays first, JSON last: a folder without the JSON is fitted again
    return debias


def projected_base(settings: AblationSettings, name: str, languages: Sequence[str]) -> str:
    """The base model with its LSAR as a frozen layer (``WORK/<name>/projected``), made once; its folder."""
    folder = Path(settings.work) / name / "projected"
    if not (folder / "modules.json").is_file():
        lsar = fitted_lsar(settings, settings.model, Path(settings.work) / name / "debias-base", languages)
        with_projection(settings.model, lsar, out=folder, overwrite=folder.exists(), device=settings.device)
    return str(folder)


def describe(settings: AblationSettings, when: str) -> dict[str, Any]:
    """How a variant's debiasing is recorded (its identity and the table's overrides)."""
    return {"debias": when, "method": "lsar", "fit_on": settings.debias_fit_on,
            "per_language": settings.debias_per_language}
