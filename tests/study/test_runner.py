"""hybrid_plugin.study.runner: resumption, extension by seeds / α, the study folder, and a tiny real study whose
2CR record is checked with the stock commands."""

from __future__ import annotations

import json
import shutil

import pytest

from hybrid_plugin.analysis.html_page import leaderboard_page
from hybrid_plugin.errors import DataError, UsageError
from hybrid_plugin.files import MARKER
from hybrid_plugin.study.check_outcomes import write_outcomes
from hybrid_plugin.study.record import check_record
from hybrid_plugin.study.runner import _check_plan, _check_study_folder, run_reproduction
from hybrid_plugin.study.settings import ReproduceSettings, conditions


def test_resume_refuses_other_settings(tmp_path):
    (tmp_path / "plan.json").write_text(json.dumps(ReproduceSettings(out=tmp_path, max_steps=5).plan()))
    _check_plan(ReproduceSettings(out=tmp_path, max_steps=5))
    with pytest.raises(UsageError, match="holds a study with other settings \\(max_steps\\)"):
        _check_plan(ReproduceSettings(out=tmp_path, max_steps=6))


def test_more_seeds_or_alphas_extend_a_study_seed_by_seed(tmp_path):
    """A finished one-seed study grows to three seeds and one more α without redoing what it holds; fewer seeds,
    a dropped α, or more seeds together with another setting are refused."""
    _check_plan(ReproduceSettings(out=tmp_path, max_steps=5))
    grown = ReproduceSettings(out=tmp_path, max_steps=5, seeds=3, alphas=(1.0, 0.0, 0.5, 0.25))
    _check_plan(grown)
    assert json.loads((tmp_path / "plan.json").read_text()) == grown.plan()
    for smaller in (dict(seeds=2, alphas=(1.0, 0.0, 0.5, 0.25)), dict(seeds=3, alphas=(1.0, 0.0, 0.5)),
                    dict(seeds=4, alphas=(1.0, 0.0, 0.5, 0.25), max_steps=6)):
        with pytest.raises(UsageError, match="other settings"):
            _check_plan(ReproduceSettings(out=tmp_path, **{"max_steps": 5, **smaller}))
    order = [(c.seed, c.train_set, c.alpha) for c in conditions(grown) if c.train_set is not None]
    assert [seed for seed, _, _ in order] == sorted(seed for seed, _, _ in order)  # whole seeds first
    assert order[:4] == [(0, "mlqa-r", a) for a in (1.0, 0.0, 0.5, 0.25)]
    assert len(order) == 3 * len(grown.directions) * 4 and len(set(order)) == len(order)


def test_debiased_twins_extend_a_study_but_another_fit_does_not(tmp_path):
    """Adding --debias-fit-on to a finished study adds rows (the models stay); changing its fit is refused."""
    _check_plan(ReproduceSettings(out=tmp_path, max_steps=5))
    _check_plan(ReproduceSettings(out=tmp_path, max_steps=5, debias="ntrex-128"))
    assert json.loads((tmp_path / "plan.json").read_text())["debias"] == {
        "fit_on": "ntrex-128", "method": "lsar", "per_language": 200}
    for other in (dict(debias="ntrex-128", debias_method="center"), dict(debias="tatoeba"), dict()):
        with pytest.raises(UsageError, match="other settings \\(debias\\)"):
            _check_plan(ReproduceSettings(out=tmp_path, max_steps=5, **other))


def test_a_new_study_claims_its_folder(tmp_path):
    out = tmp_path / "study"
    _check_study_folder(out)
    _check_plan(ReproduceSettings(out=out))
    assert (out / MARKER).is_file() and (out / "plan.json").is_file()
    _check_study_folder(out)  # resumable: its own folder is accepted again


def test_a_foreign_folder_is_refused_untouched(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="not written by hybrid-plugin"):
        _check_study_folder(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", "\udcff"])
def test_a_malformed_plan_is_a_data_error(tmp_path, text):
    (tmp_path / "plan.json").write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(DataError, match="plan.json"):
        _check_plan(ReproduceSettings(out=tmp_path))


@pytest.mark.slow
@pytest.mark.java
def test_tiny_study_resumes_and_its_record_reproduces(tmp_path, shared_data, default_model_path):
    out = tmp_path / "study"
    settings = dict(out=out, preset="quick", data_root=shared_data, alphas=(1.0, 0.5), max_steps=2, batch_size=8,
                    eval_limit=5)
    summary = run_reproduction(ReproduceSettings(**settings))
    table = summary["tables"]["xquad-r"]
    assert set(table) == {"base", "xx", "hybrid-a0.5"}
    assert table["xx"]["unseen_languages"] == ["el", "ru", "th", "tr"]
    for config in table.values():
        assert 0.0 < config["map"]["multi"]["mean"] <= config["map"]["mono"]["mean"] <= 1.0
    assert set(summary["significance"]["xquad-r"]) == {"hybrid-a0.5 vs xx", "hybrid-a0.5 vs base"}
    hybrid = json.loads((out / "eval/xquad-r/hybrid-a0.5/seed0/results.json").read_text())
    assert hybrid["training"]["sampling"] == "hybrid" and hybrid["training"]["alpha"] == 0.5
    assert 0.0 <= hybrid["training"]["realised"]["xx_share"] <= 1.0  # two steps: the share of X-X batches drawn
    for name in ("summary.md", "leaderboard.md", "leaderboard.csv", "record.yaml"):
        assert (out / name).is_file()
    assert not (out / "models/mlqa-r/xx/seed0/checkpoints").exists()
    assert sorted(p.name for p in (out / "eval/xquad-r/xx/seed0/runs").iterdir()) == ["en-en.txt", "en-multi.txt"]

    # a second run finds everything done: nothing is trained or evaluated again (and, asked, writes the page)
    stamp = (out / "eval/xquad-r/xx/seed0/results.json").stat().st_mtime
    again = run_reproduction(ReproduceSettings(**settings), html=True)
    assert (out / "eval/xquad-r/xx/seed0/results.json").stat().st_mtime == stamp
    assert again["tables"]["xquad-r"]["xx"]["map"] == table["xx"]["map"]
    page = (out / "leaderboard.html").read_text(encoding="utf-8")
    assert "hybrid-plugin reproduce --quick --alphas 1,0.5 --max-steps 2 --batch-size 8 --eval-limit 5" in page
    assert "not checked (3 conditions)" in page

    # the record's stock commands (pyserini.encode, pyserini.search.faiss, ir_measures) give its scores
    outcomes = check_record(out / "record.yaml", tmp_path / "check", only="hybrid-a0.5-seed0.en-de")
    assert [o.status for o in outcomes] == ["OK"]
    assert outcomes[0].got["AP@1000"] == pytest.approx(outcomes[0].expected["AP@1000"], abs=1e-4)
    # kept beside the record, the outcome is the page's 2CR status of that row
    write_outcomes(outcomes, out / "record-check.json", record=out / "record.yaml")
    page = leaderboard_page([out / "eval/xquad-r/hybrid-a0.5/seed0"], out=out / "leaderboard.html")
    assert [r.status for t in page.tables for r in t.rows if r.row.source == "ours"] == ["OK (1 of 3 conditions)"]

    # a published copy of the record (no encoders beside it) is checked against the study folder
    published = tmp_path / "published" / "record.yaml"
    published.parent.mkdir()
    shutil.copy(out / "record.yaml", published)
    outcomes = check_record(published, tmp_path / "check", only="hybrid-a0.5-seed0.en-de", study=out)
    assert [o.status for o in outcomes] == ["OK"]
    with pytest.raises(UsageError, match="--study"):
        check_record(published, tmp_path / "check", study=tmp_path / "missing")


@pytest.mark.slow
@pytest.mark.java
def test_a_study_extended_with_debiasing_keeps_its_models_and_adds_twins(tmp_path, shared_data, default_model_path):
    """A finished study run again with --debias-fit-on ntrex-128: nothing is trained or evaluated again, each
    model gets its own LSAR (fitted on NTREX-128, never on the evaluated set) and a '+lsar' row, the tests compare
    like with like and each twin with its plain model, and the 2CR record keeps only encoder-reproducible rows."""
    out = tmp_path / "study"
    settings = dict(out=out, preset="quick", data_root=shared_data, alphas=(0.5,), max_steps=2, batch_size=8,
                    eval_limit=5)
    run_reproduction(ReproduceSettings(**settings))
    stamp = (out / "eval/xquad-r/hybrid-a0.5/seed0/results.json").stat().st_mtime
    summary = run_reproduction(ReproduceSettings(**settings, debias="ntrex-128", debias_per_language=20))
    assert (out / "eval/xquad-r/hybrid-a0.5/seed0/results.json").stat().st_mtime == stamp
    table = summary["tables"]["xquad-r"]
    assert set(table) == {"base", "hybrid-a0.5", "base+lsar", "hybrid-a0.5+lsar"}
    assert set(summary["significance"]["xquad-r"]) == {
        "hybrid-a0.5 vs base", "hybrid-a0.5+lsar vs base+lsar", "base+lsar vs base", "hybrid-a0.5+lsar vs hybrid-a0.5"}
    twin = json.loads((out / "eval/xquad-r/hybrid-a0.5+lsar/seed0/results.json").read_text())
    applied = twin["settings"]["debias"]
    assert applied["method"] == "lsar" and applied["fitted_on_evaluated_data"] is False
    fitted = json.loads((out / "debias/xquad-r/hybrid-a0.5-seed0/debias.json").read_text())
    assert fitted["fitted_on"]["dataset"] == "ntrex-128" and fitted["fitted_on"]["per_language"] == 20
    assert sorted(fitted["languages"]) == sorted(table["base"]["unseen_languages"] + [
        "ar", "de", "en", "es", "hi", "vi", "zh"])
    base_fit = json.loads((out / "debias/xquad-r/base/debias.json").read_text())
    assert fitted["model"]["digest"] != base_fit["model"]["digest"]  # each model its own transform
    assert applied["digest"] == fitted["digest"]
    plain = json.loads((out / "eval/xquad-r/hybrid-a0.5/seed0/results.json").read_text())
    assert twin["bias"] != plain["bias"] and twin["map"] != plain["map"]
    assert "hybrid (α = 0.5) + LSAR" in (out / "summary.md").read_text(encoding="utf-8")
    record = (out / "record.yaml").read_text(encoding="utf-8")
    assert "hybrid-a0.5-seed0.en-de" in record and "+lsar" not in record
