"""hybrid_plugin.robustness.runner: a tiny real study end to end (three tiny real models on XQuAD-R's 11
languages), only questions re-encoded in perturbed cells, resumption, publishing, other settings refused."""

from __future__ import annotations

import json

import pytest

from hybrid_plugin.errors import UsageError
from hybrid_plugin.evaluation.results import EvaluationResults
from hybrid_plugin.robustness.runner import run_robustness
from hybrid_plugin.robustness.settings import RobustnessSettings
from hybrid_plugin.robustness.summary import RobustnessSummary
from hybrid_plugin.study.settings import ReproduceSettings, conditions

ITEMS = 3


@pytest.fixture()
def tiny_study(tmp_path, tiny_model_builder):
    """A study folder as ``reproduce`` leaves it, for what the robustness study reads: plan.json and a model
    folder (with training.json) per condition; the models are tiny real ones, a different one per condition."""
    folder = tmp_path / "study"
    base = tiny_model_builder(tmp_path / "base-model", seed=0)
    settings = ReproduceSettings(out=folder, model=str(base), alphas=(1.0, 0.5), max_steps=1, eval_limit=ITEMS)
    folder.mkdir()
    (folder / "plan.json").write_text(json.dumps(settings.plan()))
    for seed, cond in enumerate((c for c in conditions(settings) if c.train_set is not None), start=1):
        model = tiny_model_builder(cond.model_dir(folder), seed=seed)
        (model / "training.json").write_text("{}")
    return folder


def options(study, shared_data, **extra):
    return dict(study=study, kinds=("typos", "codeswitch"), budgets=(1,), attack_items=1, candidates=2,
                trials=200, data_root=shared_data, **extra)


@pytest.mark.slow
def test_a_tiny_study_runs_resumes_and_publishes(tiny_study, shared_data, tmp_path, isolated_cache,
                                                 one_torch_thread):
    publish = tmp_path / "published"
    settings = RobustnessSettings(**options(tiny_study, shared_data, publish=publish))
    lines: list[str] = []
    summary = run_robustness(settings, progress=lines.append)
    out = settings.out
    configs = ["base", "xx", "hybrid-a0.5"]
    assert sum("mAP mono" in line for line in lines) == len(configs) * (1 + 6 + 1)
    assert {r.config for r in summary.rows} == set(configs) and len(summary.rows) == 3 * 7
    assert {(t.hybrid, t.baseline) for t in summary.tests} == {("hybrid-a0.5", "base"), ("hybrid-a0.5", "xx")}
    assert len(summary.tests) == 2 * 7 * 3 and all(0 < t.p_value <= 1 for t in summary.tests)
    assert RobustnessSummary.from_dict(json.loads((out / "summary.json").read_text())) == summary
    assert summary.seconds is not None and "Compute time of the cells" in summary.to_markdown()
    for group in ("mono", "cross", "multi"):
        assert (out / f"severity-xquad-r-{group}.png").stat().st_size > 1000
    # a perturbed cell encodes questions only: every passage and unchanged question comes from the cache
    xx = out / "cells" / "xquad-r" / "xx" / "seed0"
    clean = EvaluationResults.load(xx / "clean")
    noisy = EvaluationResults.load(xx / "typos-0.1")
    passages = sum(clean.dataset.candidates.values())
    assert noisy.encoding["texts_encoded"] <= clean.dataset.items * len(clean.languages)
    assert noisy.encoding["from_cache"] >= passages
    assert noisy.settings["perturbation"]["perturbation"]["label"] == "typos:0.1" and "cell" in noisy.timings
    # the attack: the first item of every language, its topics, its bound
    attack = json.loads((xx / "attack-1" / "attack-summary.json").read_text())
    assert attack["queries"] == len(clean.languages) and attack["model_queries"] <= attack["model_queries_bound"]
    assert attack["model_queries_bound"] == len(clean.languages) * (1 + 2)
    assert len(list((xx / "attack-1" / "topics").glob("xquad-r.*.tsv"))) == len(clean.languages)
    row = next(r for r in summary.rows if r.config == "xx" and r.cell == "attack:1")
    assert row.attack["queries"] == len(clean.languages)
    # published: the small outputs only
    assert (publish / "summary.md").read_text() == (out / "summary.md").read_text()
    assert (publish / "cells" / "xquad-r" / "xx" / "seed0" / "typos-0.1" / "results.md").is_file()
    assert not list(publish.rglob("results.json")) and not list(publish.rglob("*.tsv"))

    # a rerun computes nothing; a lost cell is computed again, the same
    lines.clear()
    again = run_robustness(settings, progress=lines.append)
    assert not any("mAP mono" in line for line in lines) and again.rows == summary.rows
    (xx / "typos-0.1" / "results.json").unlink()
    lines.clear()
    third = run_robustness(settings, progress=lines.append)
    assert [line.split(":")[0] for line in lines if "mAP mono" in line] == ["xx seed 0 on xquad-r, typos"]
    assert third.rows == summary.rows and third.tests == summary.tests

    # other settings in the same folder: refused, nothing changed
    before = (out / "robustness.json").read_text()
    with pytest.raises(UsageError, match="other settings \\(kinds, levels\\)"):
        run_robustness(RobustnessSettings(**{**options(tiny_study, shared_data), "kinds": ("typos",)}))
    assert (out / "robustness.json").read_text() == before


def test_missing_models_are_refused_before_anything_is_written(tiny_study, shared_data):
    missing = tiny_study / "models" / "mlqa-r" / "xx" / "seed0" / "training.json"
    missing.unlink()
    settings = RobustnessSettings(**options(tiny_study, shared_data))
    with pytest.raises(UsageError, match="1 trained model\\(s\\) missing, e.g. .*xx/seed0"):
        run_robustness(settings)
    assert not settings.out.exists()
