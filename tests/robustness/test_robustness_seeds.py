"""``robustness --seeds K`` and ``--trained-on SET``: the models of seeds 0..K-1 (the base always) of the chosen
directions, checked against the study's plan in one line, recorded only when given (a folder written before the
option resumes with the default; another K is refused), and a one-seed study summarised with its n and no spread."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hybrid_plugin.cli import main
from hybrid_plugin.errors import UsageError
from hybrid_plugin.files import claim_output
from hybrid_plugin.robustness.runner import SETTINGS_FILE, run_robustness
from hybrid_plugin.robustness.settings import RobustnessSettings
from hybrid_plugin.study.folders import check_study_settings
from hybrid_plugin.study.settings import ReproduceSettings, conditions

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "robustness" / "quick" / SETTINGS_FILE


def _study(folder: Path, **plan) -> Path:
    folder.mkdir(parents=True)
    settings = ReproduceSettings(out=folder, **{"alphas": (1.0, 0.5), "max_steps": 1, "eval_limit": 3, **plan})
    (folder / "plan.json").write_text(json.dumps(settings.plan()))
    return folder


@pytest.fixture()
def three_seeds(tmp_path) -> Path:
    return _study(tmp_path / "study", seeds=3)


def test_seeds_k_keeps_the_base_and_the_trained_models_of_the_first_k_seeds(three_seeds):
    every = RobustnessSettings(study=three_seeds)
    assert len(every.conditions()) == len(conditions(every.reproduce)) == 1 + 3 * 2
    one = RobustnessSettings(study=three_seeds, seeds=1)
    assert [(c.config, c.seed) for c in one.conditions()] == [("base", 0), ("xx", 0), ("hybrid-a0.5", 0)]
    two = RobustnessSettings(study=three_seeds, seeds=2)
    assert [c.seed for c in two.conditions() if c.train_set is not None] == [0, 0, 1, 1]
    assert RobustnessSettings(study=three_seeds, seeds=3).conditions() == every.conditions()


def test_seeds_is_recorded_only_when_given(three_seeds):
    assert "seeds" not in RobustnessSettings(study=three_seeds).plan()
    assert RobustnessSettings(study=three_seeds, seeds=2).plan()["seeds"] == 2


@pytest.mark.parametrize(("seeds", "message"), [
    (4, r'--seeds 4: the study .*study plans 3 seed\(s\) \(plan.json "seeds": 3\); choose 1 to 3'),
    (0, "--seeds must be a positive integer, got 0"),
    (True, "--seeds must be a positive integer, got True"),
    ("1", "--seeds must be a positive integer, got '1'"),
])
def test_a_bad_seeds_is_one_usage_error(three_seeds, seeds, message):
    with pytest.raises(UsageError, match=message) as caught:
        RobustnessSettings(study=three_seeds, seeds=seeds)
    assert "\n" not in str(caught.value)
    with pytest.raises(UsageError, match="--seeds"):  # checked even without reading the plan, when a bad value
        RobustnessSettings(study=three_seeds, seeds=0, check_study=False)


@pytest.mark.parametrize(("option", "fragments"), [
    (["--seeds", "5"], ("--seeds 5", "plans 3 seed(s)")),
    (["--trained-on", "xquad-r"], ("--trained-on xquad-r", "trains on mlqa-r only")),
])
def test_the_command_refuses_a_bad_choice_of_models_in_one_line_and_writes_nothing(three_seeds, capsys, option,
                                                                                  fragments):
    before = sorted(p.name for p in three_seeds.iterdir())
    assert main(["robustness", "--study", str(three_seeds), *option]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and all(fragment in err for fragment in fragments)
    assert sorted(p.name for p in three_seeds.iterdir()) == before


def test_a_folder_written_without_seeds_resumes_with_the_default_and_refuses_another_k(tmp_path):
    """The settings file of the recorded quick study (written before --seeds) against today's plans."""
    old = json.loads(BENCHMARK.read_text())
    assert "seeds" not in old
    study = _study(tmp_path / old["study"], seeds=1)
    out = tmp_path / "robustness-quick"
    claim_output(out, "robustness")
    (out / SETTINGS_FILE).write_text(BENCHMARK.read_text())
    default = RobustnessSettings(study=study, out=out, quick=True, candidates=old["candidates"])
    assert check_study_settings(out, SETTINGS_FILE, default.plan(), "robustness") is True
    one = RobustnessSettings(study=study, out=out, quick=True, candidates=old["candidates"], seeds=1)
    with pytest.raises(UsageError, match=r"other settings \(seeds\)"):
        check_study_settings(out, SETTINGS_FILE, one.plan(), "robustness")
    assert (out / SETTINGS_FILE).read_text() == BENCHMARK.read_text()


@pytest.mark.slow
def test_one_seed_of_a_two_seed_study_runs_is_summarised_and_refuses_another_k(tmp_path, tiny_model_builder,
                                                                              shared_data, isolated_cache,
                                                                              one_torch_thread):
    """A two-seed plan with only seed 0 trained: every seed is refused (models missing), --seeds 1 runs the base
    and seed 0; one seed gives n = 1, no spread, and the paired tests still run; once seed 1 is trained, the
    folder refuses every seed (another K) before computing anything."""
    base = tiny_model_builder(tmp_path / "base-model", seed=0)
    study = _study(tmp_path / "study", seeds=2, model=str(base))
    trained = [c for c in conditions(RobustnessSettings(study=study).reproduce) if c.train_set is not None]
    for number, cond in enumerate((c for c in trained if c.seed == 0), 1):
        (tiny_model_builder(cond.model_dir(study), seed=number) / "training.json").write_text("{}")
    options = dict(study=study, kinds=("typos",), budgets=(), trials=100, data_root=shared_data)
    with pytest.raises(UsageError, match=r"2 trained model\(s\) missing, e\.g\. .*seed1"):
        run_robustness(RobustnessSettings(**options))
    settings = RobustnessSettings(**options, seeds=1)
    assert not settings.out.exists()
    summary = run_robustness(settings, progress=lambda line: None)
    assert sorted({(r.config, r.seeds) for r in summary.rows}) == [("base", 1), ("hybrid-a0.5", 1), ("xx", 1)]
    assert all(v is None for r in summary.rows for v in r.perturbed_std.values())
    assert not list((settings.out / "cells").glob("*/*/seed1"))
    assert summary.tests and all(0 < t.p_value <= 1 and t.n > 0 for t in summary.tests)
    markdown = summary.to_markdown()
    assert "first 1 seed(s) of the study only (--seeds)" in markdown and "none for one seed" in markdown
    assert json.loads((settings.out / SETTINGS_FILE).read_text())["seeds"] == 1
    for number, cond in enumerate((c for c in trained if c.seed == 1), 10):
        (tiny_model_builder(cond.model_dir(study), seed=number) / "training.json").write_text("{}")
    with pytest.raises(UsageError, match=r"other settings \(seeds\)"):
        run_robustness(RobustnessSettings(**options))
    assert not list((settings.out / "cells").glob("*/*/seed1"))


def test_trained_on_keeps_the_directions_of_those_collections_and_the_base_on_their_evaluation_sets(tmp_path):
    study = _study(tmp_path / "study", seeds=2, directions=(("mlqa-r", "xquad-r"), ("xquad-r", "mlqa-r")))
    every = RobustnessSettings(study=study, seeds=1)
    assert {c.eval_set for c in every.conditions()} == {"xquad-r", "mlqa-r"}
    one = RobustnessSettings(study=study, seeds=1, trained_on=("mlqa-r",))
    assert [(c.config, c.train_set, c.eval_set, c.seed) for c in one.conditions()] == [
        ("base", None, "xquad-r", 0), ("xx", "mlqa-r", "xquad-r", 0), ("hybrid-a0.5", "mlqa-r", "xquad-r", 0)]
    assert one.plan()["trained_on"] == ["mlqa-r"] and "trained_on" not in every.plan()
    assert RobustnessSettings(study=study, seeds=1, trained_on="mlqa-r").conditions() == one.conditions()
    both = RobustnessSettings(study=study, trained_on=("xquad-r", "mlqa-r"))
    assert both.conditions() == RobustnessSettings(study=study).conditions()


@pytest.mark.parametrize(("trained_on", "message"), [
    (("tatoeba",), r'--trained-on tatoeba: the study .*study trains on mlqa-r only \(plan.json "directions"\)'),
    ((), "--trained-on must name distinct training collections but got none"),
    (("mlqa-r", "mlqa-r"), "--trained-on must name distinct training collections but got mlqa-r,mlqa-r"),
])
def test_a_bad_trained_on_is_one_usage_error(three_seeds, trained_on, message):
    with pytest.raises(UsageError, match=message) as caught:
        RobustnessSettings(study=three_seeds, trained_on=trained_on)
    assert "\n" not in str(caught.value)
