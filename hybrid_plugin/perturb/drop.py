"""The drop from clean to perturbed queries: :func:`perturbation_drop` compares two results records of the same
model and collection, one clean and one from ``evaluate(..., perturb=...)``.

For each setting (mono, cross, multi) the macro mAP clean, perturbed and their difference (``drop = clean -
perturbed``: positive when the perturbation hurts), the language bias and its change, and the same per query
language (script matters: ``per_language["th"]["cross"]`` is the mean over Thai queries against every other pool).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hybrid_plugin.errors import UsageError
from hybrid_plugin.evaluation.cells import MULTI, SETTINGS, mean_of_present
from hybrid_plugin.evaluation.results import EvaluationResults

__all__ = ["Change", "PerturbationDrop", "perturbation_drop"]


@dataclass(frozen=True)
class Change:
    """One number clean and perturbed; ``drop = clean - perturbed`` (None when either is missing)."""

    clean: float | None
    perturbed: float | None

    @property
    def drop(self) -> float | None:
        return None if self.clean is None or self.perturbed is None else self.clean - self.perturbed

    def to_dict(self) -> dict[str, float | None]:
        return {"clean": self.clean, "perturbed": self.perturbed, "drop": self.drop}


@dataclass(frozen=True)
class PerturbationDrop:
    """The drop of one perturbation for one model: ``map[setting]``, ``bias`` (multi; a negative drop means more
    bias), and ``per_language[lang][setting]`` (mAP; ``"bias"`` too for the multilingual pool)."""

    model: str
    dataset: str
    perturbation: dict[str, Any]
    map: dict[str, Change]
    bias: Change
    per_language: dict[str, dict[str, Change]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {"model": self.model, "dataset": self.dataset, "perturbation": dict(self.perturbation),
                "map": {s: c.to_dict() for s, c in self.map.items()}, "bias": self.bias.to_dict(),
                "per_language": {lang: {s: c.to_dict() for s, c in cells.items()}
                                 for lang, cells in self.per_language.items()}}


def _language_values(results: EvaluationResults, lang: str) -> dict[str, float | None]:
    """mAP of query language ``lang`` per setting (cross: the mean over the other pools) and its multi bias."""
    def map_of(pool: str) -> float | None:
        cell = results.pair(lang, pool)
        return None if cell is None else cell.value("map")

    others = [y for y in results.languages if y != lang]
    multi = results.pair(lang, MULTI)
    return {"mono": map_of(lang), "cross": mean_of_present(map_of(y) for y in others), "multi": map_of(MULTI),
            "bias": None if multi is None else multi.bias}


def perturbation_drop(clean: EvaluationResults, perturbed: EvaluationResults) -> PerturbationDrop:
    """Compare a clean evaluation with a perturbed one of the same model on the same items.

    Args:
        clean: results without ``settings["perturbation"]``.
        perturbed: results of ``evaluate(..., perturb=...)``.

    Returns:
        PerturbationDrop: per setting and per query language.

    Raises:
        UsageError: the clean record is perturbed, the other is not, or they differ in model, dataset or
            languages.

    Example::

        drop = perturbation_drop(load_results("clean"), load_results("typos-0.1"))
        drop.map["cross"].drop, drop.per_language["th"]["mono"].drop
    """
    if "perturbation" in clean.settings:
        raise UsageError(f"the clean results are perturbed ({clean.settings['perturbation']['perturbation']})")
    if "perturbation" not in perturbed.settings:
        raise UsageError("the perturbed results have no settings.perturbation (evaluate --perturb writes it)")
    for what, a, b in (("model", clean.model.name, perturbed.model.name),
                       ("dataset", clean.dataset.name, perturbed.dataset.name),
                       ("languages", clean.languages, perturbed.languages),
                       ("items", clean.dataset.items, perturbed.dataset.items)):
        if a != b:
            raise UsageError(f"clean and perturbed results differ in {what}: {a!r} vs {b!r}")
    per_language = {}
    for lang in clean.languages:
        before, after = _language_values(clean, lang), _language_values(perturbed, lang)
        per_language[lang] = {key: Change(before[key], after[key]) for key in before}
    return PerturbationDrop(
        model=clean.model.name, dataset=clean.dataset.name,
        perturbation=dict(perturbed.settings["perturbation"]["perturbation"]),
        map={s: Change(clean.map[s], perturbed.map[s]) for s in SETTINGS},
        bias=Change(clean.bias, perturbed.bias), per_language=per_language)
