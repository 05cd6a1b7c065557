"""The study command: settings, seen/unseen splits, resumption, and a 2CR record checked with stock commands."""

from __future__ import annotations

import json
import shutil
import time

import pytest

from hybrid_plugin.errors import UsageError
from hybrid_plugin.reproduce import (
    PRESETS,
    ReproduceSettings,
    check_record,
    config_name,
    language_splits,
    run_reproduction,
)


def test_config_names():
    assert [config_name(a) for a in (None, 1.0, 0.0, 0.5, 0.25)] == ["base", "xx", "xy", "hybrid-a0.5", "hybrid-a0.25"]


def test_presets_fill_unset_fields(tmp_path):
    quick = ReproduceSettings(out=tmp_path, preset="quick")
    assert quick.max_steps == PRESETS["quick"]["max_steps"] and quick.eval_limit == PRESETS["quick"]["eval_limit"]
    assert quick.directions == (("mlqa-r", "xquad-r"),)
    full = ReproduceSettings(out=tmp_path, preset="full", max_steps=7)
    assert full.max_steps == 7 and full.eval_limit is None and len(full.directions) == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"alphas": (1.0, 1.5)}, "must lie in \\[0, 1\\]"),
        ({"alphas": (0.5, 0.5)}, "repeated value"),
        ({"seeds": 0}, "--seeds must be a positive integer"),
        ({"preset": "huge"}, "preset must be one of"),
        ({"directions": (("xquad-r", "xquad-r"),)}, "not zero-shot"),
    ],
)
def test_bad_settings(tmp_path, kwargs, message):
    with pytest.raises(UsageError, match=message):
        ReproduceSettings(out=tmp_path, **kwargs)


def test_language_splits():
    results = {
        "dataset": {"languages": ["en", "de", "th"]},
        "pairs": {"en-en": {"map": 0.9}, "de-de": {"map": 0.7}, "th-th": {"map": 0.4}, "en-de": {"map": 0.6},
                  "de-en": {"map": 0.5}, "en-th": {"map": 0.2}, "th-en": {"map": 0.3}},
        "multi_by_language": {"en": {"map": 0.5}, "de": {"map": 0.3}, "th": {"map": 0.1}},
    }
    splits = language_splits(results, seen={"en", "de"})
    assert splits["seen"]["mono"] == pytest.approx(0.8)
    assert splits["unseen"]["mono"] == pytest.approx(0.4)
    assert splits["seen"]["cross"] == pytest.approx(0.55)
    assert splits["unseen"]["cross"] == pytest.approx(0.25)
    assert splits["seen"]["multi"] == pytest.approx(0.4) and splits["unseen"]["multi"] == pytest.approx(0.1)


def test_resume_refuses_other_settings(tmp_path):
    (tmp_path / "plan.json").write_text(json.dumps(ReproduceSettings(out=tmp_path, max_steps=5).plan()))
    from hybrid_plugin.reproduce import _check_plan

    _check_plan(ReproduceSettings(out=tmp_path, max_steps=5))
    with pytest.raises(UsageError, match="holds a study with other settings \\(max_steps\\)"):
        _check_plan(ReproduceSettings(out=tmp_path, max_steps=6))


def test_more_seeds_or_alphas_extend_a_study_seed_by_seed(tmp_path):
    """A finished one-seed study grows to three seeds and one more α without redoing what it holds; fewer seeds,
    a dropped α, or more seeds together with another setting are refused."""
    from hybrid_plugin.reproduce import _check_plan, _conditions

    _check_plan(ReproduceSettings(out=tmp_path, max_steps=5))
    grown = ReproduceSettings(out=tmp_path, max_steps=5, seeds=3, alphas=(1.0, 0.0, 0.5, 0.25))
    _check_plan(grown)
    assert json.loads((tmp_path / "plan.json").read_text()) == grown.plan()
    for smaller in (dict(seeds=2, alphas=(1.0, 0.0, 0.5, 0.25)), dict(seeds=3, alphas=(1.0, 0.0, 0.5)),
                    dict(seeds=4, alphas=(1.0, 0.0, 0.5, 0.25), max_steps=6)):
        with pytest.raises(UsageError, match="other settings"):
            _check_plan(ReproduceSettings(out=tmp_path, **{"max_steps": 5, **smaller}))
    order = [(c.seed, c.train_set, c.alpha) for c in _conditions(grown) if c.train_set is not None]
    assert [seed for seed, _, _ in order] == sorted(seed for seed, _, _ in order)  # whole seeds first
    assert order[:4] == [(0, "mlqa-r", a) for a in (1.0, 0.0, 0.5, 0.25)]
    assert len(order) == 3 * len(grown.directions) * 4 and len(set(order)) == len(order)


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
    assert sorted(p.name for p in (out / "eval/xquad-r/xx/seed0/runs").iterdir()) == [
        "de-en.txt", "en-de.txt", "en-en.txt", "en-multi.txt"]

    # a second run finds everything done: nothing is trained or evaluated again
    stamp = (out / "eval/xquad-r/xx/seed0/results.json").stat().st_mtime
    started = time.time()
    again = run_reproduction(ReproduceSettings(**settings))
    assert (out / "eval/xquad-r/xx/seed0/results.json").stat().st_mtime == stamp
    assert again["tables"]["xquad-r"]["xx"]["map"] == table["xx"]["map"]
    assert time.time() - started < 60

    # the record's stock commands (pyserini.encode, pyserini.search.faiss, ir_measures) give its scores
    outcomes = check_record(out / "record.yaml", tmp_path / "check", only="hybrid-a0.5-seed0.en-de")
    assert [o.status for o in outcomes] == ["OK"]
    assert outcomes[0].got["AP@1000"] == pytest.approx(outcomes[0].expected["AP@1000"], abs=1e-4)

    # a published copy of the record (no encoders beside it) is checked against the study folder
    published = tmp_path / "published" / "record.yaml"
    published.parent.mkdir()
    shutil.copy(out / "record.yaml", published)
    outcomes = check_record(published, tmp_path / "check", only="hybrid-a0.5-seed0.en-de", study=out)
    assert [o.status for o in outcomes] == ["OK"]
    with pytest.raises(UsageError, match="--study"):
        check_record(published, tmp_path / "check", study=tmp_path / "missing")
