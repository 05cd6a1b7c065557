"""Two runs of a command on one output folder at once (issue #12, promise 1): neither corrupts the other's output.
The folder ends up holding one complete output, and a run that could not have it is refused with one line
(``evaluate`` builds beside the folder and swaps it in, as ``export`` does; ``train`` writes in place and holds
the folder for the whole run). The mechanisms alone, in one process: ``tests/test_files.py``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from faultkit import Outcome, assert_refused, finish, leftovers, start


def _both(argv: list, env: dict, cwd: Path) -> list[Outcome]:
    """Start the same command twice, then wait for both."""
    procs = [start(argv, env=env, cwd=cwd) for _ in range(2)]
    return [finish(proc)[0] for proc in procs]


def _one_done_one_refused(outcomes: list[Outcome], needle: str) -> None:
    assert sorted(o.status for o in outcomes) == [0, 2], [(o.status, o.lines[-2:]) for o in outcomes]
    assert all("Traceback" not in o.err for o in outcomes)
    assert_refused(next(o for o in outcomes if o.status == 2), needle)


def _results(folder: Path) -> dict:
    results = json.loads((folder / "results.json").read_text())
    return {key: results[key] for key in ("map", "pairs", "per_query")}


@pytest.mark.slow
def test_two_evaluations_into_one_new_folder(tmp_path, commands, made, env):
    out = tmp_path / "out"
    outcomes = _both([*commands["evaluate"], out], env, tmp_path)
    _one_done_one_refused(outcomes, "already holds output|filled by another run meanwhile")
    assert _results(out) == _results(made("evaluate"))
    assert (out / "results.md").is_file() and (out / "pairs.png").is_file() and not leftovers(tmp_path)


@pytest.mark.slow
def test_two_overwriting_evaluations_leave_one_complete_output(tmp_path, commands, made, env):
    out = tmp_path / "out"
    shutil.copytree(made("evaluate"), out)
    (out / "results.json").write_text("{}")  # the earlier output, which both replace
    outcomes = _both([*commands["evaluate"], out, "--overwrite"], env, tmp_path)
    assert [o.status for o in outcomes] == [0, 0], [o.lines[-2:] for o in outcomes]
    assert _results(out) == _results(made("evaluate")) and not leftovers(tmp_path)


@pytest.mark.slow
def test_two_trainings_into_one_folder(tmp_path, commands, made, env):
    out = tmp_path / "run"
    outcomes = _both([*commands["train"], out], env, tmp_path)
    _one_done_one_refused(outcomes, "in use by another hybrid-plugin run|holds a training run|changed the output")
    report = json.loads((out / "training.json").read_text())
    want = json.loads((made("train") / "training.json").read_text())
    assert report["global_step"] == want["global_step"] and report["losses"] == want["losses"]
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["checkpoint-2"] and not leftovers(tmp_path)
