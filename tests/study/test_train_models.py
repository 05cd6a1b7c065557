"""``reproduce --train-only`` / :func:`train_models`: some of a study's models, trained without evaluation, in the
study's own folders (so that the study, ``robustness`` and ``lowres`` find them), and one-line refusals that touch
nothing."""

from __future__ import annotations

import json

import pytest

from hybrid_plugin.cli import main
from hybrid_plugin.errors import UsageError
from hybrid_plugin.study.runner import train_models
from hybrid_plugin.study.selection import study_trained_on
from hybrid_plugin.study.settings import DIRECTIONS, ReproduceSettings


@pytest.mark.parametrize(("trained_on", "expected"), [
    (None, None), ("xquad-r", ("xquad-r",)), (["mlqa-r", "xquad-r"], ("mlqa-r", "xquad-r"))])
def test_trained_on_is_none_or_distinct_planned_collections(tmp_path, trained_on, expected):
    assert study_trained_on(trained_on, DIRECTIONS, tmp_path) == expected


@pytest.mark.parametrize(("trained_on", "message"), [
    ((), "must name distinct training collections but got none"),
    (("mlqa-r", "mlqa-r"), "must name distinct training collections but got mlqa-r,mlqa-r"),
    (("tatoeba",), "--trained-on tatoeba: the study .* trains on mlqa-r, xquad-r only"),
])
def test_a_bad_trained_on_is_a_usage_error(tmp_path, trained_on, message):
    with pytest.raises(UsageError, match=message):
        study_trained_on(trained_on, DIRECTIONS, tmp_path)


@pytest.mark.parametrize(("options", "message"), [
    (dict(seeds=3), r"--seeds 3: the study .* plans 2 seed\(s\)"),
    (dict(trained_on="xquad-r"), "--trained-on xquad-r: the study .* trains on mlqa-r only"),
    (dict(seeds=0), "--seeds must be a positive integer, got 0"),
])
def test_train_models_refuses_a_bad_choice_before_touching_the_folder(tmp_path, options, message):
    out = tmp_path / "study"
    with pytest.raises(UsageError, match=message):
        train_models(ReproduceSettings(out=out, seeds=2), **options)
    assert not out.exists()


@pytest.mark.parametrize(("options", "fragment"), [
    (["--train-seeds", "1"], "--train-seeds goes with --train-only"),
    (["--trained-on", "mlqa-r"], "--trained-on goes with --train-only"),
    (["--train-only", "--check", "record.yaml"], "--train-only and --check are two different jobs"),
    (["--train-only", "--train-seeds", "2"], "--train-seeds 2: the study has 1 seed(s) (--seeds 1); choose 1 to 1"),
    (["--train-only", "--trained-on", "xquad-r"], "--trained-on xquad-r: the study"),
])
def test_the_command_refuses_in_one_line_and_writes_nothing(tmp_path, capsys, options, fragment):
    out = tmp_path / "study"
    assert main(["reproduce", "--out", str(out), *options]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fragment in err
    assert not out.exists()


@pytest.mark.slow
def test_train_only_trains_the_chosen_seeds_keeps_them_and_the_study_evaluates_them(tmp_path, shared_data,
                                                                                     default_model_path, capsys):
    out = tmp_path / "study"
    options = ["reproduce", "--out", str(out), "--data-root", str(shared_data), "--alphas", "1", "--seeds", "2",
               "--max-steps", "2", "--batch-size", "8", "--eval-limit", "5", "--train-limit", "20"]
    assert main([*options, "--train-only", "--train-seeds", "1", "--trained-on", "mlqa-r"]) == 0
    seed0 = out / "models/mlqa-r/xx/seed0"
    assert capsys.readouterr().out.split() == [str(seed0)]
    assert json.loads((seed0 / "training.json").read_text())["settings"]["seed"] == 0
    assert not (out / "models/mlqa-r/xx/seed1").exists() and not (out / "eval").exists()
    assert not (seed0 / "checkpoints").exists()

    # every seed: seed 0 is kept as it is, seed 1 is trained
    stamp = (seed0 / "training.json").stat().st_mtime
    settings = ReproduceSettings(out=out, data_root=shared_data, alphas=(1.0,), seeds=2, max_steps=2, batch_size=8,
                                 eval_limit=5, train_limit=20)
    assert train_models(settings) == [seed0, out / "models/mlqa-r/xx/seed1"]
    assert (seed0 / "training.json").stat().st_mtime == stamp

    # the same study with other settings is refused, and nothing is trained
    with pytest.raises(UsageError, match=r"other settings \(max_steps\)"):
        train_models(ReproduceSettings(out=out, data_root=shared_data, alphas=(1.0,), seeds=2, max_steps=3,
                                       batch_size=8, eval_limit=5, train_limit=20))
