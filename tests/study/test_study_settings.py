"""hybrid_plugin.study.settings: presets, validation once when made, config names and the conditions."""

from __future__ import annotations

import dataclasses
import math

import pytest

from hybrid_plugin.errors import UsageError
from hybrid_plugin.study.settings import PRESETS, RECIPE, RECIPE_DEFAULTS, ReproduceSettings, conditions, config_name


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
        ({"alphas": (math.nan,)}, "must lie in \\[0, 1\\]"),
        ({"alphas": (math.inf,)}, "must lie in \\[0, 1\\]"),
        ({"alphas": ()}, "at least one value"),
        ({"seeds": True}, "--seeds must be a positive integer"),
        ({"max_steps": 0}, "--max-steps must be a positive integer"),
        ({"batch_size": -3}, "--batch-size must be a positive integer"),
        ({"eval_limit": 0}, "--eval-limit must be a positive integer"),
        ({"train_limit": 2.5}, "--train-limit must be a positive integer"),
        ({"lr": math.inf}, "lr must be a finite positive number"),
        ({"epochs": math.nan}, "epochs must be a finite positive number"),
        ({"directions": ()}, "at least one"),
        ({"directions": (("xquad-r",),)}, "a direction must be"),
        ({"scale": 0}, "--scale must be a finite positive number"),
        ({"scale": math.nan}, "--scale must be a finite positive number"),
        ({"loss": "cross-entropy"}, "--loss must be one of mnrl, cached-mnrl"),
        ({"mini_batch_size": 0}, "--mini-batch-size must be a positive integer"),
    ],
)
def test_bad_settings(tmp_path, kwargs, message):
    with pytest.raises(UsageError, match=message):
        ReproduceSettings(out=tmp_path, **kwargs)
    assert list(tmp_path.iterdir()) == []  # nothing touched


def test_settings_are_frozen_and_replace_keeps_an_explicit_no_limit(tmp_path):
    quick = ReproduceSettings(out=tmp_path)
    with pytest.raises(dataclasses.FrozenInstanceError):
        quick.seeds = 3  # type: ignore[misc]
    assert dataclasses.replace(quick, eval_limit=None).eval_limit is None
    with pytest.raises(UsageError, match="--seeds"):
        dataclasses.replace(quick, seeds=-1)


def test_conditions_base_first_then_seed_by_seed(tmp_path):
    settings = ReproduceSettings(out=tmp_path, preset="full", seeds=2, alphas=(1.0, 0.5))
    found = conditions(settings)
    assert [(c.train_set, c.eval_set, c.config) for c in found[:2]] == [(None, "xquad-r", "base"),
                                                                         (None, "mlqa-r", "base")]
    assert [c.seed for c in found[2:]] == [0] * 4 + [1] * 4
    hybrid = found[3]
    assert hybrid.sampling == "hybrid" and found[2].sampling == "xx" and found[0].sampling == "base"
    assert hybrid.eval_dir(tmp_path) == tmp_path / "eval" / "xquad-r" / "hybrid-a0.5" / "seed0"
    assert hybrid.encoder_dir(tmp_path) == tmp_path / "encoders" / "mlqa-r" / "hybrid-a0.5-seed0"
    assert found[0].eval_dir(tmp_path) == tmp_path / "eval" / "xquad-r" / "base"


def test_the_loss_recipe_enters_the_plan_only_where_it_differs_from_the_first_studies(tmp_path):
    """Plans written before the recipe options existed (no scale, loss, ...) stay equal to the plan of the same
    settings with the old recipe spelled out, so those studies resume; the presets' recipe (scale 100, hard
    negatives) is part of the plan and of the scale note."""
    old = ReproduceSettings(out=tmp_path, preset="full", scale=20, hard_negatives=False)
    assert {k: getattr(old, k) for k in RECIPE_DEFAULTS} == RECIPE_DEFAULTS
    assert not set(RECIPE_DEFAULTS) & set(old.plan())
    for preset in PRESETS:
        chosen = ReproduceSettings(out=tmp_path, preset=preset)
        assert (chosen.scale, chosen.hard_negatives) == (RECIPE["scale"], RECIPE["hard_negatives"]) == (100.0, True)
        assert chosen.plan()["scale"] == 100.0 and chosen.plan()["hard_negatives"] is True
    new = ReproduceSettings(out=tmp_path, preset="full", scale=100, hard_negatives=True, loss="cached-mnrl",
                            mini_batch_size=32, batch_size=128)
    assert new.plan()["loss"] == "cached-mnrl" and new.plan()["mini_batch_size"] == 32
    note = new.scale_note()
    assert "loss scale 100" in note and "hard negatives" in note and "cached loss (mini-batch 32)" in note
