from __future__ import annotations

import pytest

from hybrid_plugin.errors import UsageError
from hybrid_plugin.evaluation.pipeline import evaluate
from hybrid_plugin.evaluation.results import EvaluationResults
from hybrid_plugin.perturb.drop import perturbation_drop
from hybrid_plugin.perturb.kinds import Perturbation

pytestmark = pytest.mark.slow  # two evaluations of a tiny model (about a minute on two busy cores)

LIMIT = 25


@pytest.fixture(scope="module")
def clean_and_perturbed(xquad, tiny_xquad_model):
    import torch

    torch.set_num_threads(1)
    qa = xquad.select_languages(["en", "de", "es"]).limit(LIMIT)
    kwargs = {"cache": False, "show_progress": False, "limit": LIMIT}
    clean = evaluate(qa, tiny_xquad_model, **kwargs)
    perturbed = evaluate(qa, tiny_xquad_model, perturb=Perturbation("codeswitch", 1.0, 0, "de"), **kwargs)
    return clean, perturbed


def test_the_record_says_which_perturbation(clean_and_perturbed):
    clean, perturbed = clean_and_perturbed
    assert "perturbation" not in clean.settings
    record = perturbed.settings["perturbation"]
    assert record["perturbation"] == Perturbation("codeswitch", 1.0, 0, "de").record()
    assert record["changed"]["en"] == LIMIT and record["donors"]["en"] == {"de": LIMIT}
    assert perturbed.dataset.checksum != clean.dataset.checksum
    again = EvaluationResults.from_json(perturbed.to_json())
    assert again.settings["perturbation"] == record


def test_full_codeswitching_to_german_turns_english_queries_into_german_ones(clean_and_perturbed):
    """At level 1 with donor de, every en (and es) query is its German question: en-Y equals clean de-Y."""
    clean, perturbed = clean_and_perturbed
    for pool in ("en", "de", "es"):
        assert perturbed.pair("en", pool).value("map") == pytest.approx(clean.pair("de", pool).value("map"))


def test_drop_is_clean_minus_perturbed_per_setting_and_language(clean_and_perturbed):
    clean, perturbed = clean_and_perturbed
    drop = perturbation_drop(clean, perturbed)
    for setting in ("mono", "cross", "multi"):
        assert drop.map[setting].drop == pytest.approx(clean.map[setting] - perturbed.map[setting])
    assert drop.bias.drop == pytest.approx(clean.bias - perturbed.bias)
    en = drop.per_language["en"]
    assert en["mono"].drop == pytest.approx(clean.pair("en", "en").value("map")
                                            - perturbed.pair("en", "en").value("map"))
    cross_clean = (clean.pair("en", "de").value("map") + clean.pair("en", "es").value("map")) / 2
    assert en["cross"].clean == pytest.approx(cross_clean)
    assert en["bias"].perturbed == perturbed.pair("en", "multi").bias
    assert drop.to_dict()["perturbation"]["label"] == "codeswitch:1:de"


def test_drop_refuses_records_in_the_wrong_order_or_of_other_models(clean_and_perturbed):
    clean, perturbed = clean_and_perturbed
    with pytest.raises(UsageError, match="clean results are perturbed"):
        perturbation_drop(perturbed, perturbed)
    with pytest.raises(UsageError, match="no settings.perturbation"):
        perturbation_drop(clean, clean)
    other = EvaluationResults.from_json(perturbed.to_json())
    other.model = type(other.model)("another")
    with pytest.raises(UsageError, match="differ in model"):
        perturbation_drop(clean, other)
