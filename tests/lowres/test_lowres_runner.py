"""hybrid_plugin.lowres.runner: a tiny real study end to end (tiny real models in a reproduce folder, the real
sets, Faiss / ir_measures through evaluate, LSAR fitted on the other set), resumption, publishing, and a rerun
with other settings refused untouched."""

from __future__ import annotations

import json
import shutil

import pytest

from hybrid_plugin.errors import UsageError
from hybrid_plugin.evaluation.results import load_results
from hybrid_plugin.files import MARKER
from hybrid_plugin.lowres.record import LowresSummary
from hybrid_plugin.lowres.runner import run_lowres
from hybrid_plugin.lowres.settings import QUICK_SLICES, LowresSettings


@pytest.fixture()
def tiny_study(tmp_path, tiny_model, tiny_model_builder):
    """A reproduce folder holding the tiny model as the base and X-X, and a tiny model of another seed as the
    hybrid (real sentence-transformers folders; what they were trained on does not matter to the runner)."""
    study = tmp_path / "study"
    study.mkdir()
    (study / "plan.json").write_text(json.dumps({"model": str(tiny_model), "alphas": [1.0, 0.5], "seeds": 1,
                                                 "directions": [["mlqa-r", "xquad-r"]]}))
    xx = study / "models/mlqa-r/xx/seed0"
    shutil.copytree(tiny_model, xx)
    hybrid = tiny_model_builder(study / "models/mlqa-r/hybrid-a0.5/seed0", seed=1)
    for folder in (xx, hybrid):
        (folder / "training.json").write_text("{}")
    return study


def _records(out):
    return sorted(p for p in (out / "cells").rglob("*.json") if p.name in ("results.json", "bitext.json"))


@pytest.mark.slow
def test_a_tiny_study_runs_resumes_and_publishes(tiny_study, tmp_path, shared_data, isolated_cache, one_torch_thread):
    out, publish = tmp_path / "lowres", tmp_path / "published"
    options = dict(study=tiny_study, out=out, quick=True, limit=3, data_root=shared_data, debias_per_language=6,
                   trials=200, publish=publish)
    lines: list[str] = []
    summary = run_lowres(LowresSettings(**options), progress=lines.append)
    assert (out / MARKER).is_file() and json.loads((out / "lowres.json").read_text())["limit"] == 3
    records = _records(out)
    assert len(records) == 3 * 3 * 2  # models x sets x (plain, lsar)

    ntrex = load_results(out / "cells/ntrex-128/mlqa-r/hybrid-a0.5/seed0")
    langs = QUICK_SLICES["ntrex-128"].languages
    cross = [k for k, c in ntrex.pairs.items() if c.query_language != c.pool_language]
    assert len(ntrex.pairs) - len(cross) == len(langs)  # every mono setting
    assert len(cross) == 2 * (len(langs) - 1) + 6  # X<->en for all, and sample:6
    assert set(ntrex.multi) == set(langs) and ntrex.settings["pairs"]["spec"] == "sample:6:0"
    afriqa = load_results(out / "cells/afriqa/base/base+lsar/seed0")
    assert afriqa.dataset.questions == {"ha": 3, "sw": 3, "yo": 3, "zu": 3, "en": 12}
    # never fitted on the set evaluated: AfriQA with NTREX-128's fit, NTREX-128 with Tatoeba's
    assert afriqa.settings["debias"]["fitted_on"]["dataset"] == "ntrex-128"
    assert load_results(out / "cells/ntrex-128/mlqa-r/xx+lsar/seed0").settings["debias"]["fitted_on"]["dataset"] == \
        "tatoeba"

    systems = {(r.set_name, r.system) for r in summary.rows}
    assert {s for _, s in systems} == {"base", "xx", "hybrid-a0.5", "base+lsar", "xx+lsar", "hybrid-a0.5+lsar"}
    assert {n for n, _ in systems} == {"afriqa", "ntrex-128", "tatoeba"}
    tests = {(t.set_name, t.system, t.baseline, t.setting) for t in summary.tests}
    assert ("tatoeba", "hybrid-a0.5", "xx", "bitext") in tests
    assert ("afriqa", "hybrid-a0.5+lsar", "base+lsar", "cross") in tests
    assert ("ntrex-128", "hybrid-a0.5", "xx+lsar", "multi") not in tests  # like is tested against like
    assert all(0.0 < t.p_value <= 1.0 and t.n > 0 for t in summary.tests)
    groups = {r.group for r in summary.languages if r.set_name == "tatoeba"}
    assert groups == {"trained", "pretrained", "unseen"}
    for name in ("summary.md", "summary.json", "languages-afriqa.png", "languages-ntrex-128.png",
                 "languages-tatoeba.png"):
        assert (out / name).is_file() and (publish / name).is_file(), name
    assert LowresSummary.load(publish) == summary
    assert not list(publish.rglob("per_query.json")) and len(list(publish.rglob("bitext.json"))) == 6

    # a rerun finds every cell done; a removed cell is the only one run again, with the same numbers
    stamps = {p: p.stat().st_mtime_ns for p in records}
    removed = out / "cells/tatoeba/mlqa-r/xx/seed0"
    before = json.loads((removed / "bitext.json").read_text())["languages"]
    shutil.rmtree(removed)
    lines.clear()
    again = run_lowres(LowresSettings(**options), progress=lines.append)
    assert sum("done already" in line for line in lines) == 17
    assert all(p.stat().st_mtime_ns == t for p, t in stamps.items() if removed not in p.parents)
    assert json.loads((removed / "bitext.json").read_text())["languages"] == before
    assert again.rows == summary.rows

    # other settings in the same folder: refused, nothing touched
    with pytest.raises(UsageError, match="other settings \\(limit\\)"):
        run_lowres(LowresSettings(**{**options, "limit": 4}))
    assert json.loads((out / "lowres.json").read_text())["limit"] == 3


def test_a_foreign_out_folder_is_refused_untouched(tmp_path):
    study = tmp_path / "study"
    study.mkdir()
    (study / "plan.json").write_text(json.dumps({"alphas": [1.0], "seeds": 1, "directions": [["mlqa-r", "xquad-r"]]}))
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="not written by hybrid-plugin"):
        run_lowres(LowresSettings(study=study, out=out, quick=True))
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
