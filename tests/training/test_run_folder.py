"""The output folder of a training run: fresh, resumed, restarted or replaced -- decided before anything is touched,
and a replaced run swapped in only when the new one is complete."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from hybrid_plugin.errors import DataError, UsageError
from hybrid_plugin.files import MARKER, claim_output
from hybrid_plugin.training import TrainingSettings
from hybrid_plugin.training.run_folder import RunPlan, plan_run_folder, run_folder

ONE_PROCESS = SimpleNamespace(num_processes=1, is_main_process=True, wait_for_everyone=lambda: None)


def settings(out: Path, **options) -> TrainingSettings:
    return TrainingSettings(train="xquad-r", out=out, **options)


def training_run(out: Path, *, checkpoints=(3,), incomplete=(), finished=True, seed=0) -> Path:
    """A folder as ``train`` leaves it: marker, run.json, checkpoints (complete ones hold trainer_state.json)."""
    claim_output(out, "train")
    (out / "run.json").write_text(json.dumps({"settings": settings(out, seed=seed).to_json(), "started": 0}))
    (out / "checkpoints").mkdir()
    for step in (*checkpoints, *incomplete):
        (out / "checkpoints" / f"checkpoint-{step}").mkdir()
        (out / "checkpoints" / f"checkpoint-{step}" / "model.safetensors").write_text("weights")
    for step in checkpoints:
        (out / "checkpoints" / f"checkpoint-{step}" / "trainer_state.json").write_text("{}")
    if finished:
        (out / "training.json").write_text("{}")
        (out / "modules.json").write_text("[]")
    return out


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_an_empty_or_missing_folder_is_a_fresh_run(tmp_path):
    assert plan_run_folder(settings(tmp_path / "new")) == RunPlan("fresh")
    (tmp_path / "empty").mkdir()
    assert plan_run_folder(settings(tmp_path / "empty", overwrite=True)) == RunPlan("fresh")
    assert plan_run_folder(settings(claim_output(tmp_path / "claimed", "train"))) == RunPlan("fresh")
    with pytest.raises(UsageError, match="holds no checkpoint to resume from"):
        plan_run_folder(settings(tmp_path / "new", resume=True))
    assert not (tmp_path / "new").exists()


def test_a_run_is_resumed_or_replaced_only_when_asked(tmp_path):
    out = training_run(tmp_path / "run", checkpoints=(3, 5))
    with pytest.raises(UsageError, match="pass --resume to continue it or --overwrite to replace it"):
        plan_run_folder(settings(out))
    assert plan_run_folder(settings(out, resume=True)) == RunPlan("resume", str(out / "checkpoints/checkpoint-5"))
    assert plan_run_folder(settings(out, overwrite=True)) == RunPlan("replace")
    with pytest.raises(UsageError, match=r"changed: seed \(0 -> 4\)"):
        plan_run_folder(settings(out, resume=True, seed=4))


def test_an_unfinished_checkpoint_is_not_resumed_from(tmp_path):
    out = training_run(tmp_path / "run", checkpoints=(3,), incomplete=(6,), finished=False)
    plan = plan_run_folder(settings(out, resume=True))
    assert plan == RunPlan("resume", str(out / "checkpoints/checkpoint-3"))
    with run_folder(settings(out, resume=True), plan, ONE_PROCESS, {"settings": {}}) as folder:
        assert folder == out
        assert not (out / "checkpoints/checkpoint-6").exists()  # the trainer writes it again
        assert (out / "checkpoints/checkpoint-3/trainer_state.json").is_file()


@pytest.mark.parametrize("resume", [False, True])
def test_a_run_that_stopped_before_its_first_checkpoint_restarts(tmp_path, resume):
    out = training_run(tmp_path / "run", checkpoints=(), incomplete=(2,), finished=False)
    plan = plan_run_folder(settings(out, resume=resume))
    assert plan == RunPlan("restart")
    with run_folder(settings(out), plan, ONE_PROCESS, {"settings": {"new": True}}) as folder:
        assert sorted(p.name for p in folder.iterdir()) == sorted([MARKER, "run.json"])
        assert json.loads((folder / "run.json").read_text()) == {"settings": {"new": True}}


def test_folders_the_plugin_did_not_make_or_other_outputs_are_refused(tmp_path):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    for options in ({}, {"overwrite": True}, {"resume": True}):
        with pytest.raises(UsageError, match="not written by hybrid-plugin"):
            plan_run_folder(settings(foreign, **options))
    evaluated = claim_output(tmp_path / "eval", "evaluate")
    (evaluated / "results.json").write_text("{}")
    with pytest.raises(UsageError, match="not a training run"):
        plan_run_folder(settings(evaluated))
    assert plan_run_folder(settings(evaluated, overwrite=True)) == RunPlan("replace")
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match="not a folder"):
        plan_run_folder(settings(tmp_path / "file"))


def test_a_broken_run_file_is_a_data_error(tmp_path):
    out = training_run(tmp_path / "run")
    (out / "run.json").write_text("{not json")
    with pytest.raises(DataError, match="run.json"):
        plan_run_folder(settings(out, resume=True))


def test_a_replaced_run_is_swapped_in_only_when_complete(tmp_path):
    out = training_run(tmp_path / "run")
    before = snapshot(out)
    with pytest.raises(RuntimeError, match="interrupted"):
        with run_folder(settings(out, overwrite=True), RunPlan("replace"), ONE_PROCESS, {"settings": {}}) as folder:
            assert folder != out and folder.parent == out.parent
            (folder / "checkpoints").mkdir()
            raise RuntimeError("interrupted")
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no staging folder left
    with run_folder(settings(out, overwrite=True), RunPlan("replace"), ONE_PROCESS, {"settings": {}}) as folder:
        (folder / "training.json").write_text('{"new": true}')
    assert json.loads((out / "training.json").read_text()) == {"new": True}
    assert (out / MARKER).is_file() and not (out / "checkpoints").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
