"""``lowres --trained-on SET[,SET]``: the base and the models of some training collections only, checked against the
study's plan in one line, not recorded in ``lowres.json`` (it chooses models, not what a cell holds), so one folder
is filled one direction at a time: a later run without it keeps the finished cells and adds the others."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from hybrid_plugin.cli import main
from hybrid_plugin.data.registry import DATASETS
from hybrid_plugin.errors import UsageError
from hybrid_plugin.lowres.runner import run_lowres
from hybrid_plugin.lowres.settings import SETTINGS_FILE, LowresSettings, study_models
from hybrid_plugin.lowres.summary import command_line

DIRECTIONS = [["mlqa-r", "xquad-r"], ["xquad-r", "mlqa-r"]]


def _study(folder: Path, source: Path | None = None, model: str | None = None) -> Path:
    """A reproduce folder of both directions (α 1 and 0.5, one seed), every model trained (a copy of ``source``, or
    an empty folder) with ``training.json``."""
    folder.mkdir()
    (folder / "plan.json").write_text(json.dumps({"model": model, "alphas": [1.0, 0.5], "seeds": 1,
                                                  "directions": DIRECTIONS}))
    for train_set in ("mlqa-r", "xquad-r"):
        for config in ("xx", "hybrid-a0.5"):
            place = folder / "models" / train_set / config / "seed0"
            if source is None:
                place.mkdir(parents=True)
            else:
                shutil.copytree(source, place)
            (place / "training.json").write_text("{}")
    return folder


@pytest.fixture()
def two_directions(tmp_path) -> Path:
    return _study(tmp_path / "study")


def test_trained_on_keeps_the_base_and_the_models_of_those_collections(two_directions):
    everything, _ = study_models(two_directions)
    assert [(m.trained_on, m.config) for m in everything][1:] == [
        ("mlqa-r", "xx"), ("mlqa-r", "hybrid-a0.5"), ("xquad-r", "xx"), ("xquad-r", "hybrid-a0.5")]
    models, missing = study_models(two_directions, trained_on=("xquad-r",))
    assert [(m.trained_on, m.config) for m in models] == [("base", "base"), ("xquad-r", "xx"),
                                                           ("xquad-r", "hybrid-a0.5")] and missing == []
    # the base keeps the plan's first collection's languages, so its groups are those of the full study
    assert models[0].training_languages == tuple(DATASETS["mlqa-r"].languages) == everything[0].training_languages
    assert study_models(two_directions, trained_on=("mlqa-r", "xquad-r")) == study_models(two_directions)


def test_trained_on_is_in_the_command_and_not_in_the_recorded_settings(two_directions, tmp_path):
    default = LowresSettings(study=two_directions, out=tmp_path / "out", quick=True)
    one = LowresSettings(study=two_directions, out=tmp_path / "out", quick=True, trained_on="mlqa-r")
    assert one.trained_on == ("mlqa-r",) and default.trained_on is None
    assert one.plan() == default.plan() and "trained_on" not in one.plan()
    assert command_line(one).endswith("--quick --trained-on mlqa-r") and "--trained-on" not in command_line(default)


@pytest.mark.parametrize(("trained_on", "message"), [
    (("tatoeba",), r"--trained-on tatoeba: the study .*study trains on mlqa-r, xquad-r only \(plan.json "
                   r"\"directions\"\)"),
    (("mlqa-r", "mlqa-r"), "--trained-on must name distinct training collections but got mlqa-r,mlqa-r"),
    ((), "--trained-on must name distinct training collections but got none"),
])
def test_a_bad_trained_on_is_one_usage_error_and_nothing_is_written(two_directions, tmp_path, trained_on, message):
    out = tmp_path / "out"
    with pytest.raises(UsageError, match=message) as caught:
        LowresSettings(study=two_directions, out=out, trained_on=trained_on)
    assert "\n" not in str(caught.value) and not out.exists()


def test_the_cli_refuses_an_unplanned_collection_in_one_line(two_directions, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["lowres", "--study", str(two_directions), "--out", str(out), "--trained-on", "afriqa"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--trained-on afriqa" in err and "trains on mlqa-r, xquad-r" in err
    assert not out.exists()


@pytest.mark.slow
def test_one_folder_is_filled_one_direction_at_a_time(tmp_path, tiny_model, shared_data, isolated_cache,
                                                     one_torch_thread):
    """--trained-on mlqa-r: the base's and MLQA-R's cells, a summary of those; then every direction in the same
    folder: the finished cells are kept (not recomputed), XQuAD-R's are added, the summary covers all, with a
    per-language plot for each training collection."""
    study = _study(tmp_path / "study", tiny_model, str(tiny_model))
    out = tmp_path / "lowres"
    options = dict(study=study, out=out, quick=True, sets=("afriqa",), debias=False, limit=2,
                   data_root=shared_data, trials=100)
    first = run_lowres(LowresSettings(**options, trained_on=("mlqa-r",)), progress=lambda line: None)
    cells = sorted(str(p.parent.relative_to(out)) for p in (out / "cells").rglob("results.json"))
    assert cells == ["cells/afriqa/base/base/seed0", "cells/afriqa/mlqa-r/hybrid-a0.5/seed0",
                     "cells/afriqa/mlqa-r/xx/seed0"]
    assert {r.train_set for r in first.rows} == {"base", "mlqa-r"} and first.settings["trained_on"] == ["mlqa-r"]
    assert first.tests and all(t.train_set == "mlqa-r" for t in first.tests)
    markdown = (out / "summary.md").read_text()
    assert "--trained-on mlqa-r" in markdown and "models trained on mlqa-r only (--trained-on)" in markdown
    assert "trained_on" not in json.loads((out / SETTINGS_FILE).read_text())
    assert sorted(p.name for p in out.glob("languages-*.png")) == ["languages-afriqa.png"]
    kept = {p: p.stat().st_mtime_ns for p in (out / "cells").rglob("results.json")}

    lines: list[str] = []
    both = run_lowres(LowresSettings(**options), progress=lines.append)
    assert sum(line.endswith("done already") for line in lines) == 3 and len(lines) == 5
    assert all(p.stat().st_mtime_ns == mtime for p, mtime in kept.items())
    assert {r.train_set for r in both.rows} == {"base", "mlqa-r", "xquad-r"} and "trained_on" not in both.settings
    markdown = (out / "summary.md").read_text()
    assert "--trained-on" not in markdown
    # one per-language plot per training collection, the first keeping its name; both embedded
    assert sorted(p.name for p in out.glob("languages-*.png")) == ["languages-afriqa-xquad-r.png",
                                                                   "languages-afriqa.png"]
    assert "(languages-afriqa.png)" in markdown and "(languages-afriqa-xquad-r.png)" in markdown
