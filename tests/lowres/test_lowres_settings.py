"""hybrid_plugin.lowres.settings: the options checked once (one-line errors, nothing written), the quick slices,
the models read from a reproduce folder, the CLI's errors."""

from __future__ import annotations

import json

import pytest

from hybrid_plugin.cli import main
from hybrid_plugin.data.languages import resource_levels
from hybrid_plugin.errors import DataError, UsageError
from hybrid_plugin.lowres.settings import DEBIAS_FIT_ON, QUICK_SLICES, LowresSettings, Slice, study_models


@pytest.fixture()
def study(tmp_path):
    folder = tmp_path / "study"
    folder.mkdir()
    (folder / "plan.json").write_text(json.dumps({"model": None, "alphas": [1.0, 0.0, 0.5], "seeds": 2,
                                                  "directions": [["mlqa-r", "xquad-r"]]}))
    for config in ("xx", "hybrid-a0.5"):
        model = folder / "models" / "mlqa-r" / config / "seed0"
        model.mkdir(parents=True)
        (model / "training.json").write_text("{}")
    return folder


@pytest.mark.parametrize("options, message", [
    (dict(sets=("afriqa", "mlqa-r")), "--sets must be distinct names among afriqa, ntrex-128, tatoeba"),
    (dict(sets=()), "--sets must be"),
    (dict(sets=("tatoeba", "tatoeba")), "--sets must be"),
    (dict(pairs="sample:x"), "--pairs must be"),
    (dict(debias_method="pca"), "--debias-method must be one of center, lir, lsar"),
    (dict(debias_per_language=0), "--debias-per-language must be a positive integer"),
    (dict(batch_size=True), "--batch-size must be a positive integer"),
    (dict(trials=0), "--trials must be"),
    (dict(limit=-1), "--limit must be"),
])
def test_a_bad_option_is_one_usage_error_and_nothing_is_written(study, tmp_path, options, message):
    out = tmp_path / "out"
    with pytest.raises(UsageError, match=message) as caught:
        LowresSettings(study=study, out=out, **options)
    assert "\n" not in str(caught.value) and not out.exists()


def test_the_study_must_be_a_reproduce_folder(tmp_path, study):
    with pytest.raises(UsageError, match="holds no plan.json"):
        LowresSettings(study=tmp_path / "nothing", out=tmp_path / "out")
    with pytest.raises(UsageError, match="is the study folder"):
        LowresSettings(study=study, out=study)


def test_presets_and_limit(study, tmp_path):
    quick = LowresSettings(study=study, out=tmp_path / "o", quick=True)
    assert quick.pairs.spec == "sample:6:0" and quick.debias_per_language == 25
    assert quick.slice("afriqa") == QUICK_SLICES["afriqa"]
    full = LowresSettings(study=study, out=tmp_path / "o")
    assert full.pairs.spec == "sample:200:0" and full.debias_per_language == 200 and full.slice("tatoeba") == Slice()
    limited = LowresSettings(study=study, out=tmp_path / "o", quick=True, limit=3)
    assert limited.slice("ntrex-128") == Slice(QUICK_SLICES["ntrex-128"].languages, 3)
    assert limited.plan()["limit"] == 3 and limited.plan()["pairs"] == "sample:6:0"


def test_the_quick_slices_cover_every_resource_group():
    """Each quick slice has languages of at least two groups, the unseen one among them (the study's point)."""
    training = ("ar", "de", "en", "es", "hi", "vi", "zh")
    for name, part in QUICK_SLICES.items():
        groups = {level.group for level in resource_levels(part.languages, training).values()}
        assert {"pretrained", "unseen"} <= groups, name


def test_debiasing_is_never_fitted_on_the_set_evaluated():
    assert all(fit != evaluated for evaluated, fit in DEBIAS_FIT_ON.items())


def test_the_models_of_a_study(study):
    models, missing = study_models(study)
    assert [(m.config, m.seed, m.train_set) for m in models] == [("base", 0, None), ("xx", 0, "mlqa-r"),
                                                                  ("hybrid-a0.5", 0, "mlqa-r")]
    assert models[1].training_languages == ("ar", "de", "en", "es", "hi", "vi", "zh")
    assert models[0].training_languages == models[1].training_languages  # the same groups in every row
    assert models[2].key == "mlqa-r/hybrid-a0.5-seed0" and models[0].key == "base"
    assert len(missing) == 4 and any(m.endswith("xy/seed0") for m in missing)  # not trained yet


@pytest.mark.parametrize("plan", ["{not json", json.dumps({"alphas": [1.0], "seeds": "1", "directions": []})])
def test_a_malformed_plan_is_a_data_error(study, plan):
    (study / "plan.json").write_text(plan)
    with pytest.raises(DataError, match="plan.json"):
        study_models(study)


def test_the_cli_reports_a_bad_option_in_one_line(study, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["lowres", "--study", str(study), "--out", str(out), "--sets", "afriqa,nope"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--sets must be distinct names" in err and not out.exists()
