"""hybrid_plugin.robustness.cells, and the embedding cache under perturbation: ``evaluate(..., perturb=...)`` and a
study cell re-encode only the questions that changed; a cell's numbers are ``evaluate``'s."""

from __future__ import annotations

import pytest

from hybrid_plugin.evaluation.pipeline import evaluate
from hybrid_plugin.perturb.collection import cache_checksum, perturb_collection
from hybrid_plugin.perturb.kinds import Perturbation
from hybrid_plugin.robustness.cells import StudyModel, evaluate_cell
from hybrid_plugin.robustness.settings import Cell, RobustnessSettings


@pytest.fixture(scope="module")
def small(xquad):
    return xquad.select_languages(["en", "de", "es"]).limit(8)


def test_a_perturbed_collection_keys_the_cache_like_the_clean_one(small):
    noisy, _ = perturb_collection(small, Perturbation("typos", 0.1))
    assert noisy.checksum != small.checksum
    assert cache_checksum(noisy) == cache_checksum(small) == small.checksum


def test_evaluate_with_perturb_encodes_only_the_changed_questions(small, tiny_xquad_model, isolated_cache,
                                                                  one_torch_thread):
    clean = evaluate(small, tiny_xquad_model, show_progress=False)
    assert clean.encoding["texts_encoded"] == clean.encoding["distinct_texts"]
    perturbation = Perturbation("lowercase", 1.0)
    noisy_qa, _ = perturb_collection(small, perturbation)
    changed = {t for lang in small.languages for q, t in noisy_qa.questions[lang].items()
               if t != small.questions[lang][q]}
    noisy = evaluate(small, tiny_xquad_model, perturb=perturbation, show_progress=False)
    assert 0 < noisy.encoding["texts_encoded"] == len(changed)
    assert noisy.encoding["from_cache"] == noisy.encoding["distinct_texts"] - len(changed)


def test_a_cell_gives_evaluate_s_numbers_and_records_what_was_done(small, tiny_xquad_model, tmp_path,
                                                                   isolated_cache, one_torch_thread):
    (tmp_path / "plan.json").write_text('{"preset": "quick"}')
    settings = RobustnessSettings(study=tmp_path, kinds=("typos",), items=8, budgets=(1,), attack_items=2,
                                  candidates=3)
    model = StudyModel.load(str(tiny_xquad_model), "tiny")
    cell = Cell("typos", 0.1)
    results, attack = evaluate_cell(model, small, cell, settings)
    reference = evaluate(small, tiny_xquad_model, perturb=cell.perturbation(), show_progress=False, cache=False)
    assert attack is None and results.map == pytest.approx(reference.map)
    assert results.per_query == reference.per_query
    assert results.settings["perturbation"] == reference.settings["perturbation"]
    hit, attack = evaluate_cell(model, small, Cell("attack", 1.0), settings)
    record = hit.settings["perturbation"]
    assert record["qids"] == list(small.qids[:2]) and record["attack"]["queries"] == 2 * len(small.languages)
    assert attack.model_queries <= record["attack"]["model_queries_bound"] == 2 * len(small.languages) * 4
    changed = {q for r in attack.reports for o in r.outcomes if o.attacked != o.original for q in [o.qid]}
    assert changed <= set(small.qids[:2])
