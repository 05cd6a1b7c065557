"""Interrupts at each phase of every command (issue #12, promise 5): a subprocess gets SIGINT or SIGTERM when its
stderr shows a staged point (a progress line, a bar, or a function it was told to pause at), never at a guessed
time. After each: exit status 130, the interrupt line, no traceback, the earlier state as it was (no staging
folder), and the same command run again finishes with the numbers of a run that was never interrupted.

The commits themselves (the renames that swap an output in) are interrupted in this process: the signal is raised
from inside the rename, which must then complete first.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path

import numpy as np
import pytest

from faultkit import (
    assert_interrupted,
    assert_unchanged,
    finish,
    leftovers,
    run_main,
    snapshot,
    start,
)

PAUSED = r"^fault-injection: paused at "
NUMBERS = ("map", "bias", "measures", "pairs", "multi_by_language", "per_query")


def _numbers(folder: Path) -> dict:
    """What an evaluation found (not when, or how long it took)."""
    results = json.loads((folder / "results.json").read_text())
    return {key: results[key] for key in NUMBERS}


def _without(argv: list, *flags: str) -> list:
    return [a for a in argv if a not in flags]


def _interrupt(argv: list, env: dict, *, signum: int, stop_at: str | None = None, pause_at: str | None = None):
    outcome, sent = finish(start(argv, env=env, pause_at=pause_at), stop_at=stop_at or PAUSED, signum=signum)
    assert sent, f"the staged point never came: {outcome.lines[-5:]}"
    assert_interrupted(outcome)
    return outcome


# ------------------------------------------------------------------------------------------- evaluate

EVALUATE_PHASES = [
    pytest.param(signal.SIGINT, r"hybrid-plugin: encoding \d+ passage texts", None, ["--no-cache"],
                 id="encoding-SIGINT"),
    pytest.param(signal.SIGTERM, r"^ranking \+ runs:", None, [], id="ranking-and-runs-SIGTERM"),
    pytest.param(signal.SIGINT, None, "hybrid_plugin.evaluation.pipeline:write_results", [], id="results-files-SIGINT"),
    pytest.param(signal.SIGTERM, None, "hybrid_plugin.files:claim_output", [], id="before-the-swap-SIGTERM"),
]


@pytest.mark.slow
@pytest.mark.parametrize("signum, stop_at, pause_at, extra", EVALUATE_PHASES)
def test_an_interrupted_evaluate_keeps_the_earlier_output_and_reruns_alike(signum, stop_at, pause_at, extra, tmp_path,
                                                                         commands, made, env):
    out = tmp_path / "out"
    shutil.copytree(made("evaluate"), out)
    argv = [*_without(commands["evaluate"], "-q"), out, "--overwrite", *extra]
    before = snapshot(tmp_path)
    _interrupt(argv, env, signum=signum, stop_at=stop_at, pause_at=pause_at)
    assert_unchanged(before, tmp_path)
    again = run_main(argv)
    assert again.status == 0, again.err[-2000:]
    assert _numbers(out) == _numbers(made("evaluate")) and not leftovers(tmp_path)


def _interrupt_the_commit(monkeypatch, out: Path) -> list[str]:
    """Raise SIGINT from inside the first rename that moves ``out`` or something in it (a commit's first step);
    return the renames into ``out`` made so far."""
    rename, seen, inside = os.replace, [], lambda p: Path(p).resolve().is_relative_to(out.resolve())

    def replace(src, dst, *args, **kwargs):
        rename(src, dst, *args, **kwargs)
        if inside(src) or inside(dst):
            seen.append(str(dst))
            if len(seen) == 1:
                signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(os, "replace", replace)
    return seen


def test_an_interrupt_inside_the_swap_lets_it_finish(tmp_path, commands, made, monkeypatch):
    """The signal arrives between moving the old folder out and the new one in: the swap completes first."""
    out = tmp_path / "out"
    shutil.copytree(made("evaluate"), out)
    _interrupt_the_commit(monkeypatch, out)
    assert_interrupted(run_main([*commands["evaluate"], out, "--overwrite"]))
    assert _numbers(out) == _numbers(made("evaluate")) and not leftovers(tmp_path)
    assert (out / "results.md").is_file() and (out / "pairs.png").is_file()


@pytest.mark.parametrize("command", ["prepare", "report"])
def test_an_interrupt_inside_a_commit_of_several_files_changes_all_or_none(command, tmp_path, commands, made,
                                                                           monkeypatch):
    """prepare's topics / corpora / qrels / checksums and report's two leaderboard files change together."""
    out = tmp_path / "out"
    if command == "prepare":
        fewer = list(commands["prepare"])
        fewer[fewer.index("--limit") + 1] = "3"
        assert run_main([*fewer, out]).status == 0
        argv = [*commands["prepare"], out, "--overwrite"]
    else:
        shutil.copytree(made("report"), out)  # --no-paper
        argv = ["report", made("evaluate"), "--out", out]
    seen = _interrupt_the_commit(monkeypatch, out)
    assert_interrupted(run_main(argv))
    monkeypatch.undo()
    assert len(seen) > 1 and not leftovers(tmp_path)  # the other files were renamed after the signal
    reference = tmp_path / "reference"
    assert run_main([*argv[:argv.index(out)], reference, *argv[argv.index(out) + 1:]]).status == 0
    assert_unchanged(snapshot(reference), out)


# ------------------------------------------------------------------------------------------- train

@pytest.fixture(scope="module")
def train_call(commands) -> list:
    argv = list(commands["train"])
    argv[argv.index("--max-steps") + 1] = "6"
    return [*argv[:-1], "--save-steps", "2", "--logging-steps", "1", "--out"]


@pytest.fixture(scope="module")
def trained(train_call, tmp_path_factory, fault_cache) -> Path:
    """A six-step run never interrupted (checkpoints every two steps)."""
    out = tmp_path_factory.mktemp("trained") / "run"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HYBRID_PLUGIN_CACHE", str(fault_cache))
        done = run_main([*train_call, out])
    assert done.status == 0, done.err[-2000:]
    return out


def _same_training(got: Path, want: Path) -> None:
    from safetensors.numpy import load_file

    mine, theirs = (json.loads((p / "training.json").read_text()) for p in (got, want))
    assert mine["global_step"] == theirs["global_step"] == 6
    assert [e["step"] for e in mine["losses"]] == [e["step"] for e in theirs["losses"]]
    assert np.allclose([e["loss"] for e in mine["losses"]], [e["loss"] for e in theirs["losses"]], atol=1e-5)
    assert mine["sampling"]["realised"]["xx_share"] == theirs["sampling"]["realised"]["xx_share"]
    a, b = load_file(str(got / "model.safetensors")), load_file(str(want / "model.safetensors"))
    assert a.keys() == b.keys() and all(np.allclose(a[k], b[k], atol=1e-5) for k in a)


def _resumable(out: Path) -> list[str]:
    """``--resume`` when the folder holds a complete checkpoint (else the same command restarts it)."""
    return ["--resume"] if any((out / "checkpoints").glob("checkpoint-*/trainer_state.json")) else []


STEP = r"hybrid_plugin\.training\.run_parts: step {}:"  # the step log of ``-v`` (every step: --logging-steps 1)
TRAIN_PHASES = [
    pytest.param(signal.SIGINT, STEP.format(1), None, id="first-steps-SIGINT"),
    pytest.param(signal.SIGINT, STEP.format(3), None, id="after-a-checkpoint-SIGINT"),
    pytest.param(signal.SIGTERM, None, "hybrid_plugin.training.trainer:save_final_model", id="final-save-SIGTERM"),
]


@pytest.mark.slow
@pytest.mark.parametrize("signum, stop_at, pause_at", TRAIN_PHASES)
def test_an_interrupted_training_resumes_to_the_same_model(signum, stop_at, pause_at, tmp_path, train_call, trained,
                                                           env):
    out = tmp_path / "run"
    _interrupt(["-v", *train_call, out], env, signum=signum, stop_at=stop_at, pause_at=pause_at)
    assert not (out / "training.json").exists() and not leftovers(tmp_path)
    again = run_main([*train_call, out, *_resumable(out)])
    assert again.status == 0, again.err[-2000:]
    _same_training(out, trained)
    assert not leftovers(tmp_path)


@pytest.mark.slow
def test_an_interrupted_overwrite_keeps_the_earlier_run(tmp_path, train_call, trained, env):
    out = tmp_path / "run"
    shutil.copytree(trained, out)
    before = snapshot(tmp_path)
    _interrupt(["-v", *train_call, out, "--overwrite"], env, signum=signal.SIGINT, stop_at=STEP.format(2))
    assert_unchanged(before, tmp_path)
    again = run_main([*train_call, out, "--overwrite"])
    assert again.status == 0, again.err[-2000:]
    _same_training(out, trained)


# ------------------------------------------------------------------------------------------- export, reproduce


@pytest.mark.slow
@pytest.mark.java
def test_an_interrupted_export_self_check_keeps_the_earlier_export(tmp_path, commands, made, env):
    out = tmp_path / "encoder"
    shutil.copytree(made("export"), out)
    argv = [*_without(commands["export"], "--no-verify"), out, "--overwrite"]
    before = snapshot(tmp_path)
    _interrupt(argv, env, signum=signal.SIGTERM, stop_at=r"Pyserini will use Java")
    assert_unchanged(before, tmp_path)
    again = run_main(argv)
    assert again.status == 0, again.err[-2000:]
    mine, theirs = (json.loads((p / "pyserini.json").read_text()) for p in (out, made("export")))
    assert mine["verification"]["max_abs_diff"] <= 1e-5  # the earlier export was not verified (--no-verify)
    flags = ("pooling", "l2_norm", "query_prefix", "passage_prefix", "dimension", "max_length", "prompts")
    assert {k: mine[k] for k in flags} == {k: theirs[k] for k in flags}


@pytest.mark.slow
def test_an_interrupted_study_resumes_to_the_same_numbers(tmp_path, commands, made, env):
    """Interrupted while training its second condition: the first one's results stay, the rerun continues."""
    study = tmp_path / "study"
    argv = [*commands["reproduce"], study]
    _interrupt(argv, env, signum=signal.SIGINT, stop_at=r"\[2/2\] .*: training")
    reference = made("reproduce")
    done = study / "eval" / "xquad-r" / "base"
    assert _numbers(done) == _numbers(reference / "eval" / "xquad-r" / "base") and not leftovers(tmp_path)
    again = run_main(argv)
    assert again.status == 0, again.err[-2000:]
    for results in reference.glob("eval/*/*/**/results.json"):
        assert _numbers(study / results.parent.relative_to(reference)) == _numbers(results.parent), results
    assert not leftovers(tmp_path)
