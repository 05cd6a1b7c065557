from __future__ import annotations

import pytest

from hybrid_plugin.errors import UsageError
from hybrid_plugin.perturb.attack import AttackSettings, attack_queries
from hybrid_plugin.perturb.measure import edit_distance
from hybrid_plugin.perturb.segments import split_units


@pytest.fixture(scope="module")
def small(xquad):
    return xquad.select_languages(["en", "de", "es"]).limit(12)


@pytest.fixture(scope="module")
def model(tiny_xquad_model):
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(1)
    return SentenceTransformer(str(tiny_xquad_model), device="cpu")


@pytest.mark.parametrize("unit", ["char", "word"])
def test_the_attack_keeps_its_budget_and_never_reaches_another_question(small, model, unit):
    settings = AttackSettings(budget=2, unit=unit, candidates=6, seed=1)
    report = attack_queries(small, model, settings, query_language="de", pool_language="en")
    others = {t for lang in small.languages for t in small.questions[lang].values()}
    assert len(report.outcomes) == len(small.questions["de"])
    for o in report.outcomes:
        assert len(o.edits) <= settings.budget and o.model_queries <= settings.max_model_queries
        units = (o.original, o.attacked) if unit == "char" else (split_units(o.original).words,
                                                                 split_units(o.attacked).words)
        assert edit_distance(*units) <= settings.budget
        assert o.attacked == o.original or o.attacked not in others
        assert o.rank_after >= o.rank_before and o.attacked.strip()
    assert report.mean_rank_drop >= 0
    summary = report.to_dict()
    assert summary["queries"] == len(report.outcomes) and summary["settings"]["unit"] == unit


def test_the_attack_is_deterministic_and_pushes_the_answer_down(small, model):
    settings = AttackSettings(budget=3, candidates=8)
    first = attack_queries(small, model, settings, query_language="en")
    again = attack_queries(small, model, settings, query_language="en")
    assert first.outcomes == again.outcomes
    assert any(o.rank_after > o.rank_before for o in first.outcomes)
    ranked_first = [o for o in first.outcomes if o.rank_before == 1]
    assert first.success_rate == (sum(o.rank_after > 1 for o in ranked_first) / len(ranked_first)
                                  if ranked_first else None)


def test_bad_settings_and_setting_are_refused(small, model):
    with pytest.raises(UsageError, match="budget must be an integer from 1 to 20"):
        AttackSettings(budget=0)
    with pytest.raises(UsageError, match="unit"):
        AttackSettings(unit="sentence")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="has no language 'fr'"):
        attack_queries(small, model, AttackSettings(), query_language="fr")
    with pytest.raises(UsageError, match="question 'nope'"):
        attack_queries(small, model, AttackSettings(), query_language="en", qids=["nope"])
