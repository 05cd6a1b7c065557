"""hybrid_plugin.robustness.settings and the `robustness` command's checks: one-line errors, nothing written on bad
input, the study's plan read back, the quick variant."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hybrid_plugin.cli import main
from hybrid_plugin.errors import DataError, UsageError
from hybrid_plugin.perturb.kinds import KINDS
from hybrid_plugin.robustness.settings import LEVELS, QUICK, Cell, RobustnessSettings, read_study
from hybrid_plugin.study.settings import ReproduceSettings


@pytest.fixture()
def study(tmp_path) -> Path:
    folder = tmp_path / "study"
    folder.mkdir()
    plan = ReproduceSettings(out=folder, alphas=(1.0, 0.0, 0.5), max_steps=2, eval_limit=7).plan()
    (folder / "plan.json").write_text(json.dumps(plan))
    return folder


def test_the_full_study_has_every_kind_at_three_levels_and_two_budgets(study):
    settings = RobustnessSettings(study=study)
    assert set(LEVELS) == set(KINDS) and all(len(levels) == 3 for levels in LEVELS.values())
    labels = [c.label for c in settings.cells()]
    assert len(labels) == 3 * len(KINDS) + 2 and labels[-2:] == ["attack:1", "attack:3"]
    assert settings.items == 7  # the study's own limit
    assert settings.out == study / "robustness" and settings.attack_items == 100
    assert settings.reproduce.alphas == (1.0, 0.0, 0.5) and settings.reproduce.max_steps == 2
    assert settings.attack(Cell("attack", 3.0)).max_model_queries == 1 + 3 * 16


def test_quick_keeps_what_it_documents_and_explicit_options_win(study):
    quick = RobustnessSettings(study=study, quick=True)
    assert quick.kinds == QUICK["kinds"] and quick.items == QUICK["items"] and quick.budgets == QUICK["budgets"]
    assert quick.out == study / "robustness-quick" and quick.plan()["quick"] is True
    mine = RobustnessSettings(study=study, quick=True, kinds=("lowercase",), items=3, budgets=())
    assert [c.label for c in mine.cells()] == ["lowercase:0.25", "lowercase:0.5", "lowercase:1"]
    assert mine.items == 3


@pytest.mark.parametrize(("options", "message"), [
    (dict(kinds=("typos", "blur")), "kinds must be distinct names from typos"),
    (dict(kinds=("typos", "typos")), "kinds must be distinct"),
    (dict(kinds=()), "got none"),
    (dict(budgets=(0,)), "budget must be an integer from 1 to 20 but got 0"),
    (dict(budgets=(2, 2)), "budgets must be distinct"),
    (dict(items=0), "items must be an integer >= 1 but got 0"),
    (dict(attack_items=True), "attack_items must be an integer"),
    (dict(candidates=0), "candidates must be an integer from 1 to 256"),
    (dict(unit="sentence"), "unit must be 'char' or 'word'"),
    (dict(seed=-1), "seed must be an integer >= 0"),
    (dict(trials=0), "trials must be an integer >= 1"),
])
def test_bad_settings_are_one_line_usage_errors(study, options, message):
    with pytest.raises(UsageError, match=message) as caught:
        RobustnessSettings(study=study, **options)
    assert "\n" not in str(caught.value)


def test_a_folder_without_a_study_or_with_a_malformed_plan_is_refused(tmp_path):
    with pytest.raises(UsageError, match="no plan.json \\(a folder written by hybrid-plugin reproduce\\)"):
        RobustnessSettings(study=tmp_path)
    (tmp_path / "plan.json").write_text("[1, 2]")
    with pytest.raises(DataError, match="plan.json"):
        read_study(tmp_path)
    (tmp_path / "plan.json").write_text(json.dumps({"preset": "quick", "alphas": [2.0]}))
    with pytest.raises(DataError, match="not a study's settings"):
        read_study(tmp_path)


def test_the_command_refuses_bad_input_in_one_line_and_writes_nothing(study, capsys):
    before = sorted(p.name for p in study.iterdir())
    assert main(["robustness", "--study", str(study), "--kinds", "typos,blur"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "kinds must be distinct names" in err
    assert main(["robustness", "--study", str(study), "--budgets", "1,x"]) == 2
    assert "expected positive integers" in capsys.readouterr().err
    # a study whose trained models are missing: refused before anything is written
    assert main(["robustness", "--study", str(study), "--quick"]) == 2
    err = capsys.readouterr().err
    assert "trained model(s) missing" in err and err.count("\n") == 2  # the --quick notice, then the error
    assert sorted(p.name for p in study.iterdir()) == before
