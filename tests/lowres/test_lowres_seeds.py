"""``lowres --seeds K``: the models of seeds 0..K-1 (the base always; untrained ones reported as before), checked
against the study's plan in one line, recorded in ``lowres.json`` only when given (a folder written before the option
resumes with the default; another K is refused), and a one-seed study summarised."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from hybrid_plugin.cli import main
from hybrid_plugin.errors import UsageError
from hybrid_plugin.files import claim_output
from hybrid_plugin.lowres.runner import run_lowres
from hybrid_plugin.lowres.settings import SETTINGS_FILE, LowresSettings, study_models
from hybrid_plugin.lowres.summary import command_line
from hybrid_plugin.study.folders import check_study_settings

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "lowres" / "quick" / SETTINGS_FILE


def _study(folder: Path, seeds: int, trained: dict[tuple[str, int], Path | None], model: str | None = None) -> Path:
    """A reproduce folder: its plan (α 1 and 0.5, mlqa-r -> xquad-r) and, per (config, seed), a model folder
    (a copy of the path given, or an empty folder) with ``training.json``."""
    folder.mkdir()
    (folder / "plan.json").write_text(json.dumps({"model": model, "alphas": [1.0, 0.5], "seeds": seeds,
                                                  "directions": [["mlqa-r", "xquad-r"]]}))
    for (config, seed), source in trained.items():
        place = folder / "models" / "mlqa-r" / config / f"seed{seed}"
        if source is None:
            place.mkdir(parents=True)
        else:
            shutil.copytree(source, place)
        (place / "training.json").write_text("{}")
    return folder


@pytest.fixture()
def three_seeds(tmp_path) -> Path:
    """Three planned seeds; seeds 0 and 1 trained, seed 2's hybrid not yet."""
    trained = {("xx", 0): None, ("hybrid-a0.5", 0): None, ("xx", 1): None, ("hybrid-a0.5", 1): None,
               ("xx", 2): None}
    return _study(tmp_path / "study", 3, trained)


def test_seeds_k_keeps_the_base_and_the_models_of_the_first_k_seeds(three_seeds):
    models, missing = study_models(three_seeds)
    assert [(m.config, m.seed) for m in models][-1] == ("xx", 2) and len(models) == 6
    assert len(missing) == 1 and missing[0].endswith("hybrid-a0.5/seed2")
    models, missing = study_models(three_seeds, seeds=1)
    assert [(m.config, m.seed) for m in models] == [("base", 0), ("xx", 0), ("hybrid-a0.5", 0)] and missing == []
    models, missing = study_models(three_seeds, seeds=2)
    assert [m.seed for m in models if m.train_set] == [0, 0, 1, 1] and missing == []
    assert study_models(three_seeds, seeds=3) == study_models(three_seeds)


def test_seeds_is_recorded_only_when_given(three_seeds, tmp_path):
    default = LowresSettings(study=three_seeds, out=tmp_path / "out", quick=True)
    assert "seeds" not in default.plan() and "--seeds" not in command_line(default)
    one = LowresSettings(study=three_seeds, out=tmp_path / "out", quick=True, seeds=1)
    assert one.plan()["seeds"] == 1 and command_line(one).endswith("--quick --seeds 1")


@pytest.mark.parametrize(("seeds", "message"), [
    (4, r'--seeds 4: the study .*study plans 3 seed\(s\) \(plan.json "seeds": 3\); choose 1 to 3'),
    (0, "--seeds must be a positive integer, got 0"),
    (True, "--seeds must be a positive integer, got True"),
])
def test_a_bad_seeds_is_one_usage_error_and_nothing_is_written(three_seeds, tmp_path, seeds, message):
    out = tmp_path / "out"
    with pytest.raises(UsageError, match=message) as caught:
        LowresSettings(study=three_seeds, out=out, seeds=seeds)
    assert "\n" not in str(caught.value) and not out.exists()


def test_the_cli_refuses_too_many_seeds_in_one_line(three_seeds, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["lowres", "--study", str(three_seeds), "--out", str(out), "--seeds", "7"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--seeds 7" in err and "plans 3 seed(s)" in err and not out.exists()


def test_a_folder_written_without_seeds_resumes_with_the_default_and_refuses_another_k(three_seeds, tmp_path):
    """The settings file of the recorded quick study (written before --seeds), pointed at this study."""
    old = json.loads(BENCHMARK.read_text())
    assert "seeds" not in old
    out = tmp_path / "lowres"
    claim_output(out, "lowres")
    written = json.dumps({**old, "study": str(three_seeds.resolve())}, indent=1)
    (out / SETTINGS_FILE).write_text(written)
    default = LowresSettings(study=three_seeds.resolve(), out=out, quick=True)
    assert check_study_settings(out, SETTINGS_FILE, default.plan(), "lowres") is True
    with pytest.raises(UsageError, match=r"other settings \(seeds\)"):
        run_lowres(LowresSettings(study=three_seeds.resolve(), out=out, quick=True, seeds=1))
    assert (out / SETTINGS_FILE).read_text() == written and not (out / "cells").exists()


@pytest.mark.slow
def test_one_seed_of_a_two_seed_study_runs_and_is_summarised(tmp_path, tiny_model, tiny_model_builder, shared_data,
                                                            isolated_cache, one_torch_thread):
    """Seeds 0 and 1 trained, --seeds 1: the base and seed 0 only, one seed per row, the paired tests run."""
    other = tiny_model_builder(tmp_path / "other", seed=1)
    study = _study(tmp_path / "study", 2, {("xx", 0): tiny_model, ("hybrid-a0.5", 0): other,
                                           ("xx", 1): other, ("hybrid-a0.5", 1): tiny_model}, str(tiny_model))
    out = tmp_path / "lowres"
    settings = LowresSettings(study=study, out=out, quick=True, sets=("afriqa",), debias=False, limit=2,
                              data_root=shared_data, trials=100, seeds=1)
    summary = run_lowres(settings, progress=lambda line: None)
    assert sorted(p.parent.name for p in (out / "cells").rglob("results.json")) == ["seed0"] * 3
    assert {(r.system, r.seeds) for r in summary.rows} == {("base", 1), ("xx", 1), ("hybrid-a0.5", 1)}
    assert [(m["config"], m["seed"]) for m in summary.settings["models"]] == [("base", 0), ("xx", 0),
                                                                            ("hybrid-a0.5", 0)]
    assert summary.tests and all(0 < t.p_value <= 1 and t.n > 0 for t in summary.tests)
    markdown = (out / "summary.md").read_text()
    assert "--seeds 1" in markdown and "first 1 seed(s) of the study only" in markdown
    assert json.loads((out / SETTINGS_FILE).read_text())["seeds"] == 1
