"""hybrid_plugin.analysis.reproduction: the command that reproduces a result (a study's, rebuilt from its plan and
parsed back by the real ``reproduce`` parser; or ``evaluate``'s), where a results file's study is, and a study's
2CR conditions with their statuses."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybrid_plugin.analysis.reproduction import (
    evaluate_command,
    find_study,
    read_study,
    study_command,
)
from hybrid_plugin.cli import build_parser
from hybrid_plugin.errors import DataError
from hybrid_plugin.evaluation.results import load_results
from hybrid_plugin.study.settings import ReproduceSettings

ROOT = Path(__file__).resolve().parents[2]


def _settings_of(command: str, out: Path) -> ReproduceSettings:
    """The settings `hybrid-plugin reproduce` would run with for ``command`` (parsed by the real parser)."""
    args = build_parser().parse_args(shlex.split(command.split("  #")[0])[1:])
    preset = "quick" if args.quick else args.preset
    return ReproduceSettings(out=out, preset=preset, model=args.model, alphas=args.alphas, seeds=args.seeds,
                             max_steps=args.max_steps, batch_size=args.batch_size, eval_limit=args.eval_limit,
                             train_limit=args.train_limit, backend=args.backend, precision=args.precision,
                             scale=args.scale, hard_negatives=args.hard_negatives, loss=args.loss,
                             mini_batch_size=args.mini_batch_size, debias=args.debias_fit_on,
                             debias_method=args.debias_method, debias_per_language=args.debias_per_language)


@settings(max_examples=40, deadline=None)
@given(preset=st.sampled_from(["quick", "full", "paper"]),
       alphas=st.lists(st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]), min_size=1, max_size=5, unique=True),
       seeds=st.integers(1, 4), max_steps=st.one_of(st.none(), st.integers(1, 500)),
       batch_size=st.one_of(st.none(), st.integers(2, 128)), eval_limit=st.one_of(st.none(), st.integers(1, 50)),
       scale=st.one_of(st.none(), st.sampled_from([20.0, 50.0, 100.0])),
       hard_negatives=st.one_of(st.none(), st.booleans()),
       debias=st.one_of(st.none(), st.tuples(st.sampled_from(["lsar", "center"]), st.sampled_from([200, 50]))),
       model=st.one_of(st.none(), st.just("some/model dir")))
def test_the_study_command_gives_back_the_plan(preset, alphas, seeds, max_steps, batch_size, eval_limit, scale,
                                               hard_negatives, debias, model):
    fit = {} if debias is None else dict(debias="ntrex-128", debias_method=debias[0], debias_per_language=debias[1])
    study = ReproduceSettings(out=Path("s"), preset=preset, alphas=tuple(alphas), seeds=seeds, max_steps=max_steps,
                              batch_size=batch_size, eval_limit=eval_limit, scale=scale,
                              hard_negatives=hard_negatives, model=model, **fit)
    command = study_command(study)
    assert "# also" not in command
    assert _settings_of(command, Path("s")).plan() == study.plan()
    assert ReproduceSettings.from_plan(json.loads(json.dumps(study.plan())), Path("s")).plan() == study.plan()


def test_a_plan_written_before_the_recipe_options_reads_as_the_earlier_recipe():
    """The full study's plan.json has no scale / hard_negatives: it ran at scale 20 without hard negatives, whatever
    the presets say now, and its command says so."""
    old = ReproduceSettings.from_plan(json.loads((ROOT / "benchmarks/reproduce/full/plan.json").read_text()), Path("s"))
    assert (old.scale, old.hard_negatives) == (20.0, False)
    assert study_command(old).startswith("hybrid-plugin reproduce --preset full --scale 20 --no-hard-negatives")


def test_more_seeds_than_the_plan_and_library_only_settings():
    study = ReproduceSettings(out=Path("s"), preset="full", lr=1e-5)
    assert study_command(study, seeds=3) == "hybrid-plugin reproduce --preset full --seeds 3  # also: lr=1e-05"
    two = ReproduceSettings(out=Path("s"), seeds=2)
    assert study_command(two, seeds=1) == "hybrid-plugin reproduce --quick --seeds 2"


def test_evaluate_commands_of_the_committed_results():
    bm25 = ROOT / "benchmarks" / "results" / "bm25" / "xquad-r"
    assert evaluate_command(load_results(bm25)) == "hybrid-plugin evaluate --dataset xquad-r --bm25"
    base = ROOT / "benchmarks" / "results" / "base-e5-small" / "mlqa-r"
    assert evaluate_command(load_results(base)) == "hybrid-plugin evaluate --dataset mlqa-r"


def test_evaluate_command_of_a_limited_run_of_another_model(make_results, record_of):
    data = make_results(limit=50)
    data["settings"] = {"batch_size": 8, "depth": 100, "backend": "onnx", "precision": "int8"}
    assert evaluate_command(record_of(data)) == ("hybrid-plugin evaluate --dataset xquad-r --limit 50 --model "
                                                 "/models/e5-small --batch-size 8 --depth 100 --backend onnx "
                                                 "--precision int8")


def test_find_study(tmp_path):
    study = tmp_path / "s"
    for folder in ("eval/xquad-r/base", "eval/xquad-r/xx/seed3", "elsewhere/xx/seed0"):
        (study / folder).mkdir(parents=True)
        (study / folder / "results.json").write_text("{}")
    assert find_study(study / "eval/xquad-r/base/results.json") is None  # no plan.json yet
    (study / "plan.json").write_text("{}")
    assert find_study(study / "eval/xquad-r/base/results.json") == study
    assert find_study(study / "eval/xquad-r/xx/seed3") == study
    assert find_study(study / "elsewhere/xx/seed0/results.json") is None
    assert find_study(tmp_path / "results.json") is None


def test_committed_studies_are_read():
    for name, conditions in (("full", 24), ("sweep", 18)):
        study = read_study(ROOT / "benchmarks" / "reproduce" / name)
        assert study.record is not None and len(study.record.conditions) == conditions and not study.outcomes
        found = study.conditions("xquad-r", "xx", 0)
        assert [c.setting for c in found] == ["en-en", "en-de", "de-en"] and all(c.status is None for c in found)


def test_statuses_come_from_the_check_outcomes(page_inputs):
    study = read_study(page_inputs.study)
    assert [c.status for c in study.conditions("xquad-r", "xx", 0)] == ["OK"]
    assert [c.status for c in study.conditions("xquad-r", "hybrid-a0.5", 0)] == ["FAIL"]
    assert [c.status for c in study.conditions("xquad-r", "base", 0)] == [None]
    assert study.conditions("xquad-r", "xx", 1) == []


@pytest.mark.parametrize(("plan", "message"), [
    ("{", "malformed JSON"),
    ("[1]", "expected a JSON object of study settings"),
    ('{"preset": "full", "colour": "red"}', "unknown study setting"),
    ('{"preset": "full", "seeds": 0}', "not a valid study plan"),
])
def test_a_malformed_plan_names_the_file(tmp_path, plan, message):
    (tmp_path / "plan.json").write_text(plan)
    with pytest.raises(DataError, match=message) as info:
        read_study(tmp_path)
    assert str(tmp_path / "plan.json") in str(info.value)


def test_outcomes_of_a_condition_the_record_does_not_list(page_inputs):
    path = page_inputs.study / "record-check.json"
    data = json.loads(path.read_text())
    data["outcomes"]["xquad-r.xy-seed0.en-de"] = data["outcomes"]["xquad-r.xx-seed0.en-de"]
    path.write_text(json.dumps(data))
    with pytest.raises(DataError, match="a condition the record does not list: xquad-r.xy-seed0.en-de"):
        read_study(page_inputs.study)
